"""Prometheus metrics for ``GET /metrics``, through ``prometheus_client`` in its text format (the
calls' series are kept by ``routerd.ledger.series``, cheaper to update than the library's own).

Counted as calls end (``CallRecord.finish``): calls and errors by provider and outcome (the error
category: ``upstream_timeout``, ``rate_limited``, ``client_disconnected``, ``stopped``, ...), call
latency, time to first byte and routerd's own overhead as histograms, tokens by kind and cost. Read at
scrape time from the parts (``watch``): client requests, budget pressure and each limit's spent
share, and each provider's breaker state. Labels are provider names and fixed words only, never
model names (clients choose those) so that the series stay bounded. ``Metrics`` is itself the
collector ``generate_latest`` reads (the library's ``Collector`` is a protocol), one per app.

``prometheus_client`` is imported at the first scrape, not with the daemon: with the standard
library modules only it pulls in (``http.server``, ``wsgiref``, ``gzip``, ``mimetypes``, ...) it
held ~4 MB of an idle daemon's RSS that is never scraped (bench/bench_gateway.py, idle RSS). Its
import reads files (its modules, ``/proc``), so the front runs ``load_library`` in a worker thread
before the first scrape renders on the event loop.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from routerd.catalogue.prices import Tokens
from routerd.ledger.series import Counts, Spreads

if TYPE_CHECKING:
    from prometheus_client.core import Metric

CONTENT_TYPE = b"text/plain; version=0.0.4; charset=utf-8"
_LATENCY_S = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
_OVERHEAD_S = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1)
BREAKER_STATES = ("closed", "half_open", "open")


def library_loaded() -> bool:
    """Whether a scrape can render without importing (reading files) first."""
    return "prometheus_client.core" in sys.modules


def load_library() -> None:
    """Import what a scrape uses; for a worker thread (see the module's docstring)."""
    import prometheus_client.core  # noqa: F401  (the package, which render reads, with it)


@dataclass(frozen=True, slots=True)
class State:
    """What a scrape reads from the parts."""

    requests: int
    errors: int
    pressure: float
    limits: Mapping[str, float] = field(default_factory=dict)      # limit name -> spent share
    breakers: Mapping[str, str] = field(default_factory=dict)      # provider -> state


class _Parts:
    """A collector (``prometheus_client.registry.Collector`` is a protocol) of what the parts say."""

    def __init__(self, read: Callable[[], State]) -> None:
        self.read = read

    def collect(self) -> Iterator[Metric]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        state = self.read()
        yield CounterMetricFamily("routerd_requests", "Client requests to the gateway", value=state.requests)
        yield CounterMetricFamily("routerd_request_errors", "Client requests answered with an error",
                                  value=state.errors)
        yield GaugeMetricFamily("routerd_budget_pressure", "Budget pressure the routing policy gets (0..1)",
                                value=state.pressure)
        limits = GaugeMetricFamily("routerd_budget_spent_share", "Spent share of each budget limit",
                                   labels=["limit"])
        for name, share in state.limits.items():
            limits.add_metric([name], share)
        yield limits
        breakers = GaugeMetricFamily("routerd_breaker_state", "1 for each provider's breaker state",
                                     labels=["provider", "state"])
        for provider, now in state.breakers.items():
            for name in BREAKER_STATES:
                breakers.add_metric([provider, name], 1.0 if now == name else 0.0)
        yield breakers


class _Series:
    def __init__(self, series: Sequence[Counts | Spreads]) -> None:
        self.series = series

    def collect(self) -> Iterator[Metric]:
        return (series.family() for series in self.series)


class Metrics:
    def __init__(self) -> None:
        self.calls = Counts("routerd_calls", "Upstream calls by provider and outcome", ["provider", "outcome"])
        self.latency = Spreads("routerd_call_latency_seconds", "Upstream call latency", ["provider"], _LATENCY_S)
        self.ttft = Spreads("routerd_call_ttft_seconds", "Time to the upstream's first byte", ["provider"], _LATENCY_S)
        self.overhead = Spreads("routerd_overhead_seconds", "routerd's time before the call went out", [],
                                _OVERHEAD_S)
        self.tokens = Counts("routerd_tokens", "Tokens by provider and kind", ["provider", "kind"])
        self.cost = Counts("routerd_cost_usd", "Cost of calls in USD", ["provider"])
        self._collectors: list[_Series | _Parts] = [
            _Series((self.calls, self.latency, self.ttft, self.overhead, self.tokens, self.cost))]

    def watch(self, read: Callable[[], State]) -> None:
        """Read the parts' state at each scrape (the app calls this once)."""
        self._collectors.append(_Parts(read))

    def call(self, provider: str, outcome: str, latency_s: float, ttft_s: float | None, overhead_s: float | None,
             tokens: Tokens, cost: float | None) -> None:
        self.calls.labels(provider, outcome).inc()
        self.latency.labels(provider).observe(latency_s)
        if ttft_s is not None:
            self.ttft.labels(provider).observe(ttft_s)
        if overhead_s is not None:
            self.overhead.labels().observe(overhead_s)
        if tokens.input:
            self.tokens.labels(provider, "input").inc(tokens.input)
            self.tokens.labels(provider, "cache_read").inc(tokens.cache_read)
        if tokens.output:
            self.tokens.labels(provider, "output").inc(tokens.output)
        if cost:
            self.cost.labels(provider).inc(cost)

    def overhead_ms(self, quantile: float) -> tuple[int, float | None]:
        """How many overheads were observed, and ``quantile`` of them in milliseconds, estimated
        from the histogram's buckets as Prometheus' ``histogram_quantile`` does (linear within a
        bucket; the highest finite bound when it falls past the last one)."""
        buckets = self.overhead.labels().cumulative()
        total = buckets[-1][1] if buckets else 0.0
        if not total:
            return 0, None
        rank, lower, below = quantile * total, 0.0, 0.0
        for bound, count in buckets:
            if count >= rank:
                if bound == float("inf"):
                    return int(total), lower * 1000
                return int(total), (lower + (bound - lower) * (rank - below) / max(count - below, 1e-12)) * 1000
            lower, below = bound, count
        return int(total), lower * 1000

    def collect(self) -> Iterator[Metric]:
        for collector in self._collectors:
            yield from collector.collect()

    def render(self) -> bytes:
        from prometheus_client import generate_latest

        return generate_latest(self)
