"""Retention: calls past ``state.retain_days`` leave the database and every report sums the same;
a kill -9 mid-prune neither loses nor doubles; an old database migrates to it."""

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import anyio
import apsw
import msgspec
import pytest

from routerd.budgets.budgets import BudgetStats
from routerd.ledger import reports
from routerd.handlers.usage import _pages
from routerd.ledger.periods import period_end, period_start, window_end, window_start
from routerd.store import db
from routerd.store import ledger as q
from routerd.store.budgets import budget_spend
from routerd.store.ledger import CallRow, record_call, record_session
from routerd.store.migrations import MIGRATIONS
from routerd.store.retention import Prune, Pruner, edge, prune_batch
from routerd.store.store import open_store
from routerd.store.vacuum import on_disk

pytestmark = pytest.mark.anyio
DAY = 86_400.0
MODELS = [("anthropic", "claude-haiku-4-5"), ("openai", "gpt-4.1"), ("local", "qwen3:8b")]


def _calls(rng: random.Random, n: int, now: float, days: float) -> list[CallRow]:
    """``n`` calls over the last ``days`` days: gateway and hook rows, sessions, costs unknown at times."""
    rows = []
    for i in range(n):
        provider, model = rng.choice(MODELS)
        rows.append(CallRow(
            id=f"c{i}", ts=now - rng.random() * days * DAY, provider=provider, model=model,
            outcome=rng.choice(["ok", "ok", "rate_limited"]), source=rng.choice(["gateway", "hook:claude-code"]),
            decision_id=f"d{rng.randrange(10)}", input_tokens=rng.randrange(1, 3000),
            output_tokens=rng.randrange(0, 900), cache_read_tokens=rng.randrange(0, 2),
            latency_ms=None if rng.random() < 0.3 else rng.random() * 900,
            cost_usd=None if rng.random() < 0.1 else round(rng.random() / 100, 6),
            baseline_cost_usd=None if rng.random() < 0.1 else round(rng.random() / 50, 6),
            session_id=rng.choice([None, "s1", "s2"]), response_id=f"r{i}"))
    return rows


async def _everything(store, now: float) -> dict:
    """What every report says: usage by each group over each period and window, savings, the full
    report, the budget's spend and the budgets' own month and day sums."""
    out: dict = {}
    windows = [{"period": p} for p in ("all", "month", "week", "today")] + [
        {"since": "30d"}, {"since": time.strftime("%Y-%m-%dT00:00:00%z", time.localtime(now - 150 * DAY))}]
    for window in windows:
        for by in q.GROUPS:
            out[f"usage {by} {window}"] = await reports.usage_report(store, group_by=by, limit=0, **window)
        out[f"savings {window}"] = await reports.savings_report(store, group_by="model", limit=0, **window)
        out[f"report {window}"] = await reports.full_report(store, limit=0, **window)
    stats = BudgetStats(configured=False, pressure=0.0, level="ok", limits=[], windows=[])
    out["budget"] = await reports.budget_report(store, stats)
    out["statusline"] = await reports.statusline(store)
    spend = await store.read(lambda c: budget_spend(c, period_start("month", now), period_start("today", now),
                                                    period_end("month", now), period_end("today", now)))
    out["budget spend"] = sorted(map(tuple, msgspec.to_builtins(spend)), key=repr)
    for window in windows:
        out[f"export calls {window}"] = await _exported(store, "calls", now, **window)
        out[f"export decisions {window}"] = await _exported(store, "decisions", now, **window)
    return msgspec.to_builtins(out)


async def _exported(store, table: str, now: float, period: str | None = None, since: str | None = None) -> dict:
    """An export's sums: calls per model (calls, tokens, cost) or decisions per tier and model (a
    pruned day's row stands for several)."""
    start, end = window_start(period, since, now), window_end(period, since, now)
    columns = list(q.EXPORT_COLUMNS[table])
    sums: dict = {}
    total, sent = -1, 0
    async for frame in _pages(store, table, start, end):
        total = frame.data.total if frame.kind == "export" else total
        for row in frame.data.rows if frame.kind == "export_rows" else ():
            r = dict(zip(columns, row, strict=True))
            if table == "calls":
                s = sums.setdefault(r["model"], [0, 0, 0, 0.0])
                s[0] += r["calls"]
                s[1] += r["input_tokens"]
                s[2] += r["output_tokens"]
                s[3] += r["cost_usd"] or 0.0
            else:
                key = f"{r['tier']}/{r['model']}"
                sums[key] = sums.get(key, 0) + r["decisions"]
            sent += 1
    assert sent == total
    return sums


