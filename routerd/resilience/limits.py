"""The reservation engine: limits on requests, tokens (and, for budgets, dollars) per window.

A ``Bucket`` holds one limit (``limit`` of one ``metric`` per ``window``) over one ``Scope`` (a
provider, a set of its models, one of its keys, or everything). Before a call, ``Limiter.reserve``
takes the call's estimated amounts from *every* bucket that covers its target, all or nothing, so
concurrent calls cannot overshoot: what is reserved counts against the limit at once. After the
call, ``Reservation.settle`` replaces the estimate with what was used (or ``cancel`` gives it all
back). A reservation belongs to the window it was made in: one that settles after its window
ended charges nothing to the next window, and while it is out it still holds room in whatever
window is current (a cautious overlap of at most one call).

Limits a provider reports in its rate-limit headers are ``LearnedBucket``s fed by ``learn``: the
provider's remaining allowance, refilling linearly until its reset time (providers replenish
continuously), minus what is reserved since. They sit beside the configured buckets and are
checked the same way.

Budgets reuse all of this: a budget is a bucket over the metric ``usd`` (or ``tokens``) with a
day/week/month window and a scope of everything, a provider or a model; ``pressure`` says how
much of it is spent. Pure: time is passed in as a Unix time (calendar windows need the wall
clock, and long windows are restored from a ``snapshot`` after a restart).

Sharing across instances (DESIGN section 8) fits behind ``Bucket``: a shared store would lease
each instance a slice of ``limit`` for the window and take back what was not used, so N instances
overshoot a shared cap by at most one reservation each; nothing outside this module would change.
"""

import fnmatch
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import tzinfo

from routerd.resilience import windows
from routerd.resilience.windows import Window

EACH_KEY = "each"       # a scope's ``key`` meaning: one bucket per key of the provider's pool


@dataclass(frozen=True, slots=True)
class Target:
    """What a call goes to: a provider, its model, and the key it is sent with."""

    provider: str
    model: str
    key: str | None = None
    project: str | None = None          # the client's project, for budgets (``routerd.budgets``)


@dataclass(frozen=True, slots=True)
class Scope:
    provider: str = "*"                 # "*": every provider
    models: tuple[str, ...] = ()        # globs; empty: every model
    key: str | None = None              # a key's label, EACH_KEY, or None: every key
    project: str | None = None          # a project, or None: every project (and none)

    def covers(self, target: Target) -> bool:
        return self.covers_model(target.provider, target.model) and (
            self.key in (None, EACH_KEY) or self.key == target.key) and (
            self.project is None or self.project == target.project)

    def covers_model(self, provider: str, model: str) -> bool:
        """Whether this scope takes calls to ``provider``'s ``model`` with some key."""
        if self.provider != "*" and self.provider != provider:
            return False
        return not self.models or any(fnmatch.fnmatchcase(model, m) for m in self.models)

    def label(self) -> str:
        models = f"[{','.join(self.models)}]" if self.models else ""
        key = f"@{self.key}" if self.key else ""
        project = f"#{self.project}" if self.project else ""
        return f"{self.provider}{models}{key}{project}"


@dataclass(frozen=True, slots=True)
class BucketStats:
    name: str
    metric: str
    limit: float
    used: float
    reserved: float
    window_end: float | None
    refused: int
    learned: bool


@dataclass(frozen=True, slots=True)
class BucketSnapshot:
    """A bucket's settled use in its window, for the store: long windows survive a restart."""

    name: str
    start: float
    used: float


