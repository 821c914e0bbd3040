"""The routing policy: tiers, capabilities, health, budget, stickiness, explicit models, reasons."""

import msgspec
import pytest

from routerd.catalogue.builtin import load_catalogue
from routerd.catalogue.models import ModelInfo
from routerd.classify.types import TIERS, Classification
from routerd.policy import Needs, PolicyInput, RuleHit, Sticky, decide

CAT = load_catalogue()
ALL = frozenset({"anthropic", "openai", "gemini", "ollama"})


PROBABILITIES = {"simple": (0.9, 0.97), "moderate": (0.2, 0.8), "complex": (0.05, 0.2)}


def cls(tier, task_type="code", p=None):
    p_simple, p_moderate = p or PROBABILITIES[tier]
    return Classification(tier=tier, task_type=task_type, confidence=0.9, p_simple=p_simple, p_moderate=p_moderate)


def run(tier="moderate", **kw):
    kw.setdefault("enabled_providers", ALL)
    return decide(PolicyInput(classification=cls(tier), catalogue=CAT, **kw))


@pytest.mark.parametrize(("tier", "advised"), [("simple", "haiku"), ("moderate", "sonnet"), ("complex", "opus")])
def test_zero_providers_still_advises(tier, advised):
    """With no provider enabled the decision advises haiku / sonnet / opus by tier (Claude Code case)."""
    d = decide(PolicyInput(classification=cls(tier), catalogue=CAT))
    assert d.candidates == ()
    assert d.advisory == advised
    assert "no provider enabled: advisory only" in d.reasons


def test_every_model_gets_a_verdict_with_a_reason():
    """Every catalogue model appears once in the verdicts, each with at least one reason."""
    d = run()
    assert [v.model for v in d.verdicts] == [m.key for m in CAT.models]
    assert all(v.reasons for v in d.verdicts)
    assert any("not enabled" in r for v in d.verdicts for r in v.reasons)


def test_free_local_models_come_first_where_capable():
    """A simple ask goes to a local free model before any paid one."""
    d = run("simple")
    assert CAT.get(d.candidates[0]).local
    paid = [k for k in d.candidates if not CAT.get(k).free]
    assert d.candidates.index(paid[0]) > 0


def test_target_tier_first_then_higher_tiers_as_fallback():
    """Candidates start at the target tier, cheapest first, and fall back upwards, never down."""
    d = run("moderate")
    tiers = [CAT.get(k).tier for k in d.candidates]
    assert tiers[0] == "moderate" and "simple" not in tiers and tiers == sorted(tiers, key=["moderate", "complex"].index)
    first_costs = [CAT.get(k).cost_per_mtok() for k in d.candidates if CAT.get(k).tier == "moderate"]
    assert first_costs == sorted(first_costs)


def test_capability_filters():
    """Tools need tool use, images need vision, long prompts need a big enough context window."""
    d = run("simple", needs=Needs(vision=True))
    assert all(CAT.get(k).vision for k in d.candidates)
    assert any("no vision" in r for v in d.verdicts for r in v.reasons)
    d = run("complex", needs=Needs(estimated_tokens=300_000))
    assert all(CAT.get(k).context_window >= 300_000 for k in d.candidates)
    d = run("complex", enabled_providers=frozenset({"deepseek"}), needs=Needs(tools=True))
    assert "deepseek/deepseek-reasoner" not in d.candidates


def test_open_breaker_skips_model_or_provider():
    """Models behind an open breaker are skipped, by model key or by whole provider."""
    d = run("moderate", open_breakers=frozenset({"openai"}))
    assert not any(k.startswith("openai/") for k in d.candidates)
    d = run("moderate", open_breakers=frozenset({"anthropic/claude-sonnet-4-6"}))
    assert "anthropic/claude-sonnet-4-6" not in d.candidates


def test_profiles_set_the_bar_the_probabilities_must_clear():
    """Budget takes the cheaper tier at p 0.4, balanced needs 0.5, premium 0.75; confidence is that p."""
    borderline = cls("simple", p=(0.4, 0.6))
    budget = decide(PolicyInput(classification=borderline, catalogue=CAT, enabled_providers=ALL, profile="budget"))
    balanced = decide(PolicyInput(classification=borderline, catalogue=CAT, enabled_providers=ALL))
    premium = decide(PolicyInput(classification=borderline, catalogue=CAT, enabled_providers=ALL, profile="premium"))
    assert (budget.tier, balanced.tier, premium.tier) == ("simple", "moderate", "complex")
    assert (budget.bar, balanced.bar, premium.bar) == (0.35, 0.5, 0.75)
    assert (budget.confidence, balanced.confidence, premium.confidence) == (0.4, 0.6, 1.0)
    assert any("profile premium: bar 0.75 -> complex" in r for r in premium.reasons)


