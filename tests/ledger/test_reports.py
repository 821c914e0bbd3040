"""Reports: the rollups give exactly what summing the calls themselves gives, for every grouping
and window; periods are local calendar ones; routerctl shows usage, savings and the report."""

import json
import os
import random
import sys
import time
from collections import defaultdict
from datetime import datetime
from pathlib import Path

import anyio
import pytest

from routerd.ledger.periods import parse_since, period_end, period_start, window_end, window_start
from routerd.store.budgets import budget_spend
from routerd.store import ledger as q
from routerd.store.ledger import CallRow, record_call, record_session
from routerd.store.store import open_store

pytestmark = pytest.mark.anyio
NOW = 1_780_000_000.0
MODELS = [("anthropic", "claude-haiku-4-5"), ("anthropic", "claude-opus-4-8"), ("openai", "gpt-4.1"),
          ("local", "qwen3:8b")]


def _random_calls(rng: random.Random, n: int) -> list[CallRow]:
    rows = []
    for i in range(n):
        provider, model = rng.choice(MODELS)
        cost = None if rng.random() < 0.1 else round(rng.random() / 100, 6)
        cost = 0.0 if provider == "local" and cost is not None else cost  # a free model: its savings apart
        baseline = None if rng.random() < 0.1 else round(rng.random() / 50, 6)
        cached = rng.randrange(0, 5_000)
        rows.append(CallRow(
            id=f"c{i}", ts=NOW - rng.random() * 40 * 86_400, provider=provider, model=model,
            outcome=rng.choice(["ok", "ok", "ok", "rate_limited"]),
            source=rng.choice(["gateway", "gateway", "hook:claude-code"]), decision_id=f"d{rng.randrange(30)}",
            input_tokens=cached + rng.randrange(1, 2_000), output_tokens=rng.randrange(0, 900),
            cache_read_tokens=cached, cache_write_tokens=rng.randrange(0, 50), reasoning_tokens=rng.randrange(0, 9),
            estimated=rng.random() < 0.05, latency_ms=None if rng.random() < 0.3 else rng.random() * 900,
            cost_usd=cost, baseline_cost_usd=baseline, session_id=rng.choice([None, "s1", "s2", "s3"]),
            response_id=f"r{rng.randrange(n)}"))
    return rows


def _brute(rows: list[dict], start: float, by: str) -> dict:
    """The same sums, straight from the calls (the reference the rollups must equal)."""
    key = {"model": "model", "provider": "provider", "tier": "tier", "session": "session_id",
           "project": "project", "outcome": "outcome", "source": "source"}
    out: dict = defaultdict(lambda: defaultdict(float))
    for r in rows:
        if r["ts"] < start:
            continue
        k = datetime.fromtimestamp(r["ts"]).date().isoformat() if by == "day" else r[key[by]]
        g = out[k or None]
        g["calls"] += 1
        g["ok"] += r["outcome"] == "ok"
        g["input_tokens"] += r["input_tokens"]
        g["cache_read_tokens"] += r["cached_tokens"]
        g["output_tokens"] += r["output_tokens"]
        g["cost_usd"] += r["cost_usd"] or 0
        g["costed"] += r["cost_usd"] is not None
        both = r["cost_usd"] is not None and r["baseline_cost_usd"] is not None
        g["paired"] += both
        g["paired_baseline_usd"] += r["baseline_cost_usd"] if both else 0
        g["free_baseline_usd"] += r["baseline_cost_usd"] or 0 if r["cost_usd"] == 0 else 0
    return out


async def test_rollups_equal_the_sum_of_the_calls_for_every_group_and_window(tmp_path: Path, no_blocking):
    """Random calls (hook rows the gateway supersedes among them): every group, every window, ragged
    or on a quarter hour, sums exactly what the calls sum."""
    rng = random.Random(20261203)
    async with open_store(tmp_path / "r.db") as store:
        for d in range(30):
            store.record("decisions", {"id": f"d{d}", "ts": NOW - 40 * 86_400, "tier": ["simple", "complex"][d % 2],
                                       "model": "m", "source": "http"})
        record_session(store, "s1", "claude-code", "acme/api", NOW)
        record_session(store, "s2", "claude-code", None, NOW)
        for row in _random_calls(rng, 3_000):
            record_call(store, row)
        record_session(store, "s3", "codex", "acme/web", NOW)  # a project learned after its calls
        await store.flush()

        def read_rows(conn):
            names = [c[1] for c in conn.execute("PRAGMA table_info(calls)")]
            rows = [dict(zip(names, r)) for r in conn.execute("SELECT * FROM calls")]
            projects = dict(conn.execute("SELECT id, project FROM sessions"))
            for r in rows:
                r["project"] = r["project"] or projects.get(r["session_id"])
            return rows

        rows = await store.read(read_rows)
        assert 1_000 < len(rows) < 3_000  # the triggers dropped hook rows the gateway had
        starts = [0.0, NOW - 3.3 * 86_400, NOW - 86_400 * 7 - 1234.5, period_start("month", NOW), NOW + 1]
        for by in q.GROUPS:
            for start in starts:
                got = await store.read(lambda c, start=start, by=by: q.usage_groups(c, start, by))
                want = _brute(rows, start, by)
                assert {g.key for g in got} == set(want), (by, start)
                for g in got:
                    w = want[g.key]
                    assert (g.calls, g.ok, g.input_tokens, g.cache_read_tokens, g.output_tokens, g.costed,
                            g.paired) == (w["calls"], w["ok"], w["input_tokens"], w["cache_read_tokens"],
                                          w["output_tokens"], w["costed"], w["paired"]), (by, start, g.key)
                    assert g.cost_usd == pytest.approx(w["cost_usd"])
                    assert g.paired_baseline_usd == pytest.approx(w["paired_baseline_usd"])
                    if by in q.FREE_EXACT:
                        assert g.free_baseline_usd == pytest.approx(w["free_baseline_usd"]), (by, start, g.key)


