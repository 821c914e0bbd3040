"""The routing core's scenario step on its own: the window rule over a decision's candidates."""

import pytest

from routerd.config import parse_config
from routerd.errors import ContextTooLong
from routerd.routing.scenario import Found, Scenarios, conversation_key
from routerd.routing.types import Candidate, Conversation, RouteRequest
from routerd.runtime import build_runtime
from routerd.scenarios.detect import Detection
from routerd.scenarios.tokens import TokenCount

CONFIG = """
[[routing.models]]
id = "gpt-small"
provider = "openai"
tier = "simple"
context_window = 10000
[[routing.models]]
id = "gpt-big"
provider = "openai"
tier = "simple"
context_window = 100000
"""
SMALL, BIG, UNKNOWN = Candidate("openai", "gpt-small"), Candidate("openai", "gpt-big"), Candidate("x", "mystery")


@pytest.fixture(scope="module")
def runtime():
    return build_runtime(parse_config(CONFIG), None, {})


def found(tokens: int, key: str | None = None) -> Found:
    long = tokens > 60_000
    detection = Detection(scenario="long_context" if long else "default", matched=("long_context",) if long else ())
    return Found(detection, TokenCount(base=tokens), key, None)


def test_candidates_too_small_are_passed_over_in_order(runtime):
    """A candidate whose window the count exceeds is dropped and said so; unknown windows are kept."""
    chain, notes = Scenarios().fit(runtime, found(20_000), [SMALL, UNKNOWN, BIG], False, list)
    assert chain == [UNKNOWN, BIG] and "gpt-small" in notes[0]


def test_a_named_model_too_small_is_refused_in_anthropics_words(runtime):
    """Nothing left for a named model: ContextTooLong, worded as Anthropic's own refusal."""
    step = Scenarios()
    with pytest.raises(ContextTooLong, match=r"^prompt is too long: \d+ tokens > 10000 maximum"):
        step.fit(runtime, found(20_000), [SMALL], False, lambda: [BIG])
    assert step.refused == 1


def test_automatic_routing_escalates_to_a_window_that_holds_it(runtime):
    """Automatic routing with no candidate that fits goes to the first escalation model that does."""
    step = Scenarios()
    chain, notes = step.fit(runtime, found(20_000), [SMALL], True, lambda: [SMALL, BIG])
    assert chain == [BIG] and step.escalated == 1 and any("escalated" in n for n in notes)


def test_an_automatic_request_is_refused_for_size_only_when_models_exist_and_none_holds_it(runtime):
    """With catalogue models to go to and none holding the request: ContextTooLong. With none to go
    to at all, size is not the reason, so nothing is raised here (the caller says no route)."""
    step = Scenarios()
    step.refuse_if_nothing_holds(runtime, found(20_000), [SMALL, BIG])  # one holds it
    with pytest.raises(ContextTooLong, match=r"^prompt is too long: \d+ tokens > 100000 maximum"):
        step.refuse_if_nothing_holds(runtime, found(200_000), [SMALL, BIG])
    step.refuse_if_nothing_holds(runtime, found(200_000), [])
    assert step.refused == 1


def test_a_long_session_stays_where_it_moved(runtime):
    """Once moved for its size, a session keeps its model even when a later request is small."""
    step = Scenarios()
    first, _ = step.fit(runtime, found(65_000, "s"), [SMALL, BIG], True, list)
    later, notes = step.fit(runtime, found(5_000, "s"), [SMALL, BIG], True, list)
    assert first[0] == BIG and later[0] == BIG and "stays" in notes[-1]


def test_route_steps_resolve_like_the_gateway():
    """A route step may be a [gateway.aliases] name, a catalogue alias, or provider/model."""
    runtime = build_runtime(parse_config(
        '[gateway.aliases]\nteam-fast = "anthropic/claude-haiku-4-5"\n'
        '[providers.anthropic]\nkind = "anthropic"\napi_key = "k"\n'
        '[providers.oai]\nkind = "openai"\nbase_url = "http://127.0.0.1:9/v1"\napi_key = "k"\nmodels = ["gpt-*"]\n'),
        None, {})
    step = Scenarios()
    assert step.resolve_step("team-fast", runtime, "anthropic") == [Candidate("anthropic", "claude-haiku-4-5")]
    assert step.resolve_step("sonnet", runtime, "anthropic") == [Candidate("anthropic", "claude-sonnet-4-6")]
    assert step.resolve_step("oai/gpt-4.1", runtime, "anthropic") == [Candidate("oai", "gpt-4.1")]


def test_a_subagent_is_its_own_conversation():
    """Claude Code's agent id and a Codex thread other than the session's make a separate conversation."""
    def key(**markers: str) -> str | None:
        return conversation_key(RouteRequest(Conversation(), session_id="s1", markers=markers))

    assert key() == "s1" and key(**{"thread-id": "s1"}) == "s1"
    assert key(**{"thread-id": "t2"}) == "s1/t2" and key(**{"x-claude-code-agent-id": "a9"}) == "s1/a9"
