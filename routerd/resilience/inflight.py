"""Bounded work in flight: requests overall, and calls per provider and per provider/model.

Beyond ``max_total`` a new request is refused at once (the front answers 429 with Retry-After)
instead of queueing without limit; a provider at ``max_per_provider`` is passed over for the next
candidate, as a busy one would be. The per-target counts also feed ``least-busy`` balancing.
Counters only: the caller pairs every successful ``admit``/``acquire`` with ``done``/``release``
in a ``finally``.
"""

from dataclasses import dataclass

# Retry-After for a request refused because routerd is at its bound: calls finish in seconds.
OVERLOAD_RETRY_AFTER_S = 1.0


@dataclass(frozen=True, slots=True)
class InFlightStats:
    requests: int
    peak: int
    refused: int
    max_total: int
    max_per_provider: int
    providers: dict[str, int]
    provider_refusals: dict[str, int]


class InFlight:
    def __init__(self, max_total: int, max_per_provider: int) -> None:
        self.max_total, self.max_per_provider = max_total, max_per_provider
        self.requests = self.peak = self.refused = 0
        self.providers: dict[str, int] = {}
        self.targets: dict[str, int] = {}
        self.provider_refusals: dict[str, int] = {}

    def resize(self, max_total: int, max_per_provider: int) -> None:
        """New bounds from a reloaded config; what is in flight stays counted."""
        self.max_total, self.max_per_provider = max_total, max_per_provider

    def admit(self) -> bool:
        """A new request, if routerd is below its overall bound."""
        if self.requests >= self.max_total:
            self.refused += 1
            return False
        self.requests += 1
        self.peak = max(self.peak, self.requests)
        return True

    def done(self) -> None:
        self.requests -= 1

    def acquire(self, provider: str, model: str) -> bool:
        """One call to ``provider``'s ``model``, if the provider is below its bound."""
        busy = self.providers.get(provider, 0)
        if busy >= self.max_per_provider:
            self.provider_refusals[provider] = self.provider_refusals.get(provider, 0) + 1
            return False
        self.providers[provider] = busy + 1
        target = f"{provider}/{model}"
        self.targets[target] = self.targets.get(target, 0) + 1
        return True

    def release(self, provider: str, model: str) -> None:
        self.providers[provider] -= 1
        target = f"{provider}/{model}"
        if self.targets[target] <= 1:
            del self.targets[target]
        else:
            self.targets[target] -= 1

    def busy(self, provider: str, model: str) -> int:
        return self.targets.get(f"{provider}/{model}", 0)

    def statistics(self) -> InFlightStats:
        return InFlightStats(self.requests, self.peak, self.refused, self.max_total, self.max_per_provider,
                             {p: n for p, n in self.providers.items() if n}, dict(self.provider_refusals))
