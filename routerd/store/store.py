"""The daemon's handle on its state: a writer thread that commits queued rows in batches, and
worker-thread reads. The event loop never waits on SQLite: ``record`` and ``execute`` only enqueue.

Writes keep their order. A batch that fails is retried row by row so that one bad row loses only
itself (counted in ``statistics().dropped``). An error of the database as a whole (disk full, an I/O
error, a read-only or vanished file, a lock held past the busy timeout) loses nothing: the writer
holds the rows in memory (at most ``MAX_HELD``; beyond that new rows are counted in ``lost``),
retries with a back-off, logs once when writing stops and once when it resumes, and meanwhile its
``state`` is ``stalled`` (``routerctl status`` and ``/health`` say so). A ``kill -9`` may lose the
batch being written, never corrupt the file (WAL, see ``routerd.store.db``).
"""

import collections
import functools
import itertools
import logging
import os
import queue
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any, Literal, TypeVar

import anyio
import anyio.to_thread
import apsw
import msgspec

from routerd.store import db
from routerd.store.migrations import TABLES
from routerd.store.rollups import ROLL

log = logging.getLogger("routerd.store")
T = TypeVar("T")

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
# How often a flush looks whether the writer still runs, while it waits for its rows.
FLUSH_CHECK_S = 0.5
# Rows held in memory while the database cannot be written. A calls row costs about 1 KB as a dict,
# so 50,000 rows are some 50 MB at worst: hours of one developer's traffic, minutes of a flood.
MAX_HELD = 50_000
# The first retry after the database refused a write, doubling up to the last figure: a disk that
# gets space back is written again within ten seconds, a broken one costs one attempt per ten.
RETRY_FIRST_S = 0.25
RETRY_MAX_S = 10.0

WriterState = Literal["writing", "stalled", "stopped"]


class StoreStats(msgspec.Struct, frozen=True):
    path: str
    schema_version: int
    queued: int
    written: int
    batches: int
    dropped: int
    last_error: str | None
    # writing: the writer runs and the database takes its rows; stalled: the database refuses
    # writes (disk full...), rows are held and retried; stopped: the writer ended, nothing
    # enqueued is written any more
    state: WriterState = "writing"
    held: int = 0  # rows waiting for the database to take writes again
    lost: int = 0  # rows dropped because more than MAX_HELD were waiting
    stalled_s: float | None = None  # how long writing has been stalled
    damaged: str | None = None  # a read found the file corrupt: what SQLite said (it does not heal)


class _Flush:
    __slots__ = ("done", "ok")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.ok = False  # set with ``done``: everything enqueued before the marker is committed


_STOP = object()