def _close(a, b, where="") -> None:
    """Equal, floats to a part in 10^9 (sums of the same numbers taken in another order)."""
    if isinstance(a, float) or isinstance(b, float):
        assert a == pytest.approx(b, rel=1e-9, abs=1e-9), where
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            _close(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, list):
        assert len(a) == len(b), where
        for n, (x, y) in enumerate(zip(a, b)):
            _close(x, y, f"{where}[{n}]")
    else:
        assert a == b, where


async def test_every_report_sums_the_same_after_a_prune(tmp_path: Path, no_blocking):
    """Random calls and decisions over 200 days, pruned at 90: the rows before the edge are gone
    (rated decisions stay), every report (usage by every group and window, savings and decisions,
    report, budget, statusline, the budgets' sums, exports) says what it said before, and hook rows
    stamped before the edge are not recorded again."""
    now = time.time()
    rng = random.Random(20261207)
    async with open_store(tmp_path / "r.db") as store:
        for d in range(10):
            store.record("decisions", {"id": f"d{d}", "ts": now - 200 * DAY, "tier": ["simple", "complex"][d % 2],
                                       "source": "http"})
        for d in range(600):  # every 40th rated: it stays (feedback learns from it)
            store.record("decisions", {"id": f"e{d}", "ts": now - rng.random() * 200 * DAY,
                                       "tier": rng.choice(["simple", "complex", None]),
                                       "model": rng.choice(["gpt-4.1", "claude-haiku-4-5"]), "source": "http"})
            if d % 40 == 0:
                store.record("feedback", {"id": f"f{d}", "decision_id": f"e{d}", "ts": now, "kind": "rating",
                                          "value": "good"})
        record_session(store, "s1", "claude-code", "acme/api", now)
        rows = _calls(rng, 4000, now, 200)
        for row in rows:
            record_call(store, row)
        record_session(store, "s2", "codex", "acme/web", now)  # a project learned after its calls
        await store.flush()
        before = await _everything(store, now)
        count = (await store.row_counts())["calls"]

        store.retain(90)
        done = await store.prune()
        assert done.error is None and done.pruned > 1000
        cut = edge(time.time(), 90)
        left = await store.read(lambda c: c.execute("SELECT count(*), min(ts) FROM calls").fetchone())
        assert left[0] == count - done.pruned and left[1] >= cut
        old = await store.read(lambda c: c.execute(
            "SELECT count(*), count(f.id) FROM decisions d LEFT JOIN feedback f ON f.decision_id = d.id "
            "WHERE d.ts < ?", (cut,)).fetchone())
        assert done.pruned_decisions > 100 and old[0] == old[1] > 0  # only rated ones are left
        _close(await _everything(store, now), before)

        old_hook = next(r for r in rows if r.ts < cut and r.source != "gateway")
        record_call(store, msgspec.structs.replace(old_hook, id="again"))  # a transcript read again
        await store.flush()
        _close(await _everything(store, now), before)
        stats = store.statistics()
    assert stats.retain_days == 90 and stats.retained_from == cut and stats.pruned == done.pruned


async def test_a_report_starting_inside_a_pruned_day_counts_that_whole_day(tmp_path: Path, no_blocking):
    """Past the edge a day's calls are no longer told apart by the hour: --since noon of a pruned
    day counts the whole day (before the prune, only the afternoon)."""
    now = time.time()
    day = period_start("today", now - 100 * DAY)
    async with open_store(tmp_path / "r.db", retain_days=90) as store:
        for n, hour in enumerate((9, 15)):
            record_call(store, CallRow(id=f"c{n}", ts=day + hour * 3600, provider="openai", model="gpt-4.1",
                                       outcome="ok", input_tokens=10, cost_usd=0.01))
        await store.flush()
        await store.prune()
        since = time.strftime("%Y-%m-%dT12:00:00%z", time.localtime(day))
        report = await reports.usage_report(store, since=since)
    assert report.total["calls"] == 2


