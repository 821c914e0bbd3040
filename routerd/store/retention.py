"""Retention: ``calls`` and ``decisions`` rows older than ``state.retain_days`` leave the database,
and their sums stay.

Every call is already summed per local day in the rollups (``routerd.store.rollups``: per source,
provider, model, tier and outcome, and per session and project; decisions per source, tier and
model), which is all the reports read for whole days. A decision with feedback stays (the routing
core learns from it). A prune takes the oldest rows in batches of ``PRUNE_BATCH``; each batch is one
transaction that first folds every row not yet rolled up, moves the retention's edge
(``retention.before``, a local midnight) and then deletes rows stamped before it, which the delete
trigger leaves in the rollups (migration 5). A crash or ``kill -9`` between batches leaves whole
batches done; inside one it leaves nothing done: nothing is lost or counted twice.

What leaves with the rows: each call's detail (an export gives a pruned day as one row per rollup
key, ``routerd.store.ledger.export_retired``; it reads one snapshot, ``routerd.store.snapshot``, so
a prune committed while it streams changes nothing it sends), a report starting in the middle of a
pruned day (it counts that whole day: the part before its start is no longer told apart), and the
one-call-one-row check against them (a hook row stamped before the edge is not
recorded, see migration 5). Budgets read a month of calls (``routerd.store.budgets``), hence
``routerd.config.MIN_RETAIN_DAYS``. Runs on the writer thread only.
"""

import logging
import threading
import time
from datetime import datetime, timedelta

import apsw

from routerd.store.db import transaction
from routerd.store.rollups import ROLL, retired_before

log = logging.getLogger("routerd.store")

# Rows deleted per transaction (of each table): 26-38 ms of the writer's time, median, 58-69 ms at
# most, on the shared 2-core test machine at a load of 6 (bench/bench_retention.py, a year of 200k
# calls and 40k decisions pruned to 90 days; one run of four had a 0.7 s outlier), so rows queued
# behind a prune wait about as long as behind one large batch of writes.
PRUNE_BATCH = 2000
# How often the writer looks for rows past the retention (and once at start).
PRUNE_EVERY_S = 3600.0

_MOVE_EDGE = "UPDATE retention SET before = max(before, ?)"
_DELETE_CALLS = "DELETE FROM calls WHERE rowid IN (SELECT rowid FROM calls WHERE ts < ? ORDER BY ts LIMIT ?)"
# A decision someone rated or rerouted stays: the routing core learns from its feedback joined
# with it (routerd.store.routing.all_feedback).
_DELETE_DECISIONS = (
    "DELETE FROM decisions WHERE rowid IN (SELECT rowid FROM decisions d WHERE ts < ? "
    "AND NOT EXISTS (SELECT 1 FROM feedback f WHERE f.decision_id = d.id) ORDER BY ts LIMIT ?)")


def edge(now: float, retain_days: int) -> float:
    """The local midnight ``retain_days`` days before today's: calls stamped before it go."""
    midnight = datetime.fromtimestamp(now).replace(hour=0, minute=0, second=0, microsecond=0)
    return (midnight - timedelta(days=retain_days)).timestamp()


def prune_batch(conn: apsw.Connection, before: float, limit: int) -> tuple[int, int]:
    """Fold, move the edge to ``before`` and delete up to ``limit`` calls and ``limit`` decisions
    stamped before it, in one transaction; how many of each were deleted."""
    with transaction(conn):
        for statement in ROLL:
            conn.execute(statement)
        conn.execute(_MOVE_EDGE, (before,))
        conn.execute(_DELETE_CALLS, (before, limit))
        calls: int = conn.changes()
        conn.execute(_DELETE_DECISIONS, (before, limit))
        decisions: int = conn.changes()
    return calls, decisions


def retained_from(conn: apsw.Connection, source: str = "calls") -> float:
    """The retention's edge of ``source`` (calls or decisions): its rows before it live in the
    rollups only (0: none pruned)."""
    value: float = conn.execute(f"SELECT {retired_before(source)}").get or 0.0
    return value


class Prune:
    """A request, through the writer's queue, to prune now (first taking ``days`` as the
    retention, when given): ``done`` is set when every row past the retention is gone (``pruned``
    of them), or at once when retention is off."""

    __slots__ = ("days", "done", "pruned", "pruned_decisions", "error")

    def __init__(self, days: int | None = None) -> None:
        self.days = days
        self.done = threading.Event()
        self.pruned = 0
        self.pruned_decisions = 0
        self.error: str | None = None


class Pruner:
    """The writer thread's prune schedule: once at start, then every ``PRUNE_EVERY_S``, and when
    asked (``Prune``); batch after batch until no row is past the edge, the writer committing
    queued rows between batches. Its counters are read by ``Store.statistics``."""

    def __init__(self) -> None:
        self.retain_days = 0  # 0: keep every row
        self.pruned = 0  # calls pruned since start
        self.pruned_decisions = 0
        self.retained_from = 0.0  # the edge: calls before it are in the rollups only
        self._at = 0.0  # monotonic time of the next look
        self._more = False  # the last batch was full: more rows are past the edge
        self._waiting: list[Prune] = []
        self._this_run = (0, 0)  # calls, decisions

    def ask(self, request: Prune) -> None:
        if request.days is not None:
            self.retain_days = request.days
        self._waiting.append(request)
        if self.retain_days <= 0:  # retention turned off: no run, and none left waiting
            self._end(None)

    @property
    def busy(self) -> bool:
        """More batches are due at once (the writer must not wait for the queue)."""
        return self.retain_days > 0 and (self._more or bool(self._waiting))

    def wait_s(self) -> float | None:
        """How long the writer may wait for the queue before the next batch (None: no prune due)."""
        if self.retain_days <= 0:
            return None
        return 0.0 if self.busy else max(0.0, self._at - time.monotonic())

    def due(self) -> bool:
        return self.busy or self.retain_days > 0 and time.monotonic() >= self._at

    def step(self, conn: apsw.Connection) -> None:
        """One batch; logs and answers the requests once the run is over."""
        before = edge(time.time(), self.retain_days)
        try:
            calls, decisions = prune_batch(conn, before, PRUNE_BATCH)
        except apsw.Error as exc:
            self._end(f"{type(exc).__name__}: {exc}")
            log.error("pruning calls past %d days failed: %s", self.retain_days, exc)
            return
        self.pruned += calls
        self.pruned_decisions += decisions
        self._this_run = (self._this_run[0] + calls, self._this_run[1] + decisions)
        self.retained_from = max(self.retained_from, before)
        self._more = max(calls, decisions) >= PRUNE_BATCH
        if not self._more:
            if any(self._this_run):
                log.info("pruned %d calls and %d decisions stamped before %s (past state.retain_days = "
                         "%d); their sums stay in the reports", *self._this_run,
                         datetime.fromtimestamp(before).date(), self.retain_days)
            self._end(None)

    def _end(self, error: str | None) -> None:
        for request in self._waiting:
            request.pruned, request.pruned_decisions = self._this_run
            request.error = error
            request.done.set()
        self._waiting, self._this_run, self._more = [], (0, 0), False
        self._at = time.monotonic() + PRUNE_EVERY_S
