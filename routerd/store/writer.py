"""The store's writer thread: it takes queued rows and statements in order, commits them in
batches, folds them into the report rollups, and holds them while the database refuses writes.

A batch that fails is retried row by row so that one bad row loses only itself (counted in
``dropped``). An error of the database as a whole (disk full, an I/O error, a read-only or vanished
file, a lock held past the busy timeout) loses nothing: the writer holds the rows in memory (at most
``MAX_HELD``; beyond that new rows are counted in ``lost``), retries with a back-off, logs once when
writing stops and once when it resumes, and meanwhile reports itself stalled. Everything here runs
on the writer thread, which alone writes (``routerd.store.store`` owns it).
"""

import collections
import functools
import itertools
import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import apsw

from routerd.store.db import StateUnavailable, copy_to, open_checked, transaction
from routerd.store.migrations import TABLES
from routerd.store.retention import Prune, Pruner
from routerd.store.rollups import ROLL
from routerd.store.vacuum import Vacuum, vacuum
from routerd.store.watch import FileWatch

log = logging.getLogger("routerd.store")

# Large enough that 10k rows/s need only a few commits a second, small enough that a batch commits
# in a few milliseconds and a crash loses little.
MAX_BATCH = 2000
# A row that arrives alone waits this long for company before its commit, so that the rows of
# concurrent requests share one transaction and the writer wakes (and takes the GIL) once per burst
# instead of once per row. Measured with the HTTP gateway at concurrency 1 (two rows per request):
# p99 added latency 5 ms -> 1 ms. Flushes and the stop marker never wait.
COALESCE_S = 0.005
# Written rows are folded into the report rollups (routerd.store.rollups) in their own transaction
# at most this often, or once this many are waiting: a second's rows cost one grouped statement
# per rollup instead of one per 5 ms batch (fewer statements, fewer pages rewritten in the WAL).
# Reports add the rows still waiting, so they are exact in between.
ROLL_EVERY_S = 1.0
ROLL_AFTER_ROWS = 5000
# Rows held in memory while the database cannot be written. A calls row costs about 1 KB as a dict,
# so 50,000 rows are some 50 MB at worst: hours of one developer's traffic, minutes of a flood.
MAX_HELD = 50_000
# The first retry after the database refused a write, doubling up to the last figure: a disk that
# gets space back is written again within ten seconds, a broken one costs one attempt per ten.
RETRY_FIRST_S = 0.25
RETRY_MAX_S = 10.0


class Flush:
    """A marker in the queue: ``done`` is set once everything enqueued before it is handled."""

    __slots__ = ("done", "ok")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.ok = False  # set with ``done``: everything enqueued before the marker is committed


STOP = object()


