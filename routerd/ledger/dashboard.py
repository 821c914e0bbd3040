"""The dashboard's data: one typed snapshot built from what the reports, the metrics and the parts
already know (``routerd.ledger.reports``, ``routerd.ledger.metrics``, budgets and breakers), plus
the dashboard's two bounded queries (``routerd.store.dashboard``).

Spend per day is the usage report by day, so the chart and ``routerctl usage --by day`` agree by
construction; models and tiers are the same report by model and by tier.
"""

import math
import time
from typing import NamedTuple

import apsw

from routerd.budgets.budgets import BudgetStats
from routerd.classify.types import TIERS
from routerd.ledger.metrics import Metrics
from routerd.ledger.periods import window_end, window_start
from routerd.ledger.reports import budget_of, budget_spend, usage_of
from routerd.protocol.reports import BreakerState, DashboardData, DecisionRow, Percentiles
from routerd.resilience.breaker import BreakerStats
from routerd.store import dashboard as q
from routerd.store import ledger
from routerd.store.db import transaction
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
                         breakers: dict[str, BreakerStats], metrics: Metrics, compared_with: str = "") -> DashboardData:
    """Everything ``/dashboard`` draws, as of now: its figures read in one transaction, so that a
    call recorded meanwhile is in all of them or in none (the total agrees with the lists);
    ``compared_with`` says what the baseline is, in words."""
    now = time.time()
    start, end = window_start(period, None, now), window_end(period, None, now)
    budget_period = period if period in ("today", "week", "month") else None
    limit = max(1, min(decisions, MAX_DECISIONS))

    def read(conn: apsw.Connection) -> _Reads:
        with transaction(conn):
            return _Reads(days=ledger.usage_groups(conn, start, "day", end),
                          models=ledger.usage_groups(conn, start, "model", end),
                          tiers=ledger.usage_groups(conn, start, "tier", end),
                          latencies=q.recent_latencies(conn, since=now - LATENCY_WINDOW_S, limit=LATENCY_SAMPLE),
                          decisions=q.recent_decisions(conn, limit=limit),
                          spend=budget_spend(conn, budget_period, now))

    got = await store.read(read)
    days = usage_of(period, None, start, "day", got.days, DAYS_SHOWN)
    return DashboardData(
        generated_at=now, period=period, total=days.total, days=days.groups,
        models=usage_of(period, None, start, "model", got.models, GROUPS_SHOWN).groups,
        tiers=usage_of(period, None, start, "tier", got.tiers, GROUPS_SHOWN).groups,
        latency=percentiles(got.latencies.latency_ms), ttft=percentiles(got.latencies.ttft_ms),
        overhead=overhead_percentiles(metrics), breakers=breaker_states(breakers),
        budget=budget_of(budgets, got.spend), decisions=got.decisions, tiers_to=list(TIERS),
        compared_with=compared_with)


class _Reads(NamedTuple):
    days: list[ledger.UsageGroup]
    models: list[ledger.UsageGroup]
    tiers: list[ledger.UsageGroup]
    latencies: q.Latencies
    decisions: list[DecisionRow]
    spend: dict[str, float]
