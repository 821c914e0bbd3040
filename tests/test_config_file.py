"""The config file as the daemon meets it: a file that goes missing or empty while the daemon runs
from it keeps the running config, a daemon on built-in defaults takes up a file created later, and
a path named explicitly must exist."""

import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import anyio
import pytest

from routerd.app import App
from routerd.daemon import DaemonOptions, run_daemon
from routerd.main import _named_config
from tests.support import connect

RUNNING = ('[http]\nlisten = "127.0.0.1:0"\n\n[providers.primary]\nkind = "openai"\n'
           'base_url = "http://127.0.0.1:9/v1"\napi_key = "sk-test-primary-1234"\nmodels = ["gpt-4.1*"]\n\n'
           '[budgets]\ndaily_usd = 0.5\n')


@pytest.fixture
def config_file(config_file: Path) -> Path:
    config_file.write_text(RUNNING)
    return config_file


@pytest.fixture
def errors_logged() -> Iterator[list[str]]:
    """The messages routerd logs at ERROR (its logger does not propagate to pytest's)."""
    messages: list[str] = []
    handler = logging.Handler(logging.ERROR)
    handler.emit = lambda record: messages.append(record.getMessage())  # type: ignore[method-assign]
    logging.getLogger("routerd").addHandler(handler)
    yield messages
    logging.getLogger("routerd").removeHandler(handler)


async def _last_reload(app: App) -> dict:
    async with connect(app.socket_path) as control:
        return (await control.call({"type": "status"}))["last_reload"]


@pytest.mark.anyio
@pytest.mark.parametrize("change, reason", [("deleted", "no such file"), ("emptied", "the file is empty"),
                                            ("blanked", "the file is empty")])
async def test_a_missing_or_empty_file_keeps_the_running_config(daemon, config_file, errors_logged,
                                                               change, reason):
    """Deleted, truncated or left blank under a running daemon, the file is a failed reload naming
    its path (not built-in defaults: the providers and the budget stay); written again, it reloads."""
    before = daemon.runtime
    if change == "deleted":
        config_file.unlink()
    else:
        config_file.write_text("" if change == "emptied" else " \n\t\n")
    result = await daemon.reload("test")
    assert not result.ok and result.message == f"{config_file}: {reason}"
    assert daemon.runtime is before and set(daemon.runtime.providers) == {"primary"}
    assert daemon.runtime.config.budgets.daily_usd == 0.5
    last = await _last_reload(daemon)
    assert last["ok"] is False and last["message"] == result.message
    assert any(str(config_file) in m and reason in m for m in errors_logged), errors_logged
    config_file.write_text(RUNNING.replace("daily_usd = 0.5", "daily_usd = 2.0"))
    assert (await daemon.reload("test")).ok
    assert daemon.runtime.config.budgets.daily_usd == 2.0


@pytest.fixture
async def daemon_on_defaults(daemon_env: Path, anyio_backend: str, no_blocking) -> AsyncIterator[App]:
    """A routerd started with no file at its (default) config path; no HTTP (defaults say :4141)."""
    options = DaemonOptions(config_path=daemon_env / "config" / "routerd" / "config.toml",
                            socket_path=daemon_env / "routerd.sock", backend=anyio_backend,
                            watch_config=False, handle_signals=False, http=False)
    async with anyio.create_task_group() as tg:
        app = await tg.start(run_daemon, options)
        yield app
        app.request_stop()


@pytest.mark.anyio
async def test_a_daemon_on_defaults_takes_up_a_file_created_later(daemon_on_defaults):
    """With no file the daemon runs on defaults and a reload keeps them; a file created later is
    loaded, and from then on its deletion is a failed reload."""
    app = daemon_on_defaults
    path = app.runtime.config_path
    assert not path.exists() and not app.runtime.from_file
    assert (await app.reload("test")).ok
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(RUNNING)
    assert (await app.reload("test")).ok
    assert set(app.runtime.providers) == {"primary"} and app.runtime.from_file
    path.unlink()
    assert not (await app.reload("test")).ok
    assert set(app.runtime.providers) == {"primary"}


def test_only_the_default_config_path_may_be_missing(tmp_path, monkeypatch):
    """A path given by --config or ROUTERD_CONFIG must exist, unless it is the default path (the
    service units pass that one explicitly)."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.delenv("ROUTERD_CONFIG", raising=False)
    assert not _named_config(None)
    assert not _named_config(tmp_path / "routerd" / "config.toml")
    assert _named_config(tmp_path / "x.toml")
    monkeypatch.setenv("ROUTERD_CONFIG", str(tmp_path / "y.toml"))
    assert _named_config(None)

