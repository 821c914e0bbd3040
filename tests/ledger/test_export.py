"""``routerctl export``: calls and decisions as CSV, a JSON array or JSON lines, streamed in pages
(more rows than one page here), filtered by a window; a bad table is a clear error. (Calendar periods
are tested at fixed times in test_reports.py: here ``--period week`` failed in the first hour of
every Monday, when the seeded rows of the last 67 minutes straddle the week's start.)"""

import csv
import io
import json
import os
import sys
import time

import anyio
import pytest

from routerd.handlers.usage import EXPORT_PAGE_ROWS
from routerd.ledger.periods import period_end
from routerd.store.ledger import EXPORT_COLUMNS, CallRow, record_call

pytestmark = pytest.mark.anyio
N = EXPORT_PAGE_ROWS * 2 + 17


async def routerctl(app, *args: str, check: bool = True):
    env = {**os.environ, "ROUTERD_SOCKET": str(app.socket_path)}
    return await anyio.run_process([sys.executable, "-m", "routerctl.main", *args], env=env, check=check)


async def _seed(app) -> None:
    now = time.time()
    for i in range(N):
        ts = now - 40 * 86_400 if i % 10 == 0 else now - i  # a tenth of them last month or earlier
        record_call(app.store, CallRow(id=f"c{i:05d}", ts=ts, provider="openai", model="gpt-4.1", outcome="ok",
                                       input_tokens=i, output_tokens=1, cost_usd=i / 1e6,
                                       error='quote " and, comma' if i == 3 else None))
    app.store.record("decisions", {"id": "d1", "ts": now, "tier": "simple", "source": "http",
                                   "detail": json.dumps({"reasons": ["a, b"]}), "scenario": "background"})
    await app.store.flush()


async def test_export_calls_as_csv_json_and_jsonl(daemon, tmp_path):
    """Every row once, in every format, columns named; CSV quoting survives commas and quotes."""
    await _seed(daemon)
    out = (await routerctl(daemon, "export", "calls", "--format", "csv")).stdout.decode()
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == list(EXPORT_COLUMNS["calls"]) and len(rows) == N + 1
    assert {r[0] for r in rows[1:]} == {f"c{i:05d}" for i in range(N)}
    assert rows[1 + [r[0] for r in rows[1:]].index("c00003")][-3:] == ['quote " and, comma', "1", "0"]
    assert rows[0][-3:] == ["error", "calls", "web_searches"]  # a new column is appended: old readers keep theirs
    target = tmp_path / "calls.json"
    await routerctl(daemon, "export", "--format", "json", "-o", str(target))
    array = json.loads(target.read_text())
    assert len(array) == N and array[5]["input_tokens"] == 5 and array[5]["model"] == "gpt-4.1"
    lines = (await routerctl(daemon, "export", "--format", "jsonl", "--since", "2d")).stdout.splitlines()
    assert len(lines) == N - len(range(0, N, 10)) and all(json.loads(line)["id"] for line in lines)


async def test_export_decisions_and_a_bad_table(daemon):
    """Decisions export with their detail and scenario (a CSV column too); an unknown table is
    refused before anything is written."""
    await _seed(daemon)
    out = (await routerctl(daemon, "export", "decisions", "--format", "jsonl")).stdout.decode()
    [row] = [json.loads(line) for line in out.splitlines()]
    assert row["id"] == "d1" and json.loads(row["detail"]) == {"reasons": ["a, b"]}
    assert row["scenario"] == "background"
    head, line = csv.reader(io.StringIO((await routerctl(daemon, "export", "decisions")).stdout.decode()))
    assert dict(zip(head, line, strict=True))["scenario"] == "background"
    bad = await routerctl(daemon, "export", "nope", check=False)
    assert bad.returncode == 2 and not bad.stdout


async def test_a_period_export_leaves_out_calls_stamped_after_it(daemon):
    """A call stamped tomorrow (recorded while the clock ran ahead) is not in today's export; it is
    in the export of everything."""
    now = time.time()
    for name, ts in (("today", now), ("ahead", period_end("today", now) + 60)):
        record_call(daemon.store, CallRow(id=name, ts=ts, provider="openai", model="gpt-4.1", outcome="ok"))
    await daemon.store.flush()
    today = (await routerctl(daemon, "export", "calls", "--period", "today", "--format", "jsonl")).stdout
    everything = (await routerctl(daemon, "export", "calls", "--format", "jsonl")).stdout
    assert [json.loads(line)["id"] for line in today.splitlines()] == ["today"]
    assert [json.loads(line)["id"] for line in everything.splitlines()] == ["today", "ahead"]


async def test_a_failed_export_leaves_the_output_file_as_it_was(daemon, tmp_path):
    """An export to a file that fails (a bad --since, routerd not there) leaves an existing file
    untouched instead of emptying it; a directory that does not exist is one line, exit 2."""
    await _seed(daemon)
    out = tmp_path / "exports"
    out.mkdir()
    target = out / "calls.csv"
    target.write_text("last week's export\n")
    bad = await routerctl(daemon, "export", "calls", "-o", str(target), "--since", "bogus", check=False)
    assert bad.returncode == 1 and b"since" in bad.stderr
    gone = await anyio.run_process([sys.executable, "-m", "routerctl.main", "--socket", str(tmp_path / "none.sock"),
                                    "export", "-o", str(target)], check=False)
    assert gone.returncode == 3
    assert target.read_text() == "last week's export\n" and os.listdir(out) == ["calls.csv"]
    nowhere = await routerctl(daemon, "export", "-o", str(out / "missing" / "x.csv"), check=False)
    assert nowhere.returncode == 2 and b"Traceback" not in nowhere.stderr
    assert nowhere.stderr.decode().strip() == f"routerctl: cannot write {out / 'missing' / 'x.csv'}: No such file or directory"
    done = await routerctl(daemon, "export", "calls", "-o", str(target))
    assert done.returncode == 0 and len(target.read_text().splitlines()) == N + 1
    assert os.listdir(out) == ["calls.csv"]  # no part file left beside it
