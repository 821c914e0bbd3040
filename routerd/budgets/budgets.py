"""Budgets: caps on paid spend per day and month, and the pressure they put on routing.

Each limit of ``[budgets]`` is a bucket of the resilience limiter (``routerd.resilience.limits``):
metric ``usd`` or ``tokens``, a ``day`` or ``month`` calendar window, a scope of everything, one
provider or one project. So budgets reserve and settle exactly as rate limits do: before a paid
call goes out, ``reserve`` holds its worst case (``worst_case``: the whole prompt uncached,
every output token it may ask for, and every hosted web search it may run) in every limit
covering it, all or nothing; the call settles
what it really cost. Concurrent calls therefore see each other's holds, and a cap is overshot by
at most what one call's actual cost exceeds its estimate. Free calls (a provider configured
``local = true``, a catalogue price of 0) reserve nothing and are never refused.

The spent share of a limit is (settled + held) / limit. Thresholds, on the spent share:

    below STEER_FROM (50 %)   "ok"        pressure 0
    STEER_FROM .. HIGH_AT     "steering"  pressure rises linearly from 0 ...
    HIGH_AT (80 %) .. 100 %   "high"      ... to 1 at 100 %
    100 %                     "capped"    paid calls under this limit are refused (a limit
                                          whose room is too small for the last request it left
                                          without a paid answer is "capped" too: ``turned_away``)

The pressure the routing policy gets for a request is that of the most spent of: the overall
limits, its project's limits, and the paid providers' limits and own windows (subscription and
rate-limit headers, ``ProviderWindows``) - of those, the *least* spent provider, since the policy
picks a tier, not a provider, and one fresh provider is enough to serve it.

The ledger is the truth across restarts and for calls the gateway did not make (hook rows):
``resync`` replaces the settled use with the store's sums, keeping what settled while the store
was read. Pure: time comes in as a Unix time.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import tzinfo

from routerd.budgets.provider_windows import ProviderWindows
from routerd.budgets.settings import BudgetsConfig, Limits
from routerd.catalogue.prices import Rates, Tokens, cost_usd, search_usd
from routerd.protocol.reports import BudgetLimit, BudgetWindow
from routerd.resilience.limiter import Limiter, Observation
from routerd.resilience.limits import Bucket, Reservation, Scope, Target
from routerd.resilience.refusal import Refusal

STEER_FROM = 0.5
HIGH_AT = 0.8
# An unpriced paid call holds this much: nothing to speak of, but it is refused once a dollar cap
# is spent, as every paid call is.
UNKNOWN_PRICE_USD = 1e-9
LEVELS = ("ok", "steering", "high", "capped")
_WINDOW_WORD = {"day": "daily", "month": "monthly"}


def pressure_of(share: float) -> float:
    """The policy's pressure (0..1) for a spent share (see the module docstring)."""
    return min(max((share - STEER_FROM) / (1.0 - STEER_FROM), 0.0), 1.0)


def level_of(share: float) -> str:
    if share >= 1.0:
        return "capped"
    if share >= HIGH_AT:
        return "high"
    return "steering" if share >= STEER_FROM else "ok"


def format_usd(usd: float) -> str:
    """Dollars as every budget message shows them: ``$0.0656``, ``$0.05``, ``$1,500.00``; a cheap
    amount is not ``$0.0000``."""
    if 0 < usd < 0.001:
        return "$" + f"{usd:.10f}".rstrip("0")
    whole, _, cents = f"{usd:,.4f}".partition(".")
    return f"${whole}.{cents.rstrip('0').ljust(2, '0')}"


def _amount(metric: str, value: float) -> str:
    return format_usd(value) if metric == "usd" else f"{value:,.0f} {metric}"


def _refusal_reason(bucket: Bucket, refusal: Refusal, now: float) -> str:
    """Why ``bucket`` refused a call, its amounts in the budget's own units (dollars as ``$0.05``)."""
    limit = _amount(bucket.metric, bucket.limit)
    if refusal.never:
        return f"one call needs {_amount(bucket.metric, refusal.amount)}, more than the whole limit of {limit}"
    left = _amount(bucket.metric, max(bucket.room(now), 0.0))
    return f"{left} of the {limit} limit left this {bucket.window}, less than the call needs"


def worst_case(rates: Rates | None, free: bool, input_tokens: int, output_tokens: int,
               searches: int = 0, preview_searches: int = 0) -> dict[str, float]:
    """What one call may spend at most: every input token uncached, every output token it may ask
    for, and ``searches`` hosted web searches at the model's price, ``preview_searches`` of them
    run by OpenAI's ``web_search_preview`` tool (at its own price where the model has one, as the
    call record prices them). Nothing for a free call."""
    if free:
        return {}
    tokens = float(input_tokens + output_tokens)
    if rates is None:
        return {"usd": UNKNOWN_PRICE_USD, "tokens": tokens}
    usd = cost_usd(rates, Tokens(input=input_tokens, output=output_tokens)) + \
        search_usd(rates, searches, preview_searches)
    return {"usd": max(usd, UNKNOWN_PRICE_USD), "tokens": tokens}


