"""Rate-limit (and budget) windows that outlive a restart: each long window's settled use.

``save_windows`` enqueues the limiter's snapshot (one row per bucket, replaced in place) and drops
rows no window can still hold; ``load_windows`` reads them back at start, in a worker thread
through ``Store.read``. The limiter takes a row only for a window that is still current. Every
statement about ``limit_windows`` lives here.
"""

from collections.abc import Iterable

import apsw

from routerd.resilience.limits import BucketSnapshot
from routerd.store.store import Store

# A row older than the longest window (a month) cannot hold a current window's count.
KEEP_S = 32 * 86400.0

_SAVE = "INSERT OR REPLACE INTO limit_windows (name, start, used, ts) VALUES (?, ?, ?, ?)"
_PRUNE = "DELETE FROM limit_windows WHERE ts < ?"


def save_windows(store: Store, snapshots: Iterable[BucketSnapshot], now: float) -> None:
    """Enqueue the current use of every long window (never blocks)."""
    for snap in snapshots:
        store.execute(_SAVE, (snap.name, snap.start, snap.used, now))
    store.execute(_PRUNE, (now - KEEP_S,))


def load_windows(conn: apsw.Connection) -> list[BucketSnapshot]:
    """Every saved window (run through ``Store.read``)."""
    return [BucketSnapshot(name, start, used)
            for name, start, used in conn.execute("SELECT name, start, used FROM limit_windows")]
