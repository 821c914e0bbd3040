"""The calls' metrics expose what prometheus_client's own Counter and Histogram would for the same
calls: the same series in the same order, bucket counts, sums and created times."""

import time

import pytest
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from routerd.catalogue.prices import Tokens
from routerd.ledger.metrics import _LATENCY_S, _OVERHEAD_S, Metrics

CALLS = [  # provider, outcome, latency, ttft, overhead, tokens, cost
    ("openai", "ok", 0.3, 0.1, 0.0002, Tokens(input=120, output=40, cache_read=20), 0.0012),
    ("ollama", "ok", 2.5, None, 0.0001, Tokens(input=50), None),
    ("openai", "upstream_timeout", 30.0, None, None, Tokens(), None),
    ("openai", "ok", 0.05, 0.05, 0.003, Tokens(output=7), 0.0),
    ("anthropic", "rate_limited", 500.0, 0.2, 0.25, Tokens(input=1, output=1), 2.0),
]


def _library(calls: list) -> bytes:
    """The same calls counted by prometheus_client's classes, as ``Metrics`` once did."""
    r = CollectorRegistry(auto_describe=False)
    counted = Counter("routerd_calls", "Upstream calls by provider and outcome", ["provider", "outcome"], registry=r)
    latency = Histogram("routerd_call_latency_seconds", "Upstream call latency", ["provider"], buckets=_LATENCY_S,
                        registry=r)
    ttft = Histogram("routerd_call_ttft_seconds", "Time to the upstream's first byte", ["provider"],
                     buckets=_LATENCY_S, registry=r)
    overhead = Histogram("routerd_overhead_seconds", "routerd's time before the call went out", buckets=_OVERHEAD_S,
                         registry=r)
    tokens = Counter("routerd_tokens", "Tokens by provider and kind", ["provider", "kind"], registry=r)
    cost = Counter("routerd_cost_usd", "Cost of calls in USD", ["provider"], registry=r)
    for provider, outcome, latency_s, ttft_s, overhead_s, used, usd in calls:
        counted.labels(provider, outcome).inc()
        latency.labels(provider).observe(latency_s)
        if ttft_s is not None:
            ttft.labels(provider).observe(ttft_s)
        if overhead_s is not None:
            overhead.observe(overhead_s)
        if used.input:
            tokens.labels(provider, "input").inc(used.input)
            tokens.labels(provider, "cache_read").inc(used.cache_read)
        if used.output:
            tokens.labels(provider, "output").inc(used.output)
        if usd:
            cost.labels(provider).inc(usd)
    return generate_latest(r)


@pytest.mark.parametrize("count", [0, 1, len(CALLS)])
def test_exposition_is_the_librarys(count, monkeypatch):
    """No calls, one, several: /metrics' call series are byte for byte what prometheus_client gives."""
    _tick_from_zero(monkeypatch)
    metrics = Metrics()
    for call in CALLS[:count]:
        metrics.call(*call)
    ours = metrics.render()
    _tick_from_zero(monkeypatch)
    assert ours == _library(CALLS[:count])


def _tick_from_zero(monkeypatch) -> None:
    """A clock that says 1, 2, 3, ...: each series' created time is the order it was made in."""
    clock = iter(range(1, 1000))
    monkeypatch.setattr(time, "time", lambda: float(next(clock)))


def test_parts_watched_after_a_scrape_are_read():
    """The library is imported at the first scrape (tests/test_imports.py: the daemon does not
    import it before); parts watched after a scrape are still read."""
    from routerd.ledger.metrics import State

    metrics = Metrics()
    assert b"routerd_overhead_seconds_count 0.0" in metrics.render()
    metrics.watch(lambda: State(requests=3, errors=1, pressure=0.25))
    text = metrics.render().decode()
    assert "routerd_requests_total 3.0" in text and "routerd_budget_pressure 0.25" in text
