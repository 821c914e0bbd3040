"""OpenAI Responses: response bodies and streams <-> canonical (see ``responses``).

The encoder emits, per output item: ``response.output_item.added``, the item's part/summary
``added`` event, its deltas, the ``done`` events in reverse order, ``response.output_item.done``;
the stream opens with ``response.created`` + ``response.in_progress`` and ends with
``response.completed`` (or ``response.incomplete`` / ``response.failed``). Every event carries
``type`` (also the SSE event name) and a ``sequence_number`` counting from 0.
"""

from __future__ import annotations

import time
from typing import Any

import msgspec

from routerd.dialects.canonical import (
    ChatResponse, Citation, CitationDelta, MessageStart, MessageStop, ReasoningDelta, ReasoningPart, SearchCall, SearchCallPart,
    SearchResults, SearchResultsPart, StopReason, StreamError, TextDelta, TextPart, ToolCallDelta, ToolCallPart, ToolCallStart,
    Usage,
)
from routerd.dialects.openai_chat.answer import error_type
from routerd.dialects.openai_chat.usage import WireUsage
from routerd.dialects.responses import search
from routerd.dialects.responses.names import split_qualified
from routerd.dialects.wire import convert, load_body
from routerd.errors import UpstreamBadResponse
from routerd.ids import fresh


class _Part(msgspec.Struct):
    type: str = ""
    text: str = ""
    refusal: str = ""
    annotations: list[dict[str, Any]] = []


class _Item(msgspec.Struct):
    type: str = ""
    id: str = ""
    content: list[_Part] = []
    summary: list[_Part] = []
    call_id: str = ""
    name: str = ""
    arguments: str = ""
    encrypted_content: str | None = None
    action: dict[str, Any] | None = None  # a web_search_call's


class _Incomplete(msgspec.Struct):
    reason: str | None = None


class _Response(msgspec.Struct):
    id: str = ""
    model: str = ""
    status: str | None = "completed"
    output: list[_Item] = []
    usage: WireUsage | None = None
    incomplete_details: _Incomplete | None = None
    error: dict[str, Any] | None = None


def _usage(raw: WireUsage | None) -> Usage:
    if raw is None:
        return Usage()
    reasoning = (raw.output_tokens_details.reasoning_tokens or 0) if raw.output_tokens_details else 0
    return Usage(raw.input_tokens or 0, raw.output_tokens or 0, raw.cache_read(), reasoning)


def _usage_dict(u: Usage) -> dict[str, Any]:
    return {"input_tokens": u.input_tokens, "input_tokens_details": {"cached_tokens": u.cached_input_tokens},
            "output_tokens": u.output_tokens, "output_tokens_details": {"reasoning_tokens": u.reasoning_tokens},
            "total_tokens": u.input_tokens + u.output_tokens}


def _stop_reason(raw: _Response, has_calls: bool) -> StopReason:
    if raw.status == "incomplete":
        reason = raw.incomplete_details.reason if raw.incomplete_details else None
        return "content_filter" if reason == "content_filter" else "max_tokens"
    if raw.status == "failed":
        return "error"
    return "tool_use" if has_calls else "end_turn"


def _item_parts(item: _Item) -> list[Any]:
    if item.type == "message":
        return [search.text_part(p.text or p.refusal, p.annotations)
                for p in item.content if p.type in ("output_text", "refusal")]
    if item.type == "web_search_call":
        return search.item_parts(item.id, item.action)
    if item.type == "function_call":
        return [ToolCallPart(item.call_id, item.name, item.arguments or "{}")]
    if item.type == "reasoning":
        text = "\n\n".join(p.text for p in (item.content or item.summary))
        return [ReasoningPart(text, encrypted=item.encrypted_content, id=item.id or None)]
    return []


def parse_response(body: Any) -> ChatResponse:
    """An upstream Responses body as a ``ChatResponse``."""
    raw = convert(load_body(body, UpstreamBadResponse), _Response, UpstreamBadResponse)
    content = search.titled([part for item in raw.output for part in _item_parts(item)])
    has_calls = any(isinstance(p, ToolCallPart) for p in content)
    usage = msgspec.structs.replace(_usage(raw.usage), web_search_requests=search.searches(raw.output))
    return ChatResponse(id=raw.id, model=raw.model, content=content,
                        stop_reason=_stop_reason(raw, has_calls), usage=usage)


