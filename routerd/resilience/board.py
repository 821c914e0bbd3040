"""All the resilience state of one daemon, built from the config and kept across reloads.

``Resilience`` owns the breakers and cool-downs (``Health``), the rate-limit buckets
(``Limiter``), one ``KeyPool`` per provider, the alias table with its balancers, the in-flight
bounds and the time-to-first-token averages. ``reconfigure`` applies a reloaded config without
losing state: breakers keep their state under new thresholds, buckets with the same name keep
their counts, the same keys stay out, unchanged aliases keep their turn.

One clock: Unix time, passed in as ``now``. Calendar windows and the times in status lines need
the wall clock; a clock step moves a cool-down by the step, nothing worse. Pure apart from that:
nothing here sleeps, reads a file or touches the network.
"""

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from datetime import tzinfo
from typing import Protocol, TypeVar

from routerd.resilience.aliases import AliasTable, build_aliases
from routerd.resilience.balance import Latency, Signals
from routerd.resilience.breaker import BreakerSettings
from routerd.resilience.health import Health, HealthStats
from routerd.resilience.inflight import InFlight, InFlightStats
from routerd.resilience.keys import KeyPool, KeyStats, PoolKey
from routerd.resilience.limiter import Limiter
from routerd.resilience.limits import Bucket, BucketStats, Scope, Target
from routerd.resilience.refusal import Refusal
from routerd.resilience.settings import ConfigLike, LimitConfig


class Concrete(Hashable, Protocol):
    """A concrete target an alias expands to (routing's ``Candidate``)."""

    @property
    def provider(self) -> str: ...

    @property
    def model(self) -> str: ...


C = TypeVar("C", bound=Concrete)


@dataclass(frozen=True, slots=True)
class ResilienceStats:
    breakers: HealthStats
    buckets: list[BucketStats]
    keys: dict[str, list[KeyStats]]
    in_flight: InFlightStats
    aliases: dict[str, dict[str, int]]
    ttft_ms: dict[str, float]


def zone_of(config: ConfigLike) -> tzinfo | None:
    """The time zone of calendar windows: ``resilience.timezone``, or the system's (None)."""
    name = config.resilience.timezone
    if not name:
        return None
    from zoneinfo import ZoneInfo  # first use: see FIRST_USE in tests/test_layers.py

    return ZoneInfo(name)


def build_buckets(limits: Sequence[LimitConfig], tz: tzinfo | None) -> list[Bucket]:
    """One bucket per metric of each ``[[limits]]`` entry."""
    return [Bucket(Scope(limit.provider, tuple(limit.models), limit.key), metric, amount, limit.window, tz)
            for limit in limits for metric, amount in limit.amounts().items()]