class Bucket:
    """At most ``limit`` of ``metric`` per ``window`` over ``scope``."""

    learned = False

    def __init__(self, scope: Scope, metric: str, limit: float, window: Window,
                 tz: tzinfo | None = None, name: str | None = None) -> None:
        self.scope, self.metric, self.limit, self.window, self.tz = scope, metric, float(limit), window, tz
        self.name = name or f"{scope.label()}/{metric}/{window}"
        self.start = self.end = -math.inf
        self.used = self.reserved = 0.0
        self.generation = 0
        self.refused = 0

    def roll(self, now: float) -> None:
        """Move to the window holding ``now``; the new one starts empty (reservations still out
        keep their room until they settle)."""
        if now >= self.end or now < self.start:
            self.start, self.end = windows.bounds(self.window, now, self.tz)
            self.used = 0.0
            self.generation += 1

    def room(self, now: float) -> float:
        self.roll(now)
        return self.limit - self.charged(now) - self.reserved

    def charged(self, now: float) -> float:
        return self.used

    def retry_in(self, amount: float, now: float) -> float:
        """Seconds until ``amount`` may fit (a cautious guess when reservations hold the room)."""
        if amount > self.limit - self.reserved:
            return 1.0                      # room comes back as calls in flight settle
        return max(0.0, self.end - now)

    def settle(self, reserved: float, actual: float, generation: int) -> None:
        self.reserved = max(0.0, self.reserved - reserved)
        if generation == self.generation:
            self.used += max(0.0, actual)

    def statistics(self, now: float) -> BucketStats:
        self.roll(now)
        return BucketStats(self.name, self.metric, self.limit, round(self.charged(now), 6),
                           self.reserved, None if math.isinf(self.end) else self.end, self.refused,
                           self.learned)


class LearnedBucket(Bucket):
    """A provider's own limit from its rate-limit headers: ``remaining`` of ``limit`` now, back to
    full by ``reset_at``, refilling linearly in between. Unbounded until first learned."""

    learned = True

    def __init__(self, scope: Scope, metric: str) -> None:
        super().__init__(scope, metric, math.inf, "second", name=f"{scope.label()}/{metric}/learned")
        self.start, self.end = -math.inf, math.inf
        self.observed_at = -math.inf

    def learn(self, limit: float, remaining: float, reset_at: float, now: float) -> None:
        self.limit, self.used = float(limit), max(0.0, float(limit) - float(remaining))
        self.observed_at, self.start, self.end = now, now, max(reset_at, now)
        self.generation += 1

    def roll(self, now: float) -> None:
        if now >= self.end and not math.isinf(self.end):
            self.used, self.end = 0.0, math.inf      # refilled: unknown until the next answer
            self.generation += 1

    def charged(self, now: float) -> float:
        if math.isinf(self.end) or self.end <= self.observed_at:
            return self.used
        return self.used * max(0.0, (self.end - now) / (self.end - self.observed_at))

    def settle(self, reserved: float, actual: float, generation: int) -> None:
        if math.isinf(self.end):             # refilled, window unknown: only calls in flight count
            actual = 0.0
        super().settle(reserved, actual, generation)

    def retry_in(self, amount: float, now: float) -> float:
        free = self.limit - self.reserved - amount
        if free < 0 or self.used <= 0 or math.isinf(self.end):
            return 1.0
        return max(0.0, self.end - free * (self.end - self.observed_at) / self.used - now)


class Reservation:
    """Amounts held in buckets for one call. End it with ``settle`` or ``cancel`` (both are safe
    to repeat: only the first counts)."""

    __slots__ = ("_holds", "amounts")

    def __init__(self, holds: list[tuple[Bucket, int, float]], amounts: Mapping[str, float]) -> None:
        self._holds = holds               # (bucket, its generation then, amount reserved)
        self.amounts = dict(amounts)

    def settle(self, actual: Mapping[str, float]) -> None:
        """Charge what the call used (a metric not in ``actual`` is charged as reserved)."""
        for bucket, generation, amount in self._holds:
            bucket.settle(amount, actual.get(bucket.metric, amount), generation)
        self._holds = []

    def cancel(self) -> None:
        """The call never reached the provider: give everything back."""
        for bucket, generation, amount in self._holds:
            bucket.settle(amount, 0.0, generation)
        self._holds = []