def _message_item(item_id: str, text: str, status: str = "completed",
                  citations: list[Citation] | None = None) -> dict[str, Any]:
    notes = [search.annotation(c, len(text)) for c in citations or ()]
    return {"id": item_id, "type": "message", "status": status, "role": "assistant",
            "content": [{"type": "output_text", "text": text, "annotations": notes}] if status == "completed" else []}


def _call_item(item_id: str, call_id: str, name: str, arguments: str, status: str = "completed") -> dict[str, Any]:
    namespace, name = split_qualified(name)
    item = {"id": item_id, "type": "function_call", "status": status, "call_id": call_id, "name": name,
            "arguments": arguments}
    if namespace:
        item["namespace"] = namespace
    return item


def _reasoning_item(item_id: str, text: str) -> dict[str, Any]:
    return {"id": item_id, "type": "reasoning", "summary": [{"type": "summary_text", "text": text}] if text else []}


def _envelope(resp_id: str, model: str, created: int, status: str, output: list[Any],
              usage: Usage | None, stop: str = "end_turn") -> dict[str, Any]:
    incomplete = None
    if status == "incomplete":
        incomplete = {"reason": "content_filter" if stop == "content_filter" else "max_output_tokens"}
    return {"id": resp_id, "object": "response", "created_at": created, "status": status, "error": None,
            "incomplete_details": incomplete, "model": model, "output": output,
            "parallel_tool_calls": True, "tool_choice": "auto", "tools": [],
            "usage": _usage_dict(usage) if usage is not None else None}


def _status(stop: str) -> str:
    return "incomplete" if stop in ("max_tokens", "content_filter") else "completed"


def render_response(resp: ChatResponse, model: str, *, created: int | None = None) -> dict[str, Any]:
    """``resp`` as a Responses body naming ``model``."""
    resp_id = resp.id or fresh("resp_")
    output: list[dict[str, Any]] = []
    searches = search.call_items(resp.content)
    texts: list[TextPart] = []  # consecutive text parts make one message item
    for n, part in enumerate([*resp.content, None]):
        if isinstance(part, TextPart):
            texts.append(part)
            continue
        if texts:
            text = search.joined(texts)
            output.append(_message_item(f"msg_{resp_id}_{n - len(texts)}", text.text, citations=text.citations))
            texts = []
        if isinstance(part, SearchCallPart):
            output.append(searches[part.id])
        elif isinstance(part, SearchResultsPart):
            continue  # in its call's item
        elif isinstance(part, ToolCallPart):
            output.append(_call_item(f"fc_{part.id}", part.id, part.name, part.arguments))
        elif isinstance(part, ReasoningPart) and part.text:
            output.append(_reasoning_item(f"rs_{resp_id}_{n}", part.text))
    created = int(time.time()) if created is None else created
    return _envelope(resp_id, model, created, _status(resp.stop_reason), output, resp.usage, resp.stop_reason)


def error_body(status: int, message: str, kind: str = "") -> dict[str, Any]:
    """The OpenAI error shape (the Responses API uses the same one as Chat Completions)."""
    return {"error": {"message": message, "type": error_type(status), "param": None, "code": kind or None}}


class _Event(msgspec.Struct):
    type: str
    delta: str = ""
    output_index: int = 0
    item: _Item | None = None
    response: msgspec.Raw = msgspec.field(default_factory=msgspec.Raw)
    message: str = ""
    code: str | None = None
    annotation: dict[str, Any] | None = None


_EVENT = msgspec.json.Decoder(_Event)
_RESPONSE = msgspec.json.Decoder(_Response)
_TEXT_DELTAS = frozenset({"response.output_text.delta", "response.refusal.delta"})
_REASONING_DELTAS = frozenset({"response.reasoning_summary_text.delta", "response.reasoning_text.delta"})
# Events after which text starts a new run (see ``canonical.CitationDelta``).
_NOT_TEXT = frozenset({"response.function_call_arguments.delta", "response.reasoning_summary_text.delta",
                       "response.reasoning_text.delta"})


