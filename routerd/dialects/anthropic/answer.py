"""Anthropic Messages answers: whole response bodies, usage, stop reasons and the error shape.

Usage: Anthropic's ``input_tokens`` excludes cache reads and writes, so the canonical input is the
sum. The error type of a status is the API's own (``docs.anthropic.com`` "Errors"): the SDKs raise
by status, and clients that read ``error.type`` see what Anthropic itself would send.
"""

from __future__ import annotations

from typing import Any

import msgspec

from routerd.dialects.anthropic import search
from routerd.dialects.anthropic.request import Block, parse_blocks, render_block
from routerd.dialects.canonical import ChatResponse, StopReason, Usage
from routerd.dialects.wire import convert, load_body
from routerd.errors import UpstreamBadResponse
from routerd.ids import fresh

STOP_IN: dict[str, StopReason] = {"end_turn": "end_turn", "max_tokens": "max_tokens", "stop_sequence": "stop_sequence",
           "tool_use": "tool_use", "pause_turn": "end_turn", "refusal": "content_filter",
           "model_context_window_exceeded": "max_tokens"}
STOP_OUT = {"end_turn": "end_turn", "max_tokens": "max_tokens", "stop_sequence": "stop_sequence",
            "tool_use": "tool_use", "content_filter": "refusal", "error": "end_turn"}
# HTTP status -> Anthropic's error type; other 4xx are invalid requests, other 5xx api errors.
ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 402: "billing_error",
               403: "permission_error", 404: "not_found_error", 413: "request_too_large",
               429: "rate_limit_error", 503: "overloaded_error", 504: "timeout_error",
               529: "overloaded_error"}


def error_type(status: int) -> str:
    return ERROR_TYPES.get(status, "invalid_request_error" if status < 500 else "api_error")


class _ServerTools(msgspec.Struct):
    web_search_requests: int | None = 0


class RawUsage(msgspec.Struct):
    input_tokens: int | None = 0
    output_tokens: int | None = 0
    cache_creation_input_tokens: int | None = 0
    cache_read_input_tokens: int | None = 0
    server_tool_use: _ServerTools | None = None


def usage_in(raw: RawUsage | None) -> Usage:
    if raw is None:
        return Usage()
    cached = raw.cache_read_input_tokens or 0
    total_in = (raw.input_tokens or 0) + cached + (raw.cache_creation_input_tokens or 0)
    searches = (raw.server_tool_use.web_search_requests or 0) if raw.server_tool_use else 0
    return Usage(total_in, raw.output_tokens or 0, cached, 0, searches)


def usage_out(usage: Usage) -> dict[str, Any]:
    out: dict[str, Any] = {"input_tokens": max(0, usage.input_tokens - usage.cached_input_tokens),
                           "output_tokens": usage.output_tokens, "cache_creation_input_tokens": 0,
                           "cache_read_input_tokens": usage.cached_input_tokens}
    if usage.web_search_requests:
        out["server_tool_use"] = {"web_search_requests": usage.web_search_requests}
    return out


class _Response(msgspec.Struct):
    id: str = ""
    model: str = ""
    content: list[Block] = []
    stop_reason: str | None = None
    stop_sequence: str | None = None
    usage: RawUsage | None = None


def parse_response(body: Any) -> ChatResponse:
    """An upstream Messages response body as a ``ChatResponse``."""
    raw = convert(load_body(body, UpstreamBadResponse), _Response, UpstreamBadResponse)
    return ChatResponse(id=raw.id, model=raw.model, content=parse_blocks(raw.content, search.ANSWER),
                        stop_reason=STOP_IN.get(raw.stop_reason or "end_turn", "end_turn"), stop_sequence=raw.stop_sequence,
                        usage=usage_in(raw.usage))


def render_response(resp: ChatResponse, model: str, *, unsigned_thinking: bool = False) -> dict[str, Any]:
    """``resp`` as a Messages response body naming ``model``. Reasoning without a signature (from
    another dialect) is left out unless ``unsigned_thinking``: clients send thinking blocks back, and
    Anthropic rejects one whose signature does not verify."""
    blocks = [b for p in resp.content for b in _answer_blocks(p, unsigned_thinking)]
    usage = resp.usage
    if not usage.web_search_requests and (ran := search.searches(resp.content)):
        usage = msgspec.structs.replace(usage, web_search_requests=ran)
    return {"id": resp.id or fresh("msg_"), "type": "message", "role": "assistant", "model": model, "content": blocks,
            "stop_reason": STOP_OUT[resp.stop_reason], "stop_sequence": resp.stop_sequence,
            "usage": usage_out(usage)}


def _answer_blocks(part: Any, unsigned_thinking: bool) -> list[dict[str, Any]]:
    blocks = search.answer_blocks(part)
    if blocks is None:
        block = render_block(part, for_request=not unsigned_thinking)
        return [] if block is None else [block]
    return blocks


def error_body(status: int, message: str, kind: str = "") -> dict[str, Any]:
    """Anthropic's error shape; the type comes from ``status`` (``kind`` is not part of it)."""
    return {"type": "error", "error": {"type": error_type(status), "message": message}}