PRUNER = """
import sys, anyio
from pathlib import Path
from routerd.store import retention
from routerd.store.store import open_store
from routerd.store.vacuum import on_disk

retention.PRUNE_BATCH = 500
step = retention.prune_batch

def noisy(conn, before, limit):
    deleted = step(conn, before, limit)
    print(deleted[0], flush=True)
    return deleted

retention.prune_batch = noisy

async def main():
    async with open_store(Path(sys.argv[1]), retain_days=90) as store:
        await store.prune()

anyio.run(main)
"""


def _totals(path: Path) -> tuple:
    conn = db.connect(path)
    try:
        groups = q.usage_groups(conn, 0.0, "source")
        return (sum(g.calls for g in groups), sum(g.input_tokens for g in groups),
                round(sum(g.cost_usd for g in groups), 9), conn.execute("SELECT count(*) FROM calls").get)
    finally:
        conn.close()


def test_a_kill_9_in_the_middle_of_a_prune_neither_loses_nor_doubles(tmp_path: Path):
    """SIGKILL after a few batches of a prune (each batch folds and deletes in one transaction):
    the totals are the same, the file is sound, and the next start finishes the prune."""
    path = tmp_path / "r.db"
    conn = db.connect(path)
    db.migrate(conn)
    now = time.time()
    for row in _calls(random.Random(7), 20_000, now, 200):
        conn.execute(q._INSERT_CALL, msgspec.structs.astuple(row))
    conn.close()
    calls, tokens, cost, rows = _totals(path)
    proc = subprocess.Popen([sys.executable, "-c", PRUNER, str(path)], stdout=subprocess.PIPE, text=True)
    try:
        for _ in range(3):  # three batches committed; the kill lands in the fourth or a little later
            assert proc.stdout.readline().strip() == "500", "the pruner ended early"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        proc.stdout.close()
    check = apsw.Connection(str(path))
    assert check.execute("PRAGMA integrity_check").get == "ok"
    check.close()
    after = _totals(path)
    assert after[:3] == (calls, tokens, cost) and rows - 500 * 10 < after[3] <= rows - 1500
    subprocess.run([sys.executable, "-c", PRUNER.replace("print(deleted, flush=True)", "pass"), str(path)],
                   check=True, timeout=120)
    final = _totals(path)
    conn = db.connect(path)
    oldest = conn.execute("SELECT min(ts) FROM calls").get
    conn.close()
    assert final[:3] == (calls, tokens, cost) and oldest >= edge(time.time(), 90)


def test_a_version_4_database_migrates_to_retention_with_its_sums(tmp_path: Path):
    """A v4 file takes migration 5: nothing pruned yet, the same sums, and a prune keeps them."""
    path = tmp_path / "old.db"
    conn = db.connect(path)
    for n, migration in enumerate(MIGRATIONS[:4]):
        conn.execute(migration)
        conn.execute(f"PRAGMA user_version={n + 1}")
    now = time.time()
    v4_insert = q._INSERT_CALL.replace("error, web_searches,", "error,").replace("?24, ?25,", "?24,")
    for row in _calls(random.Random(3), 500, now, 200):
        conn.execute(v4_insert, msgspec.structs.astuple(row)[:-1])  # a v4 calls row has no web_searches
    for n in range(200):
        conn.execute("INSERT INTO decisions (id, ts, tier, model) VALUES (?, ?, ?, 'm')",
                     (f"d{n}", now - n * DAY, ["simple", "complex"][n % 2]))
    sums = {m: (n, i) for m, n, i in conn.execute("SELECT model, count(*), sum(input_tokens) FROM calls GROUP BY 1")}
    decided = sorted(conn.execute("SELECT tier, model, count(*) FROM decisions GROUP BY 1, 2").fetchall())
    assert db.migrate(conn) == len(MIGRATIONS) == 6
    assert conn.execute("SELECT source, before FROM retention").fetchall() == [("calls", 0.0), ("decisions", 0.0)]
    assert {g.key: (g.calls, g.input_tokens) for g in q.usage_groups(conn, 0.0, "model")} == sums

    while prune_batch(conn, edge(now, 90), 100)[0] == 100:
        pass
    assert {g.key: (g.calls, g.input_tokens) for g in q.usage_groups(conn, 0.0, "model")} == sums
    assert sorted((d.tier, d.model, d.count) for d in q.decision_counts(conn, 0.0)) == decided
    assert conn.execute("SELECT count(*) FROM calls WHERE ts < ?", (edge(now, 90),)).get == 0
    assert conn.execute("SELECT count(*) FROM decisions WHERE ts < ?", (edge(now, 90),)).get == 0
    conn.close()


