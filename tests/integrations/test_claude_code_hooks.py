"""The real Claude Code CLI (``claude -p``, npm 2.1.197) with routerd's hooks installed by
``routerctl install --host claude-code`` into a throw-away HOME, talking to a fake Anthropic server:
the hooks fire, their context reaches the model request, and the decision is stored."""

import json
import os
import sys
from pathlib import Path

import anyio
import pytest

from routerd.app import App
from tests.e2e import clis
from tests.e2e.harness import http_url
from tests.e2e.upstream import open_upstream

pytestmark = pytest.mark.anyio
PROMPT = "what is the capital of France?"
ANSWER = "Paris, says the fake upstream."


async def install(home: Path, app: App, *args: str) -> None:
    env = {**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
           "ROUTERD_SOCKET": str(app.socket_path)}
    await anyio.run_process([sys.executable, "-m", "routerctl.main", "install", "--host", "claude-code",
                             "--http-url", http_url(app), *args], env=env)


async def run_claude(cli: Path, base_url: str, home: Path, app: App) -> clis.Finished:
    env = clis.base_env(home) | {
        "ANTHROPIC_BASE_URL": base_url, "ANTHROPIC_API_KEY": "dummy",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1", "DISABLE_AUTOUPDATER": "1",
        "ROUTERD_SOCKET": str(app.socket_path),  # for the command shims
    }
    workdir = home / "work"
    workdir.mkdir(parents=True, exist_ok=True)
    return await clis.run_cli([cli, "-p", PROMPT], env, workdir)


def _request_text(fake) -> str:
    [call] = fake.calls("/v1/messages")
    return json.dumps(call.json()["messages"])


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.parametrize("kind", ["http", "command"])
async def test_claude_code_fires_routerd_hooks_and_the_decision_is_stored(
        claude_cli: Path, home: Path, daemon: App, kind: str) -> None:
    """Prompt, session start and stop hooks fire; the advice reaches the model; one decision row."""
    await install(home, daemon, "--kind", kind)
    async with open_upstream("anthropic", ANSWER) as fake:
        done = await run_claude(claude_cli, fake.url, home, daemon)
    assert done.returncode == 0, done.describe()
    assert done.stdout.strip() == ANSWER, done.describe()
    await daemon.store.flush()
    rows = await daemon.store.read(lambda c: c.execute(
        "SELECT id, source, model, tier FROM decisions").fetchall())
    [(decision_id, source, model, tier)] = rows
    assert (source, model, tier) == ("hook:claude-code", "haiku", "simple")
    sent = _request_text(fake)
    assert f"routerd [{decision_id}]" in sent and 'model \\"haiku\\"' in sent
    events = daemon.parts["hooks"].statistics().by_event
    assert events == {"SessionStart": 1, "UserPromptSubmit": 1, "Stop": 1, "SessionEnd": 1}, events
    calls = await daemon.store.read(lambda c: c.execute(
        "SELECT provider, input_tokens, output_tokens, decision_id FROM calls").fetchall())
    assert calls == [("anthropic", 11, 7, decision_id)]  # the turn, counted from the transcript
