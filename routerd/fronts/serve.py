"""The accept loop both fronts share: one task per connection. Both listeners accept until the
daemon exits, through its drain too: a connection opened while routerd drains is answered (the
socket front says it is stopping, the HTTP front a retryable 503) instead of refused, so that a
client can tell a stopping daemon from one that is not there.

Two things never end the daemon here. Running out of file descriptors (or socket buffers) makes
``accept`` fail: the loop logs it, waits ``ACCEPT_BACKOFF_S`` and tries again, as trio's
``serve_listeners`` does, while the connections it already has carry on and free theirs. And an
exception escaping one connection's handler is logged and ends that connection only.
"""

import errno
import logging
from collections.abc import Callable, Coroutine
from typing import Any

import anyio
from anyio.abc import ByteStream, SocketListener, TaskStatus

from routerd.app import App

log = logging.getLogger("routerd.serve")

# The errors accept() gives when the process or the system is out of descriptors or buffers; the
# condition passes as connections close. 100 ms is trio's choice: long enough not to spin.
ACCEPT_CAPACITY_ERRNOS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOMEM, errno.ENOBUFS})
ACCEPT_BACKOFF_S = 0.1


ServeConnection = Callable[[App, ByteStream], Coroutine[Any, Any, None]]


async def serve_listener(app: App, listener: SocketListener, serve_connection: ServeConnection, *,
                         task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
    """Serve ``listener`` until cancelled (the daemon's task group, at the end of the drain)."""
    async with anyio.create_task_group() as connections, listener:
        task_status.started()
        backing_off = False
        while True:
            try:
                stream = await listener.accept()
            except (OSError, anyio.BrokenResourceError) as exc:
                code = _capacity_errno(exc)
                if code is None:
                    raise
                if not backing_off:  # once per episode, not every 100 ms
                    log.warning("cannot accept connections (%s); retrying every %g s",
                                errno.errorcode.get(code, code), ACCEPT_BACKOFF_S)
                backing_off = True
                await anyio.sleep(ACCEPT_BACKOFF_S)
                continue
            backing_off = False
            connections.start_soon(_guarded, serve_connection, app, stream)


def _capacity_errno(exc: BaseException) -> int | None:
    """The errno of an out-of-descriptors accept failure (anyio wraps it on some backends)."""
    for error in (exc, exc.__cause__):
        if isinstance(error, OSError) and error.errno in ACCEPT_CAPACITY_ERRNOS:
            return error.errno
    return None


async def _guarded(serve_connection: ServeConnection, app: App, stream: ByteStream) -> None:
    """One connection's error boundary: a bug in its handling is logged and closes it alone."""
    try:
        await serve_connection(app, stream)
    except Exception:
        log.exception("connection handler failed; connection closed")
        with anyio.CancelScope(shield=True):
            await stream.aclose()
