"""Starting the daemon detached for interactive use, and knowing when it is ready.

routerctl listens on a private datagram socket and passes it to the daemon as ``NOTIFY_SOCKET``: the
daemon says ``READY=1`` through the same sd_notify call it makes under systemd, so there is no polling.
The daemon is started in its own session (it never double-forks itself) with its output in a log
file beside the state database.
"""

import os
import select
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import click

from routerctl import output


# How routerd starts the one line that says why it would not start (routerd.main).
DAEMON_PREFIX = "routerd: "


def spawn_daemon(socket_path: Path, config_file: str | None, backend: str,
                 timeout_s: float) -> tuple[int, Path]:
    from routerd.paths import state_path

    log_path = state_path().parent / "routerd.log"
    log_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with tempfile.TemporaryDirectory(prefix="routerctl-") as tmp:
        notify_path = os.path.join(tmp, "notify")
        notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        notify.bind(notify_path)
        env = {**os.environ, "NOTIFY_SOCKET": notify_path, "ROUTERD_SOCKET": str(socket_path)}
        command = [sys.executable, "-m", "routerd.main", "--backend", backend]
        if config_file:
            command += ["--config", str(Path(config_file).resolve())]
        fd = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)  # it may name keys
        os.fchmod(fd, 0o600)  # one made by an older routerctl
        with os.fdopen(fd, "ab") as log:
            start = log.tell()  # the log holds earlier runs too: report only this one's lines
            proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                    env=env, start_new_session=True, close_fds=True)
        try:
            _wait_ready(proc, notify, timeout_s, log_path, start)
        finally:
            notify.close()
    return proc.pid, log_path


def _wait_ready(proc: subprocess.Popen, notify: socket.socket, timeout_s: float, log_path: Path,
                start: int) -> None:
    deadline = time.monotonic() + timeout_s
    while (left := deadline - time.monotonic()) > 0:
        readable, _, _ = select.select([notify], [], [], min(left, 0.05))
        if readable and b"READY=1" in notify.recv(4096):
            return
        if proc.poll() is not None:
            with open(log_path, "rb") as log:
                log.seek(start)
                tail = log.read().decode(errors="replace").strip().splitlines()[-5:]
            exited = f"routerd exited with code {proc.returncode} during start; log: {log_path}"
            if tail and tail[-1].startswith(DAEMON_PREFIX):  # its one-line reason: a port in use, a bad config
                output.fail(f"{tail[-1].removeprefix(DAEMON_PREFIX)} ({exited})", 4)
            click.echo("\n".join(tail), err=True)
            output.fail(exited, 4)
    output.fail(f"routerd did not become ready within {timeout_s:.0f} s (log: {log_path})", 4)
