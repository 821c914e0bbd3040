"""Running routerd and routerctl as real processes, for lifecycle tests."""

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.fakes import answers

ROUTERD = [sys.executable, "-m", "routerd.main"]
ROUTERCTL = [sys.executable, "-m", "routerctl.main"]


# Test daemons listen for HTTP on a free port, so that they never clash with a routerd (or anything
# else) on the default 127.0.0.1:4141.
HTTP_ANY_PORT = '[http]\nlisten = "127.0.0.1:0"\n'


def env_for(tmp: Path, **extra: str) -> dict[str, str]:
    """An environment whose routerd paths all lie under ``tmp``, with no provider keys; writes a
    config with HTTP on a free port unless the test wrote one already."""
    config = tmp / "config.toml"
    if not config.exists():
        config.write_text(HTTP_ANY_PORT)
    env = {k: v for k, v in os.environ.items()
           if not k.endswith("_API_KEY") and not k.endswith("_BASE_URL")}
    env.update(XDG_STATE_HOME=str(tmp / "state"), XDG_CONFIG_HOME=str(tmp / "config"),
               ROUTERD_SOCKET=str(tmp / "routerd.sock"), ROUTERD_CONFIG=str(tmp / "config.toml"))
    env.pop("NOTIFY_SOCKET", None)
    env.update(extra)
    return env


def routerctl(env: dict[str, str], *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([*ROUTERCTL, *args], env=env, capture_output=True, text=True, timeout=timeout)


class NotifyListener:
    """A datagram socket standing in for systemd's NOTIFY_SOCKET."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(30)

    def expect(self, state: str) -> str:
        """Block until a message containing ``state`` arrives; return it."""
        while True:
            message = self.sock.recv(4096).decode()
            if state in message:
                return message

    def close(self) -> None:
        self.sock.close()


class Foreground:
    """routerd started in the foreground under a stand-in notify socket; ``close`` stops it."""

    def __init__(self, env: dict[str, str], tmp: Path, command: list[str] | None = None) -> None:
        self.notify = NotifyListener(tmp / f"notify-{time.monotonic_ns()}")
        self.log = tmp / "routerd.stderr"
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(command or ROUTERD, env={**env, "NOTIFY_SOCKET": str(self.notify.path)},
                                         stdout=subprocess.DEVNULL, stderr=log)
        try:
            self.notify.expect("READY=1")
        except BaseException:
            self.close()
            raise

    def close(self) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
        code = self.proc.wait(timeout=30)
        self.notify.close()
        return code


def wait_for(predicate, timeout: float = 20.0, what: str = "condition"):
    """Poll ``predicate`` of an external process's state until it is truthy (bounded)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


class HeldUpstream:
    """An OpenAI-compatible provider that takes one request and answers it only when told: a
    request held in flight inside a routerd process (stdlib sockets, driven by the test's thread)."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(30)
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.conn: socket.socket | None = None

    def provider_toml(self) -> str:
        return (f'[providers.held]\nkind = "openai"\nbase_url = "{self.url}/v1"\napi_key = "sk-held"\n'
                'models = ["gpt-*"]\ntimeout_s = 120\n')

    def wait_request(self) -> None:
        """Block until routerd has sent its request (head and body)."""
        self.conn, _ = self.listener.accept()
        self.conn.settimeout(30)
        data = b""
        while b"\r\n\r\n" not in data:
            data += self.conn.recv(65536)
        head, _, body = data.partition(b"\r\n\r\n")
        length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length:"))
        while len(body) < length:
            body += self.conn.recv(65536)

    def answer(self, text: str) -> None:
        assert self.conn is not None
        body = json.dumps(answers.body("openai_chat", "gpt-4o", text, None)).encode()
        self.conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n"
                          b"content-length: %d\r\n\r\n%s" % (len(body), body))
        self.conn.close()

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
        self.listener.close()
