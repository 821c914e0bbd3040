"""The state database deleted or replaced under a running daemon: noticed at the next write, the
deleted file restored from the open one, a replacement taken, a -wal rebuilt; said in the log,
``routerctl status`` and ``/health``."""

import json
import os
import shutil
import sys
import time
from pathlib import Path

import anyio
import apsw
import httpx
import pytest

from routerd.store import db
from routerd.store.store import open_store

pytestmark = pytest.mark.anyio


def _ids(path: Path) -> list[str]:
    conn = apsw.Connection(str(path), flags=apsw.SQLITE_OPEN_READONLY)
    try:
        return [r[0] for r in conn.execute("SELECT id FROM decisions ORDER BY id")]
    finally:
        conn.close()


def _routerd_db(path: Path, ids: list[str]) -> None:
    conn, _ = db.open_checked(path)
    for i in ids:
        conn.execute("INSERT INTO decisions (id, ts) VALUES (?, 1.0)", (i,))
    conn.close()


@pytest.mark.parametrize("gone", [("",), ("", "-wal", "-shm")], ids=["db", "db-wal-shm"])
async def test_a_deleted_database_is_restored_from_the_open_file(tmp_path, gone, caplog, no_blocking):
    """rm routerd.db (and its -wal and -shm) while routerd runs: the next write puts the whole
    database back at its path, rows from before and after included, and says so once."""
    path = tmp_path / "r.db"
    async with open_store(path) as store:
        store.record("decisions", {"id": "a", "ts": 1.0})
        assert await store.flush() and await store.row_counts()  # the reader's connection is open too
        for suffix in gone:
            Path(f"{path}{suffix}").unlink()
        store.record("decisions", {"id": "b", "ts": 2.0})
        assert await store.flush()
        assert path.exists() and (await store.row_counts())["decisions"] == 2
        stats = store.statistics()
    assert _ids(path) == ["a", "b"] and db.connect(path, check=True).close() is None
    assert "deleted while routerd ran: restored from the open file" in stats.file_event
    assert stats.state == "writing" and stats.size_bytes > 0
    errors = [r.getMessage() for r in caplog.records if r.name == "routerd.store"]
    assert len(errors) == 1 and str(path) in errors[0]


async def test_a_replaced_database_is_taken_as_the_new_one(tmp_path, no_blocking):
    """A backup restored over the live file: routerd writes to the file now at the path."""
    path, backup = tmp_path / "r.db", tmp_path / "backup.db"
    _routerd_db(backup, ["from-backup"])
    async with open_store(path) as store:
        store.record("decisions", {"id": "a", "ts": 1.0})
        assert await store.flush()
        os.replace(backup, path)
        store.record("decisions", {"id": "b", "ts": 2.0})
        assert await store.flush()
        assert (await store.row_counts())["decisions"] == 2
        assert "replaced by another file" in store.statistics().file_event
    assert _ids(path) == ["b", "from-backup"]


async def test_a_backup_restored_with_its_wal_keeps_the_rows_in_that_wal(tmp_path, no_blocking):
    """A database and its -wal copied over the live pair: the rows only the new WAL holds are read
    (closing the old file's connection used to delete the WAL at the path by name: the new one)."""
    path, backup = tmp_path / "r.db", tmp_path / "backup.db"
    _routerd_db(backup, ["in-db"])
    conn = db.connect(backup)
    conn.execute("PRAGMA wal_autocheckpoint=0")
    conn.execute("INSERT INTO decisions (id, ts) VALUES ('in-wal', 1.0)")
    shutil.copy(backup, tmp_path / "copy.db")
    shutil.copy(f"{backup}-wal", tmp_path / "copy.db-wal")
    conn.close()
    async with open_store(path) as store:
        store.record("decisions", {"id": "a", "ts": 1.0})
        assert await store.flush()
        os.replace(tmp_path / "copy.db-wal", f"{path}-wal")
        os.replace(tmp_path / "copy.db", path)
        store.record("decisions", {"id": "b", "ts": 2.0})
        assert await store.flush()
    assert _ids(path) == ["b", "in-db", "in-wal"]