class Store:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.schema_version = 0
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._written = 0
        self._batches = 0
        self._dropped = 0
        self._last_error: str | None = None
        self._read_conn: apsw.Connection | None = None
        self._read_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._damaged: str | None = None
        self._lock_fd: int | None = None  # the daemon's flock on PATH.lock, held until close
        # The writer thread's own: rows taken from the queue and not yet committed, in order.
        self._held: collections.deque[Any] = collections.deque()
        self._lost = 0
        self._stalled_since: float | None = None  # monotonic
        self._retry_at = 0.0
        self._backoff_s = RETRY_FIRST_S

    # --- the event loop's side: enqueue only ---------------------------------------------------

    def record(self, table: str, row: dict[str, Any]) -> None:
        """Insert (or replace) ``row`` into ``table`` soon. Never blocks."""
        if table not in TABLES:
            raise ValueError(f"unknown table {table!r}")
        self._queue.put((table, row))

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> None:
        """Run one write statement soon, in order with the rows recorded before it. Never blocks."""
        self._queue.put((sql, params))

    async def flush(self) -> bool:
        """Wait until everything enqueued so far is committed; True if it was. False at once when
        it cannot be for now (writing stalled: the rows are held) or any more (the writer stopped)."""
        marker = _Flush()
        self._queue.put(marker)
        return await anyio.to_thread.run_sync(self._wait, marker)

    def _wait(self, marker: _Flush) -> bool:
        while not marker.done.wait(FLUSH_CHECK_S):
            if self.state == "stopped":
                return False
        return marker.ok

    async def read(self, fn: Callable[[apsw.Connection], T]) -> T:
        """Run ``fn(connection)`` in a worker thread and return its result."""
        return await anyio.to_thread.run_sync(self._read_sync, fn)

    async def row_counts(self) -> dict[str, int]:
        """Rows per table; a table that cannot be counted (its pages are damaged) is left out."""
        def count(conn: apsw.Connection) -> dict[str, int]:
            counts = {}
            for table in TABLES:
                try:
                    counts[table] = conn.execute(f"SELECT count(*) FROM {table}").get
                except _STORE_ERRORS as exc:
                    self._note_damage(exc)
            return counts

        return await self.read(count)

    def statistics(self) -> StoreStats:
        since = self._stalled_since
        return StoreStats(
            path=str(self.path), schema_version=self.schema_version, queued=self._queue.qsize(),
            written=self._written, batches=self._batches, dropped=self._dropped,
            last_error=self._last_error, state=self.state, held=len(self._held),
            lost=self._lost, stalled_s=None if since is None else round(time.monotonic() - since, 3),
            damaged=self._damaged,
        )

    @property
    def healthy(self) -> bool:
        """Writing, and no read found the file damaged (``/health`` says ``degraded`` otherwise)."""
        return self.writing and self._damaged is None

    @property
    def state(self) -> WriterState:
        """``stopped`` when the writer thread ended (the store closed, or the writer failed),
        ``stalled`` while the database refuses writes, else ``writing``."""
        if self._thread is None or not self._thread.is_alive():
            return "stopped"
        return "stalled" if self._stalled_since is not None else "writing"

    @property
    def writing(self) -> bool:
        """Whether what is enqueued gets written (the writer runs and is not stalled)."""
        return self.state == "writing"

    # --- worker threads --------------------------------------------------------------------------

    def _read_sync(self, fn: Callable[[apsw.Connection], T]) -> T:
        with self._read_lock:
            if self._read_conn is None:
                self._read_conn = db.connect(self.path)
            try:
                return fn(self._read_conn)
            except _STORE_ERRORS as exc:
                self._note_damage(exc)
                raise

    def _note_damage(self, exc: BaseException) -> None:
        if isinstance(exc, (apsw.CorruptError, apsw.NotADBError)):
            if self._damaged is None:
                log.error("state database %s is damaged: %s: %s", self.path, type(exc).__name__, exc)
            self._damaged = f"{type(exc).__name__}: {exc}"

    def _open_sync(self) -> apsw.Connection:
        """Lock, check, open and migrate the database; ``StateUnavailable`` when it cannot be used."""
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if self.path.is_dir():
            raise db.StateUnavailable(self.path, "is a directory")
        self._lock_fd = db.lock(self.path)
        try:
            conn = db.connect(self.path, check=True)
            try:
                self.schema_version = db.migrate(conn)
            except BaseException:
                conn.close()
                raise
        except apsw.Error as exc:
            self._unlock()
            raise db.StateUnavailable(self.path, db.describe(exc)) from exc
        except BaseException:
            self._unlock()
            raise
        return conn

    def _unlock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def _run_writer(self, conn: apsw.Connection) -> None:
        _lower_priority()
        unrolled, rolled_at = 0, time.monotonic()
        try:
            while True:
                items = self._take(unrolled)
                stop = any(item is _STOP for item in items)
                for item in items:
                    if not isinstance(item, _Flush) and item is not _STOP:
                        self._hold(item)
                if self._held and (stop or time.monotonic() >= self._retry_at):
                    unrolled += self._write_held(conn)
                due = stop or unrolled >= ROLL_AFTER_ROWS or time.monotonic() - rolled_at >= ROLL_EVERY_S
                if unrolled and due and self._stalled_since is None:
                    self._roll(conn)
                    unrolled, rolled_at = 0, time.monotonic()
                for item in items:
                    if isinstance(item, _Flush):
                        item.ok = not self._held
                        item.done.set()
                if stop:
                    if self._held:
                        log.error("state writes: %d row(s) could not be written before the stop and are "
                                  "lost: %s", len(self._held), self._last_error)
                    return
        finally:
            conn.close()

    def _take(self, unrolled: int) -> list[Any]:
        """The next items of the queue: a batch, or while stalled all that waits (so that the
        bound on held rows holds), waking for the next retry or roll-up even when nothing comes."""
        stalled = self._stalled_since is not None
        timeout = (max(0.0, self._retry_at - time.monotonic()) if stalled else
                   ROLL_EVERY_S if unrolled else None)
        try:
            first = self._queue.get(timeout=timeout)
        except queue.Empty:
            return []
        if not stalled and first is not _STOP and not isinstance(first, _Flush):
            time.sleep(COALESCE_S)  # let the rows of a burst join this one's commit
        items = [first]
        while stalled or len(items) < MAX_BATCH:
            try:
                items.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return items

    def _hold(self, item: Any) -> None:
        if len(self._held) < MAX_HELD:
            self._held.append(item)
            return
        if not self._lost:
            log.error("state writes: %d rows are waiting for the database; newer rows are dropped "
                      "(counted in lost)", MAX_HELD)
        self._lost += 1

    def _write_held(self, conn: apsw.Connection) -> int:
        """Commit the held rows in batches; on an error of the database, keep the rest and stall.
        Returns how many rows were written."""
        before = self._written
        try:
            while self._held:
                self._write_batch(conn, MAX_BATCH)
        except _STORE_ERRORS as exc:
            self._stall(exc)
        else:
            if self._stalled_since is not None:
                log.warning("state writes resumed after %.1f s: every held row is written",
                            time.monotonic() - self._stalled_since)
                self._stalled_since, self._retry_at, self._backoff_s = None, 0.0, RETRY_FIRST_S
        return self._written - before

    def _stall(self, exc: BaseException) -> None:
        now = time.monotonic()
        self._last_error = f"{type(exc).__name__}: {exc}"
        if self._stalled_since is None:
            self._stalled_since, self._backoff_s = now, RETRY_FIRST_S
            log.error("state writes stopped: %s; holding %d row(s) in memory (at most %d) and retrying "
                      "(usage is kept, reports lag until the database takes writes again)",
                      self._last_error, len(self._held), MAX_HELD)
        else:
            self._backoff_s = min(self._backoff_s * 2, RETRY_MAX_S)
        self._retry_at = now + self._backoff_s

    def _roll(self, conn: apsw.Connection) -> None:
        try:
            with _transaction(conn):
                for statement in ROLL:
                    conn.execute(statement)
        except apsw.Error as exc:  # the rows stay above the mark: reports still count them
            self._last_error = f"{type(exc).__name__}: {exc}"
            log.error("rollup failed: %s", self._last_error)

    def _write_batch(self, conn: apsw.Connection, size: int) -> None:
        """Commit up to ``size`` held rows and take them off the front; a bad row is dropped alone.
        An error of the database as a whole propagates, with the rows not committed still held."""
        batch = list(itertools.islice(self._held, size))
        try:
            with _transaction(conn):
                for sql, rows in _group(batch):
                    conn.executemany(sql, rows)
        except _STORE_ERRORS:
            raise
        except _ROW_ERRORS:
            for item in batch:  # find the bad rows; keep the good ones
                try:
                    with _transaction(conn):
                        _apply(conn, item)
                    self._written += 1
                except _STORE_ERRORS:
                    raise
                except _ROW_ERRORS as exc:
                    self._dropped += 1
                    self._last_error = f"{type(exc).__name__}: {exc}"
                    log.error("state write dropped: %s", self._last_error)
                self._held.popleft()
            self._batches += 1
            return
        for _ in batch:
            self._held.popleft()
        self._written += len(batch)
        self._batches += 1

    def _close_sync(self) -> None:
        self._queue.put(_STOP)
        if self._thread is not None:
            self._thread.join()
        with self._read_lock:
            if self._read_conn is not None:
                self._read_conn.close()
                self._read_conn = None
        self._unlock()


