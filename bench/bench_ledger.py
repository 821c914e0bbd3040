"""Ledger figures: report queries over a million stored calls, and how fast the store takes rows.

    .venv/bin/python bench/bench_ledger.py [--calls 1000000] [--shape sessions|worst] [--repeat 5] [--quick]

Builds a state database through routerd's own store (migrations, triggers, the writer thread) with
``--calls`` calls spread over a year, then times every report query the daemon runs (usage and
savings per group and period, ragged ``--since`` windows, decisions, the status line, the budgets'
spend, the dashboard's reads, an export page walk) on a reader connection, ``--repeat`` times each.
Prints medians and maxima next to the target (<= 500 ms) and writes ``bench/results/bench_ledger.json``.

Shapes. ``sessions`` (default) is what a coding agent produces: sessions of 20-300 calls over up
to two hours in one of 25 projects, a main model and a cheaper subagent model, 2% errors, a third
of the rows from hooks. ``worst`` gives every call its own session, project and minute, so that
the quarter-hour rollups cannot fold anything: the figure to quote when asked how bad it gets.
"""

import argparse
import functools
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import anyio

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from routerd.ledger.periods import period_start  # noqa: E402
from routerd.store import db  # noqa: E402
from routerd.store import ledger as q  # noqa: E402
from routerd.store import dashboard as dq  # noqa: E402
from routerd.store.budgets import budget_spend  # noqa: E402
from routerd.store.ledger import CallRow, record_call, record_session  # noqa: E402
from routerd.store.store import open_store  # noqa: E402

TARGET_MS = 500.0
YEAR_S = 365 * 86_400
MODELS = [("anthropic", "claude-opus-4-8", "claude-haiku-4-5"), ("anthropic", "claude-sonnet-4-6", "claude-haiku-4-5"),
          ("openai", "gpt-6.1-sol", "gpt-6-luna"), ("gemini", "gemini-2.5-pro", "gemini-2.5-flash")]
TIERS = ("simple", "moderate", "complex")


def _sessions(n_calls: int, rng: random.Random, now: float):
    """Yield (decision row or None, CallRow, (session, project) or None) in time order."""
    made, n_session = 0, 0
    t = now - YEAR_S
    step = YEAR_S / max(1, n_calls)
    while made < n_calls:
        n_session += 1
        session, project = f"s{n_session:07d}", f"acme/repo{rng.randrange(25)}"
        provider, main, sub = rng.choice(MODELS)
        size = min(rng.randrange(20, 300), n_calls - made)
        yield None, None, (session, project, t)
        decision = None
        for i in range(size):
            ts = t + i * step * rng.uniform(0.5, 1.5)
            if i % 5 == 0:
                decision = f"d{made + i:08d}"
                yield {"id": decision, "ts": ts, "source": "hook:claude-code", "session_id": session,
                       "tier": rng.choice(TIERS), "model": main}, None, None
            yield None, _call(rng, made + i, ts, provider, sub if rng.random() < 0.3 else main,
                              session, decision), None
        made += size
        t += size * step


def _worst(n_calls: int, rng: random.Random, now: float):
    for i in range(n_calls):
        ts = now - YEAR_S + i * (YEAR_S / n_calls)
        provider, main, _ = rng.choice(MODELS)
        yield None, None, (f"w{i:07d}", f"acme/p{i}", ts)
        yield None, _call(rng, i, ts, provider, main, f"w{i:07d}", None), None


def _call(rng: random.Random, i: int, ts: float, provider: str, model: str, session: str,
          decision: str | None) -> CallRow:
    cached = rng.randrange(0, 150_000)
    fresh = rng.randrange(5, 4_000)
    write = rng.randrange(0, 3_000)
    cost = round((fresh * 3 + cached * 0.3 + write * 3.75) / 1e6 + rng.randrange(50, 2_000) * 15 / 1e6, 8)
    return CallRow(
        id=f"c{i:08d}", ts=ts, provider=provider, model=model, decision_id=decision,
        outcome="ok" if rng.random() > 0.02 else "rate_limited",
        source="gateway" if rng.random() < 0.67 else "hook:claude-code", session_id=session,
        input_tokens=fresh + cached + write, cache_read_tokens=cached, cache_write_tokens=write,
        output_tokens=rng.randrange(50, 2_000), latency_ms=rng.uniform(300, 9_000),
        cost_usd=cost, baseline_cost_usd=round(cost * rng.uniform(1.0, 4.0), 8), response_id=f"msg_{i:08d}")


