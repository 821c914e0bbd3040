"""The state store: migrations, batched ordered writes, bad rows, and crash safety."""

import os
import signal
import subprocess
import sys

import anyio
import apsw
import pytest

from routerd.store import db
from routerd.store.migrations import MIGRATIONS, TABLES
from routerd.store.store import open_store

pytestmark = pytest.mark.anyio


async def test_fresh_database_has_every_table_and_version(tmp_path, no_blocking):
    """A new DB is migrated to the newest schema with all tables, in WAL mode."""
    async with open_store(tmp_path / "s" / "r.db") as store:
        counts = await store.row_counts()
        mode = await store.read(lambda c: c.execute("PRAGMA journal_mode").fetchone()[0])
        version = await store.read(lambda c: c.execute("PRAGMA user_version").fetchone()[0])
    assert set(counts) == set(TABLES) and all(v == 0 for v in counts.values())
    assert mode == "wal" and version == len(MIGRATIONS)


def test_migrations_are_not_kept_prepared(tmp_path):
    """Migrating a new DB leaves none of its DDL in the connection's statement cache (idle RSS)."""
    conn, _ = db.open_checked(tmp_path / "r.db")
    try:
        cached = [entry["query"] for entry in conn.cache_stats(True)["entries"]]
    finally:
        conn.close()
    assert not [query for query in cached if "CREATE" in query or "user_version=" in query], cached


async def test_records_are_written_in_order_and_survive_reopen(tmp_path, no_blocking):
    """Queued rows and statements commit in order; a reopened store sees them all."""
    path = tmp_path / "r.db"
    async with open_store(path) as store:
        for i in range(5000):
            store.record("decisions", {"id": f"d{i}", "ts": float(i), "tier": "simple"})
        store.execute("UPDATE decisions SET tier = 'complex' WHERE id = ?", ("d42",))
        store.record("settings", {"key": "profile", "value": "budget", "ts": 1.0})
        await store.flush()
        stats = store.statistics()
    assert stats.written == 5002 and stats.dropped == 0 and stats.batches >= 3
    async with open_store(path) as store:
        assert (await store.row_counts())["decisions"] == 5000
        tier = await store.read(lambda c: c.execute(
            "SELECT tier FROM decisions WHERE id = 'd42'").fetchone()[0])
    assert tier == "complex"


async def test_a_bad_row_loses_only_itself(tmp_path, no_blocking):
    """A row that violates the schema is dropped and counted; its batch-mates are kept."""
    async with open_store(tmp_path / "r.db") as store:
        store.record("decisions", {"id": "good1", "ts": 1.0})
        store.record("decisions", {"id": "bad", "ts": None})  # ts is NOT NULL
        store.record("decisions", {"id": "good2", "ts": 2.0})
        await store.flush()
        assert (await store.row_counts())["decisions"] == 2
        stats = store.statistics()
    assert stats.dropped == 1 and "NOT NULL" in stats.last_error


async def test_a_value_sqlite_cannot_hold_loses_only_its_row(tmp_path, no_blocking):
    """An int past 64 bits (apsw raises OverflowError, not an apsw.Error) is one bad row: the writer
    keeps going (it used to end, and every row after it was silently lost)."""
    async with open_store(tmp_path / "r.db") as store:
        store.record("decisions", {"id": "good1", "ts": 1.0})
        store.record("decisions", {"id": "huge", "ts": 2.0, "prompt_len": 10**30})
        store.record("decisions", {"id": "good2", "ts": 3.0})
        await store.flush()
        assert (await store.row_counts())["decisions"] == 2
        stats = store.statistics()
    assert stats.dropped == 1 and "OverflowError" in stats.last_error and stats.state == "writing"


def test_unknown_table_is_refused_at_once(tmp_path):
    """Recording into a table that does not exist is a programming error, raised at the call."""
    from routerd.store.store import Store

    with pytest.raises(ValueError):
        Store(tmp_path / "x.db").record("nope", {"a": 1})


WRITER = """
import sys, anyio
from pathlib import Path
from routerd.store.store import open_store

async def main():
    async with open_store(Path(sys.argv[1])) as store:
        i = 0
        while True:
            for _ in range(500):
                store.record("decisions", {"id": f"d{i}", "ts": float(i), "prompt_hash": "x" * 64,
                                           "detail": "y" * 300})
                i += 1
            await store.flush()
            print(i, flush=True)

anyio.run(main)
"""


