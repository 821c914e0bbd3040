"""Providers' own windows, read from the headers on each answer and kept per provider: how much
of each is spent, and when it starts over.

    anthropic-ratelimit-unified-{5h,7d,...}-utilization   a subscription window's spent share (a fraction; above 1 in overage)
    anthropic-ratelimit-unified-{5h,7d,...}-reset         when it starts over (Unix seconds or RFC 3339)
    anthropic-ratelimit-unified-status                    "rejected": the subscription is used up
    x-codex-*                                             a ChatGPT plan's Codex windows, credits, reached
                                                          limit and models' own limits (``codex_plan``)
    anthropic-ratelimit-{requests,tokens,...}-*           API rate limits   } read by
    x-ratelimit-*                                         OpenAI and others } ``read_limits``, once

Codex's windows are read as codex-rs reads them (``codex-api/src/rate_limits.rs``): a window whose
percentage does not parse, or that says nothing (0 %, no span, no reset), is none; which of primary
and secondary is the 5-hour one varies by plan, so a window is named by its span. Its stream's
``codex.rate_limits`` event carries the same fields (``codex_plan.event_headers`` writes them as these
headers). Each vendor's headers are read only from a provider of its kind: an OpenAI-compatible
server relaying Anthropic's headers is no subscription, nor an Anthropic-kind one Codex's.

What a Codex plan's windows weigh: with credits left (``x-codex-credits-has-credits`` or
``-unlimited``) a window at 100 % still serves, drawing on the credits, so it presses as a high
limit does (ON_CREDITS_SHARE), not as a used-up one; a limit the backend says it refused a call for
(``x-codex-rate-limit-reached-type``, or an event's ``limit_reached`` with no credits left) is the
window "plan" at 100 % until an answer without it; a model's own limit (another ``x-codex-<family>``)
is shown, and presses nothing: it holds back one model, not the provider.

A window past its reset is forgotten (it is full again). Pure: ``now`` is a Unix time. Bounded: a
handful of windows per configured provider.
"""

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from operator import itemgetter

import msgspec

from routerd.budgets.codex_plan import CodexPlan, Credits, read_plan
from routerd.budgets.spans import span_s
from routerd.protocol.reports import BudgetWindow
from routerd.resilience.limiter import Observation
from routerd.resilience.ratelimit_headers import reset_time

_UNIFIED = re.compile(rb"anthropic-ratelimit-unified-(?:([a-z0-9]+)-)?(utilization|reset|status)")
_NAME = itemgetter(0)
MAX_WINDOWS = 16  # per provider; headers name a few
# A Codex plan window at 100 % with credits left: served at a price, so routing strongly prefers
# cheaper models ("high", pressure 0.9) without the provider counting as used up ("capped").
ON_CREDITS_SHARE = 0.95
REACHED_WINDOW = "plan"   # the window a refusal's reached limit is shown as


@dataclass
class _Seen:
    """One provider's windows by name, and what its Codex plan said beyond them."""

    table: dict[str, BudgetWindow] = field(default_factory=dict)
    plan: set[str] = field(default_factory=set)     # the names of its Codex plan's own windows
    models: set[str] = field(default_factory=set)   # ... and of its models' own limits
    credits: Credits | None = None                  # the plan's credits, as last said


