"""Whose sticky model a decision reads and sets: the session's under its header, a sessionless
conversation's under its opening, nobody's for a background call."""

import json

from routerd.dialects.registry import get as get_dialect
from routerd.routing.core import _sticky_key
from routerd.routing.opening import opening_of
from routerd.routing.scenario import Found
from routerd.routing.types import Conversation, RouteRequest
from routerd.scenarios.detect import Detection
from routerd.scenarios.tokens import TokenCount

FIRST = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Plan the schema migration."}]
LATER = [*FIRST, {"role": "assistant", "content": "Step one: ..."}, {"role": "user", "content": "go on"}]


def request(messages: list[dict], session: str | None = None, **markers: str) -> RouteRequest:
    body = json.dumps({"model": "auto", "messages": messages}).encode()
    return RouteRequest(Conversation.from_body(get_dialect("openai_chat"), body), model="auto",
                        session_id=session, dialect="openai_chat", markers=markers)


def found(*matched: str) -> Found:
    return Found(Detection(scenario=matched[0] if matched else "default", matched=matched),  # type: ignore[arg-type]
                 TokenCount(base=10), None, None)


def test_a_session_keeps_its_key_as_before():
    """With a session header the key is the session id (a subagent's, its agent's), read and set."""
    assert _sticky_key(request(LATER, "s1"), found()) == ("s1", True)
    assert _sticky_key(request(LATER, "s1", **{"x-claude-code-agent-id": "a9"}), found("subagent")) == ("s1/a9", True)
    assert _sticky_key(request(LATER, "s1"), found("subagent")) == (None, False)
    assert _sticky_key(request(LATER, "s1"), None) == ("s1", True)


def test_without_a_session_the_opening_keys_the_conversation():
    """No session: the opening's key; the first request sets it without reading it."""
    key = opening_of(request(FIRST)).key
    assert _sticky_key(request(FIRST), found()) == (key, False)
    assert _sticky_key(request(LATER), found()) == (key, True)
    assert _sticky_key(request(LATER), None) == (key, True)  # scenario detection off
    assert _sticky_key(request(LATER), found("subagent")) == (key, True)  # its own opening: its own key


def test_a_background_call_is_routed_alone_with_or_without_a_session():
    """A background call neither reads nor sets any sticky model."""
    assert _sticky_key(request(LATER), found("background")) == (None, False)
    assert _sticky_key(request(LATER, "s1"), found("background")) == (None, False)
