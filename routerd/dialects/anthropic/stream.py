"""Anthropic Messages streams <-> canonical events.

The encoder keeps Anthropic's order: ``message_start``, then for each block ``content_block_start``,
its deltas, ``content_block_stop``; then ``message_delta`` (stop reason, usage) and ``message_stop``.
Only one block is open at a time; a delta of another kind closes it and opens the next.
"""

from __future__ import annotations

from typing import Any

import msgspec

from routerd.dialects.anthropic import search
from routerd.dialects.anthropic.answer import STOP_IN, STOP_OUT, RawUsage, error_body, usage_in, usage_out
from routerd.dialects.canonical import (
    Citation, CitationDelta, MessageStart, MessageStop, ReasoningDelta, SearchCall, SearchCallPart, SearchResults,
    SearchResultsPart, StopReason, StreamError, TextDelta, ToolCallDelta, ToolCallStart, Usage,
)
from routerd.dialects.texts import ALL, NO_TEXTS, NONE, Channel, Texts, TextSpot, whole
from routerd.dialects.wire import dump_json
from routerd.errors import UpstreamBadResponse
from routerd.ids import fresh


class _Message(msgspec.Struct):
    id: str = ""
    model: str = ""
    usage: RawUsage | None = None


class _MessageStart(msgspec.Struct, tag="message_start", tag_field="type"):
    message: _Message


class _Block(msgspec.Struct):
    type: str
    id: str = ""
    name: str = ""
    text: str = ""
    thinking: str = ""
    data: str = ""
    tool_use_id: str = ""
    content: Any = None  # a web_search_tool_result's


class _BlockStart(msgspec.Struct, tag="content_block_start", tag_field="type"):
    index: int
    content_block: _Block


class _Delta(msgspec.Struct):
    type: str = ""
    text: str = ""
    partial_json: str = ""
    thinking: str = ""
    signature: str = ""
    citation: dict[str, Any] | None = None
    stop_reason: str | None = None
    stop_sequence: str | None = None


class _BlockDelta(msgspec.Struct, tag="content_block_delta", tag_field="type"):
    index: int
    delta: _Delta


class _BlockStop(msgspec.Struct, tag="content_block_stop", tag_field="type"):
    index: int = 0


class _MessageDelta(msgspec.Struct, tag="message_delta", tag_field="type"):
    delta: _Delta
    usage: RawUsage | None = None


class _MessageStop(msgspec.Struct, tag="message_stop", tag_field="type"):
    pass


class _Ping(msgspec.Struct, tag="ping", tag_field="type"):
    pass


class _Error(msgspec.Struct, tag="error", tag_field="type"):
    error: dict[str, Any] = {}


_EVENT = msgspec.json.Decoder(_MessageStart | _BlockStart | _BlockDelta | _BlockStop | _MessageDelta
                              | _MessageStop | _Ping | _Error)
_ERROR_KINDS = {"overloaded_error": ("upstream_unavailable", 529), "rate_limit_error": ("rate_limited", 429),
                "api_error": ("upstream_error", 500), "invalid_request_error": ("upstream_rejected", 400)}


