"""A blocking socket client for routerctl, standard library only (no msgspec, no anyio).

It speaks the frames of ``routerd.framing`` and the JSON of ``routerd.protocol`` with the stdlib
``json`` module; the contract tests prove the two sides agree.
"""

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from routerd.framing import FrameReader, encode_frame
from routerd.version import PROTOCOL_VERSION


class DaemonNotRunning(Exception):
    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"routerd is not running (socket {path}: {reason})")
        self.path = path


class Unreachable(Exception):
    """The socket path cannot be connected to for a reason other than nobody listening there (too
    long for a Unix socket, no permission): said as it is, not as "not running"."""


class ConnectionLost(Exception):
    """The connection to the daemon broke mid-request (kept apart from the OSErrors of routerctl's
    own output, such as a closed pipe to ``head``)."""


class DaemonError(Exception):
    """The daemon answered with an error reply."""

    def __init__(self, reply: dict[str, Any]) -> None:
        super().__init__(f"{reply.get('code', 'error')}: {reply.get('message', '')}")
        self.code = reply.get("code", "error")
        self.reply = reply


class Client:
    def __init__(self, path: Path, timeout_s: float = 60.0) -> None:
        self.path = path
        self.timeout_s = timeout_s
        self._sock: socket.socket | None = None
        self._reader = FrameReader()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def _connect(self) -> socket.socket:
        if self._sock is None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(self.timeout_s)
            try:
                sock.connect(str(self.path))
            except (FileNotFoundError, ConnectionRefusedError, NotADirectoryError) as exc:
                sock.close()
                raise DaemonNotRunning(self.path, exc.strerror or str(exc)) from None
            except TimeoutError:
                sock.close()
                raise
            except OSError as exc:  # a path too long for a socket, no permission: nobody reachable there
                sock.close()
                raise Unreachable(f"cannot connect to routerd's socket {self.path}: {exc.strerror or exc}") from None
            self._sock = sock
        return self._sock

    def stream(self, request: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """Send ``request``; yield its reply frames until the final one. Error replies raise."""
        sock = self._connect()
        try:
            sock.sendall(encode_frame(json.dumps({"v": PROTOCOL_VERSION, **request}).encode()))
        except ConnectionError as exc:
            self.close()
            raise ConnectionLost(exc.strerror or str(exc)) from None
        while True:
            frame = self._reader.next_frame()
            if frame is None:
                try:
                    data = sock.recv(65536)
                except ConnectionError as exc:
                    data = b""
                    reason = exc.strerror or str(exc)
                else:
                    reason = "routerd closed the connection"
                if not data:
                    self.close()
                    raise ConnectionLost(reason)
                self._reader.feed(data)
                continue
            reply = json.loads(frame)
            if reply.get("type") == "error":
                raise DaemonError(reply)
            yield reply
            if reply.get("final", True):
                return

    def call(self, request: dict[str, Any]) -> dict[str, Any]:
        """Send ``request`` and return its single (final) reply."""
        last: dict[str, Any] = {}
        for reply in self.stream(request):
            last = reply
        return last