async def _routerctl(app, *args: str) -> str:
    env = {**os.environ, "ROUTERD_SOCKET": str(app.socket_path)}
    result = await anyio.run_process([sys.executable, "-m", "routerctl.main", *args], env=env)
    return result.stdout.decode()


async def test_routerctl_prune_prunes_now_and_status_shows_the_edge(daemon):
    """routerctl prune removes the calls past the retention at once and says how many; routerctl
    status shows how long calls are kept and from which day only their sums are."""
    now = time.time()
    for n, ts in enumerate((now - 120 * DAY, now - 100 * DAY, now - 91 * DAY, now - 60)):
        record_call(daemon.store, CallRow(id=f"c{n}", ts=ts, provider="openai", model="gpt-4.1", outcome="ok",
                                          input_tokens=10, cost_usd=0.01))
    await daemon.store.flush()
    assert "pruned 3 call(s) and 0 decision(s) older than 90 days" in await _routerctl(daemon, "prune")
    assert (await daemon.store.row_counts())["calls"] == 1
    status = await _routerctl(daemon, "status")
    day = time.strftime("%Y-%m-%d", time.localtime(edge(time.time(), 90)))
    assert f"calls and decisions kept 90 days, their sums for ever; before {day} only their sums (3 calls" in status
    usage = json.loads(await _routerctl(daemon, "usage", "--json"))
    assert usage["total"]["calls"] == 4


async def test_a_reload_that_changes_retain_days_prunes_to_it_at_once(daemon, config_file):
    """retain_days 0 keeps a call from 60 days ago; a reload to 40 prunes it at once (the
    usage total unchanged), and status shows the new retention."""
    config_file.write_text(config_file.read_text() + "\n[state]\nretain_days = 0\n")
    assert (await daemon.reload("test")).ok
    record_call(daemon.store, CallRow(id="old", ts=time.time() - 60 * DAY, provider="openai", model="gpt-4.1",
                                      outcome="ok", input_tokens=10))
    await daemon.store.flush()
    assert "retention is off" in await _routerctl(daemon, "prune")
    config_file.write_text(config_file.read_text().replace("retain_days = 0", "retain_days = 40"))
    assert (await daemon.reload("test")).ok
    await daemon.store.prune()
    assert (await daemon.store.row_counts())["calls"] == 0
    assert daemon.store.statistics().retain_days == 40
    assert json.loads(await _routerctl(daemon, "usage", "--json"))["total"]["calls"] == 1


def test_a_prune_committed_while_a_report_reads_changes_nothing_it_sums(tmp_path: Path, monkeypatch):
    """A report reads the retention's edge and the sums in one snapshot: a prune that commits in
    between (another connection, here between the two reads) neither hides nor moves a call."""
    path = tmp_path / "r.db"
    conn = db.connect(path)
    db.migrate(conn)
    day = period_start("today", time.time() - 100 * DAY)
    for n, hour in enumerate((9, 15)):
        conn.execute(q._INSERT_CALL, msgspec.structs.astuple(CallRow(
            id=f"c{n}", ts=day + hour * 3600, provider="openai", model="gpt-4.1", outcome="ok", input_tokens=1)))
    pruner = db.connect(path)
    read_edge = q.retained_from

    def edge_then_prune(c):
        found = read_edge(c)
        prune_batch(pruner, edge(time.time(), 90), 100)
        return found

    monkeypatch.setattr(q, "retained_from", edge_then_prune)
    groups = q.usage_groups(conn, day + 12 * 3600, "source")  # from noon: the afternoon call
    assert sum(g.calls for g in groups) == 1
    pruner.close()
    conn.close()


def test_a_prune_asked_for_is_answered_when_retention_is_turned_off_meanwhile():
    """routerctl prune waiting on a run, then a reload to retain_days = 0: the request is answered
    (it used to wait for a run that would never come)."""
    pruner = Pruner()
    pruner.ask(Prune(90))
    waiting = Prune()
    pruner.ask(waiting)
    pruner.ask(Prune(0))
    assert waiting.done.is_set() and waiting.error is None and not pruner.busy


