"""Providers' own windows, read from the headers on each answer and kept per provider: how much
of each is spent, and when it starts over.

    anthropic-ratelimit-unified-{5h,7d,...}-utilization   a subscription window's spent share (a fraction; above 1 in overage)
    anthropic-ratelimit-unified-{5h,7d,...}-reset         when it starts over (Unix seconds or RFC 3339)
    anthropic-ratelimit-unified-status                    "rejected": the subscription is used up
    anthropic-ratelimit-{requests,tokens,...}-*           API rate limits   } read by
    x-ratelimit-*                                         OpenAI and others } ``read_limits``, once

A window past its reset is forgotten (it is full again). Pure: ``now`` is a Unix time. Bounded: a
handful of windows per configured provider.
"""

import math
import re
from collections.abc import Iterable

from routerd.protocol.reports import BudgetWindow
from routerd.resilience.limiter import Observation
from routerd.resilience.ratelimit_headers import MAX_RESET_S, reset_time

_UNIFIED = re.compile(rb"anthropic-ratelimit-unified-(?:([a-z0-9]+)-)?(utilization|reset|status)")
_SPAN = re.compile(r"(\d{1,4})([mhd])")
_UNIT_S = {"m": 60.0, "h": 3600.0, "d": 86400.0}
MAX_WINDOWS = 16  # per provider; headers name a few


class ProviderWindows:
    def __init__(self) -> None:
        self._seen: dict[str, dict[str, BudgetWindow]] = {}

    def observe(self, provider: str, limits: list[Observation], headers: Iterable[tuple[bytes, bytes]],
                now: float, kind: str | None = None) -> None:
        """Every window ``provider`` reported on one answer: its rate limits as ``read_limits`` read
        them (the dispatch reads them once, for resilience's learned buckets too), and the
        subscription windows in its ``headers`` (Anthropic's: read from a provider of another
        ``kind`` they are no account's windows, and ignored)."""
        found = {obs.metric: BudgetWindow(provider=provider, name=obs.metric,
                                          used_share=1.0 - obs.remaining / obs.limit, resets_at=obs.reset_at)
                 for obs in limits}
        unified: dict[str, dict[str, str]] = {}
        for name, value in headers if kind in (None, "anthropic") else ():
            # Only a name starting with an a can match: most headers skip the lowering and the pattern.
            if name[:1] in b"aA" and (match := _UNIFIED.fullmatch(name.lower())):
                window = (match.group(1) or b"unified").decode()
                unified.setdefault(window, {})[match.group(2).decode()] = value.decode("latin-1").strip()
        for window, fields in unified.items():
            share = _share(fields)
            if share is not None:
                # A window whose reset cannot be read is kept as long as the longest real one
                # lasts, not for good: a later answer's headers replace it anyway.
                resets_at = reset_time(fields.get("reset"), now) or now + _span_s(window)
                found[window] = BudgetWindow(provider=provider, name=window, used_share=share,
                                              resets_at=resets_at)
        if found:
            table = self._seen.setdefault(provider, {})
            table.update(found)
            while len(table) > MAX_WINDOWS:
                table.pop(next(iter(table)))

    def share(self, provider: str, now: float) -> float:
        """The most spent share of ``provider``'s current windows (0: none known)."""
        return max((w.used_share for w in self._current(provider, now)), default=0.0)

    def _current(self, provider: str, now: float) -> list[BudgetWindow]:
        table = self._seen.get(provider)
        if not table:
            return []
        for name in [n for n, w in table.items() if w.resets_at is not None and w.resets_at <= now]:
            del table[name]
        return list(table.values())

    def statistics(self, now: float) -> list[BudgetWindow]:
        return [w for provider in list(self._seen) for w in self._current(provider, now)]


def _span_s(window: str) -> float:
    """How long a window named like ``5h`` or ``7d`` lasts (MAX_RESET_S when its name does not say)."""
    match = _SPAN.fullmatch(window)
    return min(int(match.group(1)) * _UNIT_S[match.group(2)], MAX_RESET_S) if match else MAX_RESET_S


def _share(fields: dict[str, str]) -> float | None:
    """A unified window's spent share: 1.0 when rejected, else its utilization, which is a fraction
    in every form Anthropic sends (Claude Code 2.1.197 reads ``Number(header)``, shows it times 100
    as a percentage and warns at 0.25 to 0.9), so one above 1.0 is a window spent past its limit
    (overage), not a percentage: it counts as spent. Codex's rate-limit windows are percentages
    (``x-codex-*-used-percent``), but in headers of their own that this module does not read."""
    if fields.get("status") == "rejected":
        return 1.0
    try:
        share = float(fields["utilization"])
    except (KeyError, ValueError):
        return None
    if not math.isfinite(share):   # "inf" and "nan" say nothing about what is spent
        return None
    return min(max(share, 0.0), 1.0)
