"""The ledger's schema: an older database migrates with its rows in the rollups, rows written or
changed behind the writer's back still add up, and the shipped migration never changes."""

import hashlib
from pathlib import Path

import pytest

from routerd.store import db
from routerd.store.ledger import usage_groups
from routerd.store.migrations import MIGRATIONS

pytestmark = pytest.mark.anyio
MIGRATION_2_SHA256 = "d155b8c3a395ec05f3c278294082d019edb1255096d638e07774cfc169e8cdf3"


def _sums(conn, by: str) -> dict:
    return {g.key: (g.calls, g.input_tokens, round(g.cost_usd, 9)) for g in usage_groups(conn, 0.0, by)}


def test_a_version_1_database_migrates_with_its_calls_in_the_rollups(tmp_path: Path):
    """v1 rows (a gateway call, a hook turn) get a source and their decision's tier, and reports
    over the migrated file count them."""
    conn = db.connect(tmp_path / "old.db")
    conn.execute(MIGRATIONS[0])
    conn.execute("PRAGMA user_version=1")
    conn.execute("INSERT INTO decisions (id, ts, source, tier, model) VALUES ('d1', 1e9, 'http', 'simple', 'm')")
    conn.execute("INSERT INTO calls (id, decision_id, ts, provider, model, outcome, input_tokens, output_tokens, "
                 "cached_tokens, latency_ms, cost_usd) VALUES ('c1', 'd1', 1e9, 'openai', 'gpt-4.1', 'ok', 100, 10, "
                 "40, 12.5, 0.001), ('c2', NULL, 1e9 + 5, 'anthropic', 'claude-haiku-4-5', 'ok', 50, 5, 0, NULL, NULL)")
    assert db.migrate(conn) == len(MIGRATIONS)
    rows = conn.execute("SELECT id, source, tier FROM calls ORDER BY id").fetchall()
    assert rows == [("c1", "gateway", "simple"), ("c2", "hook", None)]
    assert _sums(conn, "source") == {"gateway": (1, 100, 0.001), "hook": (1, 50, 0.0)}
    assert _sums(conn, "tier") == {"simple": (1, 100, 0.001), None: (1, 50, 0.0)}
    assert conn.execute("SELECT sum(decisions) FROM decision_rollup").fetchone()[0] == 1


def test_a_version_5_database_migrates_to_web_searches_with_its_sums(tmp_path: Path):
    """A v5 file takes migration 6: its calls count no search and keep their sums (folded and not);
    a call with searches adds them to the rollups, and an update or a delete of a folded row moves
    its searches out again (the rollup triggers know the new column)."""
    from routerd.store.rollups import ROLL

    conn = db.connect(tmp_path / "old.db")
    insert = ("INSERT INTO calls (id, ts, provider, model, outcome, input_tokens, output_tokens, cost_usd) "
              "VALUES (?, 1e9, 'anthropic', ?, 'ok', ?, 1, ?)")
    for n, migration in enumerate(MIGRATIONS[:5]):
        conn.execute(migration)  # migration 2 folds the calls there are into the rollups
        conn.execute(f"PRAGMA user_version={n + 1}")
        if n == 0:
            conn.execute(insert, ("a", "claude-haiku-4-5", 100, 0.5))
    conn.execute(insert, ("b", "claude-sonnet-4-6", 10, 0.1))  # not folded yet
    assert conn.execute("SELECT rowid_done FROM rollup_marks WHERE source = 'calls'").get == 1
    assert db.migrate(conn) == len(MIGRATIONS) == 6
    assert _sums(conn, "model") == {"claude-haiku-4-5": (1, 100, 0.5), "claude-sonnet-4-6": (1, 10, 0.1)}
    conn.execute("INSERT INTO calls (id, ts, provider, model, outcome, input_tokens, web_searches) "
                 "VALUES ('c', 1e9, 'anthropic', 'claude-sonnet-4-6', 'ok', 5, 2)")
    for statement in ROLL:
        conn.execute(statement)
    searches = {g.key: g.web_searches for g in usage_groups(conn, 0.0, "model")}
    assert searches == {"claude-haiku-4-5": 0, "claude-sonnet-4-6": 2}
    assert {g.key: g.web_searches for g in usage_groups(conn, 0.0, "session")} == {None: 2}
    conn.execute("UPDATE calls SET model = 'claude-haiku-4-5' WHERE id = 'c'")
    assert {g.key: g.web_searches for g in usage_groups(conn, 0.0, "model")} == {"claude-haiku-4-5": 2,
                                                                                 "claude-sonnet-4-6": 0}
    conn.execute("DELETE FROM calls WHERE id = 'c'")
    assert {g.key: g.web_searches for g in usage_groups(conn, 0.0, "model")} == {"claude-haiku-4-5": 0,
                                                                                 "claude-sonnet-4-6": 0}
    assert _sums(conn, "model") == {"claude-haiku-4-5": (1, 100, 0.5), "claude-sonnet-4-6": (1, 10, 0.1)}


