"""One call, one row: a call seen by the gateway and by a hook reading the transcript is kept
once, whichever is written first, matched by the answer's id or by session, tokens and time."""

import json
from datetime import datetime, timezone
from pathlib import Path

import anthropic
import pytest

from routerd.store.ledger import CallRow, record_call, usage_groups
from routerd.store.store import open_store
from tests.e2e.harness import http_url, recorded_calls
from tests.e2e.upstream import Turn, Upstream
from tests.integrations.support import claude_payload
from tests.support import connect

pytestmark = pytest.mark.anyio
SESSION = "5f0c2c84-0a8b-4d55-9f8e-0d1c1a2b3c4d"
USAGE = {"input_tokens": 12, "cache_creation_input_tokens": 300, "cache_read_input_tokens": 9_000,
         "cache_creation": {"ephemeral_5m_input_tokens": 300, "ephemeral_1h_input_tokens": 0},
         "output_tokens": 80}


def gateway_row(n: int, **kw) -> CallRow:
    fields = dict(id=f"g{n}", ts=1_000_000.0 + n, provider="anthropic", model="claude-haiku-4-5", outcome="ok",
                  input_tokens=9_312, output_tokens=80, cost_usd=0.002, baseline_cost_usd=0.01,
                  latency_ms=900.0, session_id=SESSION, response_id=f"msg_{n}")
    return CallRow(**{**fields, **kw})


def hook_row(n: int, **kw) -> CallRow:
    return gateway_row(n, id=f"h{n}", source="hook:claude-code", latency_ms=None, **kw)


async def _stored(store) -> tuple[list[tuple], list]:
    await store.flush()
    rows = await store.read(lambda c: c.execute("SELECT id, source FROM calls ORDER BY id").fetchall())
    groups = await store.read(lambda c: usage_groups(c, 0.0, "source"))
    return rows, groups


@pytest.mark.parametrize("hook_first", [True, False])
async def test_same_answer_id_is_one_row_whichever_comes_first(tmp_path: Path, no_blocking, hook_first):
    """Hook row then gateway row, or the other way round: the gateway's row stays, once."""
    async with open_store(tmp_path / "r.db") as store:
        rows = [hook_row(1), gateway_row(1)] if hook_first else [gateway_row(1), hook_row(1)]
        for row in rows:
            record_call(store, row)
        stored, groups = await _stored(store)
    assert stored == [("g1", "gateway")]
    assert [(g.key, g.calls, g.input_tokens) for g in groups] == [("gateway", 1, 9_312)]


async def test_without_a_shared_id_session_tokens_and_time_match(tmp_path: Path, no_blocking):
    """A transcript id the gateway never saw still matches by session, token counts and time;
    another session, other tokens or another hour do not."""
    async with open_store(tmp_path / "r.db") as store:
        record_call(store, gateway_row(1, response_id=None))
        record_call(store, hook_row(2, ts=1_000_030.0))                     # same call: dropped
        record_call(store, hook_row(3, session_id="other"))                 # another session: kept
        record_call(store, hook_row(4, output_tokens=81))                   # other tokens: kept
        record_call(store, hook_row(5, ts=1_000_000.0 + 3_600))             # an hour later: kept
        stored, groups = await _stored(store)
    assert stored == [("g1", "gateway"), ("h3", "hook:claude-code"), ("h4", "hook:claude-code"),
                      ("h5", "hook:claude-code")]
    assert sum(g.calls for g in groups) == 4


async def test_gateway_rows_are_never_merged_with_each_other(tmp_path: Path, no_blocking):
    """Two gateway calls with the same answer id (a server that reuses ids) are two calls; a hook
    row repeating a message it already recorded is one."""
    async with open_store(tmp_path / "r.db") as store:
        record_call(store, gateway_row(1))
        record_call(store, gateway_row(2, response_id="msg_1"))
        record_call(store, hook_row(7, session_id="another"))
        record_call(store, hook_row(8, session_id="another", response_id="msg_7"))
        stored, _ = await _stored(store)
    assert stored == [("g1", "gateway"), ("g2", "gateway"), ("h7", "hook:claude-code")]


async def _stop_hook(daemon, transcript: Path) -> None:
    payload = json.loads(claude_payload("Stop", session=SESSION, transcript_path=str(transcript)))
    async with connect(daemon.socket_path) as client:
        reply = await client.call({"type": "hook", "host": "claude-code", "event": "Stop", "payload": payload})
    assert reply["type"] == "hook_reply", reply


def _transcript(path: Path, message_id: str, usage: dict = USAGE) -> Path:
    lines = [{"type": "user", "sessionId": SESSION, "message": {"role": "user", "content": "hi"}},
             {"type": "assistant", "sessionId": SESSION, "timestamp": datetime.now(timezone.utc).isoformat(),
              "message": {"id": message_id, "model": "claude-haiku-4-5", "usage": usage}}]
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    return path


@pytest.mark.parametrize("message_id", ["msg_e2e_1", "msg_the_transcript_only"])
async def test_a_call_through_the_gateway_and_its_stop_hook_is_one_row(
        fake_anthropic: Upstream, daemon, tmp_path: Path, message_id: str):
    """The anthropic SDK calls through the gateway as Claude Code does (its session header), then
    the Stop hook reads the same turn from the transcript: one row, the gateway's."""
    fake_anthropic.script[:] = [Turn(text="hi there", usage=USAGE)]
    async with anthropic.AsyncAnthropic(base_url=http_url(daemon), api_key="x", max_retries=0,
                                        default_headers={"X-Claude-Code-Session-Id": SESSION}) as client:
        async with client.messages.stream(model="claude-haiku-4-5", max_tokens=100,
                                          messages=[{"role": "user", "content": "hi"}]) as stream:
            await stream.get_final_message()
    await _stop_hook(daemon, _transcript(tmp_path / "t.jsonl", message_id))
    [row] = await recorded_calls(daemon)
    assert (row["source"], row["session_id"], row["input_tokens"], row["output_tokens"]) == \
        ("gateway", SESSION, 9_312, 80)
    assert daemon.hooks.statistics().turns_recorded == 1  # the hook did offer its row


async def test_a_transcript_with_counts_no_call_can_have_records_nothing_and_stops_nothing(daemon, tmp_path: Path):
    """A transcript whose usage says 10**30 input tokens (the file is anyone's to write) is not
    recorded (it killed the state writer, and every later row was lost); the next turn is."""
    await _stop_hook(daemon, _transcript(tmp_path / "evil.jsonl", "msg_evil", {**USAGE, "input_tokens": 10**30}))
    await _stop_hook(daemon, _transcript(tmp_path / "t.jsonl", "msg_fine"))
    [row] = await recorded_calls(daemon)
    assert (row["response_id"], row["output_tokens"]) == ("msg_fine", 80)
    assert daemon.store.statistics().state == "writing" and daemon.store.statistics().dropped == 0
