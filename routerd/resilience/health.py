"""The health of every target: a breaker per provider and per ``provider/model``, and cool-downs.

A call is admitted only when neither target is cooling down and both breakers let it through
(``admit``); it then holds a ``Ticket`` that must end with exactly one verdict, ``succeeded``,
``failed`` or ``released``, and ``released`` is safe after the others, so a ``finally`` that
releases frees a half-open probe on every way out, cancellation included. Both breakers hear
every verdict: a provider that is down opens its breaker from failures on any of its models, and
one broken model opens only its own while the others keep serving.

Cool-downs are beside the breakers: the taxonomy says when a target stays out for a time without
being broken (a 429 until its Retry-After, an overloaded provider briefly, a model the provider
lacks for a while). A model the provider lacks is cooled on the endpoint that said so
(``provider/model on dialect``, see ``endpoint_target``): some OpenAI-compatible servers serve a
model on Responses and not on chat completions, so a 404 from one endpoint must not keep the
other from being asked. Pure: time is passed in; nothing here sleeps or does I/O.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from routerd.resilience.breaker import Breaker, BreakerSettings, BreakerStats
from routerd.resilience.refusal import Refusal

# Clients choose model names, and a provider without model patterns takes any: keep the number of
# per-model breakers bounded by forgetting healthy, idle ones first.
MAX_MODEL_BREAKERS = 1024


@dataclass(frozen=True, slots=True)
class CoolingStats:
    until: float
    reason: str
    category: str


@dataclass(frozen=True, slots=True)
class HealthStats:
    providers: dict[str, BreakerStats]
    models: dict[str, BreakerStats]
    cooling: dict[str, CoolingStats]


def endpoint_target(provider: str, model: str, endpoint: str) -> str:
    """The cool-down target of ``provider``'s ``model`` on one endpoint (an upstream dialect)."""
    return f"{provider}/{model} on {endpoint}"


class Ticket:
    """One admitted call. End it with one verdict; ``released`` after a verdict does nothing."""

    __slots__ = ("_holds",)

    def __init__(self, holds: tuple[tuple[Breaker, int, bool], ...]) -> None:
        self._holds = holds                 # (breaker, generation when admitted, is its probe)

    @property
    def is_probe(self) -> bool:
        return any(probe for _, _, probe in self._holds)

    def succeeded(self, now: float) -> None:
        for breaker, generation, _ in self._holds:
            breaker.success(now, generation)
        self._holds = ()

    def failed(self, now: float, why: str = "") -> None:
        for breaker, generation, _ in self._holds:
            breaker.failure(now, why, generation)
        self._holds = ()

    def released(self) -> None:
        """No verdict (cancelled, the client's error, a rate limit): free a probe if this was one."""
        for breaker, generation, probe in self._holds:
            if probe:
                breaker.release(generation)
        self._holds = ()


