"""Error answers in each dialect's own shape: whole bodies, and the event that ends a broken stream.

The shapes are the providers' own, so that official SDKs raise their usual typed errors (``openai``
raises ``APIStatusError`` subclasses from ``{"error": {...}}``; ``anthropic`` reads
``{"type": "error", "error": {"type": ...}}``; both raise from an ``error`` event mid-stream).
"""

import msgspec

_ANTHROPIC_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
                    404: "not_found_error", 413: "request_too_large", 429: "rate_limit_error",
                    529: "overloaded_error"}
_OPENAI_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
                 404: "not_found_error", 413: "invalid_request_error", 429: "rate_limit_error"}
_GEMINI_STATUS = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
                  404: "NOT_FOUND", 413: "INVALID_ARGUMENT", 429: "RESOURCE_EXHAUSTED",
                  503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED"}
_encode = msgspec.json.encode


def error_body(dialect: str, status: int, message: str, code: str = "") -> bytes:
    """A whole error response body for ``dialect``."""
    if dialect == "anthropic":
        kind = _ANTHROPIC_TYPES.get(status, "api_error" if status < 503 else "overloaded_error")
        return _encode({"type": "error", "error": {"type": kind, "message": message}})
    if dialect == "gemini":
        return _encode({"error": {"code": status, "message": message,
                                  "status": _GEMINI_STATUS.get(status, "INTERNAL")}})
    kind = _OPENAI_TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    if code == "model_not_found":  # OpenAI's own shape for a model it does not serve
        kind = "invalid_request_error"
    return _encode({"error": {"message": message, "type": kind, "param": None, "code": code or None}})


def stream_error(dialect: str, status: int, message: str, code: str = "") -> bytes:
    """The server-sent event that tells a client its stream broke after it had started."""
    if dialect == "anthropic":
        return b"event: error\ndata: " + error_body(dialect, status, message) + b"\n\n"
    if dialect == "responses":
        return b"event: error\ndata: " + _encode(
            {"type": "error", "code": code or "server_error", "message": message, "param": None,
             "sequence_number": 0}) + b"\n\n"
    return b"data: " + error_body(dialect, status, message, code) + b"\n\n"
