"""The config sections of resilience: breakers, cool-downs, in-flight bounds, limits, aliases.

    [resilience]                       in-flight bounds, local last resort, calendar time zone
    [resilience.breaker]               every provider's breaker
    [resilience.model_breaker]         every provider/model's breaker
    [resilience.breakers."NAME"]       one provider's or one provider/model's, over the above
    [resilience.cooldowns]             how long a cooled target stays out without a Retry-After
    [[limits]]                         request and token limits per window, per scope
    [gateway.aliases.NAME]             a group of targets with a balancing strategy

Frozen msgspec Structs with unknown fields refused, checked in ``__post_init__`` so that a wrong
value is reported with its key path and line like any other config error. Unset breaker fields
fall through: one target's override, then the section's, then ``gateway.breaker_failures`` and
``gateway.breaker_reset_s`` (kept for configs written before these sections), then the defaults.
"""

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Annotated, Protocol

import msgspec
from msgspec import UNSET, Meta, UnsetType

from routerd.errors import ConfigError
from routerd.resilience.balance import DEFAULT_EWMA_ALPHA, Strategy
from routerd.resilience.breaker import DEFAULT_MAX_COOLDOWN_S, BreakerSettings
from routerd.resilience.taxonomy import Cooldowns
from routerd.resilience.windows import Window

DEFAULT_MAX_IN_FLIGHT = 1024
DEFAULT_MAX_IN_FLIGHT_PER_PROVIDER = 256
DEFAULT_MODEL_BREAKER_FAILURES = 3
_COOLDOWNS = Cooldowns()

Positive = Annotated[float, Meta(gt=0)]
Count = Annotated[int, Meta(ge=1)]
Seconds = Annotated[float, Meta(ge=0)]


class _Section(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    pass


class BreakerConfig(_Section, frozen=True):
    """A breaker's thresholds; a field left out falls through to the wider setting."""

    failures: Count | UnsetType = UNSET               # consecutive failures that open it
    failure_rate: Annotated[float, Meta(gt=0, le=1)] | UnsetType = UNSET
    window: Count | UnsetType = UNSET                  # recent calls the rate is taken over
    min_calls: Count | UnsetType = UNSET               # ended calls before the rate counts
    cooldown_s: Positive | UnsetType = UNSET           # open -> half-open
    max_cooldown_s: Positive | UnsetType = UNSET       # failed probes double it up to this

    def over(self, base: BreakerSettings) -> BreakerSettings:
        """``base`` with this section's set fields in place."""
        fields = {f: v for f in self.__struct_fields__ if (v := getattr(self, f)) is not UNSET}
        merged = dataclasses.replace(base, **fields)
        if merged.max_cooldown_s < merged.cooldown_s:
            merged = dataclasses.replace(merged, max_cooldown_s=merged.cooldown_s)
        return merged


class CooldownConfig(_Section, frozen=True):
    """Seconds a cooled target stays out when the provider named no time."""

    rate_limited_s: Seconds = _COOLDOWNS.rate_limited_s
    overloaded_s: Seconds = _COOLDOWNS.overloaded_s
    auth_s: Seconds = _COOLDOWNS.auth_s
    billing_s: Seconds = _COOLDOWNS.billing_s
    model_not_found_s: Seconds = _COOLDOWNS.model_not_found_s

    def cooldowns(self) -> Cooldowns:
        return Cooldowns(**msgspec.structs.asdict(self))


class ResilienceConfig(_Section, frozen=True):
    breaker: BreakerConfig = BreakerConfig()
    model_breaker: BreakerConfig = BreakerConfig()
    breakers: dict[str, BreakerConfig] = {}           # "provider" or "provider/model" -> override
    cooldowns: CooldownConfig = CooldownConfig()
    max_in_flight: Count = DEFAULT_MAX_IN_FLIGHT      # beyond it: 429 with Retry-After at once
    max_in_flight_per_provider: Count = DEFAULT_MAX_IN_FLIGHT_PER_PROVIDER
    local_last_resort: bool = True                    # a local model serves when all else is down
    latency_alpha: Annotated[float, Meta(gt=0, le=1)] = DEFAULT_EWMA_ALPHA
    timezone: str = ""                                # calendar windows; "" = the system's

    def __post_init__(self) -> None:
        for target in self.breakers:
            if not target or target.startswith("/") or target.endswith("/"):
                raise ValueError(f"breakers: {target!r} is not a provider or provider/model")
        if self.timezone:
            _check_zone(self.timezone)

    def breaker_settings(self, target: str, failures: int, cooldown_s: float) -> BreakerSettings:
        """The settings of ``target``'s breaker (``provider`` or ``provider/model``). ``failures``
        and ``cooldown_s`` are the gateway's older settings, beneath these sections. A model's
        breaker takes its provider's settings, but opens after fewer failures by default: one
        broken model should not wait for the provider's threshold."""
        settings = self.breaker.over(BreakerSettings(
            failures=failures, cooldown_s=cooldown_s,
            max_cooldown_s=max(cooldown_s, DEFAULT_MAX_COOLDOWN_S)))
        if "/" in target:
            settings = self.model_breaker.over(
                dataclasses.replace(settings, failures=min(DEFAULT_MODEL_BREAKER_FAILURES, settings.failures)))
        override = self.breakers.get(target)
        return override.over(settings) if override is not None else settings


def _check_zone(name: str) -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError  # first use: see FIRST_USE in tests/test_layers.py

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"timezone: unknown time zone {name!r} (an IANA name such as "
                         "'Europe/Berlin', or \"\" for the system's)") from None


