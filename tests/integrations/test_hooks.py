"""Hook requests end to end: a shim (or the socket) sends a host's payload, the daemon routes,
applies the mode, stores the decision, and answers in the host's JSON."""

import json
import os
import time
from pathlib import Path

import anyio
import pytest

from routerd.store.ledger import CallRow, record_call
from tests.integrations.support import claude_payload, shim_command
from tests.support import connect

pytestmark = pytest.mark.anyio

SIMPLE = "what is the capital of France?"


async def hook(app, host: str, event: str, payload: bytes) -> dict:
    async with connect(app.socket_path) as client:
        reply = await client.call({"type": "hook", "host": host, "event": event,
                                   "payload": json.loads(payload)})
    assert reply["type"] == "hook_reply", reply
    return reply


async def set_mode(app, mode: str) -> None:
    async with connect(app.socket_path) as client:
        reply = await client.call({"type": "hook_mode", "mode": mode})
    assert reply["data"]["mode"] == mode


async def decisions(app) -> list[tuple]:
    await app.store.flush()
    return await app.store.read(lambda c: c.execute(
        "SELECT id, source, session_id, tier, model FROM decisions ORDER BY ts").fetchall())


async def test_shim_advises_on_a_prompt_and_the_decision_is_stored(daemon):
    """advise: UserPromptSubmit gets additionalContext naming haiku and the Agent tool; stored."""
    env = {**os.environ, "ROUTERD_SOCKET": str(daemon.socket_path)}
    result = await anyio.run_process(
        shim_command("--host", "claude-code", "--event", "UserPromptSubmit", "--budget-ms", "5000"),
        input=claude_payload("UserPromptSubmit", prompt=SIMPLE), env=env)
    out = json.loads(result.stdout)["hookSpecificOutput"]
    assert out["hookEventName"] == "UserPromptSubmit"
    assert 'model "haiku"' in out["additionalContext"] and "the Agent tool" in out["additionalContext"]
    rows = await decisions(daemon)
    assert [(r[1], r[2], r[4]) for r in rows] == [("hook:claude-code", "s-1", "haiku")]
    assert rows[0][0] in out["additionalContext"]


async def test_session_start_injects_a_one_line_policy_summary(daemon):
    """SessionStart: one line naming the mode and the profile."""
    reply = await hook(daemon, "claude-code", "SessionStart", claude_payload("SessionStart", source="startup"))
    context = json.loads(reply["stdout"])["hookSpecificOutput"]["additionalContext"]
    assert "mode advise" in context and "profile balanced" in context and "\n" not in context


@pytest.mark.parametrize(("host", "models"), [
    ("codex", ("gpt-6-luna", "gpt-6.1-sol", "gpt-6-astra")),
    ("gemini-cli", ("gemini-2.5-flash-lite", "gemini-2.5-flash", "gemini-2.5-pro")),
])
async def test_session_start_names_the_hosts_own_models(daemon, host: str, models: tuple[str, ...]):
    """Codex's and Gemini CLI's SessionStart names their models, not Claude's or its Agent tool."""
    reply = await hook(daemon, host, "SessionStart", claude_payload("SessionStart", source="startup"))
    context = json.loads(reply["stdout"])["hookSpecificOutput"]["additionalContext"]
    assert all(model in context for model in models), context
    assert "haiku" not in context and "opus" not in context and "Agent tool" not in context, context


@pytest.fixture
def openai_from_env(daemon_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A provider enabled from the environment only (the config file names none)."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-env")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:5399/v1")  # never called


async def test_session_start_counts_providers_enabled_from_the_environment(openai_from_env, daemon):
    """SessionStart counts the providers the daemon enabled, those from env keys included."""
    reply = await hook(daemon, "claude-code", "SessionStart", claude_payload("SessionStart", source="startup"))
    context = json.loads(reply["stdout"])["hookSpecificOutput"]["additionalContext"]
    assert "1 external provider(s)" in context and "advice only" not in context


