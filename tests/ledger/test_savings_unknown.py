"""A price nobody knows is unknown in every form a report takes: ``--json`` (a group's, the
total's and the savings' ``cost_usd`` is null, not 0), the savings table's total and the status
line, as the text tables already said."""

import json
import os
import sys
import time

import anyio
import pytest

pytestmark = pytest.mark.anyio


async def routerctl(app, *args: str) -> str:
    env = {**os.environ, "ROUTERD_SOCKET": str(app.socket_path)}
    return (await anyio.run_process([sys.executable, "-m", "routerctl.main", *args], env=env)).stdout.decode()


def _record(daemon, rows: list[tuple[str, float | None]]) -> None:
    now = time.time()
    for n, (model, cost) in enumerate(rows):
        daemon.store.record("calls", {"id": f"c{n}", "ts": now, "provider": "acme", "model": model,
                                      "outcome": "ok", "input_tokens": 100, "output_tokens": 10,
                                      "cost_usd": cost, "baseline_cost_usd": cost})


async def test_calls_of_unknown_price_are_null_in_json_not_zero(daemon):
    """Two calls on mystery-9 (no price) beside one priced: the group's cost_usd is null in usage
    --json and the dashboard's data; alone in a window, the total's and savings' are null too."""
    _record(daemon, [("mystery-9", None), ("mystery-9", None)])
    await daemon.store.flush()
    usage = json.loads(await routerctl(daemon, "usage", "--json"))
    assert [(g["model"], g["cost_usd"], g["uncosted_calls"]) for g in usage["groups"]] == [("mystery-9", None, 2)]
    assert usage["total"]["cost_usd"] is None
    savings = json.loads(await routerctl(daemon, "savings", "--by", "model", "--json"))
    assert savings["cost_usd"] is None and savings["saved_usd"] is None
    assert savings["groups"][0]["cost_usd"] is None
    dashboard = json.loads(await routerctl(daemon, "dashboard", "--json"))
    assert dashboard["total"]["cost_usd"] is None and dashboard["models"][0]["cost_usd"] is None
    text = await routerctl(daemon, "savings", "--by", "model")
    rows = [line for line in text.splitlines() if line.startswith(("mystery-9", "total"))]
    assert len(rows) == 2 and all(row.split()[-2:] == ["unknown", "unknown"] for row in rows), rows
    assert (await routerctl(daemon, "statusline")).startswith("routerd unknown today")

    _record(daemon, [("mystery-9", None), ("mystery-9", None), ("priced-1", 0.25)])
    await daemon.store.flush()
    usage = json.loads(await routerctl(daemon, "usage", "--json"))
    assert {g["model"]: g["cost_usd"] for g in usage["groups"]} == {"priced-1": 0.25, "mystery-9": None}
    assert usage["total"]["cost_usd"] == 0.25 and usage["total"]["uncosted_calls"] == 2
    assert (await routerctl(daemon, "statusline")).startswith("routerd $0.2500 today (+2 unpriced)")