@dataclass(frozen=True, slots=True)
class Spend:
    """Paid use the ledger holds for one provider and project in the current day or month."""

    provider: str
    project: str | None
    window: str                # "day" or "month"
    usd: float
    tokens: float


@dataclass(frozen=True, slots=True)
class BudgetStats:
    configured: bool
    pressure: float
    level: str
    limits: list[BudgetLimit]
    windows: list[BudgetWindow]


def _ledger_use(bucket: Bucket, rows: list[Spend]) -> float:
    """The use of ``bucket``'s metric, window and scope in the ledger's sums."""
    scope = bucket.scope
    return sum(getattr(r, bucket.metric) for r in rows if r.window == bucket.window
               and scope.provider in ("*", r.provider) and scope.project in (None, r.project))


def _bucket(scope: Scope, what: str, metric: str, window: str, limit: float, tz: tzinfo | None) -> Bucket:
    name = f"{_WINDOW_WORD[window]} {metric} ({what})"
    return Bucket(scope, metric, limit, window, tz, name=name)  # type: ignore[arg-type]


def _buckets(config: BudgetsConfig, tz: tzinfo | None) -> list[Bucket]:
    scoped: list[tuple[Scope, str, Limits]] = [(Scope(), "all", config)]
    scoped += [(Scope(provider=name), f"provider {name}", lim) for name, lim in config.providers.items()]
    scoped += [(Scope(project=name), f"project {name}", lim) for name, lim in config.projects.items()]
    return [_bucket(scope, what, metric, window, limit, tz)
            for scope, what, limits in scoped for metric, window, limit in limits.amounts()]


