"""The daemon's signals (SIGTERM, SIGINT, SIGHUP), held while it has no handler for them.

``routerd.main`` blocks them before it imports anything else, and ``routerd.daemon`` unblocks them
only under its signal receiver, blocking them again before that receiver goes. A signal sent
meanwhile stays pending (the kernel keeps it) instead of killing the process half-started, with its
socket file left behind (SIGTERM, SIGHUP), or raising KeyboardInterrupt wherever start-up happens
to be (SIGINT); unblocked, it reaches the receiver at once, so a SIGTERM during start-up stops the
daemon through the same drain as any other. Standard library only: it runs before the imports.
"""

import signal
from collections.abc import Iterator
from contextlib import contextmanager

HANDLED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def hold() -> None:
    """Block the daemon's signals in this thread (and the threads it starts): they wait, pending.

    A daemon started as a shell's background job (``routerd &`` in a script) inherits SIGINT
    ignored. asyncio's receiver takes it all the same, but trio's start puts the ignored disposition
    back and a SIGINT pending from start-up is discarded (the daemon then never stops for it): the
    daemon handles Ctrl-C on every backend, so Python's own handler is put in place first."""
    signal.pthread_sigmask(signal.SIG_BLOCK, HANDLED)
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@contextmanager
def delivered() -> Iterator[None]:
    """Unblock the daemon's signals within (enter it with their handler in place: one pending is
    delivered on entry), then restore the mask as it was."""
    before = signal.pthread_sigmask(signal.SIG_UNBLOCK, HANDLED)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)
