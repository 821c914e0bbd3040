"""The real Codex CLI (``codex exec``, npm 0.169.0) set up by ``routerctl install --host codex`` in a
throw-away HOME: its hooks.json shims fire, and the ``routerd`` profile's provider sends the turn
through routerd's gateway (``/v1/responses``) to a fake Responses server."""

import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest

from routerd.app import App
from tests.e2e import clis
from tests.e2e.harness import http_url, recorded_calls, write_config
from tests.e2e.upstream import Turn, Upstream, open_upstream

pytestmark = pytest.mark.anyio
ANSWER = "Paris, via routerd and the fake Responses server."


@pytest.fixture(scope="module")
def codex_cli() -> Path:
    if reason := clis.node_missing():
        pytest.skip(reason)
    return clis.ensure_cli(clis.CODEX)


async def _install_codex(tmp_path: Path, daemon: App) -> Path:
    """A throw-away HOME (with an empty ``work`` directory) where ``routerctl install --host codex``
    has set up routerd's hooks and profile for ``daemon``."""
    home = tmp_path / "home"
    (home / "work").mkdir(parents=True)
    env = {**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
           "ROUTERD_SOCKET": str(daemon.socket_path)}
    await anyio.run_process([sys.executable, "-m", "routerctl.main", "install", "--host", "codex",
                             "--http-url", http_url(daemon)], env=env)
    return home


@pytest.fixture
async def fake_responses(config_file: Path) -> AsyncIterator[Upstream]:
    async with open_upstream("responses", ANSWER) as fake:
        write_config(config_file, providers={"fakeresp": ("responses", fake.url + "/v1")})
        yield fake


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_codex_hooks_fire_and_the_turn_goes_through_routerd(
        codex_cli: Path, tmp_path: Path, fake_responses: Upstream, daemon: App) -> None:
    """Hooks fire (the advice reaches the model), a decision is stored, the turn is proxied."""
    home = await _install_codex(tmp_path, daemon)
    run_env = clis.base_env(home) | {"ROUTERD_SOCKET": str(daemon.socket_path)}
    # Codex 0.169 runs new hooks only once the user trusted them (/hooks in the TUI); exec can
    # skip that review for this one invocation.
    done = await clis.run_cli([codex_cli, "exec", "--skip-git-repo-check", "--dangerously-bypass-hook-trust",
                               "-p", "routerd",
                               "-m", "gpt-e2e", "what is the capital of France?"], run_env, home / "work")
    assert done.returncode == 0, done.describe()
    assert done.stdout.strip() == ANSWER, done.describe()
    assert fake_responses.calls("/v1/responses"), "the turn did not reach the provider through routerd"
    await daemon.store.flush()
    sources = await daemon.store.read(lambda c: c.execute("SELECT source FROM decisions").fetchall())
    assert ("hook:codex",) in sources, (sources, daemon.parts.get("hooks") and
                                        daemon.hooks.statistics())
    events = daemon.hooks.statistics().by_event
    assert events == {"SessionStart": 1, "UserPromptSubmit": 1, "Stop": 1}, events
    assert "routerd [" in fake_responses.calls("/v1/responses")[0].body.decode()  # the advice


@pytest.fixture
async def fake_openai(config_file: Path) -> AsyncIterator[Upstream]:
    """A fake Responses provider configured as ``openai``: a tool call, then the answer."""
    async with open_upstream("responses", Turn(tool="exec_command", args={"cmd": "true"}), ANSWER) as fake:
        write_config(config_file, providers={"openai": ("responses", fake.url + "/v1")})
        yield fake


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.parametrize("through", ["hooks", "gateway"])
async def test_codex_calls_are_recorded_once_from_its_rollout_or_the_gateway(
        codex_cli: Path, tmp_path: Path, fake_openai: Upstream, daemon: App, through: str) -> None:
    """Codex with routerd's hooks, straight to its provider or through routerd: each of the turn's
    two model calls is one priced row, read by the Stop hook from Codex's rollout file (its
    token_usage_record lines) or recorded by the gateway, never both."""
    home = await _install_codex(tmp_path, daemon)
    base_url = fake_openai.url if through == "hooks" else http_url(daemon)
    clis.write_codex_config(home / ".codex", base_url, "gpt-4.1")  # the provider: the fake, or routerd
    run_env = clis.base_env(home) | {"ROUTERD_E2E_KEY": "dummy", "ROUTERD_SOCKET": str(daemon.socket_path)}
    done = await clis.run_cli([codex_cli, "exec", "--skip-git-repo-check", "--dangerously-bypass-hook-trust",
                               "Run true, then answer"], run_env, home / "work")
    assert done.returncode == 0 and done.stdout.strip() == ANSWER, done.describe()
    assert daemon.hooks.statistics().by_event.get("Stop") == 1
    rows = await recorded_calls(daemon)
    source = "hook:codex" if through == "hooks" else "gateway"
    assert [(r["source"], r["provider"], r["model"], r["response_id"]) for r in rows] == \
        [(source, "openai", "gpt-4.1", f"resp_e2e_{n}") for n in (1, 2)], rows
    # gpt-4.1: $2 input, $8 output per million tokens; the fake reports 11 in, 7 out.
    assert [r["cost_usd"] for r in rows] == [pytest.approx((11 * 2 + 7 * 8) / 1e6)] * 2
    assert rows[0]["session_id"] and rows[0]["session_id"] == rows[1]["session_id"]