class StreamDecoder:
    """Anthropic SSE events -> canonical events (``ping`` and block boundaries vanish)."""

    def __init__(self) -> None:
        self._tools: dict[int, int] = {}
        self._usage = Usage()
        self._stop: StopReason = "end_turn"
        self._stop_sequence: str | None = None
        self._done = False
        self._searches: dict[int, list[str]] = {}  # block index -> [id, query JSON pieces...]
        self._run = 0  # characters of text since a block of another kind
        self._cited: dict[int, tuple[int, list[Citation]]] = {}  # text block -> (its start in the run, citations)

    def feed(self, event: str | None, data: str) -> list[Any]:
        if self._done:
            return []
        try:
            ev = _EVENT.decode(data)
        except msgspec.ValidationError as exc:
            if "at `$.type`" in str(exc):
                return []  # an event type newer than this module: skip it, as the SDKs do
            raise UpstreamBadResponse(f"bad anthropic stream event: {exc}") from None
        except msgspec.DecodeError as exc:
            raise UpstreamBadResponse(f"bad anthropic stream event: {exc}") from None
        if isinstance(ev, _BlockDelta):
            return self._delta(ev)
        if isinstance(ev, _BlockStart):
            return self._search_start(ev) or self._start(ev)
        if isinstance(ev, _BlockStop):
            return self._search_stop(ev.index)
        if isinstance(ev, _MessageStart):
            self._usage = usage_in(ev.message.usage)
            return [MessageStart(ev.message.id, ev.message.model, self._usage)]
        if isinstance(ev, _MessageDelta):
            self._message_delta(ev)
        elif isinstance(ev, _MessageStop):
            return self._finish()
        elif isinstance(ev, _Error):
            self._done = True
            kind, status = _ERROR_KINDS.get(str(ev.error.get("type")), ("upstream_error", 500))
            return [StreamError(str(ev.error.get("message", "upstream error")), kind, status)]
        return []

    def _start(self, ev: _BlockStart) -> list[Any]:
        block = ev.content_block
        if block.type == "tool_use":
            index = self._tools[ev.index] = len(self._tools)
            return [ToolCallStart(index, block.id, block.name)]
        if block.type == "text" and block.text:
            return [TextDelta(block.text)]
        if block.type == "thinking" and block.thinking:
            return [ReasoningDelta(block.thinking)]
        if block.type == "redacted_thinking":
            return [ReasoningDelta(encrypted=block.data)]
        return []

    def _delta(self, ev: _BlockDelta) -> list[Any]:
        d = ev.delta
        if d.type == "text_delta":
            self._run += len(d.text)
            return [TextDelta(d.text)] if d.text else []
        if d.type == "input_json_delta":
            if ev.index in self._searches:
                self._searches[ev.index].append(d.partial_json)
                return []
            index = self._tools.get(ev.index)
            return [ToolCallDelta(index, d.partial_json)] if index is not None and d.partial_json else []
        if d.type == "thinking_delta":
            return [ReasoningDelta(d.thinking)] if d.thinking else []
        if d.type == "signature_delta":
            return [ReasoningDelta(signature=d.signature)]
        if d.type == "citations_delta" and ev.index in self._cited:
            self._cited[ev.index][1].extend(search.citations([d.citation]))
        return []

    def _search_start(self, ev: _BlockStart) -> list[Any] | None:
        """A block start of the hosted web search (a call, its results) or of text, which may be
        cited; None for other blocks (``_start`` reads them)."""
        block = ev.content_block
        if block.type == "text":
            self._cited[ev.index] = (self._run, [])
            self._run += len(block.text)
            return None
        self._run = 0
        if block.type == "server_tool_use" and block.name == "web_search":
            self._searches[ev.index] = [block.id]
            return []
        if block.type == "web_search_tool_result":
            found = search.results(block.tool_use_id, block.content)
            return [SearchResults(found.call_id, found.results, found.error)]
        return None

    def _search_stop(self, index: int) -> list[Any]:
        """A search call is whole at its block's end (its query came in JSON pieces); a text
        block's citations cite all of it."""
        if (call := self._searches.pop(index, None)) is not None:
            query = _query("".join(call[1:]))
            return [SearchCall(call[0], query)]
        start, cited = self._cited.pop(index, (0, []))
        return [CitationDelta(msgspec.structs.replace(c, start=start, end=self._run)) for c in cited]

    def _message_delta(self, ev: _MessageDelta) -> None:
        if ev.delta.stop_reason:
            self._stop = STOP_IN.get(ev.delta.stop_reason, "end_turn")
        self._stop_sequence = ev.delta.stop_sequence
        if ev.usage is not None:
            late = usage_in(ev.usage)
            self._usage = Usage(late.input_tokens or self._usage.input_tokens, late.output_tokens,
                                late.cached_input_tokens or self._usage.cached_input_tokens, 0,
                                late.web_search_requests)

    def _finish(self) -> list[Any]:
        self._done = True
        return [MessageStop(self._stop, self._usage, self._stop_sequence)]

    def close(self) -> list[Any]:
        """End of the byte stream: after ``message_stop`` nothing; before it, the stream was cut."""
        if self._done:
            return []
        self._done = True
        return [StreamError("upstream stream ended before message_stop", "upstream_bad_response", 502)]


