"""Report windows: ``--period today|week|month|all`` and ``--since 24h|7d|<ISO date>``.

Periods are calendar ones in the daemon's local time: today since midnight, this week since
Monday's midnight, this month since the 1st; ``all`` is everything. A calendar period also ends
(at the next midnight, Monday or 1st), so a call stamped in the future (recorded while the clock
ran ahead) counts in the one window it falls in, not in today's and again in tomorrow's; ``all``
and ``--since`` have no end. ``--since`` wins over ``--period``. Midnights are computed on naive local times, so a daylight-saving change inside the
window moves the start with the clock, as a person reading the report expects.
"""

import math
import re
from datetime import datetime, timedelta

from routerd.errors import BadRequest

PERIODS = ("today", "week", "month", "all")
_SPAN = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhdw])$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_since(since: str, now: float) -> float:
    """``"24h"``, ``"7d"``, ``"30m"`` or an ISO date/time (local time unless it names an offset, as
    the days reports group by are local: ``--since 2026-12-07 --by day`` starts at that day's row) ->
    a Unix time."""
    match = _SPAN.match(since.strip().lower())
    if match:
        return now - float(match.group(1)) * _UNIT_S[match.group(2)]
    try:
        moment = datetime.fromisoformat(since.strip())
    except ValueError:
        raise BadRequest(f"since: expected a span like 24h or 7d, or an ISO date; got {since!r}") from None
    return moment.timestamp()  # a naive datetime is read in local time


def period_start(period: str, now: float) -> float:
    """The Unix time ``period`` (one of ``PERIODS``) starts at, in local time."""
    if period not in PERIODS:
        raise BadRequest(f"period: expected one of {', '.join(PERIODS)}; got {period!r}")
    if period == "all":
        return 0.0
    midnight = datetime.fromtimestamp(now).replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "week":
        midnight -= timedelta(days=midnight.weekday())
    elif period == "month":
        midnight = midnight.replace(day=1)
    return midnight.timestamp()


def period_end(period: str, now: float) -> float:
    """The Unix time ``period`` (one of ``PERIODS``) ends at (excluded): the next midnight, Monday
    or 1st in local time; ``math.inf`` for ``all``."""
    if period == "all":
        return math.inf
    start = datetime.fromtimestamp(period_start(period, now))
    if period == "today":
        end = start + timedelta(days=1)
    elif period == "week":
        end = start + timedelta(days=7)
    else:
        end = (start + timedelta(days=32)).replace(day=1)
    return end.timestamp()


def window_end(period: str | None, since: str | None, now: float) -> float:
    """Where a report ends (excluded): ``math.inf`` for ``since`` and ``all``, else ``period``'s end."""
    return math.inf if since else period_end(period or "all", now)


def window_start(period: str | None, since: str | None, now: float) -> float:
    """Where a report starts: ``since`` when given, else ``period`` (default: everything)."""
    if since:
        return parse_since(since, now)
    return period_start(period or "all", now)
