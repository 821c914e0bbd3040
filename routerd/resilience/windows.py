"""Where a limit's window starts and ends: a second, minute or hour on the clock, or a calendar
day, week (from Monday) or month. Pure: ``now`` is a Unix time.

Seconds and minutes are cut from the Unix epoch; hours, days, weeks and months from the local
clock, across daylight-saving changes: the system's local time (as SQLite's ``localtime`` and the
usage reports see it) when ``tz`` is None, else that zone's.
"""

import math
import time
from datetime import date, datetime, timedelta, tzinfo
from typing import Literal

Window = Literal["second", "minute", "hour", "day", "week", "month"]
WINDOWS: tuple[Window, ...] = ("second", "minute", "hour", "day", "week", "month")
SECONDS: dict[Window, float] = {"second": 1.0, "minute": 60.0, "hour": 3600.0, "day": 86400.0,
                                "week": 7 * 86400.0, "month": 31 * 86400.0}  # month: the longest


def bounds(window: Window, now: float, tz: tzinfo | None = None) -> tuple[float, float]:
    """``[start, end)`` of the ``window`` that holds ``now``."""
    if window in ("second", "minute"):
        size = SECONDS[window]
        start = now // size * size
        return start, start + size
    whole = math.floor(now)   # whole seconds: the same window always gets the very same start
    local = datetime.fromtimestamp(whole, tz) if tz is not None else datetime.fromtimestamp(whole)
    if window == "hour":
        start = float(whole - local.minute * 60 - local.second)
        return start, start + 3600.0
    day = local.date()
    if window == "day":
        begin, finish = day, day + timedelta(days=1)
    elif window == "week":
        begin = day - timedelta(days=day.weekday())
        finish = begin + timedelta(days=7)
    else:
        begin = day.replace(day=1)
        finish = (begin + timedelta(days=32)).replace(day=1)
    return _midnight(begin, tz), _midnight(finish, tz)


def _midnight(day: date, tz: tzinfo | None) -> float:
    """The Unix time of local midnight on ``day``, the offset taken on that day (so that a
    daylight-saving change between now and then moves with it)."""
    if tz is not None:
        return datetime(day.year, day.month, day.day, tzinfo=tz).timestamp()
    return time.mktime((day.year, day.month, day.day, 0, 0, 0, 0, 0, -1))
