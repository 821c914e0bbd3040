"""The set of buckets one daemon keeps, and the one place calls reserve from them.

``Limiter.reserve(target, amounts, now)`` finds every bucket that covers the target (configured
ones, one per key for a scope with ``key = "each"``, and those learned from the provider's
headers for exactly this target) and reserves from all of them or from none. A reload keeps each
bucket whose name is unchanged (same scope, metric and window) with its counts, so reservations
in flight settle where they were made. Pure: time is passed in.
"""

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from routerd.resilience.limits import (EACH_KEY, Bucket, BucketSnapshot, BucketStats, LearnedBucket, Reservation,
                                       Scope, Target)
from routerd.resilience.refusal import Refusal
from routerd.resilience.windows import Window

# Windows whose counts are kept in the store across a restart: losing a minute's count costs a
# minute; losing a day's (or a month's budget) lets a restart overshoot it.
PERSISTED: tuple[Window, ...] = ("hour", "day", "week", "month")

# Learned buckets are made per target seen; forget refilled ones past this many.
MAX_LEARNED = 1024
# Lookups are cached per target; clients choose model names, so the caches start over past this.
MAX_CACHED = 4096


@dataclass(frozen=True, slots=True)
class Observation:
    """One limit a provider reported: ``remaining`` of ``limit`` of ``metric`` until ``reset_at``."""

    metric: str
    limit: float
    remaining: float
    reset_at: float


