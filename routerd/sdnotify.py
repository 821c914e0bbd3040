"""systemd's readiness protocol (sd_notify) and socket activation (LISTEN_FDS), standard library only.

Both are no-ops when systemd did not set the variables, so the daemon calls them unconditionally.
"""

import os
import socket
from collections.abc import Mapping

SD_LISTEN_FDS_START = 3


def notify(state: str, env: Mapping[str, str] = os.environ) -> bool:
    """Send ``state`` (e.g. ``READY=1``) to ``$NOTIFY_SOCKET``; return whether it was sent."""
    address = env.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):  # abstract namespace
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
        try:
            sock.connect(address)
            sock.sendall(state.encode())
        except OSError:
            return False
    return True


def listen_fds(env: Mapping[str, str] = os.environ) -> dict[str, socket.socket]:
    """Sockets passed by systemd socket activation, keyed by ``FileDescriptorName`` (or fd number).

    Only honoured when ``LISTEN_PID`` is this process, as sd_listen_fds(3) requires.
    """
    if env.get("LISTEN_PID") != str(os.getpid()):
        return {}
    count = int(env.get("LISTEN_FDS", "0") or 0)
    names = (env.get("LISTEN_FDNAMES") or "").split(":")
    result = {}
    for i in range(count):
        fd = SD_LISTEN_FDS_START + i
        name = names[i] if i < len(names) and names[i] else str(fd)
        sock = socket.socket(fileno=fd)
        sock.set_inheritable(False)
        result[name] = sock
    return result
