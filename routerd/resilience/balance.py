"""Balancing: in what order an alias's members are tried, by its strategy.

    ordered      as listed
    round-robin  each call starts one further along the list
    weighted     smooth weighted round-robin (as nginx does): weights 5,1,1 give a a b a c a a,
                 interleaved, never runs of one member
    quota-aware  the same, over each weight scaled by the member's bucket headroom and health
    least-busy   fewest calls in flight per unit of weight first
    latency      lowest moving average of time to first token first (unmeasured ones first,
                 so that they get measured)
    auto         smooth weighted round-robin over weight x headroom x health x speed, divided by
                 one plus the calls in flight: quota, health, speed and load all count, and a
                 member that is better on all of them gets most, not all, of the calls

Whatever the strategy, members that cannot take a call now (health 0: circuit open or cooling
down) go last, in their listed order; they stay in the list so that dispatch can name them. The
first member is the choice; the rest are the alias's own fallbacks, best first. Pure: the caller
passes each member's ``Signals``; the balancer keeps only its turn and its smooth weights.
"""

import typing
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

Strategy = Literal["ordered", "round-robin", "weighted", "quota-aware", "least-busy", "latency", "auto"]
STRATEGIES: tuple[Strategy, ...] = typing.get_args(Strategy)

DEFAULT_EWMA_ALPHA = 0.3   # weight of the newest sample: about the last 5 calls dominate


@dataclass(frozen=True, slots=True)
class Signals:
    """What a balancer reads about one member for one call."""

    health: float = 1.0            # 0..1; 0: cannot take a call now
    headroom: float = 1.0          # 0..1: the least room left in its rate-limit buckets
    in_flight: int = 0
    ttft_s: float | None = None    # moving average of time to first token; None: not measured


class Balancer:
    def __init__(self, strategy: Strategy, weights: Sequence[float]) -> None:
        self.strategy = strategy
        self.weights = tuple(float(w) for w in weights)
        self._current = [0.0] * len(self.weights)      # smooth weighted round-robin state
        self._turn = 0
        self.picks = [0] * len(self.weights)

    def order(self, signals: Sequence[Signals]) -> list[int]:
        """Member indexes in the order to try them for this call."""
        if len(signals) != len(self.weights):
            raise ValueError(f"{len(signals)} signals for {len(self.weights)} members")
        able = [i for i, s in enumerate(signals) if s.health > 0]
        unable = [i for i, s in enumerate(signals) if s.health <= 0]
        ranked = self._rank(able, signals) if able else []
        if ranked:
            self.picks[ranked[0]] += 1
        return ranked + unable

    def _rank(self, able: list[int], signals: Sequence[Signals]) -> list[int]:
        strategy, turn = self.strategy, self._turn
        self._turn += 1
        if strategy == "ordered":
            return able
        if strategy == "round-robin":
            start = turn % len(able)
            return able[start:] + able[:start]
        rotation = {i: (n - turn) % len(able) for n, i in enumerate(able)}  # ties take turns
        if strategy == "least-busy":
            return sorted(able, key=lambda i: (signals[i].in_flight / self.weights[i], rotation[i]))
        if strategy == "latency":
            return sorted(able, key=lambda i: (_ttft(signals[i]), rotation[i]))
        return self._smooth(able, self._effective(able, signals))

    def _effective(self, able: list[int], signals: Sequence[Signals]) -> dict[int, float]:
        if self.strategy == "weighted":
            return {i: self.weights[i] for i in able}
        if self.strategy == "quota-aware":
            return {i: self.weights[i] * signals[i].headroom * signals[i].health for i in able}
        measured = [s.ttft_s for i in able if (s := signals[i]).ttft_s]
        fastest = min(measured, default=None)
        effective = {}
        for i in able:
            s = signals[i]
            speed = fastest / s.ttft_s if fastest and s.ttft_s else 1.0
            effective[i] = self.weights[i] * s.headroom * s.health * speed / (1 + s.in_flight)
        return effective

    def _smooth(self, able: list[int], effective: dict[int, float]) -> list[int]:
        """nginx's smooth weighted round-robin: every member gains its weight, the one with the
        most is chosen and pays back the total. The rest follow by weight."""
        live = [i for i in able if effective[i] > 0]
        if not live:                                    # no headroom anywhere: list order
            return able
        total = sum(effective[i] for i in live)
        for i in live:
            self._current[i] += effective[i]
        chosen = max(live, key=lambda i: (self._current[i], -i))
        self._current[chosen] -= total
        rest = sorted((i for i in able if i != chosen), key=lambda i: -effective[i])
        return [chosen, *rest]


def _ttft(signals: Signals) -> float:
    return signals.ttft_s if signals.ttft_s is not None else -1.0


class Latency:
    """Exponentially weighted moving averages of time to first token, per target."""

    def __init__(self, alpha: float = DEFAULT_EWMA_ALPHA) -> None:
        self.alpha = alpha
        self.averages: dict[str, float] = {}

    def observe(self, target: str, seconds: float) -> None:
        old = self.averages.get(target)
        self.averages[target] = seconds if old is None else old + self.alpha * (seconds - old)

    def get(self, target: str) -> float | None:
        return self.averages.get(target)

    def statistics(self) -> dict[str, float]:
        return {t: round(v * 1000, 1) for t, v in self.averages.items()}   # milliseconds
