"""Fixtures: both event-loop backends, a guard against blocking calls on the loop, and a fresh
in-process daemon per test (its own socket, config and state under ``tmp_path``)."""

import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import anyio
import pytest

from routerd.app import App
from routerd.daemon import DaemonOptions, run_daemon
from routerd.routing import brain as brain_module


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def no_blocking(anyio_backend: str):
    """Fail any blocking call (file, socket, sleep) made by routerd code on the asyncio loop.

    blockbuster only sees the asyncio loop; the code paths are the same on trio."""
    from blockbuster import blockbuster_ctx

    with blockbuster_ctx(["routerd"]) as bb:
        yield bb


@pytest.fixture
def daemon_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point every routerd path at ``tmp_path`` and clear provider keys from the environment."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("ROUTERD_SOCKET", str(tmp_path / "routerd.sock"))
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "OLLAMA_BASE_URL",
                 "OPENAI_BASE_URL", "ANTHROPIC_BASE_URL", "GEMINI_BASE_URL", "ROUTERD_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


@pytest.fixture
def config_file(daemon_env: Path) -> Path:
    """The test daemon's config file; tests write it before the daemon starts (HTTP on port 0)."""
    path = daemon_env / "config.toml"
    path.write_text('[http]\nlisten = "127.0.0.1:0"\n')
    return path


@pytest.fixture
async def daemon(daemon_env: Path, config_file: Path, anyio_backend: str,
                 no_blocking) -> AsyncIterator[App]:
    """A routerd running in the test's event loop; stopped (and drained) after the test."""
    options = DaemonOptions(config_path=config_file, socket_path=daemon_env / "routerd.sock",
                            backend=anyio_backend, watch_config=False, handle_signals=False)
    async with anyio.create_task_group() as tg:
        app = await tg.start(run_daemon, options)
        yield app
        app.request_stop()


@pytest.fixture
def held_brain(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """The brain's load waits (in its worker thread) until the test sets the event."""
    gate, real = threading.Event(), brain_module.read_brain

    def held() -> brain_module.Parts:
        if not gate.wait(20):  # a bound, not a sleep: only a daemon that waits for its brain gets here
            raise TimeoutError("the test never let the brain load")
        return real()

    monkeypatch.setattr(brain_module, "read_brain", held)
    yield gate
    gate.set()


# Real coding-agent CLIs (tests/e2e, tests/integrations): installed by scripts/test from npm.

@pytest.fixture(scope="session")
def claude_cli() -> Path:
    """The Claude Code executable (skipped only when node/npm is absent from this machine)."""
    from tests.e2e import clis

    if reason := clis.node_missing():
        pytest.skip(reason)
    return clis.ensure_cli(clis.CLAUDE_CODE)


@pytest.fixture(scope="session")
def codex_cli() -> Path:
    """The Codex CLI executable (skipped only when node/npm is absent from this machine)."""
    from tests.e2e import clis

    if reason := clis.node_missing():
        pytest.skip(reason)
    return clis.ensure_cli(clis.CODEX)


@pytest.fixture(scope="session")
def gemini_cli() -> Path:
    """The Gemini CLI executable (skipped only when node/npm is absent from this machine)."""
    from tests.e2e import clis

    if reason := clis.node_missing():
        pytest.skip(reason)
    return clis.ensure_cli(clis.GEMINI_CLI)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """An empty HOME for one CLI run: no settings, credentials or history from the developer."""
    path = tmp_path / "home"
    path.mkdir()
    return path
