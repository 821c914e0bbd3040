"""A snapshot: the database as it was at one point in time, read in several steps (an export's
pages). It is its own connection held in one read transaction: in WAL mode the writer keeps
committing (a prune deletes rows, new calls arrive) while the snapshot goes on seeing the rows and
the retention's edge of its start, so a paged read neither loses nor doubles a row.

What a snapshot costs: while it is open a checkpoint cannot go past it, so the WAL grows by what
is written meanwhile (6 MB for a prune of 40,000 calls); once it ends, the next checkpoint catches
up and the writer cuts the WAL back to ``routerd.store.db.JOURNAL_SIZE_LIMIT``. Its owner ends it
promptly (``Store.open_snapshot``'s exit), and the socket front bounds how long a client that
stops reading can keep a stream, and with it a snapshot, open
(``routerd.fronts.socket.STREAM_SEND_TIMEOUT_S``).
"""

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import anyio.to_thread
import apsw

from routerd.store import db

T = TypeVar("T")


class Snapshot:
    """Reads of one point in time, each in a worker thread, one after another."""

    def __init__(self, conn: apsw.Connection, note_damage: Callable[[BaseException], None],
                 errors: tuple[type[BaseException], ...]) -> None:
        self._conn = conn
        self._note_damage = note_damage
        self._errors = errors

    async def read(self, fn: Callable[[apsw.Connection], T]) -> T:
        """Run ``fn(connection)`` in a worker thread, on the snapshot, and return its result."""
        return await anyio.to_thread.run_sync(self._read_sync, fn)

    def _read_sync(self, fn: Callable[[apsw.Connection], T]) -> T:
        try:
            return fn(self._conn)
        except self._errors as exc:
            self._note_damage(exc)
            raise


def begin(path: Path) -> apsw.Connection:
    """A new connection to ``path`` inside a read transaction that has already read (in WAL mode
    the snapshot is taken at the first read, not at BEGIN)."""
    conn = db.connect(path, create=False)
    try:
        conn.execute("BEGIN")
        conn.execute("SELECT count(*) FROM sqlite_master").fetchall()
    except BaseException:
        conn.close()
        raise
    return conn


def end(conn: apsw.Connection) -> None:
    """End the read transaction and close the connection (the WAL can be checkpointed past it)."""
    try:
        if not conn.getautocommit():
            conn.execute("ROLLBACK")
    finally:
        conn.close()