class Resilience:
    def __init__(self, config: ConfigLike, pools: Mapping[str, Sequence[PoolKey]],
                 tz: tzinfo | None = None) -> None:
        """``config`` is routerd's ``Config``; ``pools`` each provider's keys (empty: it has none
        of its own, or takes the client's)."""
        r = config.resilience
        self.health = Health(self._settings_for(config))
        self.limiter = Limiter(build_buckets(config.limits, tz or zone_of(config)))
        self.pools = {name: KeyPool(name, keys) for name, keys in pools.items() if keys}
        self.aliases = AliasTable(build_aliases(config.gateway.aliases))
        self.inflight = InFlight(r.max_in_flight, r.max_in_flight_per_provider)
        self.latency = Latency(r.latency_alpha)
        self.cooldowns = r.cooldowns.cooldowns()
        self.local_last_resort = r.local_last_resort

    @staticmethod
    def _settings_for(config: ConfigLike) -> Callable[[str], BreakerSettings]:
        gateway, resilience = config.gateway, config.resilience
        return lambda target: resilience.breaker_settings(target, gateway.breaker_failures,
                                                          gateway.breaker_reset_s)

    def reconfigure(self, config: ConfigLike, pools: Mapping[str, Sequence[PoolKey]],
                    tz: tzinfo | None = None) -> None:
        r = config.resilience
        self.health.reconfigure(self._settings_for(config))
        self.limiter.replace(build_buckets(config.limits, tz or zone_of(config)))
        fresh = {name: KeyPool(name, keys) for name, keys in pools.items() if keys}
        for name, pool in fresh.items():
            if name in self.pools:
                pool.carry_from(self.pools[name])
        self.pools = fresh
        self.aliases = AliasTable(build_aliases(config.gateway.aliases), previous=self.aliases)
        self.inflight.resize(r.max_in_flight, r.max_in_flight_per_provider)
        self.latency.alpha = r.latency_alpha
        self.cooldowns = r.cooldowns.cooldowns()
        self.local_last_resort = r.local_last_resort

    def expand(self, model: str, resolve: Callable[[str], list[C]], now: float,
               endpoints: Callable[[C], Sequence[str]] | None = None) -> list[C] | None:
        """The concrete targets of the alias ``model`` names (by name or ``match``), balanced by
        its strategy over each target's signals now (``endpoints``: the upstream dialects the
        request may reach a target on); None when ``model`` is no alias."""
        alias = self.aliases.lookup(model)
        if alias is None:
            return None
        return self.aliases.expand(alias.name, resolve, lambda c: self.signals(
            c.provider, c.model, now, endpoints(c) if endpoints is not None else ()))

    def signals(self, provider: str, model: str, now: float, endpoints: Sequence[str] = ()) -> Signals:
        """What balancing reads about ``provider``'s ``model`` now (on one of ``endpoints``): no
        health while ``refusal`` says it cannot take a call."""
        out = self.refusal(provider, model, now, endpoints) is not None
        health = 0.0 if out else self.health.score(provider, model, now, endpoints)
        pool = self.pools.get(provider)
        keys = [k.label for k in pool.keys] if pool is not None else [None]
        headroom = max(self.limiter.headroom(Target(provider, model, key), now) for key in keys)
        return Signals(health=health, headroom=headroom, in_flight=self.inflight.busy(provider, model),
                       ttft_s=self.latency.get(f"{provider}/{model}"))

    def refusal(self, provider: str, model: str | None, now: float,
                endpoints: Sequence[str] = ()) -> Refusal | None:
        """Why admission (``gateway.guard.admit``) would refuse every call to ``provider``'s
        ``model`` now (on each of ``endpoints``, the upstream dialects the request may reach it
        on), in the words it would use; None when a call may go. Its breakers and cool-downs
        (the model's on those endpoints too), every key of its pool out or cooling for the
        model, or a bucket's allowance used up; not what passes by itself (a slot in flight, a
        reservation held). The one answer the routing view reads: the brain's ranking, alias
        balancing, ``auto`` with nothing to try, status. Pure: no probe is taken."""
        refusal = self.health.unavailable(provider, model, now, endpoints)
        if refusal is not None:
            return refusal
        pool = self.pools.get(provider)
        if pool is not None and (why := pool.unavailable(model or "", now)) is not None:
            return Refusal(provider, why[0], why[1], rate_limited="rate limited" in why[0])
        if model is None:
            return None
        spent = [self.limiter.spent(Target(provider, model, key), now)
                 for key in ([k.label for k in pool.keys] if pool is not None else [None])]
        if all(r is not None for r in spent):
            return min((r for r in spent if r is not None), key=lambda r: r.retry_in_s)
        return None

    def models_out(self, now: float) -> set[str]:
        """The providers (``*``: any) for which ``refusal`` may refuse some model while the
        provider itself takes calls: a model's breaker or cool-down, a key kept from a model, a
        spent bucket. Elsewhere it never does, so the routing view asks only about these."""
        return (self.health.models_out(now) | self.limiter.spent_providers(now)
                | {name for name, pool in self.pools.items() if pool.cools_models(now)})

    def unavailable(self, provider: str, now: float) -> tuple[str, float] | None:
        """Why ``provider`` can take no call now, and for how long (its breaker, a cool-down, or
        every key out of rotation: ``refusal`` for no model in particular); None when it can. For
        the routing brain and error messages."""
        refusal = self.refusal(provider, None, now)
        return (refusal.reason, refusal.retry_in_s) if refusal is not None else None

    unavailable_for = unavailable   # what the routing core reads as a provider's health

    def reset(self, target: str | None = None) -> list[str]:
        """``routerctl breaker reset [TARGET]``: close breakers, end cool-downs, and bring back
        the keys of the provider named (or of all). Returns what changed."""
        changed = self.health.reset(target)
        provider = target.partition("/")[0] if target else None
        for name, pool in self.pools.items():
            if provider is None or (name == provider and "/" not in (target or "")):
                changed += [f"{name} key {label}" for label in pool.reset()]
        return changed

    def summary(self, now: float) -> dict[str, object]:
        """A few lines for ``routerctl status``: what is down or out now, and how full the
        configured buckets are (``routerctl health`` shows everything)."""
        down = [r.describe() for r in self.health.refusals(now)]
        keys = [k.status for pool in self.pools.values() for k in pool.statistics(now) if k.status]
        buckets = [f"{b.name} {b.used + b.reserved:g}/{b.limit:g}" for b in self.limiter.statistics(now)
                   if not b.learned]
        learned = sum(1 for b in self.limiter.statistics(now) if b.learned)
        flight = self.inflight.statistics()
        return {"in_flight": flight.requests, "peak_in_flight": flight.peak, "refused_overloaded": flight.refused,
                "down": "; ".join(dict.fromkeys(down)) or "-", "keys_out": "; ".join(keys) or "-",
                "buckets": "; ".join(buckets) or "-", "learned_limits": learned}

    def statistics(self, now: float) -> ResilienceStats:
        return ResilienceStats(breakers=self.health.statistics(now), buckets=self.limiter.statistics(now),
                               keys={name: pool.statistics(now) for name, pool in self.pools.items()},
                               in_flight=self.inflight.statistics(), aliases=self.aliases.statistics(),
                               ttft_ms=self.latency.statistics())