async def test_hard_mode_denies_work_tools_until_delegated(daemon):
    """hard: after a delegable prompt, Bash is denied, Read allowed, Task honours the route."""
    await set_mode(daemon, "hard")
    await hook(daemon, "claude-code", "UserPromptSubmit", claude_payload("UserPromptSubmit", prompt=SIMPLE))
    bash = await hook(daemon, "claude-code", "PreToolUse",
                      claude_payload("PreToolUse", tool_name="Bash", tool_input={"command": "ls"}))
    out = json.loads(bash["stdout"])["hookSpecificOutput"]
    assert out["permissionDecision"] == "deny" and "haiku" in out["permissionDecisionReason"]
    read = await hook(daemon, "claude-code", "PreToolUse",
                      claude_payload("PreToolUse", tool_name="Read", tool_input={"file_path": "/x"}))
    assert read.get("stdout", "") == ""
    task = await hook(daemon, "claude-code", "PreToolUse",
                      claude_payload("PreToolUse", tool_name="Task", tool_input={"model": "haiku"}))
    assert task.get("stdout", "") == ""
    again = await hook(daemon, "claude-code", "PreToolUse",
                       claude_payload("PreToolUse", tool_name="Bash", tool_input={"command": "ls"}))
    assert again.get("stdout", "") == ""
    stats = daemon.hooks.statistics()
    assert (stats.denied, stats.honored, stats.violations) == (1, 1, 1)
    await daemon.store.flush()
    feedback = await daemon.store.read(lambda c: c.execute(
        "SELECT kind, value FROM feedback ORDER BY ts").fetchall())
    assert feedback == [("violation", "Bash"), ("delegated", "Task")]


async def test_soft_mode_warns_and_never_blocks(daemon):
    """soft: a work tool instead of delegating is logged and shown, not denied."""
    await set_mode(daemon, "soft")
    await hook(daemon, "claude-code", "UserPromptSubmit", claude_payload("UserPromptSubmit", prompt=SIMPLE))
    reply = await hook(daemon, "claude-code", "PreToolUse",
                       claude_payload("PreToolUse", tool_name="Edit", tool_input={}))
    assert "systemMessage" in json.loads(reply["stdout"]) and reply.get("exit_code", 0) == 0


async def test_off_mode_says_nothing_on_prompts(daemon):
    """off: no context, no decision."""
    await set_mode(daemon, "off")
    reply = await hook(daemon, "claude-code", "UserPromptSubmit", claude_payload("UserPromptSubmit", prompt=SIMPLE))
    assert reply.get("stdout", "") == "" and await decisions(daemon) == []


async def test_mode_is_persisted_in_settings(daemon):
    """routerctl mode writes the settings table; hook_mode without a mode reads it back."""
    await set_mode(daemon, "smart")
    rows = await daemon.store.read(lambda c: c.execute(
        "SELECT value FROM settings WHERE key = 'hooks.mode'").fetchall())
    assert rows == [("smart",)]
    async with connect(daemon.socket_path) as client:
        bad = await client.call({"type": "hook_mode", "mode": "loud"})
    assert bad["type"] == "error" and "advise" in bad["message"]


async def test_zero_claude_blocks_without_an_external_model_unless_prefixed(daemon):
    """zero_claude with no provider: the prompt is blocked with the reason; `claude:` passes."""
    await set_mode(daemon, "zero_claude")
    blocked = await hook(daemon, "claude-code", "UserPromptSubmit",
                         claude_payload("UserPromptSubmit", prompt=SIMPLE))
    out = json.loads(blocked["stdout"])
    assert out["decision"] == "block" and "claude:" in out["reason"]
    passed = await hook(daemon, "claude-code", "UserPromptSubmit",
                        claude_payload("UserPromptSubmit", prompt="claude: " + SIMPLE))
    assert passed.get("stdout", "") == ""


async def test_gemini_before_model_switches_the_model_once_per_prompt(daemon):
    """Gemini CLI BeforeModel: llm_request.model is overridden; repeated calls reuse one decision."""
    payload = json.dumps({"session_id": "g", "hook_event_name": "BeforeModel", "llm_request": {
        "model": "gemini-2.5-pro", "messages": [{"role": "user", "content": SIMPLE}]}}).encode()
    for _ in range(3):
        reply = await hook(daemon, "gemini-cli", "BeforeModel", payload)
        out = json.loads(reply["stdout"])["hookSpecificOutput"]
        assert out["llm_request"] == {"model": "gemini-2.5-flash-lite"}
    assert len(await decisions(daemon)) == 1


