"""The state database: one apsw connection per role, WAL, migrations. Blocking; the daemon only
calls this from the store's writer thread or from worker threads (see ``routerd.store.store``)."""

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import apsw

from routerd.store.migrations import MIGRATIONS

BUSY_TIMEOUT_MS = 5000
# What the WAL is cut back to when the writer starts it afresh: its steady size is about the
# auto-checkpoint's 1000 pages (4 MiB), but a snapshot an export holds (routerd.store.snapshot)
# keeps it from being checkpointed, and the file would otherwise stay as large as it grew meanwhile.
JOURNAL_SIZE_LIMIT = 8 * 1024 ** 2


class StateUnavailable(RuntimeError):
    """The state database cannot be used: another daemon holds it, or it is no routerd database
    (corrupt, another program's, a newer schema). The daemon says so in one line and does not start."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"state database {path}: {reason}")
        self.path = path
        self.reason = reason


def lock(path: Path) -> int:
    """Take the daemon's exclusive lock on the database at ``path`` (``flock`` on ``PATH.lock``,
    which names the holder's pid) and return its descriptor, held until closed. Not a POSIX lock on
    the database itself: SQLite uses those, and closing any descriptor of the file drops them all."""
    lock_path = Path(f"{path}.lock")
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 32, 0).decode(errors="replace").strip()
        os.close(fd)
        who = f" (pid {holder})" if holder.isdigit() else ""
        raise StateUnavailable(path, f"in use by another routerd{who}; stop it first, or give this one "
                                     "its own state.path") from None
    except BaseException:
        os.close(fd)
        raise
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


def connect(path: Path, *, readonly: bool = False, vfs: str | None = None,
            check: bool = False, create: bool = True) -> apsw.Connection:
    """A connection to ``path``, through SQLite's default VFS unless ``vfs`` names another (the
    tests' fault injection). With ``check``, a file that is not a routerd database (``check``) is
    refused before anything in it or about it is changed (its mode, its journal). Without
    ``create``, a missing file is an error (``apsw.CantOpenError``), not a new empty database."""
    create = create and not readonly
    if create:
        _create(path)
    flags = (apsw.SQLITE_OPEN_READONLY if readonly else
             apsw.SQLITE_OPEN_READWRITE | (apsw.SQLITE_OPEN_CREATE if create else 0))
    conn = apsw.Connection(str(path), flags=flags, vfs=vfs)
    conn.set_busy_timeout(BUSY_TIMEOUT_MS)
    if check:
        try:
            _check(path, conn)
        except BaseException:
            conn.close()
            raise
    if not readonly:
        make_private(path)
    # A row replaced by INSERT OR REPLACE fires its delete triggers only with this on, and the
    # rollups' triggers must see every removed row (see routerd.store.migrations).
    conn.execute("PRAGMA recursive_triggers=ON")
    if not readonly:
        conn.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode never corrupts the file; a crash may lose the last transaction only.
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute(f"PRAGMA journal_size_limit={JOURNAL_SIZE_LIMIT}")
    return conn


def _check(path: Path, conn: apsw.Connection) -> None:
    """Refuse a file that is not a routerd database: not SQLite, corrupt, another program's tables,
    or a schema newer than this routerd's."""
    try:
        version: int = conn.execute("PRAGMA user_version").get
        tables = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    except apsw.Error as exc:
        raise StateUnavailable(path, describe(exc)) from exc
    if version == 0 and tables:
        shown = ", ".join(sorted(tables)[:5])
        raise StateUnavailable(path, f"not a routerd database (it holds another program's tables: {shown})")
    if version > 0 and "decisions" not in tables:
        raise StateUnavailable(path, f"not a routerd database (user_version {version}, no decisions table)")
    if version > len(MIGRATIONS):
        raise StateUnavailable(path, f"schema v{version} is newer than this routerd knows "
                                     f"(v{len(MIGRATIONS)}): run the newer routerd, or move the file away")


def describe(exc: apsw.Error) -> str:
    """What an SQLite error says of the file, for a user."""
    if isinstance(exc, apsw.NotADBError):
        return "not a SQLite database (or encrypted, or its first page is damaged)"
    if isinstance(exc, apsw.CorruptError):
        return "the file is corrupt (truncated or damaged); move it away to start afresh"
    return f"{type(exc).__name__}: {exc}"


def _create(path: Path) -> None:
    """Create the database file, readable by its owner only, when there is none.

    The file is opened only to create it. Closing any descriptor of a file drops every POSIX lock
    this process holds on it, SQLite's included: opening a second connection used to release the
    first one's, and a reader in another process then took itself for the last one and deleted the
    live WAL, whose later writes went to a deleted file."""
    try:
        os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass


def make_private(path: Path) -> None:
    """The database (and its WAL and shared-memory files, which SQLite creates with the database's
    mode) readable by its owner only: it holds usage, and prompts when the config says so."""
    for name in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        try:
            os.chmod(name, 0o600)
        except FileNotFoundError:
            pass


def open_checked(path: Path) -> tuple[apsw.Connection, int]:
    """The writer's connection: ``path`` checked, opened and migrated, and the schema version now
    in force; ``StateUnavailable`` when it is no routerd database or cannot be opened."""
    try:
        conn = connect(path, check=True)
        try:
            return conn, migrate(conn)
        except BaseException:
            conn.close()
            raise
    except apsw.Error as exc:
        raise StateUnavailable(path, describe(exc)) from exc


def copy_to(conn: apsw.Connection, path: Path) -> None:
    """Write the database ``conn`` has open to a new file at ``path`` (SQLite's backup, which
    reads through the connection: what its WAL holds included), readable by its owner only and
    whole once this returns (the copy's own journal is gone)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.unlink(missing_ok=True)
    copy = connect(path)
    try:
        with copy.backup("main", conn, "main") as backup:
            backup.step()
        copy.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        copy.close()


def migrate(conn: apsw.Connection) -> int:
    """Apply the migrations not yet applied; return the schema version now in force."""
    version: int = conn.execute("PRAGMA user_version").get
    if version > len(MIGRATIONS):
        raise RuntimeError(
            f"state database schema v{version} is newer than this routerd knows (v{len(MIGRATIONS)})"
        )
    for n in range(version, len(MIGRATIONS)):
        with conn:
            # Run once in the process's life: kept out of the connection's statement cache, where
            # a fresh database's every table, index and trigger stayed prepared (~0.3 MB of idle RSS).
            conn.execute(MIGRATIONS[n], can_cache=False)
            conn.execute(f"PRAGMA user_version={n + 1}", can_cache=False)
    if version < len(MIGRATIONS):
        # Into the database file itself: a schema that lived only in the WAL would be lost with it
        # (the WAL deleted by hand, or by a careless backup that copies the .db alone).
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return len(MIGRATIONS)


@contextmanager
def transaction(conn: apsw.Connection) -> Iterator[None]:
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
