"""Each dialect's reading of a provider's error body: what the status alone does not say.

A 400 may be the client's bad request, a prompt over the model's context window, or (Anthropic) a
credit balance that ran out; a 429 may be a rate limit or (OpenAI) a quota that is used up; a 503
may say "overloaded". ``READERS[dialect](status, body)`` returns an ``ErrorReading`` whose ``hint``
is a ``routerd.resilience.taxonomy`` category when the body says more than the status, and a
``retry_after_s`` when the body carries one (Gemini's ``RetryInfo``; OpenAI's "Please try again in
1.5s" in a rate limit's message, often sent with no Retry-After header, which wins when there is one). Stream error events have the
same shapes, so they are read the same way; ``stream_failure`` tells a stream's error event from its
other events and reads it.

Pure and total: any bytes in, never an exception out. The tables hold each provider's documented
error codes and types; the phrases cover what they put only in the message (Anthropic's
"prompt is too long", OpenAI-compatible servers' "maximum context length").
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec

from routerd.resilience.taxonomy import Category, bounded_delay


@dataclass(frozen=True, slots=True)
class ErrorReading:
    hint: Category | None = None
    retry_after_s: float | None = None
    message: str = ""


# Codes and types, per dialect family, that name the category outright.
_OPENAI_CODES: dict[str, Category] = {
    "context_length_exceeded": "context_too_long", "string_above_max_length": "bad_request",
    "insufficient_quota": "billing", "billing_hard_limit_reached": "billing",
    "billing_not_active": "billing", "model_not_found": "model_not_found",
    "content_policy_violation": "content_policy", "content_filter": "content_policy",
    "invalid_api_key": "auth", "invalid_organization": "auth",
    "unsupported_country_region_territory": "auth", "rate_limit_exceeded": "rate_limited",
    "tokens_exceeded": "rate_limited", "server_error": "server_error", "overloaded": "overloaded",
    # Responses streams' ``response.failed`` when a model is at capacity (what Codex retries on)
    "server_is_overloaded": "overloaded", "slow_down": "overloaded",
}
_ANTHROPIC_TYPES: dict[str, Category] = {
    "rate_limit_error": "rate_limited", "overloaded_error": "overloaded", "api_error": "server_error",
    "authentication_error": "auth", "permission_error": "auth", "billing_error": "billing",
    "not_found_error": "model_not_found", "request_too_large": "bad_request", "timeout_error": "timeout",
}
_GEMINI_STATUSES: dict[str, Category] = {
    "RESOURCE_EXHAUSTED": "rate_limited", "UNAVAILABLE": "server_error", "INTERNAL": "server_error",
    "DEADLINE_EXCEEDED": "timeout", "UNAUTHENTICATED": "auth", "PERMISSION_DENIED": "auth",
    "NOT_FOUND": "model_not_found",
}

# Phrases in messages, checked in order (the first match wins); lower case.
_PHRASE_TEXT: tuple[tuple[str, Category], ...] = (
    (r"prompt is too long|maximum context length|context (length|window|limit)|context_length"
     r"|too many (input )?tokens|input token count .* exceeds|reduce the length of", "context_too_long"),
    (r"credit balance|insufficient (balance|credits?|funds)|billing|payment required"
     r"|exceeded your current quota", "billing"),
    (r"overloaded|over capacity|at capacity", "overloaded"),
    (r"content (management )?polic|safety system|flagged as (potentially )?(unsafe|harmful)"
     r"|content[_ ]filter", "content_policy"),
    (r"\bmodel\b.*(does not exist|not found|is not supported|not available|unknown)"
     r"|(unknown|invalid|no such) model", "model_not_found"),
    (r"invalid (x-)?api[ -_]?key|incorrect api key|api key not valid|unauthori[sz]ed", "auth"),
)
_PHRASES = tuple((re.compile(text), category) for text, category in _PHRASE_TEXT)

_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)s\s*$")
# OpenAI's "Please try again in 20ms" / "in 1.524s" / "in 6m0s" (Go's duration format): hours,
# minutes, seconds, milliseconds, each optional and bounded in digits; searched in the message's
# first kilobyte only (where OpenAI puts it: the sentence after the limit's figures).
_NUMBER = r"(\d{1,9}(?:\.\d{1,9})?)"
_TRY_AGAIN_RE = re.compile(rf"try again in (?:{_NUMBER}h)?(?:{_NUMBER}m(?!s))?(?:{_NUMBER}s)?(?:{_NUMBER}ms)?\b",
                           re.IGNORECASE)
_TRY_AGAIN_SCAN_CHARS = 1000
_UNIT_S = (3600.0, 60.0, 1.0, 0.001)


def _decode(body: bytes) -> Any:
    try:
        return msgspec.json.decode(body)
    except (msgspec.DecodeError, UnicodeDecodeError):
        return None


def _error_object(value: Any) -> dict[str, Any]:
    """The ``error`` object of a body in any of the shapes seen: ``{"error": {...}}``,
    ``{"type": "error", "error": {...}}``, a Gemini list ``[{"error": {...}}]``, a Responses stream
    ``{"type": "error", "code": ..., "message": ...}`` or ``response.failed``'s ``response.error``."""
    if isinstance(value, list) and value:
        value = value[0]
    if not isinstance(value, dict):
        return {}
    inner = value.get("error")
    if isinstance(inner, dict):
        return inner
    response = value.get("response")
    if isinstance(response, dict) and isinstance(response.get("error"), dict):
        found: dict[str, Any] = response["error"]
        return found
    if isinstance(inner, str):
        return {"message": inner}
    return value