async def test_stop_records_the_turn_from_the_transcript(daemon, tmp_path: Path):
    """Stop: each message of the recent turns lands in calls once, linked to the decision."""
    lines = [
        {"type": "user", "message": {"role": "user", "content": "old"}},
        {"type": "assistant", "message": {"id": "m0", "model": "claude-opus-4", "usage": {"input_tokens": 99, "output_tokens": 9}}},
        {"type": "user", "message": {"role": "user", "content": SIMPLE}},
        {"type": "assistant", "message": {"id": "m1", "model": "claude-haiku-4", "usage": {"input_tokens": 10, "output_tokens": 5, "cache_read_input_tokens": 7}}},
        {"type": "assistant", "message": {"id": "m1", "model": "claude-haiku-4", "usage": {"input_tokens": 10, "output_tokens": 5, "cache_read_input_tokens": 7}}},
        {"type": "user", "message": {"role": "user", "content": [{"type": "tool_result", "content": "x"}]}},
        {"type": "assistant", "message": {"id": "m2", "model": "claude-haiku-4", "usage": {"input_tokens": 20, "output_tokens": 1}}},
    ]
    path = tmp_path / "t.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    await hook(daemon, "claude-code", "UserPromptSubmit", claude_payload("UserPromptSubmit", prompt=SIMPLE))
    await hook(daemon, "claude-code", "Stop", claude_payload("Stop", transcript_path=str(path)))
    await hook(daemon, "claude-code", "SessionEnd", claude_payload("SessionEnd", transcript_path=str(path)))
    await daemon.store.flush()
    rows = await daemon.store.read(lambda c: c.execute(
        "SELECT response_id, model, input_tokens, output_tokens, cached_tokens, decision_id FROM calls "
        "ORDER BY response_id").fetchall())
    (decision_id, *_), = await decisions(daemon)
    # the last two turns (a turn's lines may land after its Stop), each message once; input
    # tokens include the cache reads, as the gateway counts them
    assert rows == [("m0", "claude-opus-4", 99, 9, 0, decision_id),
                    ("m1", "claude-haiku-4", 17, 5, 7, decision_id),
                    ("m2", "claude-haiku-4", 20, 1, 0, decision_id)]


async def test_bad_payloads_are_bad_requests(daemon):
    """An unknown host or a non-object payload is a bad_request error (the shim then fails open)."""
    async with connect(daemon.socket_path) as client:
        host = await client.call({"type": "hook", "host": "vim", "payload": {}})
        body = await client.call({"type": "hook", "host": "codex", "payload": [1]})
    assert (host["code"], body["code"]) == ("bad_request", "bad_request")


async def test_status_counts_the_hook_rows_usage_shows(daemon, tmp_path: Path):
    """A hook row the gateway already recorded is dropped, and status's hook_calls drops it too."""
    record_call(daemon.store, CallRow(id="gw-1", ts=time.time(), provider="anthropic", model="claude-haiku-4",
                                      outcome="ok", input_tokens=10, output_tokens=5, session_id="s-1",
                                      response_id="m1"))
    lines = [{"type": "user", "message": {"role": "user", "content": SIMPLE}}] + [
        {"type": "assistant", "message": {"id": f"m{i}", "model": "claude-haiku-4",
                                          "usage": {"input_tokens": 10 * i, "output_tokens": i}}}
        for i in (1, 2, 3)]
    path = tmp_path / "t.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    await hook(daemon, "claude-code", "Stop", claude_payload("Stop", transcript_path=str(path)))
    await daemon.store.flush()
    async with connect(daemon.socket_path) as client:
        status = await client.call({"type": "status"})
        usage = await client.call({"type": "usage", "group_by": "source", "period": "all"})
    by_source = {g["source"]: g["calls"] for g in usage["data"]["groups"]}
    assert by_source == {"gateway": 1, "hook:claude-code": 2}, usage["data"]
    assert status["parts"]["ledger"]["hook_calls"] == 2