class LimitConfig(_Section, frozen=True):
    """Request and token limits per window over a provider, a set of its models, or a key."""

    provider: str                                     # a provider's name, or "*" for all
    models: list[str] = []                            # globs; empty: all its models
    key: str | None = None                            # a key's label in its pool, or "each"
    window: Window = "minute"
    requests: Count | None = None
    tokens: Count | None = None                       # input + output
    input_tokens: Count | None = None
    output_tokens: Count | None = None

    def __post_init__(self) -> None:
        if not any(self.amounts().values()):
            raise ValueError("a limit needs at least one of requests, tokens, input_tokens, "
                             "output_tokens")
        if self.key is not None and self.provider == "*":
            raise ValueError("a key-scoped limit names its provider")

    def amounts(self) -> dict[str, int]:
        return {m: v for m in ("requests", "tokens", "input_tokens", "output_tokens")
                if (v := getattr(self, m)) is not None}


class AliasConfig(_Section, frozen=True):
    """A named group of targets usable as a model name, with the strategy that picks among them.
    A target is ``provider/model``, a model id a provider serves, or another alias."""

    targets: list[str]
    strategy: Strategy = "ordered"
    weights: list[Positive] = []                      # one per target; default all 1
    match: list[str] = []                             # model-name globs that mean this alias

    def __post_init__(self) -> None:
        if not self.targets:
            raise ValueError("an alias needs at least one target")
        if len(set(self.targets)) != len(self.targets):
            raise ValueError("an alias lists a target twice")
        if self.weights and len(self.weights) != len(self.targets):
            raise ValueError(f"{len(self.weights)} weights for {len(self.targets)} targets: give one "
                             "weight per target, or none")

    def weight_list(self) -> list[float]:
        return list(self.weights) or [1.0] * len(self.targets)


def check_aliases(aliases: Mapping[str, "str | AliasConfig"]) -> None:
    """Every alias resolves: none named ``auto``, none that reaches itself through others."""
    if "auto" in aliases:
        raise ValueError("aliases: 'auto' is routerd's own model name and cannot be an alias")
    graph = {name: [value] if isinstance(value, str) else list(value.targets)
             for name, value in aliases.items()}
    for start in graph:
        path, seen = [start], {start}
        _walk(graph, start, path, seen)


def _walk(graph: Mapping[str, list[str]], node: str, path: list[str], seen: set[str]) -> None:
    for target in graph.get(node, ()):
        if target in seen:
            raise ValueError(f"aliases: {' -> '.join([*path, target])} goes round in a circle")
        if target in graph:
            _walk(graph, target, [*path, target], seen | {target})


class GatewayLike(Protocol):
    """What resilience reads of ``routerd.config.GatewayConfig`` (which imports this module)."""

    @property
    def aliases(self) -> Mapping[str, "str | AliasConfig"]: ...

    @property
    def breaker_failures(self) -> int: ...

    @property
    def breaker_reset_s(self) -> float: ...


class ConfigLike(Protocol):
    """What resilience reads of ``routerd.config.Config``."""

    @property
    def limits(self) -> Sequence[LimitConfig]: ...

    @property
    def resilience(self) -> ResilienceConfig: ...

    @property
    def gateway(self) -> GatewayLike: ...


def check_against(config: "ConfigLike", key_labels: Mapping[str, Sequence[str]]) -> None:
    """What only the providers in use can tell: every limit and breaker names a provider there,
    a limit's key is one of that provider's keys, and no limit repeats another. ``key_labels``
    maps each enabled provider to its keys' labels. Raises ConfigError."""
    known = ", ".join(key_labels) or "none"
    seen: dict[tuple[str, tuple[str, ...], str | None, str, str], int] = {}
    for n, limit in enumerate(config.limits):
        where = f"limits[{n}]"
        if limit.provider != "*" and limit.provider not in key_labels:
            raise ConfigError(f"{where}: no provider {limit.provider!r} is enabled (enabled: {known})",
                              ("limits", str(n), "provider"))
        labels = key_labels.get(limit.provider, ())
        if limit.key not in (None, "each") and limit.key not in labels:
            raise ConfigError(f"{where}: {limit.provider} has no key {limit.key!r}; its keys: "
                              f"{', '.join(labels) or 'none'} (or \"each\")", ("limits", str(n), "key"))
        for metric in limit.amounts():
            scope = (limit.provider, tuple(limit.models), limit.key, limit.window, metric)
            if scope in seen:
                raise ConfigError(f"{where}: repeats the {metric} per {limit.window} of "
                                  f"limits[{seen[scope]}] for the same scope", ("limits", str(n)))
            seen[scope] = n
    for target in config.resilience.breakers:
        provider = target.partition("/")[0]
        if provider not in key_labels:
            raise ConfigError(f"resilience.breakers.{target}: no provider {provider!r} is enabled "
                              f"(enabled: {known})", ("resilience", "breakers", target))