# What one bad row raises: SQLite's refusal, or a value apsw cannot bind (an int past 64 bits, an
# unsupported type). The row is dropped and counted; the writer goes on with the others.
_ROW_ERRORS = (apsw.Error, OverflowError, TypeError, ValueError)
# What the database as a whole raises: no row is at fault, and every row would fail the same way
# until the disk has space again, the file is writable, the lock is released... The rows are held.
_STORE_ERRORS = (apsw.FullError, apsw.IOError, apsw.ReadOnlyError, apsw.CantOpenError, apsw.BusyError,
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


@contextmanager
def _transaction(conn: apsw.Connection) -> Iterator[None]:
    """BEGIN ... COMMIT through ``execute``, which releases the GIL while SQLite works. apsw's own
    ``with conn:`` commits holding the GIL, and a commit that runs a WAL checkpoint then stalls the
    event loop thread for milliseconds (measured: ping p99 under write load 12 ms -> ~1 ms)."""
    conn.execute("BEGIN")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        # A COMMIT that failed for lack of space or a lock leaves the transaction open, while an
        # I/O error may have rolled it back already: end it either way, or the next BEGIN fails.
        if not conn.getautocommit():
            try:
                conn.execute("ROLLBACK")
            except apsw.Error:
                pass
        raise


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


@asynccontextmanager
async def open_store(path: Path) -> AsyncIterator[Store]:
    """Open (creating and migrating) the state DB, run its writer thread, and close both on exit,
    after committing everything queued."""
    store = Store(path)
    conn = await anyio.to_thread.run_sync(store._open_sync)
    store._thread = threading.Thread(target=store._run_writer, args=(conn,), name="routerd-store",
                                     daemon=True)
    store._thread.start()
    try:
        yield store
    finally:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(store._close_sync)

