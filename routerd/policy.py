"""The routing policy: a classification and the state of the world in, ordered candidates out.

Pure: everything it needs arrives in a `PolicyInput` (catalogue, enabled providers, open
breakers, budget pressure, session stickiness, explicit model, rule result, capability needs,
quality floor, feedback on similar prompts), and `decide` returns a frozen `Decision` that names,
for every catalogue model, why it was kept, skipped or ranked where it is.

How the target tier is reached (each step that changes something adds a reason):

1. the classifier's calibrated probabilities that a simple-tier and a moderate-tier model do the
   job, moved towards what feedback on similar prompts said (`routerd.feedback.adjust`);
2. the cheapest tier whose probability clears the profile's bar (`PROFILE_BARS`: budget 0.35,
   balanced 0.5, premium 0.75); budget pressure lowers the bar smoothly, to
   `BAR_AT_FULL_PRESSURE` when the budget is spent;
3. a user rule's tier; else, for an agent step (tool output, no new words from the user), at
   least the tier the session's model was chosen for: the step works on the same ask;
4. the quality floor.

Candidates are the enabled, healthy, capable models at the target tier (free and local first,
then by blended price), followed by higher tiers as fallbacks. An explicit model, a rule's model
and a sticky session model go in front when they are usable. A session's model is kept unless
the step needs a higher tier, or (on the user's next words: an agent step keeps its tier) a
cheaper tier saves more than the provider's prompt cache is worth (`_keeps_cache`: the cost of
re-reading the context uncached on the new model against reading it from the cache on the
current one, over `CACHE_HORIZON_STEPS` steps). With no provider
enabled the decision still carries an `advisory` model (haiku / sonnet / opus by tier): what a
Claude Code subscription user should pick.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from routerd.catalogue.models import Catalogue, ModelInfo
from routerd.classify.types import PROFILE_BARS, TIERS, Classification, Tier, enough, tier_for
from routerd.feedback import FeedbackHint, adjust

Profile = Literal["budget", "balanced", "premium"]
PROFILES: tuple[Profile, ...] = ("budget", "balanced", "premium")
# The bar when the budget is spent (pressure 1.0): only a near-certain need for a stronger tier
# escapes the cheapest one. In between the bar moves linearly with pressure.
BAR_AT_FULL_PRESSURE = 0.05
# Prompt caching: a cached read costs this share of the input price (Anthropic's cache reads cost
# 0.1x, OpenAI's 0.1-0.5x, Gemini's 0.25x; 0.1 is the common case for the agent traffic that stays
# in one session). Below CACHE_MIN_TOKENS providers do not cache at all.
CACHED_INPUT_SHARE = 0.1
CACHE_MIN_TOKENS = 1024
# A switch to a cheaper model must pay back the cache it throws away within this many steps.
CACHE_HORIZON_STEPS = 4
# What a Claude Code subscription user is advised to pick, by tier.
ADVISORY_BY_TIER: dict[str, str] = {"simple": "haiku", "moderate": "sonnet", "complex": "opus"}


class Needs(msgspec.Struct, frozen=True, kw_only=True):
    """Capabilities the request requires of a model."""

    tools: bool = False
    vision: bool = False
    estimated_tokens: int = 0


class Sticky(msgspec.Struct, frozen=True, kw_only=True):
    """The model this session used last, and the tier it was chosen for."""

    model: str
    tier: Tier


class RuleHit(msgspec.Struct, frozen=True, kw_only=True):
    """What a matching user rule forces (any of tier, task type, model), and its name."""

    name: str
    tier: Tier | None = None
    task_type: str | None = None
    model: str | None = None


class PolicyInput(msgspec.Struct, frozen=True, kw_only=True):
    classification: Classification
    catalogue: Catalogue
    enabled_providers: frozenset[str] = frozenset()
    profile: Profile = "balanced"
    open_breakers: frozenset[str] = frozenset()  # model keys, ids or provider names
    out_reasons: dict[str, str] = {}  # why some of them are out (admission's words), for explain
    budget_pressure: float = 0.0  # 0 = nothing spent .. 1 = the budget is used up
    sticky: Sticky | None = None
    explicit_model: str | None = None
    rule: RuleHit | None = None
    needs: Needs = Needs()
    quality_floor: str | None = None  # a tier name, or a model whose tier is the floor
    feedback: FeedbackHint | None = None  # what reroutes and ratings of similar prompts said
    # Whether the decision carries `verdicts` (every model's fate and reasons). Off, the candidates
    # and reasons are the same and the policy skips the per-model notes (~half its time).
    explain: bool = True


class Verdict(msgspec.Struct, frozen=True, kw_only=True):
    """One catalogue model's fate in this decision."""

    model: str  # provider/id
    tier: Tier
    kept: bool
    rank: int | None = None
    reasons: tuple[str, ...] = ()