def test_periods_are_local_calendar_ones(monkeypatch: pytest.MonkeyPatch):
    """today from local midnight, week from Monday, month from the 1st, across a DST change."""
    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    try:
        now = datetime(2026, 11, 4, 15, 30).timestamp()  # a Wednesday, after the October DST change
        assert datetime.fromtimestamp(period_start("today", now)) == datetime(2026, 11, 4)
        assert datetime.fromtimestamp(period_start("week", now)) == datetime(2026, 11, 2)
        assert datetime.fromtimestamp(period_start("month", now)) == datetime(2026, 11, 1)
        march = datetime(2026, 3, 30, 12).timestamp()  # the week of the March change
        assert datetime.fromtimestamp(period_start("week", march)) == datetime(2026, 3, 30)
        assert period_start("all", now) == 0.0 and window_start("week", "2h", now) == now - 7200
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_an_iso_since_without_an_offset_is_local_like_the_days_reports_show(monkeypatch: pytest.MonkeyPatch):
    """--since 2026-12-07 starts at local midnight (the start of the row `--by day` calls
    2026-12-07), not at UTC's, which is 19:00 the day before in New York; an offset is honoured."""
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        now = datetime(2026, 12, 7, 15).timestamp()
        assert parse_since("2026-12-07", now) == datetime(2026, 12, 7).timestamp() == period_start("today", now)
        assert parse_since("2026-12-07T08:30", now) == datetime(2026, 12, 7, 8, 30).timestamp()
        assert parse_since("2026-12-07T00:00:00+00:00", now) == datetime(2026, 12, 6, 19).timestamp()
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_calendar_periods_end_where_the_next_one_starts(monkeypatch: pytest.MonkeyPatch):
    """today ends at the next midnight, the week at next Monday, the month at the next 1st (across
    the DST change too); all and --since have no end."""
    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    try:
        now = datetime(2026, 10, 24, 15, 30).timestamp()  # a Saturday, the eve of the October change
        assert datetime.fromtimestamp(period_end("today", now)) == datetime(2026, 10, 25)
        assert datetime.fromtimestamp(period_end("week", now)) == datetime(2026, 10, 26)
        assert datetime.fromtimestamp(period_end("month", now)) == datetime(2026, 11, 1)
        assert datetime.fromtimestamp(period_end("month", datetime(2026, 12, 31).timestamp())) == datetime(2027, 1, 1)
        assert period_end("all", now) == window_end("week", "2h", now) == float("inf")
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


async def test_a_call_stamped_in_the_future_counts_in_one_window(tmp_path: Path, no_blocking):
    """A call recorded while the clock ran a day ahead counts in tomorrow's budget and report only,
    not in today's as well."""
    tomorrow = period_end("today", NOW) + 3600
    async with open_store(tmp_path / "f.db") as store:
        for n, (ts, cost) in enumerate([(NOW, 1.0), (tomorrow, 10.0)]):
            record_call(store, CallRow(id=f"c{n}", ts=ts, provider="openai", model="gpt-4.1", outcome="ok",
                                       input_tokens=1, output_tokens=1, cost_usd=cost))
        await store.flush()

        def spend(now: float) -> float:
            def read(conn):
                return budget_spend(conn, period_start("month", now), period_start("today", now),
                                    period_end("month", now), period_end("today", now))
            return read

        today = {s.window: s.usd for s in await store.read(spend(NOW))}
        assert today["day"] == 1.0 and today["month"] == (11.0 if tomorrow < period_end("month", NOW) else 1.0)
        assert {s.window: s.usd for s in await store.read(spend(tomorrow))}["day"] == 10.0
        days = await store.read(lambda c: q.usage_groups(c, period_start("today", NOW), "day",
                                                         period_end("today", NOW)))
        assert [(g.key, g.cost_usd) for g in days] == [(datetime.fromtimestamp(NOW).date().isoformat(), 1.0)]
        counted = await store.read(lambda c: q.decision_counts(c, period_start("today", NOW), period_end("today", NOW)))
        assert counted == []


