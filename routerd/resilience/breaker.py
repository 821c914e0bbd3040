"""One circuit breaker: a pure state machine over the outcomes of calls, with time passed in.

    state      event                                  next
    closed     trip (N failures in a row, or the      open       (for the cool-down)
               failure rate over the last calls)
    open       cooled (the cool-down has passed)      half_open  (one probe at a time)
    half_open  success of the probe                   closed     (cool-down back to its base)
    half_open  failure of the probe                   open       (cool-down doubled, to a cap)
    any        reset (an operator's word)             closed

The table ``_NEXT`` is the whole machine; anything not in it leaves the state alone. In half-open
exactly one probe is let through; whoever was let through must end it with ``success``,
``failure`` or ``release`` (cancelled, a client error, a rate limit: no verdict), whatever happens.

Each call carries the breaker's ``generation`` from when it was admitted. A verdict from an older
generation (a call that started before the breaker last changed state) is counted in the
statistics but moves nothing: a slow success from before an outage must not close a breaker that
opened since, and a slow failure must not reopen one that a probe just closed.
"""

from collections import deque
from dataclasses import dataclass
from typing import Literal

State = Literal["closed", "open", "half_open"]
Event = Literal["trip", "cooled", "success", "failure", "reset"]

_NEXT: dict[tuple[State, Event], State] = {
    ("closed", "trip"): "open",
    ("open", "cooled"): "half_open",
    ("half_open", "success"): "closed",
    ("half_open", "failure"): "open",
    ("open", "reset"): "closed",
    ("half_open", "reset"): "closed",
}


DEFAULT_MAX_COOLDOWN_S = 300.0
MIN_CLOSED_HEALTH = 0.1


@dataclass(frozen=True, slots=True)
class BreakerSettings:
    failures: int = 5              # consecutive failures that open the circuit
    failure_rate: float = 0.5      # or this share of failures among the last ``window`` calls,
    window: int = 20               # once at least ``min_calls`` of them have ended
    min_calls: int = 10
    cooldown_s: float = 30.0       # open -> half-open; doubled by each failed probe, up to
    max_cooldown_s: float = DEFAULT_MAX_COOLDOWN_S  # this


@dataclass(frozen=True, slots=True)
class BreakerStats:
    state: State
    consecutive_failures: int
    recent_failure_rate: float
    calls: int
    failures: int
    opened: int
    rejected: int
    retry_at: float | None         # open: when the next probe may go
    cooldown_s: float              # the current cool-down (escalated by failed probes)
    last_failure: str