class ProviderWindows:
    def __init__(self) -> None:
        self._seen: dict[str, _Seen] = {}

    def observe(self, provider: str, limits: list[Observation], headers: Iterable[tuple[bytes, bytes]],
                now: float, kind: str | None = None) -> None:
        """Every window ``provider`` reported on one answer: its rate limits as ``read_limits`` read
        them (the dispatch reads them once, for resilience's learned buckets too), and the
        subscription windows and Codex plan in its ``headers`` (``read_windows``)."""
        found = {obs.metric: BudgetWindow(provider=provider, name=obs.metric,
                                          used_share=1.0 - obs.remaining / obs.limit, resets_at=obs.reset_at)
                 for obs in limits}
        windows, plan = _read(headers, now, kind)
        for name, share, resets_at in windows:
            found[name] = BudgetWindow(provider=provider, name=name, used_share=share, resets_at=resets_at)
        if plan is not None:
            self._plan(provider, plan, found, now)
        if found:
            seen = self._seen.setdefault(provider, _Seen())
            seen.table.update(found)
            while len(seen.table) > MAX_WINDOWS:
                seen.table.pop(next(iter(seen.table)))
            seen.plan &= seen.table.keys()
            seen.models &= seen.table.keys()

    def _plan(self, provider: str, plan: CodexPlan, found: dict[str, BudgetWindow], now: float) -> None:
        """What a Codex plan said beyond its windows: its credits (kept until it says again), its
        models' own limits, and the limit it refused a call for (until an answer without one)."""
        seen = self._seen.setdefault(provider, _Seen())
        if plan.credits is not None:
            seen.credits = plan.credits
        seen.plan.update(name for name, _, _ in plan.windows)
        for name, share, resets_at in plan.models:
            found[name] = BudgetWindow(provider=provider, name=name, used_share=share, resets_at=resets_at,
                                       note="one model's limit")
            seen.models.add(name)
        if plan.reached is None:
            seen.table.pop(REACHED_WINDOW, None)
            return
        # Until the spent windows start over; when none says, as long as the shortest plan window
        # lasts (an answer served meanwhile clears it).
        spent = [resets_at for _, share, resets_at in plan.windows if share >= 1.0]
        found[REACHED_WINDOW] = BudgetWindow(provider=provider, name=REACHED_WINDOW, used_share=1.0,
                                             resets_at=max(spent, default=now + span_s("5h")),
                                             note=f"limit reached: {plan.reached}")

    def share(self, provider: str, now: float) -> float:
        """The most spent share of ``provider``'s current windows, each as it presses (``weight``;
        0: none known)."""
        seen = self._seen.get(provider)
        return max((self._weight(seen, w) for w in self._current(provider, now)), default=0.0) if seen else 0.0

    def weight(self, window: BudgetWindow) -> float:
        """The share ``window`` presses with: a model's own limit none, a Codex plan window spent
        while credits are left at most ON_CREDITS_SHARE, any other its spent share."""
        seen = self._seen.get(window.provider)
        return self._weight(seen, window) if seen else window.used_share

    @staticmethod
    def _weight(seen: _Seen, window: BudgetWindow) -> float:
        if window.name in seen.models:
            return 0.0
        if window.name in seen.plan and seen.credits is not None and seen.credits.left:
            return min(window.used_share, ON_CREDITS_SHARE)
        return window.used_share

    def _current(self, provider: str, now: float) -> list[BudgetWindow]:
        seen = self._seen.get(provider)
        if seen is None or not seen.table:
            return []
        table = seen.table
        for name in [n for n, w in table.items() if w.resets_at is not None and w.resets_at <= now]:
            del table[name]
        return list(table.values())

    def statistics(self, now: float) -> list[BudgetWindow]:
        """Every current window; a Codex plan's own say what its credits are."""
        out = []
        for provider, seen in list(self._seen.items()):
            credits = seen.credits.describe() if seen.credits is not None else ""
            out += [msgspec.structs.replace(w, note=credits) if credits and w.name in seen.plan else w
                    for w in self._current(provider, now)]
        return out


def read_windows(headers: Iterable[tuple[bytes, bytes]], now: float,
                 kind: str | None = None) -> list[tuple[str, float, float]]:
    """The subscription windows in one answer's ``headers`` from a provider of ``kind`` (None: any
    vendor's): (name, spent share 0..1, when it starts over), Anthropic's and Codex's alike."""
    return _read(headers, now, kind)[0]


def _read(headers: Iterable[tuple[bytes, bytes]], now: float,
          kind: str | None) -> tuple[list[tuple[str, float, float]], CodexPlan | None]:
    """``read_windows``'s windows, and the Codex plan's word in full (None: the answer has none)."""
    anthropic, codex = kind in (None, "anthropic"), kind in (None, "openai")
    pairs = headers if isinstance(headers, list) else list(headers)
    # Most answers have none (an OpenAI API key's, Anthropic's without a subscription): one search
    # of their names joined costs a seventh of a loop over them (~20 headers).
    names = b"\n".join(map(_NAME, pairs)).lower() if anthropic or codex else b""
    anthropic = anthropic and b"anthropic-ratelimit-unified-" in names
    plan = read_plan(pairs, now) if codex and b"x-codex-" in names else None
    if not anthropic:
        return (plan.windows if plan is not None else []), plan
    unified: dict[str, dict[str, str]] = {}
    for name, value in pairs:
        # Only a name starting with "a" can match: most headers (x-ratelimit-*, x-request-id) skip
        # the lowering and the pattern.
        if name[:1] in b"aA" and (match := _UNIFIED.fullmatch(name.lower())):
            window = (match.group(1) or b"unified").decode()
            unified.setdefault(window, {})[match.group(2).decode()] = value.decode("latin-1").strip()
    found: dict[str, tuple[float, float]] = {}
    for window, fields in unified.items():
        share = _share(fields)
        if share is not None:
            # A window whose reset cannot be read is kept as long as the longest real one
            # lasts, not for good: a later answer's headers replace it anyway.
            found[window] = (share, reset_time(fields.get("reset"), now) or now + span_s(window))
    for name, share, resets_at in plan.windows if plan is not None else ():
        if share >= found.get(name, (-1.0, 0.0))[0]:
            found[name] = (share, resets_at)
    return [(name, share, resets_at) for name, (share, resets_at) in found.items()], plan


def _share(fields: dict[str, str]) -> float | None:
    """A unified window's spent share: 1.0 when rejected, else its utilization, which is a fraction
    in every form Anthropic sends (Claude Code 2.1.197 reads ``Number(header)``, shows it times 100
    as a percentage and warns at 0.25 to 0.9), so one above 1.0 is a window spent past its limit
    (overage), not a percentage: it counts as spent. (Codex's windows are percentages:
    ``codex_plan``.)"""
    if fields.get("status") == "rejected":
        return 1.0
    try:
        share = float(fields["utilization"])
    except (KeyError, ValueError):
        return None
    if not math.isfinite(share):   # "inf" and "nan" say nothing about what is spent
        return None
    return min(max(share, 0.0), 1.0)