class StreamEncoder:
    """Canonical events -> Anthropic SSE events ``(event_name, data)`` in Anthropic's order.

    Thinking needs a signature: Anthropic verifies it when a client sends the block back, and a
    client (Claude Code) does send it back, possibly to a real Anthropic upstream. So reasoning text is
    held until its signature arrives and dropped if none does (any reasoning from another dialect),
    unless ``unsigned_thinking`` asks for it anyway (with an empty signature)."""

    def __init__(self, model: str, *, id: str | None = None, unsigned_thinking: bool = False) -> None:
        self._model = model
        self._unsigned = unsigned_thinking
        self._held: list[str] = []  # reasoning text waiting for its signature
        self._id = id
        self._started = False
        self._done = False
        self._open: str | None = None  # kind of the open block: text | thinking | tool_use
        self._index = -1
        self._tool_blocks: dict[int, int] = {}
        self._input = Usage()
        self._searches = 0
        self._cited = False  # the open text block has citations: text after them starts a new one

    def _message_start(self, event: MessageStart | None) -> list[tuple[str | None, str]]:
        self._started = True
        if event is not None and event.usage is not None:
            self._input = event.usage
        message: dict[str, Any] = {"id": self._id or (event.id if event else "") or fresh("msg_"), "type": "message",
                   "role": "assistant", "model": self._model, "content": [], "stop_reason": None,
                   "stop_sequence": None, "usage": {**usage_out(self._input), "output_tokens": 0}}
        return [("message_start", dump_json({"type": "message_start", "message": message}))]

    def _close(self, out: list[tuple[str | None, str]]) -> None:
        if self._open is not None:
            out.append(("content_block_stop", f'{{"type":"content_block_stop","index":{self._index}}}'))
            self._open = None

    def _open_block(self, kind: str, block: dict[str, Any], out: list[tuple[str | None, str]]) -> None:
        self._close(out)
        self._index += 1
        self._open = kind
        out.append(("content_block_start", dump_json(
            {"type": "content_block_start", "index": self._index, "content_block": block})))

    def _delta(self, delta: str, index: int | None = None) -> tuple[str | None, str]:
        return ("content_block_delta", f'{{"type":"content_block_delta","index":'
                                       f'{self._index if index is None else index},"delta":{delta}}}')

    def feed(self, event: Any) -> list[tuple[str | None, str]]:
        if self._done:
            return []
        out: list[tuple[str | None, str]] = []
        if not self._started:
            out.extend(self._message_start(event if isinstance(event, MessageStart) else None))
            if isinstance(event, MessageStart):
                return out
        if self._held and not isinstance(event, ReasoningDelta):
            self._held.clear()  # reasoning that never got a signature cannot go to an Anthropic client
        if isinstance(event, TextDelta):
            if self._open != "text" or self._cited:
                self._cited = False
                self._open_block("text", {"type": "text", "text": ""}, out)
            out.append(self._delta(f'{{"type":"text_delta","text":{dump_json(event.text)}}}'))
        elif isinstance(event, ToolCallDelta):
            index = self._tool_blocks.get(event.index)
            if index is not None:
                out.append(self._delta(f'{{"type":"input_json_delta","partial_json":'
                                       f'{dump_json(event.arguments)}}}', index))
        elif isinstance(event, ToolCallStart):
            self._open_block("tool_use", {"type": "tool_use", "id": event.id, "name": event.name,
                                          "input": {}}, out)
            self._tool_blocks[event.index] = self._index
        elif isinstance(event, ReasoningDelta):
            self._reasoning(event, out)
        elif isinstance(event, (SearchCall, SearchResults, CitationDelta)):
            self._search(event, out)
        elif isinstance(event, MessageStop):
            self._stop(event, out)
        elif isinstance(event, StreamError):
            self._done = True
            out.append(("error", dump_json(error_body(event.status, event.message, event.kind))))
        return out

    def _reasoning(self, event: ReasoningDelta, out: list[tuple[str | None, str]]) -> None:
        if event.encrypted is not None and not event.text:
            self._open_block("redacted_thinking", {"type": "redacted_thinking", "data": event.encrypted}, out)
            return
        if not self._unsigned and self._open != "thinking":
            if event.text:
                self._held.append(event.text)
            if not event.signature or not self._held:
                return
            text, self._held = "".join(self._held), []
            event = ReasoningDelta(text, event.signature)
        if self._open != "thinking":
            if not event.text:
                return  # a lone signature with no thinking block to close
            self._open_block("thinking", {"type": "thinking", "thinking": "", "signature": ""}, out)
        if event.text:
            out.append(self._delta(f'{{"type":"thinking_delta","thinking":{dump_json(event.text)}}}'))
        if event.signature:
            out.append(self._delta(f'{{"type":"signature_delta","signature":{dump_json(event.signature)}}}'))

    def _search(self, event: SearchCall | SearchResults | CitationDelta, out: list[tuple[str | None, str]]) -> None:
        """A hosted search's call and results as blocks of their own; a citation joins the text
        block open when it arrives (Anthropic's citations cite a whole block, and the other dialects
        cite text already sent), and the text after it starts a block of its own."""
        if isinstance(event, CitationDelta):
            if self._open == "text":
                citation = dump_json(search.citation_out(event.citation))
                out.append(self._delta(f'{{"type":"citations_delta","citation":{citation}}}'))
                self._cited = True
            return
        if isinstance(event, SearchCall):
            self._searches += 1
            self._open_block("server_tool_use", {**search.call_block(SearchCallPart(event.id, event.query)),
                                                 "input": {}}, out)
            out.append(self._delta(f'{{"type":"input_json_delta","partial_json":'
                                   f'{dump_json(dump_json({"query": event.query}))}}}'))
        else:
            self._open_block("web_search_tool_result", search.results_block(
                SearchResultsPart(event.call_id, event.results, event.error)), out)
        self._close(out)

    def _stop(self, event: MessageStop, out: list[tuple[str | None, str]]) -> None:
        self._close(out)
        self._done = True
        usage = event.usage or Usage()
        if not usage.input_tokens and self._input.input_tokens:
            usage = Usage(self._input.input_tokens, usage.output_tokens, self._input.cached_input_tokens,
                          usage.reasoning_tokens, usage.web_search_requests)
        if not usage.web_search_requests and self._searches:
            usage = msgspec.structs.replace(usage, web_search_requests=self._searches)
        delta = {"type": "message_delta", "delta": {"stop_reason": STOP_OUT[event.stop_reason],
                                                    "stop_sequence": event.stop_sequence},
                 "usage": usage_out(usage)}
        out.append(("message_delta", dump_json(delta)))
        out.append(("message_stop", '{"type":"message_stop"}'))


