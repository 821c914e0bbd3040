"""Providers' rate-limit headers, read as ``Observation``s for the limiter's learned buckets.

    anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-{limit,remaining,reset}
        reset: an RFC 3339 time ("2025-08-21T12:40:59Z")
    x-ratelimit-{limit,remaining,reset}-{requests,tokens}      (OpenAI, Groq, Together, ...)
        reset: a Go-style duration ("1s", "6m0s", "12ms", "2m59.56s")
    x-ratelimit-{limit,remaining,reset}                        (OpenRouter: requests)
        reset: Unix time in milliseconds or seconds, or seconds from now

Pure and total: a header that does not parse is skipped, never an error; a number must be finite
(``inf`` and ``nan`` are no numbers) and a reset at most MAX_RESET_S ahead. Each vendor's headers
are read only from a provider of its kind (``kind``): an OpenAI-compatible server that relays
``anthropic-ratelimit-*`` headers is no Anthropic account. ``now`` is the Unix time the answer
arrived.
"""

import math
import re
from collections.abc import Iterable
from datetime import datetime, timezone

from routerd.resilience.limiter import Observation

_ANTHROPIC = re.compile(rb"anthropic-ratelimit-(requests|tokens|input-tokens|output-tokens)-(limit|remaining|reset)")
_OPENAI = re.compile(rb"x-ratelimit-(limit|remaining|reset)(?:-(requests|tokens))?")
_PREFIXES = (b"x-ratelimit-", b"anthropic-ratelimit-")
# The longest window providers report is a month's (a subscription's, a monthly quota's): a reset
# further ahead is a broken header, and would keep a learned bucket full for good.
MAX_RESET_S = 31 * 86400.0


def prefixes_of(kind: str | None) -> tuple[bytes, ...]:
    """The rate-limit headers a provider of ``kind`` sends (None: every vendor's)."""
    if kind is None:
        return _PREFIXES
    return (b"anthropic-ratelimit-",) if kind == "anthropic" else (b"x-ratelimit-",)
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def read_limits(headers: Iterable[tuple[bytes, bytes]], now: float, kind: str | None = None) -> list[Observation]:
    """Every complete (limit, remaining, reset) triple in ``headers``, of the vendor of ``kind``."""
    seen: dict[str, dict[str, str]] = {}
    prefixes = prefixes_of(kind)
    for name, value in headers:
        name = name.lower()
        if not name.startswith(prefixes):       # most headers: one cheap test, on every answer
            continue
        if match := _ANTHROPIC.fullmatch(name):
            metric, field = match.group(1).decode().replace("-", "_"), match.group(2).decode()
        elif match := _OPENAI.fullmatch(name):
            field, metric = match.group(1).decode(), (match.group(2) or b"requests").decode()
        else:
            continue
        seen.setdefault(metric, {})[field] = value.decode("latin-1").strip()
    found = []
    for metric, fields in seen.items():
        limit, remaining = _number(fields.get("limit")), _number(fields.get("remaining"))
        reset_at = reset_time(fields.get("reset"), now)
        if limit is not None and remaining is not None and reset_at is not None and limit > 0:
            found.append(Observation(metric, limit, min(max(remaining, 0.0), limit), reset_at))
    return found


def _number(text: str | None) -> float | None:
    try:
        value = float(text) if text is not None else None
    except ValueError:
        return None
    return value if value is not None and math.isfinite(value) else None


def reset_time(text: str | None, now: float) -> float | None:
    """When the limit is full again, as a Unix time: at most MAX_RESET_S ahead of ``now``."""
    at = _reset_time(text, now)
    if at is None or not math.isfinite(at):
        return None
    return min(at, now + MAX_RESET_S)


def _reset_time(text: str | None, now: float) -> float | None:
    if not text:
        return None
    if (value := _number(text)) is not None:
        if value > 1e12:
            return value / 1000          # Unix milliseconds
        return value if value > 1e9 else now + max(value, 0.0)
    if text[0].isdigit() and "T" not in text:
        return _duration(text, now)
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    try:
        return (when if when.tzinfo else when.replace(tzinfo=timezone.utc)).timestamp()
    except (OverflowError, ValueError):   # year 9999 with an offset, ...
        return None


def _duration(text: str, now: float) -> float | None:
    parts = _PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        return None
    return now + sum(float(n) * _UNITS[u] for n, u in parts)
