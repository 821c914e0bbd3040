"""The daemon's handle on its state: a writer thread that commits queued rows in batches, and
worker-thread reads. The event loop never waits on SQLite: ``record`` and ``execute`` only enqueue.

Writes keep their order and are committed by ``routerd.store.writer`` (bad rows, a database that
refuses writes and holding rows meanwhile are its business); while it holds rows its ``state`` is
``stalled`` (``routerctl status`` and ``/health`` say so). A ``kill -9`` may lose the batch being
written, never corrupt the file (WAL, see ``routerd.store.db``).
"""

import logging
import os
import queue
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Literal, TypeVar

import anyio
import anyio.to_thread
import apsw
import msgspec

from routerd.store import db
from routerd.store.migrations import TABLES
from routerd.store.retention import Prune, retained_from
from routerd.store.snapshot import Snapshot, begin, end
from routerd.store.vacuum import Vacuum
from routerd.store.writer import STOP, STORE_ERRORS, Flush, Writer

log = logging.getLogger("routerd.store")
T = TypeVar("T")

# How often a flush looks whether the writer still runs, while it waits for its rows.
FLUSH_CHECK_S = 0.5

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
    retain_days: int = 0  # calls and decisions rows are kept this long (0: for ever); their sums for ever
    retained_from: float = 0.0  # rows stamped before this are in the reports' sums only (0: none)
    pruned: int = 0  # calls rows pruned since start
    pruned_decisions: int = 0  # decisions rows pruned since start
    size_bytes: int | None = None  # the database and its WAL on disk
    snapshots: int = 0  # reads of one point in time open now (exports streaming)
    file_event: str | None = None  # the file was deleted or replaced while routerd ran: when, and what was done