def _query(arguments: str) -> str:
    """The ``query`` of a search call's input JSON ("" when it has none)."""
    try:
        return search.query_of(msgspec.json.decode(arguments or "{}"))
    except msgspec.DecodeError:
        return ""


# --- where streamed text sits (``routerd.dialects.texts``) ------------------------------------------

# A delta's text by its key, and the delta type that carries it.
_DELTA_TYPES = {"text": "text_delta", "thinking": "thinking_delta", "partial_json": "input_json_delta"}
_ENDS_ALL = frozenset({"message_delta", "message_stop", "error"})


def stream_texts(event: str | None, data: Any) -> Texts:
    """A block's text, thinking or tool input (channel ``(block index, key)``), in its start and
    its deltas; a ``citations_delta`` refers to its text; ``content_block_stop`` ends the block's
    channels, the message's end or an error every channel."""
    if not isinstance(data, dict):
        return NO_TEXTS
    kind = data.get("type")
    if kind == "content_block_delta":
        holder = data.get("delta")
    elif kind == "content_block_start":
        holder = data.get("content_block")
    elif kind == "content_block_stop":
        return [], ((whole(data.get("index")),),)
    else:
        return ([], ALL) if kind in _ENDS_ALL else NO_TEXTS
    if not isinstance(holder, dict):
        return NO_TEXTS
    index = whole(data.get("index"))
    if holder.get("type") == "citations_delta":
        return [TextSpot((index, "text"), holder, None)], NONE
    return [TextSpot((index, key), holder, key) for key in _DELTA_TYPES if isinstance(holder.get(key), str)], NONE


def text_event(channel: Channel, text: str, template: Any) -> tuple[str | None, Any]:
    """A ``content_block_delta`` of the block ``channel`` names, carrying ``text``."""
    index, key = channel
    return "content_block_delta", {"type": "content_block_delta", "index": index,
                                   "delta": {"type": _DELTA_TYPES[key], key: text}}
