"""The real Claude Code CLI (``claude -p``, npm 2.1.197) with routerd's hooks installed by
``routerctl install --host claude-code`` into a throw-away HOME, talking to a fake Anthropic server:
the hooks fire, their context reaches the model request, and the decision is stored."""

import json
import os
import re
import subprocess
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
           "ROUTERD_SOCKET": str(app.socket_path), "ROUTERD_CONFIG": str(app.runtime.config_path)}
    await anyio.run_process([sys.executable, "-m", "routerctl.main", "install", "--host", "claude-code",
                             "--http-url", http_url(app), *args], env=env)


async def run_claude(cli: Path, base_url: str, home: Path, app: App, **extra: str) -> clis.Finished:
    env = clis.base_env(home) | {
        "ANTHROPIC_BASE_URL": base_url, "ANTHROPIC_API_KEY": "dummy",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1", "DISABLE_AUTOUPDATER": "1",
        "ROUTERD_SOCKET": str(app.socket_path),  # for the command shims
    } | extra
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
    events = daemon.hooks.statistics().by_event
    assert events == {"SessionStart": 1, "UserPromptSubmit": 1, "Stop": 1, "SessionEnd": 1}, events
    calls = await daemon.store.read(lambda c: c.execute(
        "SELECT provider, input_tokens, output_tokens, decision_id FROM calls").fetchall())
    assert calls == [("anthropic", 11, 7, decision_id)]  # the turn, counted from the transcript


@pytest.fixture
def hooks_mode(config_file: Path, request: pytest.FixtureRequest) -> str:
    """routerd in the mode the test names, with an external provider configured when it asks."""
    mode, provider = request.param
    text = config_file.read_text() + f'\n[hooks]\nmode = "{mode}"\n'
    if provider:  # nothing calls it: a configured provider must not change what the host is told
        text += '\n[providers.openai]\nkind = "openai"\nbase_url = "http://127.0.0.1:9/v1"\napi_key = "sk-x"\n'
    config_file.write_text(text)
    return mode


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.parametrize("hooks_mode", [("smart", ""), ("smart", "openai"), ("hard", "openai"), ("soft", "openai")],
                         indirect=True, ids=["smart", "smart-provider", "hard-provider", "soft-provider"])
async def test_enforcing_modes_deny_work_tools_until_the_turn_is_delegated(
        claude_cli: Path, home: Path, hooks_mode: str, daemon: App) -> None:
    """smart and hard, with or without providers: the advice names a model Claude Code can use
    (haiku, through its Task subagent) and the Bash call the model tries instead is denied, with a
    reason that reaches the model; soft advises the same and lets the call through."""
    from tests.e2e.upstream import Turn

    await install(home, daemon)
    bash = Turn(tool="Bash", args={"command": "echo hi", "description": "say hi"})
    async with open_upstream("anthropic", bash, ANSWER) as fake:
        done = await run_claude(claude_cli, fake.url, home, daemon)
    assert done.returncode == 0, done.describe()
    first, second = fake.calls("/v1/messages")[:2]
    advice = json.dumps(first.json()["messages"])
    assert 'model \\"haiku\\"' in advice and "gpt-" not in advice
    denied = json.dumps(second.json()["messages"])
    if hooks_mode == "soft":
        assert "Work tools are blocked" not in advice and "routerd (soft mode)" not in denied
        return
    assert "Work tools are blocked until you do" in advice
    assert f"routerd ({hooks_mode} mode): this turn was routed to haiku" in denied
    offered = {tool["name"] for tool in first.json()["tools"]}
    named = set(re.findall(r"Delegate it with the (\w+) tool", advice + denied))
    assert named and named <= offered, (named, "not among the tools Claude Code offers")


GATEWAY_KEY = "gk-hooks-0123456789"