class Decision(msgspec.Struct, frozen=True, kw_only=True):
    """Ordered candidates (provider/id keys) and the reasoning behind them.

    `p_simple` / `p_moderate` are the probabilities the tier was chosen from (after feedback),
    `bar` the bar they had to clear, `confidence` the probability that `tier` does the job."""

    tier: Tier
    task_type: str
    candidates: tuple[str, ...]
    advisory: str
    profile: Profile
    reasons: tuple[str, ...]
    verdicts: tuple[Verdict, ...]  # empty unless the input asked to explain
    p_simple: float = 0.5
    p_moderate: float = 0.5
    bar: float = 0.5
    confidence: float = 0.5


def bar_for(profile: str, pressure: float) -> float:
    """The profile's bar, lowered linearly towards `BAR_AT_FULL_PRESSURE` as budget pressure rises."""
    bar = PROFILE_BARS[profile]
    pressure = min(max(pressure, 0.0), 1.0)
    return bar - (bar - BAR_AT_FULL_PRESSURE) * pressure


def _target_tier(inp: PolicyInput, reasons: list[str]) -> tuple[Tier, float, float, float]:
    """(tier, p_simple, p_moderate, bar)."""
    c = inp.classification
    p_simple, p_moderate = c.p_simple, c.p_moderate
    reasons.append(f"classified {c.tier} ({c.task_type}): p(simple enough) {p_simple:.2f}, "
                   f"p(moderate enough) {p_moderate:.2f}")
    if inp.feedback is not None:
        p_simple, p_moderate = adjust(p_simple, p_moderate, inp.feedback)
        reasons.append(f"feedback on similar prompts ({inp.feedback.describe()}): p(simple) {p_simple:.2f}, "
                       f"p(moderate) {p_moderate:.2f}")
    bar = bar_for(inp.profile, inp.budget_pressure)
    tier = tier_for(p_simple, p_moderate, bar)
    pressure = f", budget pressure {inp.budget_pressure:.2f}" if inp.budget_pressure > 0 else ""
    reasons.append(f"profile {inp.profile}: bar {bar:.2f}{pressure} -> {tier}")
    if inp.rule is not None and inp.rule.tier is not None:
        if inp.rule.tier != tier:
            reasons.append(f"rule {inp.rule.name}: tier {tier} -> {inp.rule.tier}")
            tier = inp.rule.tier
    elif (sticky := inp.sticky) is not None and c.kind == "tool_result" and TIERS.index(tier) < TIERS.index(sticky.tier):
        # An agent step works on the ask the session's tier was chosen for: trouble an earlier
        # step's output showed (a race, a failing suite) is still in the context when this step's
        # own output looks harmless. The user's next words may bring the tier down again.
        reasons.append(f"agent step: the session's tier {sticky.tier} holds until the user asks again "
                       f"(this step alone: {tier})")
        tier = sticky.tier
    floor = _floor_tier(inp)
    if floor is not None and TIERS.index(tier) < TIERS.index(floor):
        reasons.append(f"quality floor {inp.quality_floor}: {tier} -> {floor}")
        tier = floor
    return tier, p_simple, p_moderate, bar


def _floor_tier(inp: PolicyInput) -> Tier | None:
    floor = inp.quality_floor
    if not floor:
        return None
    if floor in TIERS:
        return floor
    model = inp.catalogue.get(floor)
    return model.tier if model is not None else None