def test_kill_9_under_write_load_leaves_a_sound_database(tmp_path):
    """SIGKILL while the writer commits batches: the DB opens and passes integrity_check."""
    path = tmp_path / "r.db"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True)
    try:
        for _ in range(20):  # let it commit a few batches: each line is a committed flush
            assert proc.stdout.readline(), "writer died early"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        proc.stdout.close()
    conn = apsw.Connection(str(path))
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("SELECT count(*) FROM decisions").fetchone()[0] >= 10_000
    conn.close()


async def test_another_process_reading_the_database_keeps_the_daemons_wal(tmp_path, no_blocking):
    """With the writer's and the reader's connections open (the reader's opened second), a plain
    sqlite3 read from another process leaves the WAL in place: opening the second connection used to
    close a descriptor of the file, which dropped the first one's locks, and that outside reader then
    deleted the live WAL (the daemon's later rows went to a deleted file)."""
    path = tmp_path / "r.db"
    outside = ("import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); "
               "print(c.execute('SELECT count(*) FROM decisions').fetchone()[0]); c.close()")

    async def outside_count() -> int:
        done = await anyio.run_process([sys.executable, "-c", outside, str(path)])
        return int(done.stdout)

    async with open_store(path) as store:
        store.record("decisions", {"id": "d1", "ts": 1.0})
        await store.flush()
        assert (await store.row_counts())["decisions"] == 1  # the reader's connection is open now
        assert await outside_count() == 1
        store.record("decisions", {"id": "d2", "ts": 2.0})
        await store.flush()
        assert await outside_count() == 2


class _FullDisk(apsw.VFS):
    """SQLite's default VFS, but every write fails with SQLITE_FULL while ``full`` is set."""

    def __init__(self, name: str) -> None:
        self.full = False
        self.name = name
        super().__init__(name, "")

    def xOpen(self, name, flags):
        return _FullDiskFile(self, name, flags)


class _FullDiskFile(apsw.VFSFile):
    def __init__(self, vfs: _FullDisk, name, flags) -> None:
        self.vfs = vfs
        super().__init__("", name, flags)

    def xWrite(self, data, offset):
        if self.vfs.full:
            raise apsw.FullError("database or disk is full")
        super().xWrite(data, offset)


@pytest.fixture
def full_disk(monkeypatch, request):
    """A disk that the test fills and empties: the store's connections go through ``_FullDisk``;
    retries come at once (no back-off), so that a flush after space is back sees its rows."""
    from routerd.store import db, writer

    vfs = _FullDisk(f"routerd-full-{request.node.name}")
    connect = db.connect
    monkeypatch.setattr(db, "connect", lambda path, **kw: connect(path, vfs=vfs.name, **kw))
    monkeypatch.setattr(writer, "RETRY_FIRST_S", 0.0)
    yield vfs
    vfs.unregister()


async def test_a_full_disk_holds_the_rows_until_space_is_back(tmp_path, full_disk, caplog, no_blocking):
    """Disk full: no row is dropped; the store says stalled (one log line), and writes them all once
    the disk has space again (one more line)."""
    async with open_store(tmp_path / "r.db") as store:
        store.record("decisions", {"id": "before", "ts": 1.0})
        assert await store.flush()
        full_disk.full = True
        for i in range(3000):
            store.record("decisions", {"id": f"d{i}", "ts": float(i)})
        assert not await store.flush()
        stats = store.statistics()
        assert (stats.state, stats.held, stats.dropped) == ("stalled", 3000, 0)
        assert "FullError" in stats.last_error
        store.record("decisions", {"id": "more", "ts": 2.0})
        assert not await store.flush()
        full_disk.full = False
        assert await store.flush()
        assert (await store.row_counts())["decisions"] == 3002
        stats = store.statistics()
        assert (stats.state, stats.held, stats.dropped, stats.lost) == ("writing", 0, 0, 0)
    lines = [r.getMessage() for r in caplog.records if r.name == "routerd.store"]
    assert len(lines) == 2 and lines[0].startswith("state writes stopped") and "resumed" in lines[1]


async def test_rows_held_past_the_bound_are_counted_lost(tmp_path, full_disk, monkeypatch, no_blocking):
    """While the disk is full at most MAX_HELD rows wait in memory; the others are counted lost."""
    from routerd.store import writer as writer_module

    monkeypatch.setattr(writer_module, "MAX_HELD", 10)
    async with open_store(tmp_path / "r.db") as store:
        full_disk.full = True
        for i in range(25):
            store.record("decisions", {"id": f"d{i}", "ts": float(i)})
        assert not await store.flush()
        assert (store.statistics().held, store.statistics().lost) == (10, 15)
        full_disk.full = False
        assert await store.flush()
        assert (await store.row_counts())["decisions"] == 10


