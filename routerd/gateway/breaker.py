"""A per-provider circuit breaker: a pure state machine, with the time passed in as ``now``.

    closed --(``failures`` consecutive failures)--> open --(``reset_s`` elapsed)--> half_open
    half_open --(the one probe succeeds)--> closed;  half_open --(probe fails)--> open

While open, ``allow`` says no, so dispatch moves to the next candidate without waiting on a
provider that is down. In half-open exactly one probe is let through at a time. A Retry-After
from the provider holds the breaker shut at least that long (``trip``).
"""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class BreakerStats:
    state: str
    consecutive_failures: int
    opened: int
    rejected: int
    retry_at: float | None


class Breaker:
    def __init__(self, failures: int = 5, reset_s: float = 30.0) -> None:
        self.threshold = max(1, failures)
        self.reset_s = reset_s
        self.state = "closed"
        self.failures = 0
        self.opened = 0
        self.rejected = 0
        self.retry_at: float | None = None
        self._probing = False

    def allow(self, now: float) -> bool:
        """Whether a call may go to this provider now (in half-open: the single probe)."""
        if self.state == "open" and self.retry_at is not None and now >= self.retry_at:
            self.state, self._probing = "half_open", False
        if self.state == "closed":
            return True
        if self.state == "half_open" and not self._probing:
            self._probing = True
            return True
        self.rejected += 1
        return False

    def success(self, now: float) -> None:
        self.state, self.failures, self.retry_at, self._probing = "closed", 0, None, False

    def failure(self, now: float) -> None:
        """A failure that says the provider is unwell (5xx, timeout, reset), not a client error."""
        self.failures += 1
        if self.state == "half_open" or self.failures >= self.threshold:
            self._open(now + self.reset_s)

    def trip(self, now: float, retry_after_s: float) -> None:
        """The provider said to come back later (429/529 with Retry-After): stay away that long."""
        self.failures += 1
        self._open(now + max(retry_after_s, 0.0))

    def release(self) -> None:
        """A call let through as the half-open probe ended without a verdict (e.g. cancelled)."""
        self._probing = False

    def _open(self, until: float) -> None:
        if self.state != "open":
            self.opened += 1
        self.state, self.retry_at, self._probing = "open", until, False

    def statistics(self) -> BreakerStats:
        return BreakerStats(state=self.state, consecutive_failures=self.failures, opened=self.opened,
                            rejected=self.rejected, retry_at=self.retry_at)