def test_budget_pressure_lowers_the_bar_smoothly():
    """As pressure rises the bar falls linearly, so a cheaper tier is taken step by step, not all at once."""
    from routerd.policy import BAR_AT_FULL_PRESSURE, bar_for

    bars = [bar_for("balanced", p / 10) for p in range(11)]
    assert bars[0] == 0.5 and bars[-1] == pytest.approx(BAR_AT_FULL_PRESSURE)
    steps = [a - b for a, b in zip(bars, bars[1:])]
    assert all(s == pytest.approx(steps[0]) for s in steps) and steps[0] > 0
    mid = cls("moderate", p=(0.3, 0.7))
    tiers = [decide(PolicyInput(classification=mid, catalogue=CAT, enabled_providers=ALL, budget_pressure=p / 10)).tier
             for p in range(11)]
    assert tiers[0] == "moderate" and tiers[-1] == "simple" and tiers == sorted(tiers, key=TIERS.index, reverse=True)
    assert "budget pressure 1.00" in " ".join(decide(PolicyInput(
        classification=mid, catalogue=CAT, enabled_providers=ALL, budget_pressure=1.0)).reasons)


def test_quality_floor_by_tier_or_model():
    """A quality floor (tier name or model) lifts the target tier, after budget pressure."""
    assert run("simple", quality_floor="moderate").tier == "moderate"
    assert run("simple", quality_floor="opus").tier == "complex"
    assert run("complex", budget_pressure=0.97, quality_floor="moderate").tier == "moderate"


def test_explicit_model_wins_when_usable():
    """A model the client asked for by name goes first; unusable, it is explained and skipped."""
    d = run("simple", explicit_model="opus")
    assert d.candidates[0] == "anthropic/claude-opus-4-8"
    d = run("simple", explicit_model="deepseek-chat")
    assert not d.candidates[0].startswith("deepseek/")
    assert any("deepseek" in r and "unusable" in r for r in d.reasons)


def test_sticky_session_escalates_when_the_step_needs_a_higher_tier():
    """A session leaves its model when a step needs a tier above it, and says so."""
    sticky = Sticky(model="anthropic/claude-sonnet-4-6", tier="moderate")
    escalated = run("complex", sticky=sticky)
    assert CAT.get(escalated.candidates[0]).tier == "complex"
    assert any("escalated" in r for r in escalated.reasons)
    assert run("moderate", sticky=sticky).candidates[0] == "anthropic/claude-sonnet-4-6"


def test_sticky_session_weighs_the_prompt_cache_it_would_lose():
    """A cheaper step stays on the session's model when re-reading the context uncached costs more than
    the cached reads it saves, and leaves it when the saving pays the cache back (the costs are stated)."""
    long_context = Needs(estimated_tokens=60_000)
    sonnet = Sticky(model="anthropic/claude-sonnet-4-6", tier="moderate")
    stays = run("simple", sticky=sonnet, needs=long_context, enabled_providers=frozenset({"anthropic"}))
    assert stays.candidates[0] == "anthropic/claude-sonnet-4-6"
    assert any("kept" in r and "cache lost" in r and "$" in r for r in stays.reasons)
    opus = Sticky(model="anthropic/claude-opus-4-8", tier="complex")
    leaves = run("simple", sticky=opus, needs=long_context, enabled_providers=frozenset({"anthropic"}))
    assert CAT.get(leaves.candidates[0]).tier == "simple"
    assert any("left" in r and "cache lost" in r for r in leaves.reasons)
    short = run("simple", sticky=sonnet, needs=Needs(estimated_tokens=300), enabled_providers=frozenset({"anthropic"}))
    assert CAT.get(short.candidates[0]).tier == "simple"
    assert any("not cached" in r for r in short.reasons)


