"""Windows named by their span, as Anthropic names its own: 300 minutes "5h", 10080 "7d"; and how
long a window so named lasts."""

import re

from routerd.resilience.ratelimit_headers import MAX_RESET_S

_SPAN = re.compile(r"(\d{1,4})([mhd])")
_UNIT_S = {"m": 60.0, "h": 3600.0, "d": 86400.0}


def span_name(minutes: int) -> str | None:
    """A window's name by its span in minutes (None: no span, or one too long to name)."""
    if not 0 < minutes <= 9999 * 60:
        return None
    for unit, size in (("d", 1440), ("h", 60)):
        if minutes % size == 0 and minutes // size <= 9999:
            return f"{minutes // size}{unit}"
    return f"{minutes}m" if minutes <= 9999 else None


def span_s(window: str) -> float:
    """How long a window named like ``5h`` or ``7d`` lasts (MAX_RESET_S when its name does not say);
    a name may end in its span (``gpt-5.2-codex-sonic 5h``)."""
    match = _SPAN.fullmatch(window.rpartition(" ")[2])
    return min(int(match.group(1)) * _UNIT_S[match.group(2)], MAX_RESET_S) if match else MAX_RESET_S
