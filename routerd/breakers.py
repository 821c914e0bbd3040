"""Circuit breakers, one per provider: each a pure state machine, with the time passed in as ``now``.

    closed --(``failures`` consecutive failures)--> open --(``reset_s`` elapsed)--> half_open
    half_open --(the one probe succeeds)--> closed;  half_open --(probe fails)--> open
    half_open --(the probe ends without a verdict: cancelled, a client error)--> half_open, free

While open, ``allow`` says no, so dispatch moves to the next candidate without waiting on a
provider that is down. In half-open exactly one probe is let through at a time; whoever was let
through as the probe must end it with ``success``, ``failure`` or ``release``, whatever happens.

A rate limit (429) is not a fault: the provider is healthy and said when to come back. It never
counts as a failure; ``rate_limited`` keeps calls away until its Retry-After has passed (a cool-down
beside the state machine), and the breaker's state is left as it was.
"""

from collections.abc import Mapping
from dataclasses import dataclass

# A 429 without Retry-After: stay away this long (seconds) before trying that provider again.
DEFAULT_COOLDOWN_S = 1.0


@dataclass(frozen=True, slots=True)
class BreakerStats:
    state: str
    consecutive_failures: int
    opened: int
    rejected: int
    retry_at: float | None
    rate_limited: int = 0
    cooldown_until: float | None = None


class Breaker:
    def __init__(self, failures: int = 5, reset_s: float = 30.0) -> None:
        self.threshold = max(1, failures)
        self.reset_s = reset_s
        self.state = "closed"
        self.failures = 0
        self.opened = 0
        self.rejected = 0
        self.rate_limits = 0
        self.retry_at: float | None = None
        self.cooldown_until: float | None = None
        self._probing = False

    def allow(self, now: float) -> bool:
        """Whether a call may go to this provider now (in half-open: the single probe; the caller
        then holds the probe, see ``is_probe``)."""
        if self.cooldown_until is not None:
            if now < self.cooldown_until:
                self.rejected += 1
                return False
            self.cooldown_until = None
        if self.state == "open" and self.retry_at is not None and now >= self.retry_at:
            self.state, self._probing = "half_open", False
        if self.state == "closed":
            return True
        if self.state == "half_open" and not self._probing:
            self._probing = True
            return True
        self.rejected += 1
        return False

    @property
    def is_probe(self) -> bool:
        """Right after ``allow`` said yes: whether that call is the half-open probe."""
        return self.state == "half_open" and self._probing

    def success(self, now: float) -> None:
        self.state, self.failures, self.retry_at, self._probing = "closed", 0, None, False

    def failure(self, now: float) -> None:
        """A failure that says the provider is unwell (5xx, timeout, reset), not a client error."""
        self.failures += 1
        if self.state == "half_open" or self.failures >= self.threshold:
            self._open(now + self.reset_s)

    def rate_limited(self, now: float, retry_after_s: float | None) -> None:
        """The provider answered 429: no call until its Retry-After (or a second) has passed. The
        probe, if this was it, ends without a verdict."""
        self.rate_limits += 1
        until = now + max(retry_after_s if retry_after_s is not None else DEFAULT_COOLDOWN_S, 0.0)
        self.cooldown_until = max(self.cooldown_until or 0.0, until)
        self.release()

    def release(self) -> None:
        """The half-open probe ended without a verdict (cancelled, a client error, a rate limit)."""
        self._probing = False

    def unavailable_for(self, now: float) -> tuple[str, float] | None:
        """Why no call may go now and for how many more seconds, or None when one may: for
        error messages and Retry-After. Pure: it changes nothing."""
        if self.cooldown_until is not None and now < self.cooldown_until:
            return "rate limited by the provider", self.cooldown_until - now
        if self.state == "open" and self.retry_at is not None and now < self.retry_at:
            return f"circuit open after {self.failures} failure(s)", self.retry_at - now
        if self.state == "half_open" and self._probing:
            return "circuit half-open, its probe call is in flight", 1.0
        return None

    def _open(self, until: float) -> None:
        if self.state != "open":
            self.opened += 1
        self.state, self.retry_at, self._probing = "open", until, False

    def statistics(self) -> BreakerStats:
        return BreakerStats(state=self.state, consecutive_failures=self.failures, opened=self.opened,
                            rejected=self.rejected, retry_at=self.retry_at, rate_limited=self.rate_limits,
                            cooldown_until=self.cooldown_until)


class Breakers:
    """The breaker of each provider, by name. A provider keeps its breaker across reloads while its
    config stays the same; a changed or new one starts closed. Dispatch asks and tells it; the
    routing core reads it to rank healthy providers first. Only the event loop touches it."""

    def __init__(self) -> None:
        self._breakers: dict[str, Breaker] = {}
        self._made_for: dict[str, object] = {}

    def adopt(self, providers: Mapping[str, object], failures: int, reset_s: float) -> None:
        """Breakers for ``providers`` (name -> its config value): new ones for those that changed.
        Breakers of removed providers stay (in-flight calls may still report to them)."""
        for name, provider in providers.items():
            if self._made_for.get(name) != provider:
                self._breakers[name] = Breaker(failures, reset_s)
                self._made_for[name] = provider

    def get(self, name: str) -> Breaker | None:
        return self._breakers.get(name)

    def __getitem__(self, name: str) -> Breaker:
        return self._breakers[name]

    def unavailable_for(self, name: str, now: float) -> tuple[str, float] | None:
        """Why no call may go to ``name`` now and for how long, or None (also for an unknown name)."""
        breaker = self._breakers.get(name)
        return breaker.unavailable_for(now) if breaker is not None else None
