"""User rules from config, and feedback that changes later decisions for similar prompts."""

import pytest

from routerd.catalogue.builtin import load_catalogue
from routerd.classify.classifier import classify
from routerd.config import parse_config
from routerd.errors import ConfigError
from routerd.feedback import FeedbackRow, FeedbackTable, adjust, signature, signature_key, wanted_tier_of_rating
from routerd.policy import PolicyInput, decide
from routerd.rules import Rule, RuleSet


def test_first_matching_rule_wins():
    """Rules are tried in config order; the first match is what they force."""
    rules = RuleSet.build([
        Rule(name="prod-migrations", pattern=r"migrat\w+.*\bprod", tier="complex"),
        Rule(name="translate-local", keywords=["translate", "traduire"], model="ollama/llama3.1:8b"),
        Rule(name="catch-all-translate", keywords=["translate"], tier="moderate"),
    ])
    assert rules.evaluate("plan the migration of prod to PG 16").tier == "complex"
    hit = rules.evaluate("Translate this to French")
    assert (hit.name, hit.model) == ("translate-local", "ollama/llama3.1:8b")
    assert rules.evaluate("write a haiku") is None


def test_keywords_match_whole_words_only():
    """A keyword matches as a word, not inside another word."""
    rules = RuleSet.build([Rule(name="k", keywords=["go"], tier="moderate")])
    assert rules.evaluate("rewrite it in Go please") is not None
    assert rules.evaluate("a good algorithm") is None


@pytest.mark.parametrize(("name", "body"), [
    ("bad-regex", 'pattern = "(unclosed"\ntier = "simple"'),
    ("matches-nothing", 'tier = "simple"'),
    ("forces-nothing", 'keywords = ["x"]'),
])
def test_invalid_rules_are_config_errors(name, body):
    """A bad pattern, a rule without a pattern, or one that forces nothing fails at config load."""
    text = f'[[routing.rules]]\nname = "{name}"\n{body}\n'
    with pytest.raises(ConfigError, match=name):
        parse_config(text)


def test_rules_and_models_load_from_config():
    """`[[routing.rules]]` and `[[routing.models]]` decode into the routing section."""
    config = parse_config(
        '[routing]\nprofile = "budget"\nquality_floor = "moderate"\n'
        '[[routing.rules]]\nname = "r"\nkeywords = ["k8s"]\ntier = "complex"\n'
        '[[routing.models]]\nid = "qwen3:8b"\nprovider = "ollama"\ntier = "simple"\nlocal = true\nfree = true\n')
    assert config.routing.rules[0].tier == "complex"
    assert config.routing.models[0].key == "ollama/qwen3:8b"


def test_signature_ignores_numbers_and_filler():
    """Prompts that differ only in numbers and stopwords share a signature."""
    assert signature("refactor the 3 payment handlers to async") == signature("Refactor our 5 payment handlers to async!")


def test_reroute_moves_the_probabilities_of_similar_prompts():
    """After `reroute D --to complex`, a similar prompt's probabilities drop and it routes to complex;
    an unrelated prompt is untouched."""
    cat = load_catalogue()
    prompt = "write a python function that merges overlapping date ranges in a list of bookings"
    first = classify([{"role": "user", "content": prompt}])
    assert first.tier != "complex"
    table = FeedbackTable()
    table.apply(FeedbackRow(decision_id="d1", signature=signature_key(signature(prompt)),
                            decided_tier=first.tier, wanted_tier="complex", kind="reroute"))

    similar = "write a python function that merges overlapping date ranges in a list of hotel bookings"
    c = classify([{"role": "user", "content": similar}])
    hint = table.hint_for(signature(similar))
    assert hint is not None and 0.6 <= hint.similarity < 1.0 and hint.moderate_share == 0.0
    p_simple, p_moderate = adjust(c.p_simple, c.p_moderate, hint)
    assert p_simple < c.p_simple and p_moderate < c.p_moderate < 1.0
    d = decide(PolicyInput(classification=c, catalogue=cat, enabled_providers=frozenset({"anthropic"}),
                           feedback=hint))
    assert d.tier == "complex" and d.candidates[0] == "anthropic/claude-opus-4-8"
    assert (d.p_simple, d.p_moderate) == (round(p_simple, 4), round(p_moderate, 4))

    assert table.hint_for(signature("what does ACID stand for in databases")) is None


def test_ratings_vote_with_their_weights():
    """`bad` asks for one tier more, `good` confirms; the shares weigh a reroute twice a rating."""
    assert wanted_tier_of_rating("simple", "bad") == "moderate"
    assert wanted_tier_of_rating("complex", "bad") == "complex"
    assert wanted_tier_of_rating("moderate", "good") == "moderate"
    table = FeedbackTable()
    key = signature_key(signature("explain the borrow checker error in this rust code"))
    for decision, wanted in (("x1", "moderate"), ("x2", "complex")):
        table.apply(FeedbackRow(decision_id=decision, signature=key, decided_tier="simple", wanted_tier=wanted,
                                kind="rate"))
    table.apply(FeedbackRow(decision_id="y", signature=key, decided_tier="simple", wanted_tier="simple",
                            kind="reroute"))
    hint = table.hint_for(frozenset(key.split()))
    assert (hint.simple_share, hint.moderate_share, hint.weight, hint.similarity) == (0.5, 0.75, 4.0, 1.0)
    assert table.statistics() == {"signatures": 1, "rows": 3}
    one_rating = FeedbackTable()
    one_rating.apply(FeedbackRow(decision_id="z", signature=key, decided_tier="simple", wanted_tier="complex",
                                 kind="rate"))
    # Half the trust of a reroute: a single rating moves the probabilities half as far.
    assert adjust(0.8, 0.9, one_rating.hint_for(frozenset(key.split()))) == pytest.approx((0.44, 0.495))


def test_a_decision_has_one_vote_its_latest():
    """Rerouting one decision twice, or rating it twice, is one vote (it used to stack: weight 4 after
    two identical reroutes); a corrected reroute replaces the first."""
    key = signature_key(signature("migrate the billing tables to the new schema without downtime"))
    table = FeedbackTable()
    for wanted in ("complex", "complex", "moderate"):
        table.apply(FeedbackRow(decision_id="d1", signature=key, decided_tier="simple", wanted_tier=wanted,
                                kind="reroute"))
    hint = table.hint_for(frozenset(key.split()))
    assert (hint.weight, hint.simple_share, hint.moderate_share) == (2.0, 0.0, 1.0)
    table.apply(FeedbackRow(decision_id="d2", signature=key, decided_tier="simple", wanted_tier="complex",
                            kind="rate"))
    assert table.hint_for(frozenset(key.split())).weight == 3.0
    assert table.statistics() == {"signatures": 1, "rows": 2}
