"""The dashboard's figures that are computed rather than read: nearest-rank percentiles of recent
latencies, and overhead percentiles estimated from the /metrics histogram."""

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
