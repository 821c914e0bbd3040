"""routerd as a real process: providers enabled from the environment as the SDKs do, keys and URL
credentials never written to its log, its status or its database, private files, and a daemon that
survives running out of file descriptors."""

import json
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.daemon_proc import Foreground, env_for, routerctl, wait_for

SECRET = "sk-proc-secret-0123456789"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def upstream_port():
    """A fast fake OpenAI-compatible provider in its own process: its port."""
    upstream = subprocess.Popen([sys.executable, "-m", "tests.fakes.fast_upstream"],
                                stdout=subprocess.PIPE, text=True)
    try:
        yield int(upstream.stdout.readline().split()[1])
    finally:
        upstream.terminate()
        upstream.wait()
        upstream.stdout.close()


def _chat(port: int) -> int:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1/chat/completions", method="POST",
        data=json.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}).encode(),
        headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, response.headers


def test_environment_provider_and_no_key_anywhere(tmp_path: Path, upstream_port: int):
    """OPENAI_API_KEY + OPENAI_BASE_URL enable a provider; a proxied call works; the key is in no
    log line, status reply or database page."""
    port = _free_port()
    (tmp_path / "config.toml").write_text(f'[daemon]\nlog_level = "debug"\n[http]\nlisten = "127.0.0.1:{port}"\n')
    env = env_for(tmp_path, OPENAI_API_KEY=SECRET, OPENAI_BASE_URL=f"http://127.0.0.1:{upstream_port}/v1")
    daemon = Foreground(env, tmp_path)
    try:
        status, headers = _chat(port)
        assert status == 200 and headers["x-routerd-provider"] == "openai"
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


def test_private_files_and_credentials_in_urls(tmp_path: Path, upstream_port: int):
    """The database (with its WAL and shared-memory files) and the log ``routerctl start`` writes are
    readable by their owner only; credentials written into a base URL are in no log line, status
    reply or database page, and the provider gets them as its Authorization."""
    port = _free_port()
    (tmp_path / "config.toml").write_text(
        f'[daemon]\nlog_level = "debug"\n[http]\nlisten = "127.0.0.1:{port}"\n'
        f'[providers.corp]\nbase_url = "http://bob:{SECRET}@127.0.0.1:{upstream_port}/v1"\n'
        'models = ["gpt-*"]\n')
    env = env_for(tmp_path)
    assert routerctl(env, "start").returncode == 0
    try:
        assert _chat(port)[0] == 200
        status = routerctl(env, "status", "--json")
        shown = json.loads(status.stdout)["parts"]["gateway"]["providers"]["corp"]["base_url"]
        assert shown == f"http://127.0.0.1:{upstream_port}/v1" and SECRET not in status.stdout
    finally:
        assert routerctl(env, "stop").returncode == 0
    state = tmp_path / "state" / "routerd"
    files = [state / "routerd.log", state / "routerd.db", *state.glob("routerd.db-*")]
    assert {f.name: oct(f.stat().st_mode & 0o777) for f in files} == {f.name: "0o600" for f in files}
    assert SECRET not in (state / "routerd.log").read_text()
    for path in state.rglob("*"):
        assert SECRET.encode() not in path.read_bytes(), path


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_running_out_of_file_descriptors_does_not_end_the_daemon(tmp_path: Path, backend: str):
    """With more idle connections than descriptors (any local user can open them), accept backs off
    instead of ending the daemon; when they close, new clients are served again."""
    import resource
    import socket as socket_module

    port = _free_port()
    (tmp_path / "config.toml").write_text(f'[http]\nlisten = "127.0.0.1:{port}"\n')
    env = env_for(tmp_path)
    limit = 64

    def low_limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))

    log = tmp_path / "routerd.stderr"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "routerd.main", "--backend", backend], env=env,
                                stderr=out, preexec_fn=low_limit)
    idle = []
    try:
        _health(port, proc)
        for _ in range(limit + 40):  # the kernel completes them; routerd runs out accepting them
            idle.append(socket_module.create_connection(("127.0.0.1", port)))
        wait_for(lambda: "cannot accept connections (EMFILE)" in log.read_text(), what="accept back-off")
        assert proc.poll() is None
        for sock in idle:
            sock.close()
        idle.clear()
        assert _health(port, proc) == 200
    except AssertionError as exc:
        # Once (1 of ~20 fresh-clone runs, trio) the daemon exited here with status 1; keep what it said.
        raise AssertionError(f"{exc}\n--- routerd's stderr ---\n{log.read_text()[-4000:]}") from exc
    finally:
        for sock in idle:
            sock.close()
        proc.terminate()
        code = proc.wait(timeout=30)
    assert code == 0, f"routerd exited with {code}\n--- routerd's stderr ---\n{log.read_text()[-4000:]}"


def _health(port: int, proc: subprocess.Popen) -> int:
    """GET /health, retried (bounded) while the daemon starts or catches up with its backlog."""
    def answer():
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as response:
                return response.status
        except OSError:
            assert proc.poll() is None, "routerd exited"
            return None

    return wait_for(answer, timeout=30, what="/health")
