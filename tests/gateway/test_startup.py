"""Starting the gateway: the refusals that protect the user."""

import socket
from pathlib import Path

import pytest

from routerd.daemon import DaemonOptions, run_daemon
from routerd.errors import ConfigError

pytestmark = pytest.mark.anyio


def _options(daemon_env: Path, config: Path) -> DaemonOptions:
    return DaemonOptions(config_path=config, socket_path=daemon_env / "routerd.sock", backend="asyncio",
                         watch_config=False, handle_signals=False)


async def _start(options: DaemonOptions) -> None:
    """Run the daemon; the refusals tested here happen before it is ready."""
    await run_daemon(options)


async def test_listening_beyond_loopback_without_key_is_refused(daemon_env):
    """http.listen on 0.0.0.0 without a gateway key: routerd refuses to start, saying why."""
    config = daemon_env / "config.toml"
    config.write_text('[http]\nlisten = "0.0.0.0:0"\n')
    with pytest.raises(ConfigError, match="gateway key"):
        await _start(_options(daemon_env, config))


async def test_provider_pointing_at_routerd_is_refused(daemon_env):
    """A provider whose base URL is routerd's own address stops the start with a clear error."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = daemon_env / "config.toml"
    config.write_text(f'[http]\nlisten = "127.0.0.1:{port}"\n'
                      f'[providers.me]\nbase_url = "http://localhost:{port}/v1"\n')
    with pytest.raises(ConfigError, match="points back at routerd itself"):
        await _start(_options(daemon_env, config))
