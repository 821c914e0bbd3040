"""The database file under the running writer: its size, and noticing it deleted or replaced.

SQLite writes through the descriptors it opened, so a database deleted while routerd runs (a
clean-up script, ``rm -r ~/.local/state``) or replaced (a backup restored, a sync tool) would go
on taking rows into a file no one can open again, and the WAL likewise. The writer looks before
each batch and every ``LOOK_EVERY_S`` when idle (two ``stat`` calls, a few microseconds), comparing
the path's device and inode with the ones it opened:

- deleted: the open file still holds everything, so the writer copies it back to the path
  (``routerd.store.db.copy_to``) and goes on there: nothing is lost. To start afresh, stop routerd
  before moving the file away.
- replaced by another file: that file is what someone put there on purpose; the writer switches
  to it (checked and migrated as at start). When it is no routerd database the writer holds its
  rows and retries, as for a full disk, until the path holds one again.
- the ``-wal`` deleted or replaced: the writer reopens, which folds the old WAL into the database
  and starts a new one.

Each is logged as an error and shown in ``routerd status`` (``StoreStats.file_event``).
"""

import os
import time
from pathlib import Path
from typing import Literal

FileEvent = Literal["deleted", "replaced", "wal"]

# How often an idle writer looks at the file: a deletion is noticed (and repaired) within this
# long even when nothing is written.
LOOK_EVERY_S = 2.0


def _identity(path: Path) -> tuple[int, int, int] | None:
    """(device, inode, size) of ``path``, or None when there is no such file."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return None
    return info.st_dev, info.st_ino, info.st_size


class FileWatch:
    """What the writer opened at ``path`` and what it found there since. Writer thread only
    (``size_bytes`` and ``event`` are read by ``Store.statistics``)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.wal = Path(f"{path}-wal")
        self.shm = Path(f"{path}-shm")
        self.size_bytes: int | None = None  # the database and its WAL, at the last look
        self.event: str | None = None  # the last deletion or replacement seen, for status
        self._db: tuple[int, int] | None = None
        self._wal: tuple[int, int] | None = None
        self._shm: tuple[int, int] | None = None
        self._at = 0.0

    def opened(self) -> None:
        """The writer (re)opened the path: what is there now is its file."""
        db, wal, shm = _identity(self.path), _identity(self.wal), _identity(self.shm)
        self._db = db[:2] if db else None
        self._wal = wal[:2] if wal else None
        self._shm = shm[:2] if shm else None
        self.size_bytes = (db[2] if db else 0) + (wal[2] if wal else 0)

    def clear_stale(self) -> None:
        """Remove the old file's ``-wal`` and ``-shm`` when they are still at their paths (every
        connection to it closed). SQLite does not tie a WAL to its database: a new file opened
        beside the old WAL would take the old file's pages from it."""
        for path, opened in ((self.wal, self._wal), (self.shm, self._shm)):
            now = _identity(path)
            if opened is not None and now is not None and now[:2] == opened:
                path.unlink(missing_ok=True)

    def wait_s(self) -> float:
        """How long until the next look is due."""
        return max(0.0, self._at - time.monotonic())

    def look(self) -> FileEvent | None:
        """What happened to the file since it was opened, or None when it is still the one."""
        self._at = time.monotonic() + LOOK_EVERY_S
        db, wal = _identity(self.path), _identity(self.wal)
        if db is None:
            return "deleted"
        if db[:2] != self._db:
            return "replaced"
        if self._wal is None and wal is not None:
            self._wal = wal[:2]  # SQLite made it after the open
            shm = _identity(self.shm)
            self._shm = shm[:2] if shm else None
        elif self._wal is not None and (wal is None or wal[:2] != self._wal):
            return "wal"
        self.size_bytes = db[2] + (wal[2] if wal else 0)
        return None

    def note(self, message: str) -> None:
        self.event = f"{time.strftime('%Y-%m-%d %H:%M:%S')}: {message}"