class Store:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.schema_version = 0
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._writer = Writer(self._queue, path, self._drop_readers)
        self._read_conn: apsw.Connection | None = None
        self._read_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._damaged: str | None = None
        self._lock_fd: int | None = None  # the daemon's flock on PATH.lock, held until close
        self._snapshots = 0

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
        marker = Flush()
        self._queue.put(marker)
        return await anyio.to_thread.run_sync(self._wait_done, marker.done) and marker.ok

    def _wait_done(self, done: threading.Event) -> bool:
        """Wait for ``done``; False when the writer stopped first."""
        while not done.wait(FLUSH_CHECK_S):
            if self.state == "stopped":
                return False
        return True

    def retain(self, days: int) -> None:
        """Keep calls and decisions rows for ``days`` days (0: for ever) and prune past that at once and then
        hourly (``routerd.store.retention``). Never blocks."""
        self._queue.put(Prune(days))

    async def prune(self) -> Prune:
        """Prune the rows past the retention now; the request, done (``pruned``, ``error``)."""
        request = Prune()
        if self.state != "writing":  # a prune waits for the writer to be free of trouble
            request.error = f"state writes are {self.state}: {self._writer.last_error}"
            return request
        self._queue.put(request)
        # A prune of a year's rows takes seconds: a caller that gives up (routerctl interrupted)
        # is not held, and the writer finishes the run regardless.
        done = await anyio.to_thread.run_sync(self._wait_done, request.done, abandon_on_cancel=True)
        if not done:
            request.error = "the state writer stopped"
        return request

    async def vacuum(self) -> Vacuum:
        """Give the free pages back to the file system now (``routerd.store.vacuum``); the request,
        done (``before``, ``after``, ``held_s``, ``error``)."""
        request = Vacuum()
        if self.state != "writing":
            request.error = f"state writes are {self.state}: {self._writer.last_error}"
            return request
        if self._snapshots:
            # Its checkpoint would wait for them (the writer held, rows queued) and then leave the
            # rewritten pages in the WAL, the file as large as before.
            request.error = (f"{self._snapshots} export(s) streaming, which the vacuum would wait for: "
                             "run it again once they are done")
            return request
        self._queue.put(request)
        # as a prune: a caller that gives up is not held, and the writer finishes regardless
        if not await anyio.to_thread.run_sync(self._wait_done, request.done, abandon_on_cancel=True):
            request.error = "the state writer stopped"
        return request

    async def read(self, fn: Callable[[apsw.Connection], T]) -> T:
        """Run ``fn(connection)`` in a worker thread and return its result."""
        return await anyio.to_thread.run_sync(self._read_sync, fn)

    @asynccontextmanager
    async def open_snapshot(self) -> AsyncIterator[Snapshot]:
        """The database as it is now, for reads in several steps that must agree (an export's
        pages): rows a prune deletes or a write adds meanwhile are not seen (``routerd.store.snapshot``)."""
        conn = await anyio.to_thread.run_sync(begin, self.path)
        self._snapshots += 1
        try:
            yield Snapshot(conn, self._note_damage, STORE_ERRORS)
        finally:
            self._snapshots -= 1
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(end, conn)

    async def row_counts(self) -> dict[str, int]:
        """Rows per table; a table that cannot be counted (its pages are damaged) is left out."""
        def count(conn: apsw.Connection) -> dict[str, int]:
            counts = {}
            for table in TABLES:
                try:
                    counts[table] = conn.execute(f"SELECT count(*) FROM {table}").get
                except STORE_ERRORS as exc:
                    self._note_damage(exc)
            return counts

        return await self.read(count)

    def statistics(self) -> StoreStats:
        writer = self._writer
        since = writer.stalled_since
        return StoreStats(
            path=str(self.path), schema_version=self.schema_version, queued=self._queue.qsize(),
            written=writer.written, batches=writer.batches, dropped=writer.dropped,
            last_error=writer.last_error, state=self.state, held=len(writer.held),
            lost=writer.lost, stalled_s=None if since is None else round(time.monotonic() - since, 3),
            damaged=self._damaged, retain_days=writer.pruner.retain_days,
            retained_from=writer.pruner.retained_from, pruned=writer.pruner.pruned,
            pruned_decisions=writer.pruner.pruned_decisions,
            size_bytes=writer.watch.size_bytes, file_event=writer.watch.event, snapshots=self._snapshots,
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
        return "stalled" if self._writer.stalled_since is not None else "writing"

    @property
    def writing(self) -> bool:
        """Whether what is enqueued gets written (the writer runs and is not stalled)."""
        return self.state == "writing"

    # --- worker threads --------------------------------------------------------------------------

    def _read_sync(self, fn: Callable[[apsw.Connection], T]) -> T:
        with self._read_lock:
            if self._read_conn is None:
                # Never creating the file: a reader that did, after the file was deleted, would
                # put an empty database where the writer is about to restore the full one.
                self._read_conn = db.connect(self.path, create=False)
            try:
                return fn(self._read_conn)
            except STORE_ERRORS as exc:
                self._note_damage(exc)
                raise

    def _drop_readers(self) -> None:
        with self._read_lock:
            if self._read_conn is not None:
                self._read_conn.close()
                self._read_conn = None

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
            conn, self.schema_version = db.open_checked(self.path)
        except BaseException:
            self._unlock()
            raise
        self._writer.pruner.retained_from = retained_from(conn)
        self._writer.watch.opened()
        return conn

    def _unlock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def _close_sync(self) -> None:
        self._queue.put(STOP)
        if self._thread is not None:
            self._thread.join()
        self._drop_readers()
        self._unlock()


@asynccontextmanager
async def open_store(path: Path, retain_days: int = 0) -> AsyncIterator[Store]:
    """Open (creating and migrating) the state DB, run its writer thread, and close both on exit,
    after committing everything queued. ``retain_days``: see ``Store.retain``."""
    store = Store(path)
    if retain_days:
        store.retain(retain_days)
    store._writer.conn = await anyio.to_thread.run_sync(store._open_sync)
    store._thread = threading.Thread(target=store._writer.run, name="routerd-store",
                                     daemon=True)
    store._thread.start()
    try:
        yield store
    finally:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(store._close_sync)

