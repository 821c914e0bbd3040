"""Stop-reason and error-type tables of every dialect, both ways."""

from __future__ import annotations

OPENAI_FINISH_IN = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use",
                    "function_call": "tool_use", "content_filter": "content_filter"}
OPENAI_FINISH_OUT = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length",
                     "tool_use": "tool_calls", "content_filter": "content_filter", "error": "stop"}

ANTHROPIC_STOP_IN = {"end_turn": "end_turn", "max_tokens": "max_tokens", "stop_sequence": "stop_sequence",
                     "tool_use": "tool_use", "pause_turn": "end_turn", "refusal": "content_filter",
                     "model_context_window_exceeded": "max_tokens"}
ANTHROPIC_STOP_OUT = {"end_turn": "end_turn", "max_tokens": "max_tokens", "stop_sequence": "stop_sequence",
                      "tool_use": "tool_use", "content_filter": "refusal", "error": "end_turn"}

GEMINI_FINISH_IN = {"STOP": "end_turn", "MAX_TOKENS": "max_tokens", "SAFETY": "content_filter",
                    "RECITATION": "content_filter", "BLOCKLIST": "content_filter",
                    "PROHIBITED_CONTENT": "content_filter", "SPII": "content_filter",
                    "IMAGE_SAFETY": "content_filter", "LANGUAGE": "content_filter",
                    "MALFORMED_FUNCTION_CALL": "error", "UNEXPECTED_TOOL_CALL": "error",
                    "OTHER": "error", "FINISH_REASON_UNSPECIFIED": "end_turn"}
GEMINI_FINISH_OUT = {"end_turn": "STOP", "stop_sequence": "STOP", "tool_use": "STOP",
                     "max_tokens": "MAX_TOKENS", "content_filter": "SAFETY", "error": "OTHER"}

# HTTP status -> each dialect's error type.
OPENAI_ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
                      404: "not_found_error", 413: "invalid_request_error", 429: "rate_limit_error"}
ANTHROPIC_ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error",
                         403: "permission_error", 404: "not_found_error", 413: "request_too_large",
                         429: "rate_limit_error", 503: "overloaded_error", 529: "overloaded_error"}
GEMINI_STATUSES = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
                   404: "NOT_FOUND", 409: "ABORTED", 413: "INVALID_ARGUMENT", 429: "RESOURCE_EXHAUSTED",
                   499: "CANCELLED", 500: "INTERNAL", 501: "UNIMPLEMENTED", 502: "UNAVAILABLE",
                   503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED"}


def openai_error_type(status: int) -> str:
    return OPENAI_ERROR_TYPES.get(status, "invalid_request_error" if status < 500 else "server_error")


def anthropic_error_type(status: int) -> str:
    return ANTHROPIC_ERROR_TYPES.get(status, "invalid_request_error" if status < 500 else "api_error")


def gemini_status(status: int) -> str:
    return GEMINI_STATUSES.get(status, "FAILED_PRECONDITION" if status < 500 else "INTERNAL")