async def test_a_file_replaced_by_no_database_holds_the_rows_until_one_is_back(tmp_path, monkeypatch, no_blocking):
    """Something that is no routerd database put at the path: rows are held, the store is stalled
    (status and /health say so) and names why, a prune says it cannot run; a routerd database put
    back takes every held row."""
    from routerd.store import writer

    monkeypatch.setattr(writer, "RETRY_FIRST_S", 0.0)
    path, junk, good = tmp_path / "r.db", tmp_path / "junk", tmp_path / "good.db"
    junk.write_bytes(b"not a database" * 100)
    _routerd_db(good, [])
    async with open_store(path, retain_days=90) as store:
        os.replace(junk, path)
        store.record("decisions", {"id": "held", "ts": time.time()})  # inside the retention
        assert not await store.flush()
        stats = store.statistics()
        assert (stats.state, stats.held) == ("stalled", 1) and not store.healthy
        assert "not a SQLite database" in stats.last_error
        with anyio.fail_after(5):  # a prune asked for now says why it cannot run, instead of waiting
            assert "state writes are stalled: StateUnavailable" in (await store.prune()).error
        os.replace(good, path)
        while not await store.flush():  # each flush is one retry (no back-off here)
            pass
        assert store.statistics().state == "writing"
    assert _ids(path) == ["held"]


async def test_a_deleted_wal_is_rebuilt_and_nothing_is_lost(tmp_path, no_blocking):
    """rm routerd.db-wal: the writer reopens (the old WAL is folded into the database first), and
    rows go to a WAL that is on disk again."""
    path = tmp_path / "r.db"
    async with open_store(path) as store:
        store.record("decisions", {"id": "a", "ts": 1.0})
        assert await store.flush()
        Path(f"{path}-wal").unlink()
        store.record("decisions", {"id": "b", "ts": 2.0})
        assert await store.flush()
        assert Path(f"{path}-wal").exists() and "-wal" in store.statistics().file_event
    assert _ids(path) == ["a", "b"]


async def _routerctl(app, *args: str) -> str:
    env = {**os.environ, "ROUTERD_SOCKET": str(app.socket_path)}
    result = await anyio.run_process([sys.executable, "-m", "routerctl.main", *args], env=env)
    return result.stdout.decode()


async def test_status_and_health_say_what_happened_to_the_file(daemon):
    """After the database was deleted and restored, routerctl status says when and what was done,
    with the file's size and the retention; /health stays ok (nothing is lost)."""
    daemon.store.record("decisions", {"id": "a", "ts": 1.0})
    assert await daemon.store.flush()
    daemon.store.path.unlink()
    daemon.store.record("decisions", {"id": "b", "ts": 2.0})
    assert await daemon.store.flush()
    text = await _routerctl(daemon, "status")
    assert "deleted while routerd ran: restored from the open file" in text
    assert "on disk)" in text and "calls and decisions kept 90 days" in text
    async with httpx.AsyncClient() as client:
        health = (await client.get(f"http://{daemon.http_address}/health")).json()
    assert (health["status"], health["store"]) == ("ok", "writing")
    stats = json.loads(await _routerctl(daemon, "status", "--json"))["parts"]["store"]
    assert stats["retain_days"] == 90 and stats["file_event"]


async def test_an_export_streaming_while_the_database_is_deleted_leaves_the_restored_files_wal(
        tmp_path, no_blocking):
    """rm routerd.db while an export reads its snapshot: the file is restored, the export still
    reads what it started with, and its connection closing after it does not take the restored
    file's WAL with it: rows written after the restore stay, for readers and after a restart."""
    path = tmp_path / "r.db"
    async with open_store(path) as store:
        store.record("decisions", {"id": "a", "ts": 1.0})
        assert await store.flush()
        async with store.open_snapshot() as snapshot:
            path.unlink()
            store.record("decisions", {"id": "b", "ts": 2.0})
            assert await store.flush() and path.exists()
            assert await snapshot.read(lambda c: c.execute("SELECT count(*) FROM decisions").get) == 1
        store.record("decisions", {"id": "c", "ts": 3.0})
        assert await store.flush()
        assert (await store.row_counts())["decisions"] == 3
    assert _ids(path) == ["a", "b", "c"]
