"""Hooks right after a start, while the classifier loads: a prompt is held (the shim told to wait past
its fail-open budget) until the brain is in, and answered by it; a load that outlasts the hooks' wait
gets a fallback decision, labelled as one, stored, counted and never enforced. The brain's load is
held in its worker thread until the test lets it go."""

import json
import os
from pathlib import Path

import anyio
import pytest

from routerd.integrations import hooks as hooks_module
from tests.integrations.support import claude_payload, shim_command
from tests.support import connect

pytestmark = pytest.mark.anyio

SIMPLE = "what is the capital of France?"
FALLBACK = "fallback decision (the classifier was still loading)"


@pytest.fixture
def short_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    """The hooks give up waiting for the classifier at once (the test holds it for longer)."""
    monkeypatch.setattr(hooks_module, "HOOK_BRAIN_WAIT_S", 0.05, raising=False)


def prompt_request(prompt: str = SIMPLE, event: str = "UserPromptSubmit") -> dict:
    return {"type": "hook", "host": "claude-code", "event": event,
            "payload": json.loads(claude_payload(event, prompt=prompt))}


async def hook(app, request: dict) -> list[dict]:
    with anyio.fail_after(10):
        async with connect(app.socket_path) as client:
            return await client.stream_call(request)


def context(reply: dict) -> str:
    return json.loads(reply["stdout"])["hookSpecificOutput"]["additionalContext"]


async def decision_rows(app) -> list[tuple]:
    await app.store.flush()
    return await app.store.read(lambda c: c.execute(
        "SELECT id, source, tier, model, detail FROM decisions ORDER BY ts").fetchall())


async def test_a_prompt_while_the_brain_loads_is_held_then_routed_by_it(held_brain, daemon):
    """The shim is told to wait while the brain loads; once it is in, the prompt gets its advice."""
    with anyio.fail_after(10):
        async with connect(daemon.socket_path) as client:
            first = await client.stream_call_or_none(prompt_request())
            assert first is not None and first.get("final", True) is False
            assert daemon.brain.state == "loading"
            held_brain.set()
            final = await client.read_frame()
    assert final is not None and final["type"] == "hook_reply"
    advice = context(final)
    assert 'model "haiku"' in advice and "fallback" not in advice
    assert daemon.hooks.statistics().fallbacks == 0


async def test_the_shim_gets_a_labelled_fallback_when_the_load_outlasts_the_wait(held_brain, short_wait, daemon):
    """The real shim at its default 50 ms budget: a labelled fallback that keeps the turn in the
    session, stored as one and counted; once the brain is in, the same prompt gets its advice."""
    env = {k: v for k, v in os.environ.items() if k != "ROUTERD_HOOK_BUDGET_MS"}
    env["ROUTERD_SOCKET"] = str(daemon.socket_path)
    with anyio.fail_after(20):
        done = await anyio.run_process(shim_command("--host", "claude-code", "--event", "UserPromptSubmit"),
                                       input=claude_payload("UserPromptSubmit", prompt=SIMPLE), env=env)
    assert daemon.brain.state == "loading"
    advice = context({"stdout": done.stdout.decode()})
    assert FALLBACK in advice and "Handle it in this session" in advice, advice
    [(decision_id, source, tier, model, detail)] = await decision_rows(daemon)
    assert decision_id in advice and (source, tier, model) == ("hook:claude-code", None, None)
    assert json.loads(detail)["fallback"] == "the classifier was still loading"
    assert daemon.hooks.statistics().fallbacks == 1
    held_brain.set()
    [*_, again] = await hook(daemon, prompt_request())
    assert 'model "haiku"' in context(again) and "fallback" not in context(again)


@pytest.fixture
def capitals_rule(config_file: Path) -> None:
    """A user rule that sends questions about capitals to the simple tier (before the daemon starts)."""
    config_file.write_text(config_file.read_text() + '\n[[routing.rules]]\nname = "capitals"\n'
                           'keywords = ["capital"]\ntier = "simple"\n')


async def test_a_fallback_follows_the_users_rule_and_holds_up_no_tool(held_brain, short_wait, capitals_rule,
                                                                      daemon):
    """hard mode, brain still loading: the user's rule names the model, as a fallback, and no work
    tool is denied for it; the rule's tier is stored with the fallback."""
    await hook(daemon, {"type": "hook_mode", "mode": "hard"})
    [held, final] = await hook(daemon, prompt_request())
    assert held.get("final", True) is False
    advice = context(final)
    assert FALLBACK in advice and "routing rule 'capitals': simple turn" in advice and 'model "haiku"' in advice
    assert "blocked" not in advice
    [*_, bash] = await hook(daemon, {"type": "hook", "host": "claude-code", "event": "PreToolUse", "payload": json.loads(
        claude_payload("PreToolUse", tool_name="Bash", tool_input={"command": "ls"}))})
    assert bash.get("stdout", "") == ""
    [(_, _, tier, model, detail)] = await decision_rows(daemon)
    assert (tier, model) == ("simple", "haiku") and json.loads(detail)["reasons"] == ["routing rule 'capitals'"]
    assert daemon.hooks.statistics().denied == 0
    held_brain.set()


async def test_gemini_before_model_switches_nothing_on_a_fallback(held_brain, short_wait, daemon):
    """BeforeModel while the brain loads: the model is left as Gemini CLI chose it."""
    payload = {"session_id": "g", "hook_event_name": "BeforeModel", "llm_request": {
        "model": "gemini-2.5-pro", "messages": [{"role": "user", "content": SIMPLE}]}}
    [*_, reply] = await hook(daemon, {"type": "hook", "host": "gemini-cli", "event": "BeforeModel",
                                      "payload": payload})
    assert reply.get("stdout", "") == "" and daemon.hooks.statistics().fallbacks == 1
    held_brain.set()