class Health:
    def __init__(self, settings_for: Callable[[str], BreakerSettings]) -> None:
        """``settings_for(target)`` gives the breaker settings of a provider (``name``) or of a
        model (``provider/model``)."""
        self._settings_for = settings_for
        self.providers: dict[str, Breaker] = {}
        self.models: dict[str, Breaker] = {}
        self.cooling: dict[str, CoolingStats] = {}

    def reconfigure(self, settings_for: Callable[[str], BreakerSettings]) -> None:
        """Settings from a reloaded config: every breaker keeps its state under its new settings."""
        self._settings_for = settings_for
        for table in (self.providers, self.models):
            for target, breaker in table.items():
                breaker.reconfigure(settings_for(target))

    # --- admission -------------------------------------------------------------------------------

    def admit(self, provider: str, model: str, now: float, endpoint: str | None = None) -> Ticket | Refusal:
        """A ticket for one call to ``provider``'s ``model`` (on ``endpoint``, an upstream dialect,
        when given), or why not: exactly when ``unavailable`` says why not (with that endpoint)."""
        refusal = self._cooling(provider, model, now, (endpoint,) if endpoint is not None else ())
        if refusal is not None:
            return refusal
        outer = self.breaker(provider)
        if not outer.allow(now):
            return self._refused(provider, outer, now)
        outer_hold = (outer, outer.generation, outer.is_probe)
        inner = self.breaker(provider, model)
        if not inner.allow(now):
            Ticket((outer_hold,)).released()
            return self._refused(f"{provider}/{model}", inner, now)
        return Ticket((outer_hold, (inner, inner.generation, inner.is_probe)))

    def unavailable(self, provider: str, model: str | None, now: float,
                    endpoints: Sequence[str] = ()) -> Refusal | None:
        """Why ``provider`` (and its ``model``, when given) may not be called now; None when it
        may. With ``endpoints`` (the upstream dialects the call may go to), a model cooled on
        an endpoint is out only when it is cooled on each of them; without, endpoint cool-downs
        are not read. Pure: no probe is taken."""
        refusal = self._cooling(provider, model, now, endpoints)
        if refusal is not None:
            return refusal
        targets = [(provider, self.providers.get(provider))]
        if model is not None:
            targets.append((f"{provider}/{model}", self.models.get(f"{provider}/{model}")))
        for target, breaker in targets:
            if breaker is not None and (why := breaker.unavailable_for(now)) is not None:
                return Refusal(target, why[0], why[1])
        return None

    def score(self, provider: str, model: str, now: float, endpoints: Sequence[str] = ()) -> float:
        """0..1 for balancing: 0 exactly when ``unavailable`` says why (cooling, open, or its
        probe out), else the worse of both breakers' health."""
        if self.unavailable(provider, model, now, endpoints) is not None:
            return 0.0
        scores = [b.health(now) for b in (self.providers.get(provider),
                                          self.models.get(f"{provider}/{model}")) if b is not None]
        return min(scores, default=1.0)

    def breaker(self, provider: str, model: str | None = None) -> Breaker:
        """The breaker of ``provider``, or of its ``model`` (made on first use)."""
        table, target = (self.providers, provider) if model is None else (self.models, f"{provider}/{model}")
        breaker = table.get(target)
        if breaker is None:
            if table is self.models and len(table) >= MAX_MODEL_BREAKERS:
                self._forget_idle_models()
            breaker = table[target] = Breaker(self._settings_for(target))
        return breaker

    # --- cool-downs ------------------------------------------------------------------------------

    def cool(self, target: str, seconds: float, now: float, reason: str, category: str) -> None:
        """Keep ``target`` (a provider, or ``provider/model``) out for ``seconds``; a longer
        cool-down already in place stays."""
        until = now + max(0.0, seconds)
        current = self.cooling.get(target)
        if current is None or current.until < until:
            self.cooling[target] = CoolingStats(until, reason, category)

    def _cooling(self, provider: str, model: str | None, now: float,
                 endpoints: Sequence[str] = ()) -> Refusal | None:
        """Why ``provider`` or its ``model`` is cooling now, or the model on each of ``endpoints``
        (the soonest back of them); None when none is."""
        targets = [provider] if model is None else [provider, f"{provider}/{model}"]
        for target in targets:
            if (refusal := self._cooled(target, now)) is not None:
                return refusal
        if model is None or not endpoints:
            return None
        found = [self._cooled(endpoint_target(provider, model, e), now) for e in endpoints]
        if any(refusal is None for refusal in found):
            return None
        return min((r for r in found if r is not None), key=lambda r: r.retry_in_s)

    def _cooled(self, target: str, now: float) -> Refusal | None:
        entry = self.cooling.get(target)
        if entry is None:
            return None
        if now < entry.until:
            return Refusal(target, entry.reason, entry.until - now, entry.category == "rate_limited")
        del self.cooling[target]
        return None

    # --- operators -------------------------------------------------------------------------------

    def reset(self, target: str | None = None) -> list[str]:
        """Close breakers and end cool-downs: all of them, a provider's (with its models'), or one
        ``provider/model``'s. Returns the targets that changed."""
        def hit(name: str) -> bool:   # a model's reset ends its cool-downs on every endpoint too
            return target is None or name == target or name.startswith(target + " on ") \
                or ("/" not in target and name.startswith(target + "/"))

        changed = [name for table in (self.providers, self.models) for name, breaker in table.items()
                   if hit(name) and breaker.reset()]
        for name in [n for n in self.cooling if hit(n)]:
            del self.cooling[name]
            changed.append(name)
        return sorted(set(changed))

    def _forget_idle_models(self) -> None:
        idle = [t for t, b in self.models.items() if b.state == "closed" and not b.consecutive]
        for target in idle[: max(1, len(idle) // 2)]:
            del self.models[target]

    def _refused(self, target: str, breaker: Breaker, now: float) -> Refusal:
        why = breaker.unavailable_for(now) or ("circuit half-open, its probe call is in flight", 1.0)
        return Refusal(target, why[0], why[1])

    def models_out(self, now: float) -> set[str]:
        """The providers some of whose models may be out now by their own breaker or cool-down
        (on some endpoint), beyond what the provider's own say."""
        found = {t.partition("/")[0] for t, b in self.models.items() if b.state != "closed"}
        return found | {t.partition("/")[0] for t, c in self.cooling.items() if "/" in t and c.until > now}

    def refusals(self, now: float) -> list[Refusal]:
        """Every target out now, each under its own name (a provider, ``provider/model``, or a
        model on one endpoint) with its reason: the ``down`` line of ``routerctl status``."""
        out = [Refusal(t, *why) for table in (self.providers, self.models) for t, b in table.items()
               if (why := b.unavailable_for(now)) is not None]
        return out + [r for t in list(self.cooling) if (r := self._cooled(t, now)) is not None]

    def statistics(self, now: float) -> HealthStats:
        cooling = {t: c for t, c in self.cooling.items() if c.until > now}
        return HealthStats(providers={t: b.statistics(now) for t, b in self.providers.items()},
                           models={t: b.statistics(now) for t, b in self.models.items()}, cooling=cooling)