async def test_a_prune_committed_between_a_reports_reads_leaves_calls_and_decisions_agreeing(
        tmp_path: Path, monkeypatch, no_blocking):
    """report and savings --since noon of a day past the edge, a prune committing between their
    calls' read and their decisions' read: both still count the afternoon only (the decisions
    used to count the whole day, read after the prune)."""
    now = time.time()
    day = period_start("today", now - 100 * DAY)
    since = time.strftime("%Y-%m-%dT12:00:00%z", time.localtime(day))
    pruner = db.connect(tmp_path / "r.db")
    real = q.usage_groups

    def groups_then_prune(conn, start, by, end):
        found = real(conn, start, by, end)
        prune_batch(pruner, edge(time.time(), 90), 100)
        return found

    async with open_store(tmp_path / "r.db") as store:
        for n, hour in enumerate((9, 15)):
            record_call(store, CallRow(id=f"c{n}", ts=day + hour * 3600, provider="openai", model="gpt-4.1",
                                       outcome="ok", decision_id=f"d{n}"))
            store.record("decisions", {"id": f"d{n}", "ts": day + hour * 3600, "tier": "simple", "model": "m"})
        await store.flush()
        monkeypatch.setattr(q, "usage_groups", groups_then_prune)
        savings = await reports.savings_report(store, since=since)  # the prune commits in its middle
        assert (savings.unpriced_calls, sum(d.count for d in savings.decisions)) == (1, 1)
        report = await reports.full_report(store, since=since)  # read after it: the whole day
        assert (report.total["calls"], sum(d.count for d in report.decisions)) == (2, 2)
    pruner.close()


def _page_counts(conn) -> tuple[int, int]:
    """The database's pages, and how many of them are free."""
    return conn.execute("PRAGMA page_count").get, conn.execute("PRAGMA freelist_count").get


async def test_routerctl_prune_vacuum_shrinks_the_file_and_keeps_every_sum(daemon):
    """A prune frees pages that SQLite keeps (the file stays as large); prune --vacuum gives them
    back: the database and its WAL shrink to a fraction, and usage says the same."""
    now = time.time()
    for row in _calls(random.Random(5), 20_000, now - 100 * DAY, 30):
        record_call(daemon.store, row)
    await daemon.store.flush()
    usage = json.loads(await _routerctl(daemon, "usage", "--json"))["total"]
    await daemon.store.prune()
    pruned = await daemon.store.read(_page_counts)
    assert pruned[1] > pruned[0] * 2 / 3  # the free pages are kept
    said = await _routerctl(daemon, "prune", "--vacuum")
    assert "vacuumed: " in said and " on disk (writes waited " in said
    pages, free = await daemon.store.read(_page_counts)
    assert free == 0 and pages <= pruned[0] - pruned[1]
    size = await daemon.store.read(lambda conn: conn.execute("PRAGMA page_size").get)
    assert await anyio.to_thread.run_sync(on_disk, daemon.store.path) < pruned[0] * size / 3  # WAL emptied
    assert json.loads(await _routerctl(daemon, "usage", "--json"))["total"] == usage
    record_call(daemon.store, CallRow(id="after", ts=now, provider="openai", model="gpt-4.1", outcome="ok"))
    assert await daemon.store.flush() and (await daemon.store.row_counts())["calls"] == 1


async def test_a_vacuum_while_an_export_streams_is_refused_at_once(daemon):
    """A vacuum asked while an export holds its snapshot says why it cannot run now and holds
    nothing (it used to hold the writer for the 5 s busy timeout and leave the file larger);
    routerctl status shows the export."""
    async with daemon.store.open_snapshot():
        said = await _routerctl_result(daemon, "prune", "--vacuum")
        assert "1 streaming (each reads the database as it was" in await _routerctl(daemon, "status")
    assert said.returncode == 1 and "1 export(s) streaming" in said.stderr.decode()
    assert "vacuumed" in await _routerctl(daemon, "prune", "--vacuum")


async def _routerctl_result(app, *args: str):
    env = {**os.environ, "ROUTERD_SOCKET": str(app.socket_path)}
    return await anyio.run_process([sys.executable, "-m", "routerctl.main", *args], env=env, check=False)
