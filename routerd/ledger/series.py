"""Counters and histograms kept as plain numbers, read into ``prometheus_client`` families at scrape.

``prometheus_client``'s own ``Counter`` and ``Histogram`` take a lock and check their state on every
update and validate the label values on every ``labels()``: ~700 bytecodes per proxied call here,
as many as the rest of routerd's routing decision. Only the event loop updates these, so a child is
a few floats; ``family()`` gives what the library's classes would expose for the same updates,
series for series and in the same order (a child appears when first used, with the time it was
made as its ``_created``), which ``tests/ledger/test_series.py`` pins against the library itself.
Amounts are never negative (counts, seconds, tokens, dollars). The library is imported at the
first scrape, not here (see ``routerd.ledger.metrics``).
"""

from __future__ import annotations

import math
import time
from bisect import bisect_left
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from prometheus_client.core import Metric


class Count:
    __slots__ = ("created", "value")

    def __init__(self) -> None:
        self.value = 0.0
        self.created = time.time()

    def inc(self, amount: float = 1.0) -> None:
        self.value += amount


class Spread:
    """One histogram series: the count in each bucket (not cumulative), their sum, when made."""

    __slots__ = ("bounds", "counts", "created", "sum")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.counts = [0.0] * len(bounds)
        self.sum = 0.0
        self.created = time.time()

    def observe(self, amount: float) -> None:
        # The first bucket whose upper bound is at least ``amount``, as the library's loop finds it.
        self.counts[bisect_left(self.bounds, amount)] += 1
        self.sum += amount

    def cumulative(self) -> list[tuple[float, float]]:
        """(upper bound, observations at or below it) for every bucket, ``+Inf`` last."""
        found, total = [], 0.0
        for bound, count in zip(self.bounds, self.counts, strict=True):
            total += count
            found.append((bound, total))
        return found


class Counts:
    """A counter with labels: one ``Count`` per label values."""

    def __init__(self, name: str, documentation: str, labelnames: Sequence[str]) -> None:
        self.name, self.documentation, self.labelnames = name, documentation, tuple(labelnames)
        self.children: dict[tuple[str, ...], Count] = {}

    def labels(self, *values: str) -> Count:
        child = self.children.get(values)
        if child is None:
            child = self.children[values] = Count()
        return child

    def family(self) -> Metric:
        from prometheus_client.core import CounterMetricFamily

        family = CounterMetricFamily(self.name, self.documentation, labels=self.labelnames)
        for values, child in self.children.items():
            family.add_metric(values, child.value, created=child.created)
        return family


class Spreads:
    """A histogram, with labels or (``labelnames`` empty) as its one series from the start."""

    def __init__(self, name: str, documentation: str, labelnames: Sequence[str], buckets: Sequence[float]) -> None:
        self.name, self.documentation, self.labelnames = name, documentation, tuple(labelnames)
        self.bounds = (*buckets, math.inf)
        self.children: dict[tuple[str, ...], Spread] = {}
        if not self.labelnames:
            self.labels()

    def labels(self, *values: str) -> Spread:
        child = self.children.get(values)
        if child is None:
            child = self.children[values] = Spread(self.bounds)
        return child

    def family(self) -> Metric:
        from prometheus_client.core import HistogramMetricFamily
        from prometheus_client.utils import floatToGoString

        family = HistogramMetricFamily(self.name, self.documentation, labels=self.labelnames)
        for values, child in self.children.items():
            family.add_metric(values, [(floatToGoString(b), n) for b, n in child.cumulative()], child.sum)
            family.add_sample(self.name + "_created", dict(zip(self.labelnames, values, strict=True)), child.created)
        return family
