"""Providers' own windows, read from the headers on each answer and kept per provider: how much
of each is spent, and when it starts over.

    anthropic-ratelimit-unified-{5h,7d,...}-utilization   a subscription window's spent share (a fraction; above 1 in overage)
    anthropic-ratelimit-unified-{5h,7d,...}-reset         when it starts over (Unix seconds or RFC 3339)
    anthropic-ratelimit-unified-status                    "rejected": the subscription is used up
    x-codex-{primary,secondary}-used-percent              a ChatGPT plan's Codex window, its spent share in percent
    x-codex-{primary,secondary}-window-minutes            how long it lasts (300: "5h", 10080: "7d"), which names it
    x-codex-{primary,secondary}-reset-at                  when it starts over (Unix seconds)
    x-codex-{primary,secondary}-reset-after-seconds       the same, from now (older servers)
    anthropic-ratelimit-{requests,tokens,...}-*           API rate limits   } read by
    x-ratelimit-*                                         OpenAI and others } ``read_limits``, once

Codex's windows are read as codex-rs reads them (``codex-api/src/rate_limits.rs``): a window whose
percentage does not parse, or that says nothing (0 %, no span, no reset), is none; which of primary
and secondary is the 5-hour one varies by plan, so a window is named by its span. Its stream's
``codex.rate_limits`` event carries the same fields (``codex_event_headers`` reads them as these
headers). Each vendor's headers are read only from a provider of its kind: an OpenAI-compatible
server relaying Anthropic's headers is no subscription, nor an Anthropic-kind one Codex's.

A window past its reset is forgotten (it is full again). Pure: ``now`` is a Unix time. Bounded: a
handful of windows per configured provider.
"""

import math
import re
from collections.abc import Iterable
from operator import itemgetter
from typing import Any

from routerd.protocol.reports import BudgetWindow
from routerd.resilience.limiter import Observation
from routerd.resilience.ratelimit_headers import MAX_RESET_S, reset_time

_UNIFIED = re.compile(rb"anthropic-ratelimit-unified-(?:([a-z0-9]+)-)?(utilization|reset|status)")
# Codex's own family only: another (``x-codex-bengalfox-*``) is one model's limit, no plan window.
_CODEX = re.compile(rb"x-codex-(primary|secondary)-(used-percent|window-minutes|reset-at|reset-after-seconds)")
_CODEX_FIELDS = ("used_percent", "window_minutes", "reset_at", "reset_after_seconds")
_NAME = itemgetter(0)
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
        subscription windows in its ``headers`` (``read_windows``)."""
        found = {obs.metric: BudgetWindow(provider=provider, name=obs.metric,
                                          used_share=1.0 - obs.remaining / obs.limit, resets_at=obs.reset_at)
                 for obs in limits}
        for name, share, resets_at in read_windows(headers, now, kind):
            found[name] = BudgetWindow(provider=provider, name=name, used_share=share, resets_at=resets_at)
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


def read_windows(headers: Iterable[tuple[bytes, bytes]], now: float,
                 kind: str | None = None) -> list[tuple[str, float, float]]:
    """The subscription windows in one answer's ``headers`` from a provider of ``kind`` (None: any
    vendor's): (name, spent share 0..1, when it starts over), Anthropic's and Codex's alike."""
    anthropic, codex = kind in (None, "anthropic"), kind in (None, "openai")
    pairs = headers if isinstance(headers, list) else list(headers)
    # Most answers have none (an OpenAI API key's, Anthropic's without a subscription): one search
    # of their names joined costs a seventh of a loop over them (~20 headers).
    names = b"\n".join(map(_NAME, pairs)).lower() if anthropic or codex else b""
    if not (anthropic and b"anthropic-ratelimit-unified-" in names or codex and b"x-codex-" in names):
        return []
    unified: dict[str, dict[str, str]] = {}
    plans: dict[str, dict[str, str]] = {}
    for name, value in pairs:
        # Only a name starting with "a" or "x-c" can match: most headers (x-ratelimit-*,
        # x-request-id) skip the lowering and the patterns.
        first = name[:1]
        if first in b"aA":
            if anthropic and (match := _UNIFIED.fullmatch(name.lower())):
                window = (match.group(1) or b"unified").decode()
                unified.setdefault(window, {})[match.group(2).decode()] = value.decode("latin-1").strip()
        elif codex and first in b"xX" and name[2:3] in b"cC" and (match := _CODEX.fullmatch(name.lower())):
            plans.setdefault(match.group(1).decode(), {})[match.group(2).decode()] = value.decode("latin-1").strip()
    found: dict[str, tuple[float, float]] = {}
    for window, fields in unified.items():
        share = _share(fields)
        if share is not None:
            # A window whose reset cannot be read is kept as long as the longest real one
            # lasts, not for good: a later answer's headers replace it anyway.
            found[window] = (share, reset_time(fields.get("reset"), now) or now + _span_s(window))
    for slot, fields in plans.items():
        read = _codex_window(slot, fields, now)
        if read is not None and read[1] >= found.get(read[0], (-1.0, 0.0))[0]:
            found[read[0]] = read[1:]
    return [(name, share, resets_at) for name, (share, resets_at) in found.items()]