def _usable_in(order: tuple[int, ...], inp: PolicyInput) -> list[int]:
    """The models of `order` (catalogue indices) that can serve this request, in that order: those
    `_unusable` finds nothing against. One comprehension per check, not a call per model: the
    policy runs for every prompt."""
    models, enabled, needs = inp.catalogue.models, inp.enabled_providers, inp.needs
    tools, vision, tokens = needs.tools, needs.vision, needs.estimated_tokens
    kept = [i for i in order if (m := models[i]).provider in enabled and tokens <= m.context_window
            and (m.tools or not tools) and (m.vision or not vision)]
    if (broken := inp.open_breakers) and kept:
        keys = inp.catalogue.keys
        kept = [i for i in kept
                if keys[i] not in broken and (m := models[i]).id not in broken and m.provider not in broken]
    return kept


def _unusable(model: ModelInfo, key: str, inp: PolicyInput) -> str | None:
    """Why `model` cannot serve this request, or None if it can (`_usable_in` decides the same)."""
    if model.provider not in inp.enabled_providers:
        return f"provider {model.provider} not enabled"
    broken = inp.open_breakers
    if broken and (key in broken or model.id in broken or model.provider in broken):
        why = inp.out_reasons
        reason = why.get(key) or why.get(model.id) or why.get(model.provider)
        return f"unavailable: {reason}" if reason else "breaker open"
    needs = inp.needs
    if needs.tools and not model.tools:
        return "capability: no tool use"
    if needs.vision and not model.vision:
        return "capability: no vision"
    if needs.estimated_tokens > model.context_window:
        return f"capability: context {model.context_window} < {needs.estimated_tokens} tokens"
    return None


def decide(inp: PolicyInput) -> Decision:
    """Rank the catalogue for this request; explain every model's place."""
    reasons: list[str] = []
    tier, p_simple, p_moderate, bar = _target_tier(inp, reasons)
    models, keys = inp.catalogue.models, inp.catalogue.keys
    notes: list[list[str]] | None = [[] for _ in models] if inp.explain else None
    ordered = _promote(inp, tier, _rank(inp, tier, notes, reasons), notes, reasons)
    verdicts: tuple[Verdict, ...] = ()
    if notes is not None:
        rank = {i: r for r, i in enumerate(ordered)}
        verdicts = tuple(
            Verdict(model=keys[i], tier=model.tier, kept=i in rank, rank=rank.get(i), reasons=tuple(notes[i]))
            for i, model in enumerate(models)
        )
    if not inp.enabled_providers:
        reasons.append("no provider enabled: advisory only")
    advisory = models[ordered[0]].id if ordered else ADVISORY_BY_TIER[tier]
    task_type = inp.rule.task_type if inp.rule is not None and inp.rule.task_type else inp.classification.task_type
    return Decision(
        tier=tier, task_type=task_type, candidates=tuple(keys[i] for i in ordered), advisory=advisory,
        profile=inp.profile, reasons=tuple(reasons), verdicts=verdicts, p_simple=round(p_simple, 4),
        p_moderate=round(p_moderate, 4), bar=round(bar, 4), confidence=round(enough(p_simple, p_moderate, tier), 3),
    )


def _rank(inp: PolicyInput, tier: Tier, notes: list[list[str]] | None, reasons: list[str]) -> list[int]:
    """Indices of the usable models: the target tier (free first, then by price), then higher tiers
    (the catalogue's `tier_orders`). Each model's place is noted in `notes` when it is given (explain)."""
    ranked, weaker = inp.catalogue.tier_orders[TIERS.index(tier)]
    ordered = _usable_in(ranked, inp)
    below = _usable_in(weaker, inp) if not ordered or notes is not None else []
    if notes is not None:
        _note_places(inp, tier, ordered, below, notes)
    if not ordered and below:
        # Nothing at or above the target is usable: a weaker answer beats none.
        reasons.append(f"no usable model at tier {tier} or above")
        return below
    return ordered


