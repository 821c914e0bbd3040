"""The dashboard's data: one typed snapshot built from what the reports, the metrics and the parts
already know (``routerd.ledger.reports``, ``routerd.ledger.metrics``, budgets and breakers), plus
the dashboard's two bounded queries (``routerd.store.dashboard``).

Spend per day is the usage report by day, so the chart and ``routerctl usage --by day`` agree by
construction; models and tiers are the same report by model and by tier.
"""

import functools
import math
import time

from routerd.budgets.budgets import BudgetStats
from routerd.classify.types import TIERS
from routerd.ledger.metrics import Metrics
from routerd.ledger.reports import budget_report, usage_report
from routerd.protocol.reports import BreakerState, DashboardData, Percentiles
from routerd.resilience.breaker import BreakerStats
from routerd.store import dashboard as q
from routerd.store.store import Store

MAX_DECISIONS = 200
LATENCY_WINDOW_S = 86_400.0
# Percentiles over at most this many of the latest calls: a bounded read, and at the dashboard's
# resolution the 99th percentile of 20,000 calls is as good as of a million.
LATENCY_SAMPLE = 20_000
DAYS_SHOWN = 62
GROUPS_SHOWN = 12
_QUANTILES = (0.5, 0.9, 0.99)


def percentiles(samples: list[float]) -> Percentiles:
    """Nearest-rank percentiles of ``samples``."""
    if not samples:
        return Percentiles(n=0)
    ordered = sorted(samples)
    at = [round(ordered[max(0, math.ceil(q * len(ordered)) - 1)], 3) for q in _QUANTILES]
    return Percentiles(n=len(ordered), p50=at[0], p90=at[1], p99=at[2])


def overhead_percentiles(metrics: Metrics) -> Percentiles:
    """routerd's own overhead per call since the daemon started, from the ``/metrics`` histogram."""
    n, p50 = metrics.overhead_ms(0.5)
    if not n:
        return Percentiles(n=0)
    return Percentiles(n=n, p50=_ms(p50), p90=_ms(metrics.overhead_ms(0.9)[1]),
                       p99=_ms(metrics.overhead_ms(0.99)[1]))


def _ms(value: float | None) -> float | None:
    return round(value, 3) if value is not None else None


def breaker_states(providers: dict[str, BreakerStats]) -> list[BreakerState]:
    return [BreakerState(provider=name, state=b.state, recent_failure_rate=round(b.recent_failure_rate, 3),
                         retry_at=b.retry_at) for name, b in sorted(providers.items())]


async def dashboard_data(store: Store, period: str, decisions: int, budgets: BudgetStats,
                         breakers: dict[str, BreakerStats], metrics: Metrics) -> DashboardData:
    """Everything ``/dashboard`` draws, as of now."""
    days = await usage_report(store, period=period, group_by="day", limit=DAYS_SHOWN)
    models = await usage_report(store, period=period, group_by="model", limit=GROUPS_SHOWN)
    tiers = await usage_report(store, period=period, group_by="tier", limit=GROUPS_SHOWN)
    now = time.time()
    latencies = await store.read(functools.partial(q.recent_latencies, since=now - LATENCY_WINDOW_S,
                                                   limit=LATENCY_SAMPLE))
    recent = await store.read(functools.partial(q.recent_decisions, limit=max(1, min(decisions, MAX_DECISIONS))))
    return DashboardData(
        generated_at=now, period=period, total=days.total, days=days.groups, models=models.groups,
        tiers=tiers.groups, latency=percentiles(latencies.latency_ms), ttft=percentiles(latencies.ttft_ms),
        overhead=overhead_percentiles(metrics), breakers=breaker_states(breakers),
        budget=await budget_report(store, budgets, period if period in ("today", "week", "month") else None),
        decisions=recent,
        tiers_to=list(TIERS))
