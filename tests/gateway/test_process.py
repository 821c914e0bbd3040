"""routerd as a real process: providers enabled from the environment as the SDKs do, and the key
never written to its log, its status or its database."""

import json
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

from tests.daemon_proc import Foreground, env_for, routerctl

SECRET = "sk-proc-secret-0123456789"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_environment_provider_and_no_key_anywhere(tmp_path: Path):
    """OPENAI_API_KEY + OPENAI_BASE_URL enable a provider; a proxied call works; the key is in no
    log line, status reply or database page."""
    upstream = subprocess.Popen([sys.executable, "-m", "tests.fakes.fast_upstream"],
                                stdout=subprocess.PIPE, text=True)
    try:
        upstream_port = int(upstream.stdout.readline().split()[1])
        port = _free_port()
        (tmp_path / "config.toml").write_text(
            f'[daemon]\nlog_level = "debug"\n[http]\nlisten = "127.0.0.1:{port}"\n')
        env = env_for(tmp_path, OPENAI_API_KEY=SECRET,
                      OPENAI_BASE_URL=f"http://127.0.0.1:{upstream_port}/v1")
        daemon = Foreground(env, tmp_path)
        try:
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/v1/chat/completions", method="POST",
                data=json.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}).encode(),
                headers={"content-type": "application/json"})
            with urllib.request.urlopen(request, timeout=30) as response:
                assert response.status == 200 and response.headers["x-routerd-provider"] == "openai"
            status = routerctl(env, "status", "--json")
            assert status.returncode == 0 and '"openai"' in status.stdout
        finally:
            assert daemon.close() == 0
        assert SECRET not in status.stdout
        log = daemon.log.read_text()
        assert "gateway providers: openai" in log and SECRET not in log
        for path in (tmp_path / "state").rglob("*"):
            if path.is_file():
                assert SECRET.encode() not in path.read_bytes(), path
    finally:
        upstream.terminate()
        upstream.wait()
        upstream.stdout.close()