def test_an_agent_step_keeps_the_sessions_tier_until_the_user_asks_again():
    """After a step escalated the session to complex, a later step whose own output looks harmless
    stays complex (it works on the same ask; it dropped to the cheapest model mid-investigation);
    the user's next words are weighed on their own, and a rule still forces its tier."""
    opus = Sticky(model="anthropic/claude-opus-4-8", tier="complex")
    step = Classification(tier="simple", task_type="code", confidence=0.9, p_simple=0.9, p_moderate=0.95,
                          kind="tool_result")
    kept = decide(PolicyInput(classification=step, catalogue=CAT, enabled_providers=ALL, sticky=opus))
    assert (kept.tier, kept.candidates[0]) == ("complex", "anthropic/claude-opus-4-8")
    assert any("agent step" in r and "holds" in r for r in kept.reasons)
    ask = msgspec.structs.replace(step, kind="ask")
    assert decide(PolicyInput(classification=ask, catalogue=CAT, enabled_providers=ALL, sticky=opus)).tier == "simple"
    ruled = decide(PolicyInput(classification=step, catalogue=CAT, enabled_providers=ALL, sticky=opus,
                               rule=RuleHit(name="scenario background", tier="simple")))
    assert ruled.tier == "simple"


def test_rule_forces_tier_task_type_and_model():
    """A matching rule's tier, task type and model override the classification."""
    d = run("simple", rule=RuleHit(name="r1", tier="complex", task_type="research"))
    assert (d.tier, d.task_type) == ("complex", "research")
    d = run("complex", rule=RuleHit(name="r2", model="ollama/llama3.1:8b"))
    assert d.candidates[0] == "ollama/llama3.1:8b"


def test_feedback_moves_the_probabilities():
    """A reroute to complex on the same prompt pulls both probabilities down until complex is chosen."""
    from routerd.feedback import FeedbackHint

    hint = FeedbackHint(simple_share=0.0, moderate_share=0.0, weight=2, similarity=1.0)
    d = run("simple", feedback=hint)
    assert d.tier == "complex" and d.p_simple < 0.2 and d.p_moderate < 0.2
    assert any("feedback on similar prompts" in r for r in d.reasons)
    weak = FeedbackHint(simple_share=0.0, moderate_share=0.0, weight=1, similarity=0.6)
    assert run("simple", feedback=weak).tier != "complex"


def test_nothing_at_target_falls_back_below_with_a_reason():
    """If only weaker models are usable, they are used, and the decision says so."""
    d = run("complex", enabled_providers=frozenset({"ollama"}))
    assert d.candidates and all(CAT.get(k).local for k in d.candidates)
    assert any("no usable model at tier complex" in r for r in d.reasons)


def test_unknown_price_ranks_after_known():
    """A model whose price is unknown ranks after priced models of the same tier."""
    from routerd.catalogue.models import Catalogue

    cat = Catalogue.of([*CAT.models, ModelInfo(id="mystery", provider="openai", tier="moderate")])
    d = decide(PolicyInput(classification=cls("moderate"), catalogue=cat, enabled_providers=ALL))
    moderate = [k for k in d.candidates if cat.get(k).tier == "moderate"]
    assert moderate[-1] == "openai/mystery"


@pytest.mark.parametrize("kw", [
    {},
    {"enabled_providers": frozenset()},
    {"needs": Needs(tools=True, vision=True, estimated_tokens=300_000)},
    {"explicit_model": "haiku", "open_breakers": frozenset({"anthropic"})},
    {"explicit_model": "haiku", "profile": "premium"},
    {"sticky": Sticky(model="sonnet", tier="complex"), "quality_floor": "moderate"},
    {"sticky": Sticky(model="opus", tier="complex"), "needs": Needs(estimated_tokens=50_000)},
    {"rule": RuleHit(name="r", model="opus"), "enabled_providers": frozenset({"openai"})},
])
def test_without_explain_the_decision_is_the_same_minus_verdicts(kw):
    """explain=False skips the per-model notes only: tier, candidates, advisory and reasons agree."""
    full, lean = run(**kw), run(explain=False, **kw)
    assert lean.verdicts == () and full.verdicts
    assert (lean.tier, lean.candidates, lean.advisory, lean.reasons) == (full.tier, full.candidates,
                                                                          full.advisory, full.reasons)


def _priced(name, provider, tier, price, **kw):
    return ModelInfo(id=name, provider=provider, tier=tier, price_in_per_mtok=price, price_out_per_mtok=price, **kw)