class Limiter:
    def __init__(self, buckets: Iterable[Bucket] = ()) -> None:
        self._buckets: dict[str, Bucket] = {}        # configured, and per-key children
        self._templates: dict[str, Bucket] = {}      # scopes with key = "each"
        self._learned: dict[tuple[Target, str], LearnedBucket] = {}
        self._covering: dict[Target, tuple[Bucket, ...]] = {}
        self._metrics: dict[tuple[str, str], frozenset[str]] = {}
        self.replace(buckets)

    def replace(self, buckets: Iterable[Bucket]) -> None:
        """The configured buckets from a (re)loaded config. A bucket whose name is unchanged keeps
        its object and counts (only its limit and time zone change); others start empty."""
        fresh: dict[str, Bucket] = {}
        templates: dict[str, Bucket] = {}
        for bucket in buckets:
            table = templates if bucket.scope.key == EACH_KEY else fresh
            old = self._templates.get(bucket.name) if table is templates else self._buckets.get(bucket.name)
            if old is not None:
                old.limit, old.tz = bucket.limit, bucket.tz
                bucket = old
            table[bucket.name] = bucket
        for name, child in self._buckets.items():  # per-key children of templates that remain
            base, sep, _ = name.partition("|")
            if sep and base in templates:
                child.limit, child.tz = templates[base].limit, templates[base].tz
                fresh[name] = child
        self._buckets, self._templates = fresh, templates
        self._forget_coverage()

    # --- reserving -------------------------------------------------------------------------------

    def reserve(self, target: Target, amounts: Mapping[str, float], now: float) -> Reservation | Refusal:
        """Hold ``amounts`` (metric -> estimate) in every bucket covering ``target``, or none."""
        buckets = self.covering(target)
        for bucket in buckets:
            amount = amounts.get(bucket.metric, 0.0)
            if amount <= 0:
                continue
            if amount > bucket.limit:
                bucket.refused += 1
                return Refusal(bucket.name, f"one call needs {amount:g} {bucket.metric}, more than the "
                               f"limit of {bucket.limit:g}", math.inf, rate_limited=True, never=True, amount=amount)
            if bucket.room(now) < amount:
                bucket.refused += 1
                return Refusal(bucket.name, _reached(bucket), bucket.retry_in(amount, now), rate_limited=True,
                               amount=amount)
        holds = []
        for bucket in buckets:
            amount = amounts.get(bucket.metric, 0.0)
            if amount > 0:
                bucket.reserved += amount
                holds.append((bucket, bucket.generation, amount))
        return Reservation(holds, amounts)

    def spent(self, target: Target, now: float) -> Refusal | None:
        """A bucket covering ``target`` whose allowance is used up, not merely held by calls in
        flight (no request fits; of another metric, nothing is left): ``reserve`` refuses every
        call to the target until it refills. None when there is none. For the routing view."""
        for bucket in self.covering(target):
            if not 0 < bucket.limit < math.inf:
                continue
            least = 1.0 if bucket.metric == "requests" else 0.0
            left = bucket.room(now) + bucket.reserved
            if left <= 0 or left < least:
                return Refusal(bucket.name, _reached(bucket), bucket.retry_in(least, now), rate_limited=True)
        return None

    def spent_providers(self, now: float) -> set[str]:
        """The providers (``*``: any) some bucket's used-up allowance may keep out now, for
        ``spent`` to be asked about only where it may say so."""
        found = set()
        for bucket in (*self._buckets.values(), *self._learned.values()):
            if 0 < bucket.limit < math.inf and bucket.room(now) + bucket.reserved < 1.0:
                found.add(bucket.scope.provider)
        return found

    def covering(self, target: Target) -> tuple[Bucket, ...]:
        cached = self._covering.get(target)
        if cached is not None:
            return cached
        if len(self._covering) >= MAX_CACHED:
            self._covering.clear()
        found = [b for b in self._buckets.values() if "|" not in b.name and b.scope.covers(target)]
        if target.key is not None:
            found += [self._child(t, target.key) for t in self._templates.values() if t.scope.covers(target)]
        found += [b for (t, _), b in self._learned.items() if t == target]
        self._covering[target] = result = tuple(found)
        return result

    def metrics_for(self, provider: str, model: str) -> frozenset[str]:
        """The metrics that some bucket on ``provider``'s ``model`` counts, with any key (so that
        a caller estimates tokens only when something will count them)."""
        found = self._metrics.get((provider, model))
        if found is None:
            if len(self._metrics) >= MAX_CACHED:
                self._metrics.clear()
            configured = [b for b in (*self._buckets.values(), *self._templates.values())
                          if b.scope.covers_model(provider, model)]
            learned = [b for (t, _), b in self._learned.items() if (t.provider, t.model) == (provider, model)]
            found = self._metrics[(provider, model)] = frozenset(b.metric for b in (*configured, *learned))
        return found

    def _forget_coverage(self) -> None:
        self._covering.clear()
        self._metrics.clear()

    def _child(self, template: Bucket, key: str) -> Bucket:
        name = f"{template.name}|{key}"
        child = self._buckets.get(name)
        if child is None:
            scope = Scope(template.scope.provider, template.scope.models, key)
            child = self._buckets[name] = Bucket(scope, template.metric, template.limit, template.window,
                                                 template.tz, name=name)
        return child

    # --- learning from providers ----------------------------------------------------------------

    def learn(self, target: Target, observations: Iterable[Observation], now: float) -> None:
        """Limits the provider reported on an answer for ``target`` (``ratelimit_headers``)."""
        for seen in observations:
            bucket = self._learned.get((target, seen.metric))
            if bucket is None:
                if len(self._learned) >= MAX_LEARNED:
                    self._forget_refilled(now)
                scope = Scope(target.provider, (target.model,), target.key)
                bucket = self._learned[(target, seen.metric)] = LearnedBucket(scope, seen.metric)
                self._forget_coverage()
            bucket.learn(seen.limit, seen.remaining, seen.reset_at, now)

    def _forget_refilled(self, now: float) -> None:
        for key, bucket in list(self._learned.items()):
            bucket.roll(now)
            if not bucket.reserved and math.isinf(bucket.end):
                del self._learned[key]
        self._forget_coverage()

    # --- reading ---------------------------------------------------------------------------------

    def headroom(self, target: Target, now: float) -> float:
        """0..1: the smallest share of room left in any bucket covering ``target`` (1: no limit)."""
        shares = [max(0.0, b.room(now)) / b.limit for b in self.covering(target)
                  if 0 < b.limit < math.inf]
        return min(1.0, min(shares, default=1.0))

    def snapshot(self, now: float) -> list[BucketSnapshot]:
        """The use of every bucket over a long window, for the store."""
        taken = []
        for bucket in self._buckets.values():
            if bucket.window in PERSISTED:
                bucket.roll(now)
                if bucket.used > 0:
                    taken.append(BucketSnapshot(bucket.name, bucket.start, bucket.used))
        return taken

    def restore(self, snapshots: Iterable[BucketSnapshot], now: float) -> int:
        """Counts saved before a restart, for the windows still current; how many were taken."""
        restored = 0
        for snap in snapshots:
            template_name, sep, key = snap.name.partition("|")
            template = self._templates.get(template_name) if sep else None
            bucket = self._child(template, key) if template is not None else self._buckets.get(snap.name)
            if bucket is None or bucket.window not in PERSISTED:
                continue
            bucket.roll(now)
            if bucket.start == snap.start:
                bucket.used = max(bucket.used, snap.used)
                restored += 1
        self._forget_coverage()
        return restored

    def statistics(self, now: float) -> list[BucketStats]:
        buckets = [*self._buckets.values(), *self._learned.values()]
        return [b.statistics(now) for b in buckets if not (b.learned and math.isinf(b.limit))]


def _reached(bucket: Bucket) -> str:
    per = "reported by the provider" if bucket.learned else f"per {bucket.window}"
    return f"{bucket.metric} limit of {bucket.limit:g} {per} reached"