async def build(path: Path, n_calls: int, shape: str) -> dict:
    """Write the rows through the store; returns the write figures."""
    rng = random.Random(42)
    now = time.time()
    source = _sessions if shape == "sessions" else _worst
    started = time.perf_counter()
    rows = 0
    async with open_store(path) as store:
        for decision, call, session in source(n_calls, rng, now):
            if session is not None:
                record_session(store, session[0], "claude-code", session[1], session[2])
            elif decision is not None:
                store.record("decisions", decision)
            else:
                record_call(store, call)
            rows += 1
            if rows % 20_000 == 0:
                await store.flush()  # keep the queue (memory) bounded, as a steady daemon does
        await store.flush()
    seconds = time.perf_counter() - started
    return {"rows_written": rows, "seconds": round(seconds, 1), "rows_per_s": round(rows / seconds)}


def _time(fn, repeat: int) -> dict:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return {"median_ms": round(statistics.median(times), 1), "max_ms": round(max(times), 1)}


def queries(conn, now: float) -> dict:
    starts = {period: period_start(period, now) for period in ("today", "week", "month", "all")}
    starts["since 90m"] = now - 5_400
    starts["since 36h"] = now - 36 * 3_600
    starts["since 30d"] = now - 30 * 86_400
    out = {}
    for label, start in starts.items():
        for by in q.GROUPS:
            out[f"usage --by {by} ({label})"] = functools.partial(q.usage_groups, conn, start, by)
        out[f"decisions ({label})"] = functools.partial(q.decision_counts, conn, start)
    out["statusline (today + last model)"] = lambda: (q.usage_groups(conn, starts["today"], "source"),
                                                      q.last_call(conn, None))
    out["budget spend (month + today, per provider and project)"] = functools.partial(
        budget_spend, conn, starts["month"], starts["today"])
    out["dashboard: latest 25 decisions with feedback and calls"] = functools.partial(
        dq.recent_decisions, conn, 25)
    out["dashboard: latencies of the last day (<= 20,000 calls)"] = functools.partial(
        dq.recent_latencies, conn, now - 86_400, 20_000)
    out["dashboard: whole page (month by day, model, tier; decisions; latencies; budget)"] = lambda: (
        [q.usage_groups(conn, starts["month"], by) for by in ("day", "model", "tier")],
        dq.recent_decisions(conn, 25), dq.recent_latencies(conn, now - 86_400, 20_000),
        [q.usage_groups(conn, starts[p], "source") for p in ("today", "week", "month")],
        budget_spend(conn, starts["month"], starts["today"]))
    out["export count (all)"] = functools.partial(q.export_count, conn, "calls", 0.0)
    out["export first page (all)"] = functools.partial(q.export_page, conn, "calls", 0.0, 0, 2000)
    return out


def export_walk(conn) -> dict:
    """Every calls row, page by page, as ``routerctl export`` reads them."""
    started, after, rows = time.perf_counter(), 0, 0
    while True:
        after, page = q.export_page(conn, "calls", 0.0, after, 2000)
        if not page:
            break
        rows += len(page)
    seconds = time.perf_counter() - started
    return {"rows": rows, "seconds": round(seconds, 2), "rows_per_s": round(rows / seconds)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--shape", choices=["sessions", "worst"], default="sessions")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="50,000 calls, 3 repeats")
    args = parser.parse_args()
    if args.quick:
        args.calls, args.repeat = 50_000, 3
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "routerd.db"
        print(f"writing {args.calls:,} calls ({args.shape}) through the store ...", flush=True)
        write = anyio.run(build, path, args.calls, args.shape)
        conn = db.connect(path, readonly=True)
        counts = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                  for t in ("calls", "decisions", "call_rollup", "decision_rollup", "sessions")}
        size_mb = round(path.stat().st_size / 1e6, 1)
        print(f"  {write['rows_per_s']:,} rows/s; {counts}; {size_mb} MB")
        now = time.time()
        results = {name: _time(fn, args.repeat) for name, fn in queries(conn, now).items()}
        walk = export_walk(conn)
        conn.close()
    worst = max(results.values(), key=lambda r: r["median_ms"])
    width = max(map(len, results))
    for name, r in results.items():
        flag = "" if r["median_ms"] <= TARGET_MS else "  OVER TARGET"
        print(f"  {name:<{width}}  median {r['median_ms']:>7.1f} ms  max {r['max_ms']:>7.1f} ms{flag}")
    print(f"slowest query median {worst['median_ms']} ms (target <= {TARGET_MS:.0f} ms); "
          f"export walk {walk['rows_per_s']:,} rows/s")
    out = {"calls": args.calls, "shape": args.shape, "repeat": args.repeat, "write": write, "rows": counts,
           "db_mb": size_mb, "target_ms": TARGET_MS, "queries": results, "export_walk": walk,
           "slowest_median_ms": worst["median_ms"]}
    target = ROOT / "bench" / "results" / f"bench_ledger{'' if args.shape == 'sessions' else '_worst'}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
