"""The state database: one apsw connection per role, WAL, migrations. Blocking; the daemon only
calls this from the store's writer thread or from worker threads (see ``routerd.store.store``)."""

import os
from pathlib import Path

import apsw

from routerd.store.migrations import MIGRATIONS

BUSY_TIMEOUT_MS = 5000


def connect(path: Path, *, readonly: bool = False, vfs: str | None = None) -> apsw.Connection:
    """A connection to ``path``, through SQLite's default VFS unless ``vfs`` names another (the
    tests' fault injection)."""
    if not readonly:
        make_private(path)
    flags = apsw.SQLITE_OPEN_READONLY if readonly else apsw.SQLITE_OPEN_READWRITE | apsw.SQLITE_OPEN_CREATE
    conn = apsw.Connection(str(path), flags=flags, vfs=vfs)
    conn.set_busy_timeout(BUSY_TIMEOUT_MS)
    # A row replaced by INSERT OR REPLACE fires its delete triggers only with this on, and the
    # rollups' triggers must see every removed row (see routerd.store.migrations).
    conn.execute("PRAGMA recursive_triggers=ON")
    if not readonly:
        conn.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode never corrupts the file; a crash may lose the last transaction only.
        conn.execute("PRAGMA synchronous=NORMAL")
    return conn


def make_private(path: Path) -> None:
    """The database (and its WAL and shared-memory files, which SQLite creates with the database's
    mode) readable by its owner only: it holds usage, and prompts when the config says so.

    The file is opened only to create it. Closing any descriptor of a file drops every POSIX lock
    this process holds on it, SQLite's included: opening a second connection used to release the
    first one's, and a reader in another process then took itself for the last one and deleted the
    live WAL, whose later writes went to a deleted file."""
    try:
        os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass
    for name in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        try:
            os.chmod(name, 0o600)
        except FileNotFoundError:
            pass


def migrate(conn: apsw.Connection) -> int:
    """Apply the migrations not yet applied; return the schema version now in force."""
    version: int = conn.execute("PRAGMA user_version").get
    if version > len(MIGRATIONS):
        raise RuntimeError(
            f"state database schema v{version} is newer than this routerd knows (v{len(MIGRATIONS)})"
        )
    for n in range(version, len(MIGRATIONS)):
        with conn:
            conn.execute(MIGRATIONS[n])
            conn.execute(f"PRAGMA user_version={n + 1}")
    return len(MIGRATIONS)