async def test_the_budgets_resync_keeps_spend_the_full_disk_has_not_taken(tmp_path, full_disk, no_blocking):
    """A call settled while its row waits for the disk stays in the budgets across the ledger
    resync (summing the ledger alone would lower the spend and let calls past the cap)."""
    import time

    from routerd.budgets.settings import BudgetsConfig
    from routerd.ledger.spending import Spending
    from routerd.ledger.state import Ledger

    async with open_store(tmp_path / "r.db") as store:
        spending = Spending(BudgetsConfig(daily_usd=1.0), Ledger(), store)
        full_disk.full = True
        now = time.time()
        held = spending.budgets.reserve("openai", "gpt", None, {"usd": 0.5, "tokens": 100}, now)
        held.settle({"usd": 0.4, "tokens": 10})
        store.record("calls", {"id": "c1", "ts": now, "provider": "openai", "model": "gpt", "outcome": "ok",
                               "cost_usd": 0.4, "input_tokens": 5, "output_tokens": 5})
        await spending.sync()
        assert spending.budgets.share(time.time()) == pytest.approx(0.4)
        full_disk.full = False
        await spending.sync()
        assert spending.budgets.share(time.time()) == pytest.approx(0.4)


async def test_a_database_damaged_inside_its_pages_is_reported_and_counts_what_it_can(tmp_path, no_blocking):
    """Garbage over a table's pages: counting it fails (the other tables are counted), the store
    notes the damage for status and /health, once."""
    path = tmp_path / "r.db"
    async with open_store(path) as store:
        for i in range(3000):
            store.record("calls", {"id": f"c{i}", "ts": float(i), "provider": "p", "model": "m",
                                   "outcome": "ok", "error": "x" * 200})
        assert await store.flush()
        roots = await store.read(lambda c: [r[0] for r in c.execute(
            "SELECT rootpage FROM sqlite_master WHERE tbl_name = 'calls' AND rootpage > 0")])
        size = await store.read(lambda c: c.execute("PRAGMA page_size").get)
    with open(path, "r+b") as f:  # the root pages of calls and its indexes: a count reads one of them
        for root in roots:
            f.seek((root - 1) * size)
            f.write(b"\xff" * size)
    async with open_store(path) as store:
        counts = await store.row_counts()
        assert "calls" not in counts and counts["decisions"] == 0
        assert "CorruptError" in store.statistics().damaged
        assert not store.healthy


async def test_the_second_opinions_cache_keeps_its_latest_verdicts(tmp_path, no_blocking):
    """The classification cache holds its ``keep`` latest verdicts, a rewritten one counting as new
    (it used to grow by one row per prompt asked about, without end)."""
    from routerd.store.routing import cached_classification, put_cached_classification

    async with open_store(tmp_path / "r.db") as store:
        for i in range(25):
            put_cached_classification(store, f"k{i}", f"r{i}", float(i), keep=10)
        put_cached_classification(store, "k15", "again", 25.0, keep=10)  # k15 is the latest now
        await store.flush()
        keys = await store.read(lambda c: [r[0] for r in c.execute("SELECT key FROM classification_cache")])
        again = await store.read(lambda c: cached_classification(c, "k15"))
    assert sorted(keys) == sorted([f"k{i}" for i in range(16, 25)] + ["k15"]) and again == "again"


async def test_the_wal_an_export_held_open_shrinks_back_once_it_ends(tmp_path, no_blocking):
    """An export's snapshot keeps the WAL from being checkpointed, so 20 MB written meanwhile pile
    up in it; once the snapshot ends, the next checkpoints bring the file back under
    JOURNAL_SIZE_LIMIT (it used to stay at 20 MB for good)."""
    path = tmp_path / "r.db"
    wal = tmp_path / "r.db-wal"
    async with open_store(path) as store:
        async with store.open_snapshot():
            for i in range(20_000):
                store.record("settings", {"key": f"k{i}", "value": "x" * 1000, "ts": 0.0})
            assert await store.flush()
            assert (await anyio.to_thread.run_sync(os.stat, wal)).st_size > 20 * 1024 ** 2
        for i in range(2):  # a commit whose checkpoint now completes, then one that starts the WAL afresh
            store.record("settings", {"key": f"after{i}", "value": "", "ts": 0.0})
            assert await store.flush()
        assert (await anyio.to_thread.run_sync(os.stat, wal)).st_size <= db.JOURNAL_SIZE_LIMIT
