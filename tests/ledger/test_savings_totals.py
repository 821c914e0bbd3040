"""Rows add up to the totals shown: ``--json`` keeps money at the ledger's stored precision (a
ten-billionth of a dollar), so the groups' cost, baseline and saved sum to the total's, and the text
tables never show a call that cost something as $0.0000 (free)."""

import json
import os
import sys

import anyio
import pytest

pytestmark = pytest.mark.anyio
# (model, cost, baseline cost): each cost rounds up at six digits, so six-digit rows outgrow the total.
ROWS = [("claude-haiku-4-5", 0.0064046, 0.032023), ("gpt-4.1-mini", 0.0040156, 0.0100156),
        ("gpt-6-luna", 0.0000046, 0.00023)]


async def routerctl(app, *args: str) -> str:
    env = {**os.environ, "ROUTERD_SOCKET": str(app.socket_path)}
    return (await anyio.run_process([sys.executable, "-m", "routerctl.main", *args], env=env)).stdout.decode()


async def test_the_groups_add_up_to_the_total(daemon):
    """usage --json, report --json and savings --by --json: sum(groups) == total for cost,
    baseline and saved (the six-digit rounding made 0.090949 of rows under a 0.090948 total)."""
    for n, (model, cost, baseline) in enumerate(ROWS):
        daemon.store.record("calls", {"id": f"c{n}", "ts": 2e9, "provider": "p", "model": model, "outcome": "ok",
                                      "input_tokens": 100, "output_tokens": 10, "cost_usd": cost,
                                      "baseline_cost_usd": baseline})
    await daemon.store.flush()
    for args in (["usage", "--json"], ["report", "--json"], ["savings", "--by", "model", "--json"]):
        data = json.loads(await routerctl(daemon, *args))
        total = data.get("total") or data
        for key in ("cost_usd", "baseline_cost_usd", "saved_usd"):
            assert sum(g[key] for g in data["groups"]) == pytest.approx(total[key], abs=1e-12), (args, key)
        assert total["cost_usd"] == pytest.approx(sum(cost for _, cost, _ in ROWS), abs=1e-12)


async def test_a_call_that_cost_a_little_is_not_shown_as_free(daemon):
    """$0.0000046 is printed as <$0.0001, not $0.0000, which reads as free."""
    model, cost, baseline = ROWS[2]
    daemon.store.record("calls", {"id": "c1", "ts": 2e9, "provider": "p", "model": model, "outcome": "ok",
                                  "input_tokens": 11, "output_tokens": 7, "cost_usd": cost,
                                  "baseline_cost_usd": baseline})
    await daemon.store.flush()
    [row] = [line for line in (await routerctl(daemon, "usage")).splitlines() if line.startswith(model)]
    assert row.split()[-1] == "<$0.0001"
    savings = await routerctl(daemon, "savings")
    assert "spent      <$0.0001 over 1 priced call(s)" in savings