class Breaker:
    def __init__(self, settings: BreakerSettings = BreakerSettings()) -> None:
        self.settings = settings
        self.state: State = "closed"
        self.generation = 0
        self.consecutive = 0
        self.recent: deque[bool] = deque(maxlen=max(1, settings.window))  # True: a failure
        self.calls = self.failures = self.opened = self.rejected = 0
        self.retry_at: float | None = None
        self.cooldown_s = settings.cooldown_s
        self.last_failure = ""
        self.opened_because = ""
        self._probing = False

    def reconfigure(self, settings: BreakerSettings) -> None:
        """New thresholds from a reloaded config; the state and its counters stay."""
        if settings != self.settings:
            self.settings = settings
            self.recent = deque(self.recent, maxlen=max(1, settings.window))
            self.cooldown_s = (settings.cooldown_s if self.state == "closed"
                               else min(self.cooldown_s, settings.max_cooldown_s))

    # --- admission -------------------------------------------------------------------------------

    def allow(self, now: float) -> bool:
        """Whether a call may go now. In half-open the first caller becomes the probe (see
        ``is_probe``) and must end it; everyone else is refused until it ends."""
        if self.state == "open" and self.retry_at is not None and now >= self.retry_at:
            self._move("cooled")
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

    def unavailable_for(self, now: float) -> tuple[str, float] | None:
        """Why no call may go now and for how many more seconds, or None when one may. Pure."""
        if self.state == "open" and self.retry_at is not None and now < self.retry_at:
            return f"circuit open: {self.opened_because}", self.retry_at - now
        if self.state == "half_open" and self._probing:
            return "circuit half-open, its probe call is in flight", 1.0
        return None

    def health(self, now: float) -> float:
        """0..1 for balancing: 0 (cannot take a call) only while open or while the probe is out;
        a little while half-open; closed, the share of recent calls that succeeded, but never
        below ``MIN_CLOSED_HEALTH``: a closed circuit takes calls, and a target that got none
        after a failure could never show that it recovered."""
        if self.unavailable_for(now) is not None:
            return 0.0
        if self.state != "closed":
            return 0.25
        return max(MIN_CLOSED_HEALTH, 1.0 - (sum(self.recent) / len(self.recent) if self.recent else 0.0))

    # --- verdicts --------------------------------------------------------------------------------

    def success(self, now: float, generation: int | None = None) -> None:
        self.calls += 1
        if generation is not None and generation != self.generation:
            return
        self.consecutive = 0
        self.recent.append(False)
        if self._move("success"):
            self.cooldown_s = self.settings.cooldown_s

    def failure(self, now: float, why: str = "", generation: int | None = None) -> None:
        """A failure that says the target is unwell (5xx, timeout, reset), not a client error."""
        self.calls += 1
        self.failures += 1
        self.last_failure = why or self.last_failure
        if generation is not None and generation != self.generation:
            return
        self.consecutive += 1
        self.recent.append(True)
        if self.state == "half_open":
            self.cooldown_s = min(self.cooldown_s * 2, self.settings.max_cooldown_s)
            self._open(now, "failure")
        elif self._tripped():
            self._open(now, "trip")

    def release(self, generation: int | None = None) -> None:
        """The half-open probe ended without a verdict (cancelled, a client error, a rate limit)."""
        if generation is None or generation == self.generation:
            self._probing = False

    def reset(self) -> bool:
        """Close the circuit now (``routerctl breaker reset``); whether it was not closed."""
        changed = self._move("reset")
        self.consecutive, self.retry_at, self.cooldown_s = 0, None, self.settings.cooldown_s
        self.recent.clear()
        return changed

    # --- internals -------------------------------------------------------------------------------

    def _tripped(self) -> bool:
        s = self.settings
        if self.consecutive >= max(1, s.failures):
            return True
        ended = len(self.recent)
        return ended >= max(1, s.min_calls) and sum(self.recent) / ended >= s.failure_rate

    def _open(self, now: float, event: Event) -> None:
        because = "its probe call failed" if event == "failure" else self._trip_reason()
        if self._move(event):
            self.opened += 1
            self.retry_at = now + self.cooldown_s
            self.opened_because = because + (f" (last: {self.last_failure})" if self.last_failure else "")

    def _move(self, event: Event) -> bool:
        new = _NEXT.get((self.state, event))
        if new is None:
            return False
        self.state, self._probing = new, False
        self.generation += 1
        if new == "closed":
            self.retry_at = None
            self.recent.clear()
        return True

    def _trip_reason(self) -> str:
        if self.consecutive >= self.settings.failures:
            return f"{self.consecutive} failures in a row"
        return f"{sum(self.recent)} of the last {len(self.recent)} calls failed"

    def statistics(self, now: float | None = None) -> BreakerStats:
        """A snapshot; at ``now``, an open circuit whose cool-down has passed is shown as the next
        call finds it, half-open (it only moves when a call comes, and an idle one would say
        "open, probe in -120 s" for as long as none does)."""
        rate = sum(self.recent) / len(self.recent) if self.recent else 0.0
        state, retry_at = self.state, self.retry_at
        if state == "open" and now is not None and retry_at is not None and now >= retry_at:
            state, retry_at = "half_open", None
        return BreakerStats(state=state, consecutive_failures=self.consecutive,
                            recent_failure_rate=round(rate, 3), calls=self.calls, failures=self.failures,
                            opened=self.opened, rejected=self.rejected, retry_at=retry_at,
                            cooldown_s=self.cooldown_s, last_failure=self.last_failure)