class Writer:
    """The writer thread's state and loop. Its counters are read by ``Store.statistics`` from
    other threads (plain ints and floats, each written by this thread alone)."""

    def __init__(self, items: "queue.SimpleQueue[Any]", path: Path, drop_readers: Callable[[], None]) -> None:
        self.queue = items
        self.conn: apsw.Connection | None = None  # set by ``open_store``; None while a reopen fails
        self.pruner = Pruner()
        self.watch = FileWatch(path)
        self._drop_readers = drop_readers  # close the readers' connections (they reopen when next used)
        self.written = 0
        self.batches = 0
        self.dropped = 0
        self.last_error: str | None = None
        # rows taken from the queue and not yet committed, in order
        self.held: collections.deque[Any] = collections.deque()
        self.lost = 0
        self.stalled_since: float | None = None  # monotonic
        self._retry_at = 0.0
        self._backoff_s = RETRY_FIRST_S

    def run(self) -> None:
        """Write what comes until the stop marker; close the connection on the way out."""
        _lower_priority()
        unrolled, rolled_at = 0, time.monotonic()
        try:
            while True:
                items = self._take(unrolled)
                stop = any(item is STOP for item in items)
                vacuums = []
                for item in items:
                    if isinstance(item, Prune):
                        self.pruner.ask(item)
                    elif isinstance(item, Vacuum):
                        vacuums.append(item)
                    elif not isinstance(item, Flush) and item is not STOP:
                        self._hold(item)
                look = self.conn is None or self.watch.wait_s() == 0
                if (self.held or look) and (stop or time.monotonic() >= self._retry_at):
                    unrolled += self._write_held()
                due = stop or unrolled >= ROLL_AFTER_ROWS or time.monotonic() - rolled_at >= ROLL_EVERY_S
                if unrolled and due and self.stalled_since is None:
                    self._roll()
                    unrolled, rolled_at = 0, time.monotonic()
                if not stop and self.stalled_since is None and self.pruner.due():
                    self.pruner.step(self._open)  # folds what is unrolled first
                    unrolled = 0
                for request in vacuums:  # after the rows queued before it
                    self._vacuum(request)
                for item in items:
                    if isinstance(item, Flush):
                        item.ok = not self.held
                        item.done.set()
                if stop:
                    if self.held:
                        log.error("state writes: %d row(s) could not be written before the stop and are "
                                  "lost: %s", len(self.held), self.last_error)
                    return
        finally:
            if self.conn is not None:
                self.conn.close()

    def _take(self, unrolled: int) -> list[Any]:
        """The next items of the queue: a batch, or while stalled all that waits (so that the
        bound on held rows holds), waking for the next retry or roll-up even when nothing comes."""
        stalled = self.stalled_since is not None
        waits = [s for s in (ROLL_EVERY_S if unrolled else None, self.pruner.wait_s(), self.watch.wait_s())
                 if s is not None]
        timeout = max(0.0, self._retry_at - time.monotonic()) if stalled else min(waits, default=None)
        try:
            first = self.queue.get(timeout=timeout)
        except queue.Empty:
            return []
        if not stalled and first is not STOP and not isinstance(first, (Flush, Prune, Vacuum)):
            time.sleep(COALESCE_S)  # let the rows of a burst join this one's commit
        items = [first]
        while stalled or len(items) < MAX_BATCH:
            try:
                items.append(self.queue.get_nowait())
            except queue.Empty:
                break
        return items

    def _hold(self, item: Any) -> None:
        if len(self.held) < MAX_HELD:
            self.held.append(item)
            return
        if not self.lost:
            log.error("state writes: %d rows are waiting for the database; newer rows are dropped "
                      "(counted in lost)", MAX_HELD)
        self.lost += 1

    def _write_held(self) -> int:
        """Commit the held rows in batches; on an error of the database, keep the rest and stall.
        Returns how many rows were written."""
        before = self.written
        try:
            self._keep_file()
            while self.held:
                self._write_batch(MAX_BATCH)
        except (*STORE_ERRORS, StateUnavailable, OSError) as exc:
            self._stall(exc)
        else:
            if self.stalled_since is not None:
                log.warning("state writes resumed after %.1f s: every held row is written",
                            time.monotonic() - self.stalled_since)
                self.stalled_since, self._retry_at, self._backoff_s = None, 0.0, RETRY_FIRST_S
        return self.written - before

    @property
    def _open(self) -> apsw.Connection:
        if self.conn is None:
            raise apsw.CantOpenError("the state database is not open")
        return self.conn

    def _keep_file(self) -> None:
        """Look at the database file and repair what happened to it (``routerd.store.watch``);
        raises what stops writing for now (the rows stay held)."""
        if self.conn is None:
            self._reopen()
            return
        event = self.watch.look()
        if event is None:
            return
        path = self.watch.path
        if event == "deleted":
            copy_to(self.conn, self._copy)  # while the old file is still open
            message = "was deleted while routerd ran: restored from the open file, nothing lost"
        elif event == "replaced":
            message = "was replaced by another file while routerd ran: routerd writes to the new one"
        else:
            message = "lost its -wal file while routerd ran: reopened, nothing lost"
        log.error("state database %s %s", path, message)
        self.watch.note(message)
        # Every connection to the old file closes, and its WAL goes, before a file is opened at
        # the path: SQLite leaves the WAL of a file no longer at its path, and SQLite reads a WAL
        # beside a database into it whatever file it came from (measured: the old rows replaced
        # the new file's). A WAL that came with the new file stays (its inode is another).
        self._drop_readers()
        self.conn.close()
        self.conn = None
        self.watch.clear_stale()
        self._reopen()

    @property
    def _copy(self) -> Path:
        """Where a deleted database is restored to before it is renamed into place."""
        return self.watch.path.with_name(self.watch.path.name + ".restored")

    def _reopen(self) -> None:
        """Open the path again, a restored copy first put in place when the path is free (an
        earlier attempt may have stopped between the copy and the rename)."""
        if self._copy.exists() and not self.watch.path.exists():
            os.replace(self._copy, self.watch.path)
        self.conn, _ = open_checked(self.watch.path)
        self.watch.opened()

    def _stall(self, exc: BaseException) -> None:
        now = time.monotonic()
        self.last_error = f"{type(exc).__name__}: {exc}"
        if self.stalled_since is None:
            self.stalled_since, self._backoff_s = now, RETRY_FIRST_S
            log.error("state writes stopped: %s; holding %d row(s) in memory (at most %d) and retrying "
                      "(usage is kept, reports lag until the database takes writes again)",
                      self.last_error, len(self.held), MAX_HELD)
        else:
            self._backoff_s = min(self._backoff_s * 2, RETRY_MAX_S)
        self._retry_at = now + self._backoff_s

    def _vacuum(self, request: Vacuum) -> None:
        if self.conn is None or self.stalled_since is not None:
            request.error = f"state writes are stalled: {self.last_error}"
            request.done.set()
            return
        vacuum(self.conn, self.watch.path, request)
        if request.error is not None:
            log.error("vacuum failed: %s", request.error)

    def _roll(self) -> None:
        try:
            conn = self._open
            with transaction(conn):
                for statement in ROLL:
                    conn.execute(statement)
        except apsw.Error as exc:  # the rows stay above the mark: reports still count them
            self.last_error = f"{type(exc).__name__}: {exc}"
            log.error("rollup failed: %s", self.last_error)

    def _write_batch(self, size: int) -> None:
        """Commit up to ``size`` held rows and take them off the front; a bad row is dropped alone.
        An error of the database as a whole propagates, with the rows not committed still held."""
        batch = list(itertools.islice(self.held, size))
        conn = self._open
        try:
            with transaction(conn):
                for sql, rows in _group(batch):
                    conn.executemany(sql, rows)
        except STORE_ERRORS:
            raise
        except _ROW_ERRORS:
            for item in batch:  # find the bad rows; keep the good ones
                try:
                    with transaction(conn):
                        _apply(conn, item)
                    self.written += 1
                except STORE_ERRORS:
                    raise
                except _ROW_ERRORS as exc:
                    self.dropped += 1
                    self.last_error = f"{type(exc).__name__}: {exc}"
                    log.error("state write dropped: %s", self.last_error)
                self.held.popleft()
            self.batches += 1
            return
        for _ in batch:
            self.held.popleft()
        self.written += len(batch)
        self.batches += 1


