"""Report windows: ``--period today|week|month|all`` and ``--since 24h|7d|<ISO date>``.

Periods are calendar ones in the daemon's local time: today since midnight, this week since
Monday's midnight, this month since the 1st; ``all`` is everything. ``--since`` wins over
``--period``. Midnights are computed on naive local times, so a daylight-saving change inside the
window moves the start with the clock, as a person reading the report expects.
"""

import re
from datetime import datetime, timedelta, timezone

from routerd.errors import BadRequest

PERIODS = ("today", "week", "month", "all")
_SPAN = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhdw])$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_since(since: str, now: float) -> float:
    """``"24h"``, ``"7d"``, ``"30m"`` or an ISO date/time (UTC unless it says) -> a Unix time."""
    match = _SPAN.match(since.strip().lower())
    if match:
        return now - float(match.group(1)) * _UNIT_S[match.group(2)]
    try:
        moment = datetime.fromisoformat(since.strip())
    except ValueError:
        raise BadRequest(f"since: expected a span like 24h or 7d, or an ISO date; got {since!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


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


def window_start(period: str | None, since: str | None, now: float) -> float:
    """Where a report starts: ``since`` when given, else ``period`` (default: everything)."""
    if since:
        return parse_since(since, now)
    return period_start(period or "all", now)
