"""Retention figures: what a calls row costs on disk, and what pruning a year down to
``--days`` costs the writer.

    .venv/bin/python bench/bench_retention.py [--calls 200000] [--days 90]

Builds a state database through routerd's store (bench_ledger.py's ``sessions`` shape: a year of
coding-agent calls, a fifth of them with a decision), then prunes it batch by batch with
``routerd.store.retention.prune_batch`` on one connection, timing each batch (one transaction:
fold, move the edge, delete ``PRUNE_BATCH`` calls and as many decisions). Prints the bytes per call, the batch times
(median, max), the size of the file and its free pages before and after, and then what
``routerctl prune --vacuum`` costs: how long ``routerd.store.vacuum.vacuum`` holds the writer and
the file's size after it; writes ``bench/results/bench_retention.json``.
"""

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import anyio

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_ledger import build  # noqa: E402
from routerd.store import db  # noqa: E402
from routerd.store.retention import PRUNE_BATCH, edge, prune_batch  # noqa: E402
from routerd.store.vacuum import Vacuum, vacuum  # noqa: E402


def _pages(conn) -> dict:
    size = conn.execute("PRAGMA page_size").get
    return {"file_mb": round(conn.execute("PRAGMA page_count").get * size / 1e6, 1),
            "free_mb": round(conn.execute("PRAGMA freelist_count").get * size / 1e6, 1),
            "calls": conn.execute("SELECT count(*) FROM calls").get,
            "decisions": conn.execute("SELECT count(*) FROM decisions").get}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=200_000)
    parser.add_argument("--days", type=int, default=90)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "r.db"
        written = anyio.run(build, path, args.calls, "sessions")
        conn = db.connect(path)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        before = _pages(conn)
        calls_mb = conn.execute("SELECT sum(pgsize) FROM dbstat WHERE name LIKE 'calls%'").get / 1e6 \
            if _has_dbstat(conn) else None
        cut = edge(time.time(), args.days)
        times = []
        while True:
            t = time.perf_counter()
            deleted = prune_batch(conn, cut, PRUNE_BATCH)
            times.append((time.perf_counter() - t) * 1000)
            if max(deleted) < PRUNE_BATCH:
                break
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        after = _pages(conn)
        vacuumed = Vacuum()
        vacuum(conn, path, vacuumed)
        assert vacuumed.error is None, vacuumed.error
        after_vacuum = _pages(conn)
        conn.close()
    result = {
        "calls": args.calls, "retain_days": args.days, "write": written, "before": before, "after": after,
        "calls_bytes_per_row": round(calls_mb * 1e6 / before["calls"]) if calls_mb else None,
        "file_bytes_per_call": round(before["file_mb"] * 1e6 / before["calls"]),
        "batch_rows": PRUNE_BATCH, "batches": len(times),
        "batch_ms_median": round(statistics.median(times), 1), "batch_ms_max": round(max(times), 1),
        "prune_s": round(sum(times) / 1000, 2),
        "vacuum_s": round(vacuumed.held_s, 2), "after_vacuum": after_vacuum,
        "disk_mb_before_vacuum": round(vacuumed.before / 1e6, 1), "disk_mb_after_vacuum": round(vacuumed.after / 1e6, 1),
    }
    print(json.dumps(result, indent=2))
    out = ROOT / "bench" / "results" / "bench_retention.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")


def _has_dbstat(conn) -> bool:
    try:
        conn.execute("SELECT 1 FROM dbstat LIMIT 1").fetchall()
    except Exception:
        return False
    return True


if __name__ == "__main__":
    main()