def test_the_catalogue_orders_the_models_once_per_target_tier():
    """`Catalogue.of` holds the policy's order per target tier: at or above it nearest tier first, free and
    local then by price (unknown last, ties in catalogue order); below it strongest first."""
    from routerd.catalogue.models import Catalogue

    cat = Catalogue.of([
        _priced("c-dear", "p", "complex", 9.0), _priced("s-two", "p", "simple", 2.0),
        ModelInfo(id="m-unknown", provider="p", tier="moderate"), _priced("m-one", "p", "moderate", 1.0),
        _priced("s-local", "p", "simple", None, local=True), _priced("s-two-again", "p", "simple", 2.0),
        _priced("c-cheap", "p", "complex", 3.0), _priced("m-free", "p", "moderate", 5.0, free=True),
    ])
    names = [[tuple(cat.models[i].id for i in order) for order in orders] for orders in cat.tier_orders]
    assert names == [
        [("s-local", "s-two", "s-two-again", "m-free", "m-one", "m-unknown", "c-cheap", "c-dear"), ()],
        [("m-free", "m-one", "m-unknown", "c-cheap", "c-dear"), ("s-local", "s-two", "s-two-again")],
        [("c-cheap", "c-dear"), ("m-free", "m-one", "m-unknown", "s-local", "s-two", "s-two-again")],
    ]


def test_a_reloaded_catalogue_ranks_by_its_own_prices():
    """Decisions alternating between two catalogues of the same models priced the other way round
    each follow their own catalogue (nothing computed for one serves the other)."""
    from routerd.catalogue.models import Catalogue

    old = Catalogue.of([_priced("a", "p", "simple", 1.0), _priced("b", "p", "simple", 2.0)])
    new = Catalogue.of([_priced("a", "p", "simple", 2.0), _priced("b", "p", "simple", 1.0)])
    for cat, first in [(old, "p/a"), (new, "p/b"), (old, "p/a"), (new, "p/b")]:
        for explain in (False, True):
            d = decide(PolicyInput(classification=cls("simple"), catalogue=cat, enabled_providers=frozenset({"p"}),
                                   explain=explain))
            assert d.candidates == (first, "p/b" if first == "p/a" else "p/a")


def _expected_candidates(inp):
    """The policy's ranking written out plainly: the usable models at or above the target tier by
    (tier, free/local first, price), else the usable ones below, strongest first."""
    cat, needs, broken = inp.catalogue, inp.needs, inp.open_breakers
    usable = [i for i, m in enumerate(cat.models)
              if m.provider in inp.enabled_providers and not {m.key, m.id, m.provider} & broken
              and (m.tools or not needs.tools) and (m.vision or not needs.vision)
              and needs.estimated_tokens <= m.context_window]
    target = TIERS.index(decide(inp).tier)
    ranks, costs = cat.tier_ranks, cat.cost_ranks
    ordered = sorted((i for i in usable if ranks[i] >= target), key=lambda i: (ranks[i], costs[i]))
    ordered = ordered or sorted((i for i in usable if ranks[i] < target), key=lambda i: (-ranks[i], costs[i]))
    return tuple(cat.keys[i] for i in ordered)


def test_candidates_are_the_usable_models_in_tier_and_price_order():
    """Over seeded random catalogues (ties, free, local, unknown prices) and requests (providers,
    breakers, capabilities, tiers), the candidates are the usable models sorted as the module says,
    and explain changes only the verdicts."""
    import random

    from routerd.catalogue.models import Catalogue

    rng = random.Random(8)
    for _ in range(300):
        cat = Catalogue.of([
            _priced(f"m{rng.randint(0, 9)}", rng.choice("pqr"), rng.choice(TIERS), rng.choice([None, 1.0, 2.0, 2.0, 7.5]),
                    free=rng.random() < 0.2, local=rng.random() < 0.2, tools=rng.random() < 0.8,
                    vision=rng.random() < 0.5, context_window=rng.choice([8_192, 128_000]))
            for _ in range(rng.randint(0, 10))])
        names = [*cat.keys, *(m.id for m in cat.models), "p", "q"]
        inp = PolicyInput(
            classification=cls("simple", p=sorted((rng.random(), rng.random()))), catalogue=cat, profile=rng.choice(["budget", "premium"]),
            enabled_providers=frozenset(rng.sample("pqr", rng.randint(1, 3))),
            open_breakers=frozenset(rng.sample(names, min(len(names), rng.choice([0, 0, 1, 2])))),
            needs=Needs(tools=rng.random() < 0.5, vision=rng.random() < 0.3,
                        estimated_tokens=rng.choice([0, 10_000, 200_000])))
        lean, full = decide(msgspec.structs.replace(inp, explain=False)), decide(inp)
        assert lean.candidates == _expected_candidates(inp)
        assert (lean.tier, lean.candidates, lean.reasons) == (full.tier, full.candidates, full.reasons)
        assert sorted((v.rank, v.model) for v in full.verdicts if v.kept) == list(enumerate(full.candidates))
