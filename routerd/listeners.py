"""Creating the daemon's listeners: the Unix socket safely (a private directory, a 0600 socket,
stale sockets from dead daemons removed, and a clear refusal when another daemon is alive on the
path) and the HTTP socket (``http.listen``, loopback unless a gateway key is set)."""

import errno
import ipaddress
import os
import socket
import stat
from collections.abc import Mapping
from pathlib import Path

from routerd.config import Config
from routerd.config_values import listen_address
from routerd.errors import ConfigError


class AlreadyRunning(RuntimeError):
    pass


class CannotListen(OSError):
    """An address routerd cannot bind, said in the config's words: ``http.listen 127.0.0.1:4141 is
    already in use`` rather than ``[Errno 98] Address already in use``."""

    def __init__(self, errno: int, what: str, reason: str) -> None:
        super().__init__(errno, reason)
        self.what = what

    def __str__(self) -> str:
        if self.errno == errno.EADDRINUSE:
            return f"{self.what} is already in use"
        return f"{self.what}: cannot listen: {self.strerror}"


def prepare_socket_path(path: Path) -> None:
    """Make the 0700 directory and clear a stale socket. Blocking: call before the loop or in a thread."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path.parent, 0o700)
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(mode):
        raise AlreadyRunning(f"{path} exists and is not a socket; remove it or set ROUTERD_SOCKET")
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(str(path))
    except OSError as exc:
        if exc.errno in (errno.ECONNREFUSED, errno.ENOENT):
            path.unlink(missing_ok=True)  # a dead daemon's socket
            return
        raise
    finally:
        probe.close()
    raise AlreadyRunning(f"another routerd is already running on {path}")


def bind_unix(path: Path) -> socket.socket:
    """Bind and listen on ``path`` with mode 0600 from the first instant (no chmod race)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)
    try:
        sock.bind(str(path))
    finally:
        os.umask(old)
    sock.listen(512)
    sock.setblocking(False)
    return sock


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an IP literal) means this machine's loopback interface."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_listen(listen: str) -> tuple[str, int]:
    """``host:port`` or ``[v6]:port`` as (host, port); ConfigError otherwise (the config's own
    check, ``routerd.config_values.listen_address``, says what is wrong)."""
    try:
        return listen_address(listen)
    except ValueError as exc:
        raise ConfigError(f"http.{exc}") from None


def check_exposure(host: str, key_env: str | None, env: Mapping[str, str]) -> None:
    """Refuse to listen beyond loopback without a gateway key in the environment: at start, and on
    a reload that would drop the key while listening there."""
    if not is_loopback(host) and not (key_env and env.get(key_env)):
        raise ConfigError(f"http.listen: {host} is beyond loopback; set http.gateway_key_env to a "
                          "variable holding a gateway key (and export it) before listening there")


def bind_http(config: Config, env, activated: dict[str, socket.socket]) -> socket.socket:
    """The gateway's listening socket: one handed over by socket activation (an AF_INET/AF_INET6
    socket), or bound from ``http.listen``. Refuses a non-loopback address without a gateway key."""
    sock = next((s for s in activated.values() if s.family in (socket.AF_INET, socket.AF_INET6)), None)
    if sock is not None:
        host = sock.getsockname()[0]
    else:
        host, port = parse_listen(config.http.listen)
    check_exposure(host, config.http.gateway_key_env, env)
    if sock is None:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            sock.close()
            raise CannotListen(exc.errno or 0, f"http.listen {config.http.listen}", exc.strerror or str(exc)) from None
        sock.listen(1024)
    sock.setblocking(False)
    return sock


def address_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