async def routerctl(app, *args: str, stdin: bytes | None = None) -> str:
    env = {**os.environ, "ROUTERD_SOCKET": str(app.socket_path)}
    result = await anyio.run_process([sys.executable, "-m", "routerctl.main", *args], env=env, input=stdin)
    return result.stdout.decode()


def _seed(app) -> None:
    now = time.time()
    app.store.record("decisions", {"id": "d1", "ts": now, "tier": "simple", "model": "claude-haiku-4-5",
                                   "source": "hook:claude-code"})
    record_session(app.store, "s1", "claude-code", "acme/api", now)
    for n, (model, cost, base, ts) in enumerate([("claude-haiku-4-5", 0.01, 0.05, now),
                                                  ("claude-haiku-4-5", 0.02, 0.10, now - 60),
                                                  ("claude-opus-4-8", 0.05, 0.05, now - 40 * 86_400)]):
        record_call(app.store, CallRow(id=f"c{n}", ts=ts, provider="anthropic", model=model, outcome="ok",
                                       decision_id="d1", input_tokens=10_000, cache_read_tokens=9_000,
                                       output_tokens=100, cost_usd=cost, baseline_cost_usd=base,
                                       session_id="s1", latency_ms=500.0))


async def test_routerctl_reports_by_period_and_group(daemon):
    """usage / savings / report with --period and --by, as JSON and as text."""
    _seed(daemon)
    await daemon.store.flush()
    week = json.loads(await routerctl(daemon, "report", "--period", "month", "--by", "tier", "--json"))
    [simple] = week["groups"]
    assert (simple["tier"], simple["calls"], simple["cache_read_tokens"]) == ("simple", 2, 18_000)
    assert simple["saved_usd"] == pytest.approx(0.12) and simple["saved_pct"] == 80.0
    assert week["decisions"] == [{"tier": "simple", "model": "claude-haiku-4-5", "count": 1}]
    everything = json.loads(await routerctl(daemon, "usage", "--by", "project", "--json"))
    assert [(g["project"], g["calls"]) for g in everything["groups"]] == [("acme/api", 3)]
    assert everything["total"]["cost_usd"] == pytest.approx(0.08)
    savings = json.loads(await routerctl(daemon, "savings", "--since", "1h", "--json"))
    assert savings["saved_usd"] == pytest.approx(0.12) and savings["priced_calls"] == 2
    text = await routerctl(daemon, "report", "--period", "today", "--by", "model")
    assert text.startswith("routerd report, today: 2 call(s)") and "90% of input tokens read from cache" in text
    assert "claude-haiku-4-5" in text and "total" in text
    by_day = json.loads(await routerctl(daemon, "usage", "--by", "day", "--json"))
    assert [g["calls"] for g in by_day["groups"]] == [1, 2]  # oldest day first


async def test_long_reports_list_the_top_groups_and_fold_the_rest(daemon):
    """--limit keeps the costliest groups (for days: the latest) and sums the rest in one row."""
    _seed(daemon)
    await daemon.store.flush()
    top = json.loads(await routerctl(daemon, "usage", "--by", "model", "--limit", "1", "--json"))
    assert [(g["model"], g["calls"]) for g in top["groups"]] == [("claude-opus-4-8", 1), ("(1 more)", 2)]
    assert top["total"]["calls"] == 3
    days = json.loads(await routerctl(daemon, "report", "--by", "day", "--limit", "1", "--json"))
    assert [(g["day"], g["calls"]) for g in days["groups"]][0] == ("(1 earlier)", 1)


async def test_statusline_shows_today_and_the_sessions_last_model(daemon):
    """One line: today's spend, savings and the last model of the session Claude Code names."""
    _seed(daemon)
    await daemon.store.flush()
    line = await routerctl(daemon, "statusline", stdin=json.dumps({"session_id": "s1", "model": {}}).encode())
    assert line.strip() == "routerd $0.0300 today · saved $0.1200 (80%) · claude-haiku-4-5"


async def test_statusline_without_a_daemon_says_so_and_exits_zero(tmp_path: Path):
    """A status line shows text even when routerd is down."""
    env = {**os.environ, "ROUTERD_SOCKET": str(tmp_path / "none.sock")}
    done = await anyio.run_process([sys.executable, "-m", "routerctl.main", "statusline"], env=env,
                                   input=b"{}", check=False)
    assert (done.returncode, done.stdout.decode().strip()) == (0, "routerd: not running")
