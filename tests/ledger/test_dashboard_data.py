"""The dashboard's figures that are computed rather than read: nearest-rank percentiles of recent
latencies, and overhead percentiles estimated from the /metrics histogram; and that what it reads
agrees with itself while calls are recorded."""

import time

import msgspec
import pytest

from routerd.catalogue.prices import Tokens
from routerd.ledger.dashboard import overhead_percentiles, percentiles
from routerd.ledger.metrics import Metrics


def test_percentiles_are_nearest_rank():
    """p50/p90/p99 of 1..100 ms are 50, 90 and 99; no samples give no figures."""
    assert percentiles([float(v) for v in range(100, 0, -1)]).p90 == 90.0
    found = percentiles([float(v) for v in range(1, 101)])
    assert (found.n, found.p50, found.p90, found.p99) == (100, 50.0, 90.0, 99.0)
    assert percentiles([]).p50 is None


def test_overhead_percentiles_follow_the_histogram():
    """Ninety overheads of 0.2 ms and ten of 3 ms: the median lies in the 0.1-0.25 ms bucket, the
    99th in the 2.5-5 ms one; with none observed there is no figure."""
    metrics = Metrics()
    assert overhead_percentiles(metrics).p50 is None
    for overhead_s in [0.0002] * 90 + [0.003] * 10:
        metrics.call("p", "ok", 0.5, None, overhead_s, Tokens(), None)
    found = overhead_percentiles(metrics)
    assert found.n == 100
    assert 0.1 < found.p50 <= 0.25 and 2.5 < found.p99 <= 5.0
    assert found.p90 == pytest.approx(0.25)  # the 90th observation closes the 0.25 ms bucket


@pytest.mark.anyio
async def test_a_call_recorded_between_the_dashboards_reads_is_in_all_its_figures_or_none(daemon, monkeypatch):
    """A call committed while the dashboard reads (after its spend per day, before its models,
    tiers and budgets) is in none of this poll's figures and in all of the next one's: the total
    agrees with the lists (it used to count 2 calls by day and 3 by model)."""
    from routerd.store import db, ledger
    from tests.support import connect

    def call(n: int) -> ledger.CallRow:
        return ledger.CallRow(id=f"c{n}", ts=time.time(), provider="openai", model=f"gpt-4.1-{n}", outcome="ok",
                              cost_usd=0.01, baseline_cost_usd=0.05)

    for n in range(2):
        ledger.record_call(daemon.store, call(n))
    await daemon.store.flush()
    read_groups = ledger.usage_groups

    def usage_groups_then_a_call(conn, start, by, end=float("inf")):
        groups = read_groups(conn, start, by, end)
        if by == "day" and not written:  # one call committed by another connection, once
            written.append(True)
            writer = db.connect(daemon.store.path, create=False)
            writer.execute(ledger._INSERT_CALL, msgspec.structs.astuple(call(2)))
            writer.close()
        return groups

    written: list[bool] = []
    monkeypatch.setattr(ledger, "usage_groups", usage_groups_then_a_call)
    async with connect(daemon.socket_path) as client:
        polls = [(await client.call({"type": "dashboard", "period": "today"}))["data"] for _ in range(2)]
    assert written
    for poll, calls in zip(polls, (2, 3)):
        total = poll["total"]
        assert (total["calls"], sum(m["calls"] for m in poll["models"]), sum(t["calls"] for t in poll["tiers"]),
                sum(d["calls"] for d in poll["days"])) == (calls,) * 4
        assert poll["budget"]["spend_usd"]["today"] == pytest.approx(total["cost_usd"])
