"""Giving a pruned database's free pages back to the file system (``routerctl prune --vacuum``).

SQLite keeps the pages a prune frees and reuses them for new rows, so the file never shrinks on
its own. ``VACUUM`` rewrites the database into as few pages as it needs, then a TRUNCATE
checkpoint moves them into the file and empties the WAL. It runs on the writer thread, which
writes nothing else meanwhile (rows queued behind it wait, none is lost): on demand only, as it
takes about as long as rewriting the whole file (bench/bench_retention.py). ``auto_vacuum =
INCREMENTAL`` would free pages a few at a time, but an existing database only takes it through
the same full ``VACUUM`` (which cannot run inside a migration's transaction), and each prune
would then also move pages about.
"""

import os
import threading
import time
from pathlib import Path

import apsw

from routerd.store.db import transaction
from routerd.store.rollups import MARKS_TO_LAST, ROLL

class Vacuum:
    """A request, through the writer's queue, to vacuum: ``done`` is set when it ran (``before``
    and ``after``: the database and its WAL on disk, in bytes; ``held_s``: how long the writer
    spent on it) or failed (``error``)."""

    __slots__ = ("done", "before", "after", "held_s", "error")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.before = 0
        self.after = 0
        self.held_s = 0.0
        self.error: str | None = None


def on_disk(path: Path) -> int:
    """The database and its WAL on disk, in bytes."""
    total = 0
    for name in (path, Path(f"{path}-wal")):
        try:
            total += os.stat(name).st_size
        except FileNotFoundError:
            pass
    return total


def vacuum(conn: apsw.Connection, path: Path, request: Vacuum) -> None:
    """Rewrite the database at ``path`` (``conn``: the writer's connection) into the pages it needs
    and truncate its WAL; answers ``request``."""
    request.before = on_disk(path)
    started = time.monotonic()
    try:
        # SQLite says VACUUM "may change the rowids" of a table without an INTEGER PRIMARY KEY
        # (calls and decisions have text ids), and the rollups' marks are rowids. The SQLite routerd
        # ships keeps them (3.54.1, checked), but should one renumber, the marks are set again after
        # it: every row is folded first, so each mark is then its table's highest rowid.
        with transaction(conn):
            for statement in ROLL:
                conn.execute(statement)
        conn.execute("VACUUM")
        with transaction(conn):
            for statement in MARKS_TO_LAST:
                conn.execute(statement)
        # A reader still in an older snapshot (an export streaming) keeps the WAL from being
        # emptied: the file then shrinks at a later checkpoint, once that reader is done.
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    except apsw.Error as exc:
        request.error = f"{type(exc).__name__}: {exc}"
    request.held_s = time.monotonic() - started
    request.after = on_disk(path)
    request.done.set()
