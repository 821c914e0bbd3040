"""recent_gemini_calls read alone: Gemini CLI 0.61's session file, as the real CLI wrote it (see
test_gemini_hooks), and ``unmatched``, which leaves out the calls the gateway recorded."""

import json

from routerd.catalogue.prices import Tokens
from routerd.integrations.hooks import unmatched
from routerd.integrations.transcript import recent_gemini_calls

STAMP = "2026-12-07T12:20:1{}.000Z"


def _lines(*records: dict[str, object]) -> bytes:
    return b"\n".join(json.dumps(r).encode() for r in records)


def _user(n: int, content: object) -> dict[str, object]:
    return {"id": f"u{n}", "timestamp": STAMP.format(n), "type": "user", "content": content}


def _model(n: int, tokens: dict[str, int], **more: object) -> dict[str, object]:
    return {"id": f"g{n}", "timestamp": STAMP.format(n), "type": "gemini", "content": "", "model": "gemini-2.5-pro",
            "tokens": {"input": 0, "output": 0, "cached": 0, "thoughts": 0, "tool": 0, "total": 0} | tokens, **more}


SESSION = _lines(
    {"sessionId": "s1", "projectHash": "x", "startTime": STAMP.format(0), "kind": "main"},
    {"$set": {"messages": [_user(0, [{"text": "<session_context>...</session_context>"}])]}},
    _user(1, [{"text": "first"}]), _model(2, {"input": 100, "output": 5}),
    _user(3, [{"text": "second"}]), _model(4, {"input": 200, "output": 9, "cached": 150, "thoughts": 20}),
    {"$set": {"lastUpdated": STAMP.format(4)}},
    _model(4, {"input": 200, "output": 9, "cached": 150, "thoughts": 20}, toolCalls=[{"name": "ls"}]),
    _user(5, [{"functionResponse": {"name": "ls", "response": {}}}]), _model(6, {"input": 300, "output": 4}),
) + b'\n{"id": "broken'



def test_the_last_two_turns_calls_once_each_thoughts_in_output() -> None:
    """A record written twice is one call; the tool answer does not start a turn; thoughts are output."""
    calls = recent_gemini_calls(SESSION, turns=1)
    assert [(c.id, c.model) for c in calls] == [("g4", "gemini-2.5-pro"), ("g6", "gemini-2.5-pro")]
    assert calls[0].tokens == Tokens(input=200, output=29, cache_read=150, reasoning=20)
    assert [c.id for c in recent_gemini_calls(SESSION)] == ["g2", "g4", "g6"]


def test_a_replaced_message_list_forgets_the_earlier_records() -> None:
    """A ``$set`` of ``messages`` (a resumed or compressed chat) replaces what came before."""
    data = SESSION + b"\n" + _lines({"$set": {"messages": [_user(7, "again"), _model(8, {"input": 5, "output": 1})]}})
    assert [c.id for c in recent_gemini_calls(data)] == ["g8"]


def test_each_gateway_row_accounts_for_one_call_with_its_tokens() -> None:
    """Two gateway rows with the same counts take two calls; a far or different row takes none."""
    calls = recent_gemini_calls(SESSION)
    ts = calls[0].ts or 0.0
    rows = [(ts, 100, 5), (ts + 1, 300, 4), (ts + 5000, 200, 29), (ts, 200, 28)]
    assert [c.id for c in unmatched(calls, rows)] == ["g4"]
