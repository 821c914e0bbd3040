"""Providers' rate-limit headers, read as ``Observation``s for the limiter's learned buckets.

    anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-{limit,remaining,reset}
        reset: an RFC 3339 time ("2025-08-21T12:40:59Z")
    x-ratelimit-{limit,remaining,reset}-{requests,tokens}      (OpenAI, Groq, Together, ...)
        reset: a Go-style duration ("1s", "6m0s", "12ms", "2m59.56s")
    x-ratelimit-{limit,remaining,reset}                        (OpenRouter: requests)
        reset: Unix time in milliseconds or seconds, or seconds from now

Pure and total: a header that does not parse is skipped, never an error. ``now`` is the Unix time
the answer arrived.
"""

import re
from collections.abc import Iterable
from datetime import datetime, timezone

from routerd.resilience.limiter import Observation

_ANTHROPIC = re.compile(rb"anthropic-ratelimit-(requests|tokens|input-tokens|output-tokens)-(limit|remaining|reset)")
_OPENAI = re.compile(rb"x-ratelimit-(limit|remaining|reset)(?:-(requests|tokens))?")
_PREFIXES = (b"x-ratelimit-", b"anthropic-ratelimit-")
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def read_limits(headers: Iterable[tuple[bytes, bytes]], now: float) -> list[Observation]:
    """Every complete (limit, remaining, reset) triple in ``headers``."""
    seen: dict[str, dict[str, str]] = {}
    for name, value in headers:
        name = name.lower()
        if not name.startswith(_PREFIXES):       # most headers: one cheap test, on every answer
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
        return float(text) if text is not None else None
    except ValueError:
        return None


def reset_time(text: str | None, now: float) -> float | None:
    """When the limit is full again, as a Unix time."""
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
    return (when if when.tzinfo else when.replace(tzinfo=timezone.utc)).timestamp()


def _duration(text: str, now: float) -> float | None:
    parts = _PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        return None
    return now + sum(float(n) * _UNITS[u] for n, u in parts)
