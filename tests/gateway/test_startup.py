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


ACTIVATE_HTTP = """
import os, socket, sys
sock = socket.socket()
sock.bind(("127.0.0.1", 0))
sock.listen(16)
open(sys.argv[1], "w").write(str(sock.getsockname()[1]))
if sock.fileno() != 3:
    os.dup2(sock.fileno(), 3)
os.set_inheritable(3, True)
os.environ.update(LISTEN_FDS="1", LISTEN_PID=str(os.getpid()), LISTEN_FDNAMES="routerd-http.socket")
os.execv(sys.executable, [sys.executable, "-m", "routerd.main"])
"""


def test_socket_activation_hands_over_the_http_socket(tmp_path):
    """Given a TCP socket as fd 3 (systemd socket activation), the gateway serves on it."""
    import sys
    import urllib.request

    from tests.daemon_proc import Foreground, env_for

    env = env_for(tmp_path)
    port_file = tmp_path / "port"
    daemon = Foreground(env, tmp_path, [sys.executable, "-c", ACTIVATE_HTTP, str(port_file)])
    try:
        port = int(port_file.read_text())
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=10) as response:
            assert response.status == 200
    finally:
        daemon.close()


README_ANTHROPIC = '''
[providers.anthropic]
kind = "anthropic"                  # openai | anthropic | gemini | responses
api_key_env = "ANTHROPIC_API_KEY"   # or api_key = "..."; never logged, stored or shown
models = ["claude-*"]
timeout_s = 60                      # first byte, and between stream chunks
connect_timeout_s = 5
max_connections = 100
max_keepalive = 32
'''


async def test_nothing_touches_the_network_until_a_request_needs_it(daemon_env, monkeypatch):
    """With the README's ``[providers.anthropic]`` the daemon starts without resolving
    api.anthropic.com; the first request for a Claude model is what looks it up."""
    import socket as socket_module

    import anyio
    import httpx

    looked_up: list[str] = []

    def no_network(host, *args, **kwargs):
        host = host.decode() if isinstance(host, bytes) else host
        if host not in ("127.0.0.1", "localhost", "::1", None):
            looked_up.append(host)
            raise socket_module.gaierror(socket_module.EAI_NONAME, "no network in tests")
        return real(host, *args, **kwargs)

    real = socket_module.getaddrinfo
    monkeypatch.setattr(socket_module, "getaddrinfo", no_network)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-0000")
    config = daemon_env / "config.toml"
    config.write_text('[http]\nlisten = "127.0.0.1:0"\n' + README_ANTHROPIC)
    async with anyio.create_task_group() as tg:
        app = await tg.start(run_daemon, _options(daemon_env, config))
        assert looked_up == []
        async with httpx.AsyncClient() as client:
            response = await client.post(f"http://{app.http_address}/v1/messages", json={
                "model": "claude-haiku-4-5", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]})
        assert response.status_code == 502 and "cannot connect" in response.json()["error"]["message"]
        assert looked_up and set(looked_up) == {"api.anthropic.com"}
        app.request_stop()