def test_rows_written_or_changed_outside_routerds_writer_still_add_up(tmp_path: Path):
    """Another connection's inserts are counted before any roll; an update moves a row's sums; a
    delete takes them out; the next transaction of the writer folds what is pending."""
    conn = db.connect(tmp_path / "r.db")
    db.migrate(conn)
    insert = ("INSERT INTO calls (id, ts, provider, model, outcome, input_tokens, output_tokens, cost_usd) "
              "VALUES (?, ?, 'openai', ?, 'ok', ?, 1, ?)")
    conn.execute(insert, ("a", 1e9, "gpt-4.1", 100, 0.5))
    conn.execute(insert, ("b", 1e9, "gpt-4.1-mini", 10, 0.1))
    assert _sums(conn, "model") == {"gpt-4.1": (1, 100, 0.5), "gpt-4.1-mini": (1, 10, 0.1)}
    from routerd.store.rollups import ROLL

    for statement in ROLL:  # what the store's writer does about once a second
        conn.execute(statement)
    assert conn.execute("SELECT rowid_done FROM rollup_marks WHERE source = 'calls'").fetchone()[0] == 2
    conn.execute("UPDATE calls SET model = 'gpt-4.1-mini', cost_usd = 0.2 WHERE id = 'a'")
    assert _sums(conn, "model") == {"gpt-4.1-mini": (2, 110, 0.3)}
    conn.execute("DELETE FROM calls WHERE id = 'b'")
    assert _sums(conn, "model") == {"gpt-4.1-mini": (1, 100, 0.2)}
    for statement in ROLL:
        conn.execute(statement)
    assert _sums(conn, "model") == {"gpt-4.1-mini": (1, 100, 0.2)}
    assert conn.execute("SELECT count(*) FROM call_rollup").fetchone()[0] == 1


def test_the_shipped_ledger_migration_is_frozen():
    """Migration 2's SQL (generated in part by routerd.store.rollups) never changes once shipped."""
    digest = hashlib.sha256(MIGRATIONS[1].encode()).hexdigest()
    assert digest == MIGRATION_2_SHA256, "append a migration instead of editing a shipped one"


async def test_the_writer_rolls_up_what_it_wrote_by_the_time_it_closes(tmp_path: Path, no_blocking):
    """Rows written through the store are in the rollups (and above no mark) once it has closed."""
    from routerd.store.ledger import CallRow, record_call
    from routerd.store.store import open_store

    async with open_store(tmp_path / "r.db") as store:
        for n in range(50):
            record_call(store, CallRow(id=f"c{n}", ts=1e9 + n, provider="openai", model="gpt-4.1",
                                       outcome="ok", input_tokens=10, cost_usd=0.001))
    conn = db.connect(tmp_path / "r.db")
    assert conn.execute("SELECT rowid_done FROM rollup_marks WHERE source = 'calls'").fetchone()[0] == \
        conn.execute("SELECT max(rowid) FROM calls").fetchone()[0]
    assert conn.execute("SELECT calls, input_tokens FROM call_rollup").fetchall() == [(50, 500)]