@pytest.fixture
def gateway_key(config_file: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """routerd with a gateway key (in its environment, named by http.gateway_key_env)."""
    monkeypatch.setenv("ROUTERD_TEST_GATEWAY_KEY", GATEWAY_KEY)
    config_file.write_text(config_file.read_text().replace(
        "[http]\n", '[http]\ngateway_key_env = "ROUTERD_TEST_GATEWAY_KEY"\n', 1))
    return GATEWAY_KEY


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_http_hooks_work_with_a_gateway_key(claude_cli: Path, home: Path, gateway_key: str,
                                                  daemon: App) -> None:
    """The HTTP hooks routerctl install wrote send the gateway key from its variable, so with a
    key set they are answered (not 401) and their advice reaches the model."""
    await install(home, daemon)
    async with open_upstream("anthropic", ANSWER) as fake:
        done = await run_claude(claude_cli, fake.url, home, daemon, ROUTERD_TEST_GATEWAY_KEY=gateway_key)
    assert done.returncode == 0, done.describe()
    assert "routerd [" in _request_text(fake)
    assert daemon.hooks.statistics().by_event.get("UserPromptSubmit") == 1


async def install_without_daemon(home: Path, socket: Path, *args: str) -> str:
    """routerctl install into ``home`` for a routerd at ``socket`` that is not running."""
    env = {k: v for k, v in os.environ.items() if k not in ("ROUTERD_CONFIG", "XDG_RUNTIME_DIR")}
    env |= {"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"), "ROUTERD_SOCKET": str(socket)}
    done = await anyio.run_process([sys.executable, "-m", "routerctl.main", "install", "--host", "claude-code",
                                    "--http-url", "http://127.0.0.1:5301", *args], env=env)
    return done.stdout.decode()


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_fail_closed_install_blocks_prompts_while_routerd_is_down(claude_cli: Path, home: Path,
                                                                       tmp_path: Path) -> None:
    """install --fail-closed gives Claude Code hooks that block the prompt when routerd is down (its
    HTTP hooks would let it through), and say why; the model is never asked."""
    await install_without_daemon(home, tmp_path / "down.sock", "--fail-closed")
    env = clis.base_env(home) | {"ANTHROPIC_API_KEY": "dummy", "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
                                 "DISABLE_AUTOUPDATER": "1"}
    (home / "work").mkdir()
    async with open_upstream("anthropic", ANSWER) as fake:
        done = await clis.run_cli([claude_cli, "-p", PROMPT], env | {"ANTHROPIC_BASE_URL": fake.url}, home / "work")
    assert fake.calls("/v1/messages") == [], done.describe()
    assert "routerd hard mode blocks this until routerd answers" in done.stdout + done.stderr, done.describe()


async def test_fail_closed_is_refused_with_http_hooks(home: Path, tmp_path: Path) -> None:
    """--fail-closed with --kind http is an error: Claude Code runs HTTP hooks fail-open."""
    with pytest.raises(subprocess.CalledProcessError, match="exit status 2"):
        await install_without_daemon(home, tmp_path / "down.sock", "--fail-closed", "--kind", "http")


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.parametrize("kind", ["http", "command"])
async def test_command_hooks_find_the_daemon_without_its_environment(
        claude_cli: Path, home: Path, daemon: App, kind: str) -> None:
    """Claude Code started without ROUTERD_SOCKET or the daemon's XDG_RUNTIME_DIR: the shims still
    reach routerd (install wrote the socket into their command), so SessionStart's summary reaches
    the model and SessionEnd records the turn."""
    await install(home, daemon, "--kind", kind)
    env = clis.base_env(home) | {"ANTHROPIC_API_KEY": "dummy", "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
                                 "DISABLE_AUTOUPDATER": "1"}
    (home / "work").mkdir()
    async with open_upstream("anthropic", ANSWER) as fake:
        done = await clis.run_cli([claude_cli, "-p", PROMPT], env | {"ANTHROPIC_BASE_URL": fake.url}, home / "work")
    assert done.returncode == 0, done.describe()
    assert "routerd: mode advise" in _request_text(fake)
    events = daemon.hooks.statistics().by_event
    assert events == {"SessionStart": 1, "UserPromptSubmit": 1, "Stop": 1, "SessionEnd": 1}, events
    await daemon.store.flush()
    calls = await daemon.store.read(lambda c: c.execute("SELECT provider FROM calls").fetchall())
    assert calls == [("anthropic",)]