@dataclass(frozen=True, slots=True)
class StreamFailure:
    """The error event a provider ended its stream with: its type (or status, or code) and message
    as the provider gave them, the category they read as, and when it says to come back (Gemini's
    ``RetryInfo``: a stream has no Retry-After header to say it)."""

    kind: str
    message: str
    hint: Category | None
    retry_after_s: float | None = None

    def __str__(self) -> str:
        return f"{self.kind}: {self.message}" if self.kind else self.message


# An event that may be an error, found by a byte search before anything is decoded: an ``error``
# member holding an object or a string (Anthropic, OpenAI chat, Gemini, ``response.failed``), or
# a ``type`` of ``error`` (Anthropic, Responses). Quotes inside generated text are escaped, so
# text that spells these out does not match.
STREAM_ERROR = re.compile(rb'"(?:error"\s*:\s*[{"]|type"\s*:\s*"(?:error|response\.failed)")')
_FAILED_TYPES = frozenset({None, "error", "response.failed"})
_NO_KIND = (None, "", "error", "response.failed")  # a Responses event's own type names no error


def stream_failure(dialect: str, data: bytes) -> StreamFailure | None:
    """The error a stream event's ``data`` reports, in any dialect's shape, or None when the event is
    no error (its top level says so: an ``error`` member that is set, or an error ``type``)."""
    value = _decode(data)
    if not isinstance(value, dict) or value.get("type") not in _FAILED_TYPES:
        return None
    if value.get("type") is None and not value.get("error"):
        return None
    error = _error_object(value)
    kind = next((str(error[k]) for k in ("type", "status", "code") if error.get(k) not in _NO_KIND), "")
    reading = read_error(dialect, 500, data)
    return StreamFailure(kind, reading.message or "upstream error", reading.hint, reading.retry_after_s)


def _text(error: dict[str, Any], key: str) -> str:
    value = error.get(key)
    return value if isinstance(value, str) else ""


def _from_phrases(message: str) -> Category | None:
    lowered = message.lower()
    return next((category for pattern, category in _PHRASES if pattern.search(lowered)), None)


def _plain(body: bytes) -> str:
    return body[:500].decode("utf-8", "replace").strip()


def read_openai(status: int, body: bytes) -> ErrorReading:
    """OpenAI's ``{"error": {"message", "type", "code"}}`` (Chat, Responses and compatibles)."""
    error = _error_object(_decode(body))
    message = _text(error, "message") or (_plain(body) if not error else "")
    code, kind = str(error.get("code") or ""), _text(error, "type")
    hint = _OPENAI_CODES.get(code) or _OPENAI_CODES.get(kind) or _from_phrases(message)
    return ErrorReading(_settle(status, hint), _try_again_in(message), message)


def _try_again_in(message: str) -> float | None:
    """The wait an OpenAI message asks for ("Please try again in 7.2s"), bounded; None when none."""
    match = _TRY_AGAIN_RE.search(message, 0, _TRY_AGAIN_SCAN_CHARS)
    if match is None or not any(match.groups()):
        return None
    return bounded_delay(sum(float(v) * unit for v, unit in zip(match.groups(), _UNIT_S) if v is not None))


def read_anthropic(status: int, body: bytes) -> ErrorReading:
    """Anthropic's ``{"type": "error", "error": {"type", "message"}}``. A spent credit balance comes
    as a 400 ``invalid_request_error``, a too-long prompt too; only the message tells them apart."""
    error = _error_object(_decode(body))
    message = _text(error, "message") or (_plain(body) if not error else "")
    kind = _text(error, "type")
    phrase = _from_phrases(message)
    hint = phrase if kind == "invalid_request_error" else (_ANTHROPIC_TYPES.get(kind) or phrase)
    return ErrorReading(_settle(status, hint), None, message)


def read_gemini(status: int, body: bytes) -> ErrorReading:
    """Google's ``{"error": {"code", "message", "status", "details"}}``; a ``RetryInfo`` detail's
    ``retryDelay`` says when to come back."""
    error = _error_object(_decode(body))
    message = _text(error, "message") or (_plain(body) if not error else "")
    phrase = _from_phrases(message)
    state = _text(error, "status")
    if state == "RESOURCE_EXHAUSTED" and phrase == "billing":
        phrase = None  # Gemini's per-minute quota says "exceeded your current quota" too
    hint = phrase or _GEMINI_STATUSES.get(state)
    return ErrorReading(_settle(status, hint), _retry_delay(error.get("details")), message)


def _retry_delay(details: Any) -> float | None:
    for detail in details if isinstance(details, list) else ():
        if isinstance(detail, dict) and str(detail.get("@type", "")).endswith("google.rpc.RetryInfo"):
            match = _DURATION_RE.match(str(detail.get("retryDelay", "")))
            if match:
                return bounded_delay(float(match.group(1)))
    return None


def _settle(status: int, hint: Category | None) -> Category | None:
    """Keep a hint only where it refines the status: a 5xx is never the client's fault, and a
    message that merely mentions a model on a 5xx does not make the provider lack it."""
    if hint is None:
        return None
    if status >= 500 and hint in ("bad_request", "model_not_found", "content_policy", "auth"):
        return None
    return hint


READERS: dict[str, Callable[[int, bytes], ErrorReading]] = {
    "openai": read_openai, "openai_chat": read_openai, "responses": read_openai,
    "anthropic": read_anthropic, "gemini": read_gemini,
}


def read_error(dialect: str, status: int, body: bytes) -> ErrorReading:
    """``dialect``'s reading of an error body (an unknown dialect reads as OpenAI's shape, which
    most compatible servers use)."""
    return READERS.get(dialect, read_openai)(status, body)