# What one bad row raises: SQLite's refusal, or a value apsw cannot bind (an int past 64 bits, an
# unsupported type). The row is dropped and counted; the writer goes on with the others.
_ROW_ERRORS = (apsw.Error, OverflowError, TypeError, ValueError)
# What the database as a whole raises: no row is at fault, and every row would fail the same way
# until the disk has space again, the file is writable, the lock is released... The rows are held.
STORE_ERRORS = (apsw.FullError, apsw.IOError, apsw.ReadOnlyError, apsw.CantOpenError, apsw.BusyError,
                 apsw.LockedError, apsw.CorruptError, apsw.NotADBError, apsw.PermissionsError,
                 apsw.ProtocolError, apsw.NoMemError, apsw.AuthError)


# On Linux a thread has its own nice value. The writer runs below the event loop's thread so that,
# when the CPU is contended, requests are served first and rows committed a moment later
# (measured on 2 cores at 17k rows/s, median of 4 runs: ping p99 under write load 3.7 -> 3.1 ms).
WRITER_NICE = 10


def _lower_priority() -> None:
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), WRITER_NICE)
    except (AttributeError, OSError):
        pass  # not Linux, or not permitted: the writer keeps the process's priority


def _statement(item: tuple[Any, Any]) -> tuple[str, tuple[Any, ...]]:
    first, second = item
    if first in TABLES:
        return _insert_sql(first, tuple(second)), tuple(second.values())
    return first, second


@functools.lru_cache(maxsize=256)
def _insert_sql(table: str, columns: tuple[str, ...]) -> str:
    return f"INSERT OR REPLACE INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"


def _apply(conn: apsw.Connection, item: tuple[Any, Any]) -> None:
    conn.execute(*_statement(item))


def _group(items: list[Any]) -> list[tuple[str, list[tuple[Any, ...]]]]:
    """Runs of items with the same statement, so that each run is one ``executemany`` (whose loop
    runs in C with the GIL released, keeping the event loop thread responsive)."""
    groups: list[tuple[str, list[tuple[Any, ...]]]] = []
    for item in items:
        sql, params = _statement(item)
        if groups and groups[-1][0] == sql:
            groups[-1][1].append(params)
        else:
            groups.append((sql, [params]))
    return groups