class Budgets:
    def __init__(self, config: BudgetsConfig, tz: tzinfo | None = None) -> None:
        self.config = config
        self.windows = ProviderWindows()
        self._buckets: dict[str, Bucket] = {}
        self.limiter = Limiter()
        self._levels: dict[str, str] = {}
        self._capped: dict[str, tuple[int, float]] = {}  # limit -> (its window, the amount it refused)
        self._refused: dict[str, int] = {}  # limit -> requests it refused (``turned_away``)
        self.configured = False  # whether any limit is set: read on every proxied call, so kept
        self.reconfigure(config, tz)

    def adds_limits(self, config: BudgetsConfig) -> bool:
        """Whether ``config`` has a limit this one has not (a new scope, metric or window): its
        use must be read from the ledger before it takes calls (``reconfigure``'s ``spent``)."""
        return any(bucket.name not in self._buckets for bucket in _buckets(config, None))

    def reconfigure(self, config: BudgetsConfig, tz: tzinfo | None = None, spent: Iterable[Spend] = (),
                    now: float | None = None) -> None:
        """A reloaded ``[budgets]``: a limit with the same scope, metric and window keeps its use; a
        new one starts from the ledger's sums ``spent`` read at ``now`` (``Spending`` reads them
        before the swap), as at start, instead of from nothing until the next resync."""
        rows = list(spent)
        fresh = {}
        for bucket in _buckets(config, tz):
            old = self._buckets.get(bucket.name)
            if old is not None:
                old.limit, old.tz = bucket.limit, bucket.tz
                bucket = old
            elif now is not None:
                bucket.roll(now)
                bucket.used = _ledger_use(bucket, rows)
            fresh[bucket.name] = bucket
        self.config, self._buckets, self.configured = config, fresh, config.configured
        self._refused = {name: n for name, n in self._refused.items() if name in fresh}
        self._capped.clear()           # a raised limit may have room again
        self.limiter.replace(fresh.values())

    # --- calls ----------------------------------------------------------------------------------

    def reserve(self, provider: str, model: str, project: str | None, amounts: Mapping[str, float],
                now: float) -> Reservation | Refusal:
        """Hold ``amounts`` (``worst_case``) in every limit covering the call, or refuse it (saying
        why in the limit's own units)."""
        found = self.limiter.reserve(Target(provider, model, None, project), amounts, now)
        if isinstance(found, Refusal) and (bucket := self._buckets.get(found.target)) is not None:
            return replace(found, reason=_refusal_reason(bucket, found, now))
        return found

    def turned_away(self, refusals: Iterable[Refusal]) -> None:
        """One request that no paid call served because these limits refused its candidates: each
        counts it once, however many of its candidates it refused, and a limit whose room was too
        small (not the whole limit) counts as spent while its room stays below what it refused. A
        request a cheaper model served does neither: that limit is not spent for it."""
        limits: set[str] = set()
        smallest: dict[str, float] = {}  # limit -> the least it refused this request for lack of room
        for refusal in refusals:
            name = refusal.target
            if name not in self._buckets:
                continue
            limits.add(name)
            if not refusal.never:
                smallest[name] = min(refusal.amount, smallest.get(name, refusal.amount))
        for name in limits:
            self._refused[name] = self._refused.get(name, 0) + 1
        for name, amount in smallest.items():
            self._capped[name] = (self._buckets[name].generation, amount)

    def _share_of(self, bucket: Bucket, now: float) -> float:
        """Spent share; a limit whose room is still too small for the last call it refused counts
        as spent."""
        bucket.roll(now)
        capped = self._capped.get(bucket.name)
        if capped is not None and capped[0] == bucket.generation and bucket.room(now) < capped[1]:
            return 1.0
        return (bucket.charged(now) + bucket.reserved) / bucket.limit

    def observe(self, provider: str, limits: list[Observation], headers: Iterable[tuple[bytes, bytes]],
                now: float, kind: str | None = None) -> None:
        """One answer's rate limits (``read_limits``, read once for resilience too) and its headers
        (from a provider of ``kind``)."""
        if self.config.provider_windows:
            self.windows.observe(provider, limits, headers, now, kind)

    # --- pressure -------------------------------------------------------------------------------

    def share(self, now: float, provider: str = "", project: str | None = None) -> float:
        """The most spent share of the limits covering a call to ``provider`` for ``project``
        (``provider`` "": the overall and project limits only)."""
        return max((self._share_of(b, now) for b in self.limiter.covering(Target(provider, "*", None, project))),
                   default=0.0)

    def spent_share(self, now: float, project: str | None, paid_providers: Iterable[str], *,
                    windows: bool = True) -> float:
        """The share behind the pressure of a request for ``project`` (module docstring);
        ``windows`` False: the configured limits' alone (what refuses paid calls)."""
        base = self.share(now, "", project)
        providers = [max(self.share(now, p), self.windows.share(p, now) if windows else 0.0) for p in paid_providers]
        return max(base, min(providers, default=0.0))

    def pressure(self, now: float, project: str | None, paid_providers: Iterable[str]) -> float:
        return pressure_of(self.spent_share(now, project, paid_providers))

    def crossings(self, now: float) -> list[tuple[str, str, str]]:
        """(limit or window, old level, new level) for each whose level changed since last asked
        (for the log)."""
        seen = {s.name: s.level for s in self._states(now)}
        seen.update({f"{w.provider} {w.name} window": level_of(self.windows.weight(w))
                     for w in self.windows.statistics(now)})
        changed = [(name, self._levels.get(name, "ok"), level) for name, level in seen.items()
                   if level != self._levels.get(name, "ok")]
        changed += [(name, old, "ok") for name, old in self._levels.items() if name not in seen and old != "ok"]
        self._levels = seen
        return changed

    # --- the ledger -----------------------------------------------------------------------------

    def marks(self, now: float) -> dict[str, tuple[int, float]]:
        """Each limit's window and settled use now, taken before the store is read for ``resync``."""
        for bucket in self._buckets.values():
            bucket.roll(now)
        return {name: (b.generation, b.used) for name, b in self._buckets.items()}

    def resync(self, spent: Iterable[Spend], marks: Mapping[str, tuple[int, float]], now: float) -> None:
        """Settled use from the ledger's sums (read after ``marks`` were taken), plus what settled
        here since the marks. A limit whose window rolled meanwhile waits for the next resync."""
        rows = list(spent)
        for name, bucket in self._buckets.items():
            bucket.roll(now)
            mark = marks.get(name)
            if mark is None or mark[0] != bucket.generation:
                continue
            bucket.used = _ledger_use(bucket, rows) + max(0.0, bucket.used - mark[1])

    # --- reading --------------------------------------------------------------------------------

    def _states(self, now: float) -> list[BudgetLimit]:
        states = []
        for bucket in self._buckets.values():
            bucket.roll(now)
            used = bucket.charged(now)
            share = self._share_of(bucket, now)
            scope = bucket.scope
            what = (f"provider {scope.provider}" if scope.provider != "*" else
                    f"project {scope.project}" if scope.project else "all")
            states.append(BudgetLimit(name=bucket.name, scope=what, metric=bucket.metric, window=bucket.window,
                                      limit=bucket.limit, used=round(used, 6), reserved=round(bucket.reserved, 6),
                                      share=round(share, 4), level=level_of(share), resets_at=bucket.end,
                                      refused=self._refused.get(bucket.name, 0)))
        return states

    def statistics(self, now: float, paid_providers: Iterable[str] = ()) -> BudgetStats:
        share = self.spent_share(now, None, paid_providers)
        return BudgetStats(configured=self.config.configured, pressure=round(pressure_of(share), 4),
                           level=level_of(share), limits=self._states(now), windows=self.windows.statistics(now))
