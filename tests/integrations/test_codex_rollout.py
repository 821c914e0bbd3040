"""Reading Codex 0.169's rollout file (``transcript.recent_codex_calls``): pure, bytes in."""

import json

from routerd.catalogue.prices import Tokens
from routerd.integrations.transcript import recent_codex_calls


def _usage(n: int) -> dict:
    return {"input_tokens": 100 * n, "cached_input_tokens": 40 * n, "cache_write_input_tokens": 0,
            "output_tokens": 10 * n, "reasoning_output_tokens": n, "total_tokens": 110 * n}


def _rollout(*turns: tuple[str, str | None, list[str]]) -> bytes:
    """Lines as Codex writes them: per turn its context (model), then a usage record per call."""
    lines: list[dict] = [{"type": "session_meta", "payload": {"id": "t1"}}]
    n = 0
    for turn, model, responses in turns:
        if model:
            lines.append({"type": "turn_context", "payload": {"turn_id": turn, "model": model, "cwd": "/w"}})
        for rid in responses:
            n += 1
            lines.append({"type": "response_item", "payload": {"type": "message", "role": "assistant"}})
            lines.append({"timestamp": "2026-12-07T11:57:08.901Z", "type": "token_usage_record",
                          "payload": {"turn_id": turn, "response_id": rid, "usage": _usage(n)}})
            lines.append({"type": "event_msg", "payload": {"type": "token_count", "info": {}}})
    return b'{"partial line of the tail\n' + b"\n".join(json.dumps(line).encode() for line in lines)


def test_the_last_two_turns_calls_once_each_with_their_turns_model() -> None:
    """Calls of the last two turns, one per response id, in OpenAI's terms (input with cached)."""
    data = _rollout(("a", "gpt-4.1", ["r1"]), ("b", "gpt-4.1", ["r2", "r3", "r3"]), ("c", "o3", ["r4"]))
    calls = recent_codex_calls(data)
    assert [(c.id, c.model) for c in calls] == [("r2", "gpt-4.1"), ("r3", "gpt-4.1"), ("r4", "o3")]
    assert calls[0].tokens == Tokens(input=200, cache_read=80, output=20, reasoning=2)
    assert calls[0].ts is not None and not calls[0].sidechain


def test_a_call_whose_turn_model_the_tail_does_not_show_is_left_out() -> None:
    """A tail cut before the turn's context: that turn's calls cannot be priced, so are not read."""
    assert [c.id for c in recent_codex_calls(_rollout(("a", None, ["r1"]), ("b", "gpt-4.1", ["r2"])))] == ["r2"]
    assert recent_codex_calls(b"") == [] and recent_codex_calls(b"not json\n{}") == []