def _note_places(inp: PolicyInput, tier: Tier, ordered: list[int], below: list[int], notes: list[list[str]]) -> None:
    """Note why each model is out, or where it ranks (`ordered`, else the weaker `below`)."""
    cat = inp.catalogue
    kept = {*ordered, *below}
    for i, model in enumerate(cat.models):
        if i not in kept and (why_not := _unusable(model, cat.keys[i], inp)) is not None:
            notes[i].append(why_not)
    target, costs = TIERS.index(tier), cat.cost_ranks
    for i in ordered:
        if cat.tier_ranks[i] > target:
            notes[i].append(f"fallback: above target tier {tier}")
        else:
            notes[i].append("target tier, free/local first" if costs[i][0] == 0 else "target tier, by price")
    weaker = f"below target tier {tier}: nothing else usable" if not ordered else f"skipped: below target tier {tier}"
    for i in below:
        notes[i].append(weaker)


def _promote(inp: PolicyInput, tier: Tier, ordered: list[int], notes: list[list[str]] | None,
             reasons: list[str]) -> list[int]:
    """Put the explicit model, else a rule's model, else the sticky model in front when usable."""
    front: list[tuple[str, str, str]] = []
    if inp.explicit_model:
        front.append((inp.explicit_model, "explicit", "explicit: requested by the client"))
    if inp.rule is not None and inp.rule.model:
        front.append((inp.rule.model, f"rule {inp.rule.name}", f"rule {inp.rule.name}: model"))
    sticky = inp.sticky
    if sticky is not None:
        if TIERS.index(sticky.tier) < TIERS.index(tier):
            reasons.append(f"sticky model {sticky.model} left: the conversation escalated past {sticky.tier}")
        elif _keeps_cache(inp, sticky, ordered, reasons):
            front.append((sticky.model, "sticky", "sticky: session keeps its model (prompt cache stays warm)"))
    if not front:
        return ordered
    cat = inp.catalogue
    for name, who, why in front:
        model = cat.get(name)
        if model is None:
            reasons.append(f"{who} model {name} is not in the catalogue")
            continue
        # A search of the ~25 keys costs less than building a key -> index dict for each request.
        i = cat.keys.index(key := model.key)
        # Left out of the ranking either as unusable or as below the target tier (promotable).
        why_not = _unusable(model, key, inp) if i not in ordered else None
        if why_not is not None:
            # Not usable at all (provider, breaker, capability): say why and keep the ranking.
            if notes is not None:
                notes[i].append(f"{who} but unusable")
            reasons.append(f"{who} model {model.key} unusable: {why_not}")
            continue
        if notes is not None:
            notes[i].append(why)
        return [i] + [j for j in ordered if j != i]
    return ordered


def _input_price(model: ModelInfo | None) -> float | None:
    if model is None:
        return None
    if model.free or model.local:
        return 0.0
    return model.price_in_per_mtok


def _keeps_cache(inp: PolicyInput, sticky: Sticky, ordered: list[int], reasons: list[str]) -> bool:
    """Whether the session stays on its model when this step alone would go to a cheaper tier.

    Staying reads the context from the provider's cache; switching re-reads it in full on the new
    model once, then from that model's cache. Over `CACHE_HORIZON_STEPS` steps of `tokens` context:
    stay = H * c * p_old, switch = p_new * (1 + (H - 1) * c), with c the cached share of the price.
    A step at the same tier, a context too short to be cached, or an unknown price keeps the model.
    """
    current = inp.catalogue.get(sticky.model)
    if current is None or not ordered or current.tier == inp.catalogue.models[ordered[0]].tier:
        return True
    cheaper = inp.catalogue.models[ordered[0]]
    tokens = inp.needs.estimated_tokens
    if tokens < CACHE_MIN_TOKENS:
        reasons.append(f"sticky model {sticky.model} left for {cheaper.key}: a {tokens}-token context is not cached")
        return False
    p_old, p_new = _input_price(current), _input_price(cheaper)
    if p_old is None or p_new is None:
        return True
    steps, share = CACHE_HORIZON_STEPS, CACHED_INPUT_SHARE
    stay = steps * share * p_old * tokens / 1e6
    switch = p_new * (1 + (steps - 1) * share) * tokens / 1e6
    verdict = "kept" if stay <= switch else "left"
    reasons.append(f"sticky model {sticky.model} {verdict}: over {steps} steps of {tokens} context tokens, staying "
                   f"(cached) costs ${stay:.4f}, switching to {cheaper.key} (cache lost) ${switch:.4f}")
    return stay <= switch