def codex_event_headers(rate_limits: dict[str, Any]) -> list[tuple[bytes, bytes]]:
    """The ``rate_limits`` of a Codex stream's ``codex.rate_limits`` event (``{"primary":
    {"used_percent": 7, "window_minutes": 300, "reset_at": 1779398785}, "secondary": ...}``) as
    the headers that carry the same windows, for ``read_windows``."""
    out = []
    for slot in ("primary", "secondary"):
        window = rate_limits.get(slot)
        if isinstance(window, dict):
            out += [(f"x-codex-{slot}-{field.replace('_', '-')}".encode(), str(value).encode())
                    for field in _CODEX_FIELDS
                    if isinstance(value := window.get(field), (int, float)) and not isinstance(value, bool)]
    return out


def _codex_window(slot: str, fields: dict[str, str], now: float) -> tuple[str, float, float] | None:
    """One of Codex's windows: (name, spent share, when it starts over), or None when it says
    nothing. Named by its span ("5h", "7d"), else by its slot ("primary")."""
    try:
        used = float(fields["used-percent"])
    except (KeyError, ValueError):
        return None
    span = fields.get("window-minutes", "")
    minutes = int(span) if span.isdigit() else 0
    reset = reset_time(fields.get("reset-at"), now)
    if reset is None:
        reset = reset_time(fields.get("reset-after-seconds"), now)
    if not math.isfinite(used) or not (used or minutes or reset is not None):
        return None
    name = _span_name(minutes) or slot
    return name, min(max(used / 100.0, 0.0), 1.0), now + _span_s(name) if reset is None else reset


def _span_name(minutes: int) -> str | None:
    """A window's name by its span, as Anthropic names its own: 300 minutes "5h", 10080 "7d"."""
    if not 0 < minutes <= 9999 * 60:
        return None
    for unit, size in (("d", 1440), ("h", 60)):
        if minutes % size == 0 and minutes // size <= 9999:
            return f"{minutes // size}{unit}"
    return f"{minutes}m" if minutes <= 9999 else None


def _span_s(window: str) -> float:
    """How long a window named like ``5h`` or ``7d`` lasts (MAX_RESET_S when its name does not say)."""
    match = _SPAN.fullmatch(window)
    return min(int(match.group(1)) * _UNIT_S[match.group(2)], MAX_RESET_S) if match else MAX_RESET_S


def _share(fields: dict[str, str]) -> float | None:
    """A unified window's spent share: 1.0 when rejected, else its utilization, which is a fraction
    in every form Anthropic sends (Claude Code 2.1.197 reads ``Number(header)``, shows it times 100
    as a percentage and warns at 0.25 to 0.9), so one above 1.0 is a window spent past its limit
    (overage), not a percentage: it counts as spent. (Codex's windows are percentages:
    ``_codex_window``.)"""
    if fields.get("status") == "rejected":
        return 1.0
    try:
        share = float(fields["utilization"])
    except (KeyError, ValueError):
        return None
    if not math.isfinite(share):   # "inf" and "nan" say nothing about what is spent
        return None
    return min(max(share, 0.0), 1.0)