def _response(ev: _Event) -> _Response:
    raw = bytes(ev.response)
    if not raw or raw == b"null":
        return _Response()
    try:
        return _RESPONSE.decode(raw)
    except msgspec.MsgspecError as exc:
        raise UpstreamBadResponse(f"bad response in {ev.type}: {exc}") from None


class StreamDecoder:
    """Responses SSE events -> canonical events."""

    def __init__(self) -> None:
        self._tools: dict[int, int] = {}  # output_index -> canonical tool index
        self._args_seen: set[int] = set()
        self._done = False
        self._run = 0   # characters of text since an event of another kind
        self._base = 0  # where the open message's text starts in that run

    def feed(self, event: str | None, data: str) -> list[Any]:
        if self._done:
            return []
        try:
            ev = _EVENT.decode(data)
        except msgspec.MsgspecError as exc:
            raise UpstreamBadResponse(f"bad responses stream event: {exc}") from None
        kind = ev.type
        if kind in _TEXT_DELTAS:
            self._run += len(ev.delta)
            return [TextDelta(ev.delta)] if ev.delta else []
        if (searched := self._search(kind, ev)) is not None:
            return searched
        if kind in _NOT_TEXT:
            self._run = 0
        if kind == "response.function_call_arguments.delta":
            index = self._tools.get(ev.output_index)
            if index is None or not ev.delta:
                return []
            self._args_seen.add(index)
            return [ToolCallDelta(index, ev.delta)]
        if kind in _REASONING_DELTAS:
            return [ReasoningDelta(ev.delta)] if ev.delta else []
        if kind == "response.output_item.added" and ev.item is not None and ev.item.type == "function_call":
            index = self._tools[ev.output_index] = len(self._tools)
            return [ToolCallStart(index, ev.item.call_id, ev.item.name)]
        if kind == "response.output_item.done" and ev.item is not None and ev.item.type == "function_call":
            index = self._tools.get(ev.output_index)
            if index is not None and index not in self._args_seen and ev.item.arguments:
                return [ToolCallDelta(index, ev.item.arguments)]
            return []
        return self._lifecycle(kind, ev)

    def _search(self, kind: str, ev: _Event) -> list[Any] | None:
        """A web search's item (whole when done) and the text's citations; None for other events."""
        item = ev.item
        if kind == "response.output_item.added" and item is not None:
            if item.type == "message":
                self._base = self._run
                return []
            self._run = 0
        if kind == "response.output_text.annotation.added":
            found = search.citation(ev.annotation or {}, self._base)
            return [CitationDelta(found)] if found is not None else []
        if item is None or item.type != "web_search_call" or kind != "response.output_item.done":
            return None
        self._run = 0
        parts = search.item_parts(item.id, item.action)
        return [SearchCall(p.id, p.query) if isinstance(p, SearchCallPart) else SearchResults(p.call_id, p.results)
                for p in parts]

    def _lifecycle(self, kind: str, ev: _Event) -> list[Any]:
        if kind == "response.created":
            raw = _response(ev)
            return [MessageStart(raw.id, raw.model)]
        if kind in ("response.completed", "response.incomplete"):
            self._done = True
            raw = _response(ev)
            stop = _stop_reason(raw, bool(self._tools))
            usage = msgspec.structs.replace(_usage(raw.usage), web_search_requests=search.searches(raw.output))
            return [MessageStop(stop, usage)]
        if kind == "response.failed":
            self._done = True
            raw = _response(ev)
            return [StreamError(str((raw.error or {}).get("message", "response failed")), "upstream_error", 500)]
        if kind == "error":
            self._done = True
            return [StreamError(ev.message or "upstream error", "upstream_error", 500)]
        return []

    def close(self) -> list[Any]:
        """The byte stream ended without ``response.completed``: the answer was cut."""
        if self._done:
            return []
        self._done = True
        return [StreamError("upstream stream ended before response.completed", "upstream_bad_response", 502)]
