"""Canonical events -> OpenAI Responses stream events (order described in ``responses.answer``)."""

from __future__ import annotations

import re
import time
from typing import Any

from routerd.dialects.responses.answer import (
    _call_item, _envelope, _message_item, _reasoning_item, _status,
)
from routerd.dialects.responses import search
from routerd.dialects.texts import ALL, NO_TEXTS, NONE, Channel, Texts, TextSpot, whole
from routerd.dialects.wire import dump_json
from routerd.dialects.canonical import (
    Citation, CitationDelta, MessageStart, MessageStop, ReasoningDelta, SearchCall, SearchResults, StreamError,
    TextDelta, ToolCallDelta, ToolCallStart,
)
from routerd.ids import fresh

Out = list[tuple[str | None, str]]
_UNSAFE = re.compile(r"[^A-Za-z0-9_.:-]")


class _Open:
    """The output item being streamed."""

    __slots__ = ("kind", "index", "item_id", "text", "call_id", "name", "citations")

    def __init__(self, kind: str, index: int, item_id: str, call_id: str = "", name: str = "") -> None:
        self.kind = kind
        self.index = index
        self.item_id = item_id
        self.text: list[str] = []
        self.call_id = call_id
        self.name = name  # a web search's: its query
        self.citations: list[Citation] = []


class StreamEncoder:
    """Canonical events -> ``(event_type, data)`` pairs with increasing ``sequence_number``."""

    def __init__(self, model: str, *, id: str | None = None, created: int | None = None) -> None:
        self._model = model
        self._id = id
        self._created = int(time.time()) if created is None else created
        self._seq = 0
        self._open: _Open | None = None
        self._tools: dict[int, _Open] = {}
        self._output: list[dict[str, Any]] = []
        self._started = False
        self._done = False

    def _emit(self, out: Out, kind: str, fields: str) -> None:
        """``fields`` is the JSON object's body after ``type`` and ``sequence_number`` (may be empty)."""
        sep = "," if fields else ""
        out.append((kind, f'{{"type":"{kind}","sequence_number":{self._seq}{sep}{fields}}}'))
        self._seq += 1

    def _start(self, event: Any, out: Out) -> None:
        self._started = True
        raw_id = self._id or (event.id if isinstance(event, MessageStart) else "") or fresh("resp_")
        self._id = _UNSAFE.sub("", raw_id) or fresh("resp_")  # ids are spliced into JSON text below
        env = dump_json(_envelope(self._id, self._model, self._created, "in_progress", [], None))
        self._emit(out, "response.created", f'"response":{env}')
        self._emit(out, "response.in_progress", f'"response":{env}')

    def feed(self, event: Any) -> Out:
        if self._done:
            return []
        out: Out = []
        if not self._started:
            self._start(event, out)
        if isinstance(event, TextDelta):
            self._text(event.text, out)
        elif isinstance(event, ToolCallDelta):
            item = self._tools.get(event.index)
            if item is not None:
                item.text.append(event.arguments)
                self._emit(out, "response.function_call_arguments.delta",
                           f'"item_id":"{item.item_id}","output_index":{item.index},'
                           f'"delta":{dump_json(event.arguments)}')
        elif isinstance(event, ToolCallStart):
            self._tool_start(event, out)
        elif isinstance(event, ReasoningDelta):
            self._reasoning(event, out)
        elif isinstance(event, (SearchCall, SearchResults, CitationDelta)):
            self._search(event, out)
        elif isinstance(event, MessageStop):
            self._stop(event, out)
        elif isinstance(event, StreamError):
            self._fail(event, out)
        return out

    def _new(self, kind: str, prefix: str, out: Out, call_id: str = "", name: str = "") -> _Open:
        self._close(out)
        index = len(self._output)
        self._output.append({})  # placeholder, filled when the item is done
        item_id = f"{prefix}_{self._id}_{index}"
        self._open = _Open(kind, index, item_id, call_id, name)
        return self._open

    def _text(self, text: str, out: Out) -> None:
        item = self._open
        if item is None or item.kind != "message":
            item = self._new("message", "msg", out)
            self._emit(out, "response.output_item.added",
                       f'"output_index":{item.index},"item":{dump_json(_message_item(item.item_id, "", "in_progress"))}')
            self._emit(out, "response.content_part.added",
                       f'"item_id":"{item.item_id}","output_index":{item.index},"content_index":0,'
                       f'"part":{{"type":"output_text","text":"","annotations":[]}}')
        item.text.append(text)
        self._emit(out, "response.output_text.delta",
                   f'"item_id":"{item.item_id}","output_index":{item.index},"content_index":0,'
                   f'"delta":{dump_json(text)},"logprobs":[]')

    def _reasoning(self, event: ReasoningDelta, out: Out) -> None:
        if not event.text:
            return
        item = self._open
        if item is None or item.kind != "reasoning":
            item = self._new("reasoning", "rs", out)
            self._emit(out, "response.output_item.added",
                       f'"output_index":{item.index},"item":{dump_json(_reasoning_item(item.item_id, ""))}')
            self._emit(out, "response.reasoning_summary_part.added",
                       f'"item_id":"{item.item_id}","output_index":{item.index},"summary_index":0,'
                       f'"part":{{"type":"summary_text","text":""}}')
        item.text.append(event.text)
        self._emit(out, "response.reasoning_summary_text.delta",
                   f'"item_id":"{item.item_id}","output_index":{item.index},"summary_index":0,'
                   f'"delta":{dump_json(event.text)}')

    def _tool_start(self, event: ToolCallStart, out: Out) -> None:
        item = self._new("function_call", "fc", out, event.id, event.name)
        self._tools[event.index] = item
        added = _call_item(item.item_id, event.id, event.name, "", "in_progress")
        self._emit(out, "response.output_item.added", f'"output_index":{item.index},"item":{dump_json(added)}')

    def _search(self, event: SearchCall | SearchResults | CitationDelta, out: Out) -> None:
        """A search call opens a ``web_search_call`` item, its results complete it; a citation is
        an annotation of the open message's text (its span counted from the message's start,
        which is where the run started: a message starts with the run)."""
        item = self._open
        if isinstance(event, CitationDelta):
            if item is not None and item.kind == "message":
                note = search.annotation(event.citation, len("".join(item.text)))
                self._emit(out, "response.output_text.annotation.added",
                           f'"item_id":"{item.item_id}","output_index":{item.index},"content_index":0,'
                           f'"annotation_index":{len(item.citations)},"annotation":{dump_json(note)}')
                item.citations.append(event.citation)
            return
        if isinstance(event, SearchResults):
            if item is not None and item.kind == "web_search_call" and item.call_id == _UNSAFE.sub("", event.call_id):
                self._close(out, event)
            return
        safe = _UNSAFE.sub("", event.id) or f"search_{len(self._output)}"  # spliced into JSON text
        item = self._new("web_search_call", "ws", out, safe, event.query)
        item.item_id = search.item_id(safe)
        head = f'"item_id":{dump_json(item.item_id)},"output_index":{item.index}'
        added = search.call_item(event.id, event.query, None, "in_progress")
        self._emit(out, "response.output_item.added", f'"output_index":{item.index},"item":{dump_json(added)}')
        self._emit(out, "response.web_search_call.in_progress", head)
        self._emit(out, "response.web_search_call.searching", head)

    def _close_search(self, item: _Open, results: SearchResults | None, out: Out) -> dict[str, Any]:
        self._emit(out, "response.web_search_call.completed",
                   f'"item_id":{dump_json(item.item_id)},"output_index":{item.index}')
        return search.call_item(item.call_id, item.name, results.results if results is not None else [])

    def _close(self, out: Out, results: SearchResults | None = None) -> None:
        item, self._open = self._open, None
        if item is None:
            return
        text = "".join(item.text)
        head = f'"item_id":"{item.item_id}","output_index":{item.index}'
        if item.kind == "web_search_call":
            done = self._close_search(item, results, out)
        elif item.kind == "message":
            done = _message_item(item.item_id, text, citations=item.citations)
            part = dump_json(done["content"][0])
            self._emit(out, "response.output_text.done", f'{head},"content_index":0,"text":{dump_json(text)},"logprobs":[]')
            self._emit(out, "response.content_part.done", f'{head},"content_index":0,"part":{part}')
        elif item.kind == "reasoning":
            self._emit(out, "response.reasoning_summary_text.done", f'{head},"summary_index":0,"text":{dump_json(text)}')
            self._emit(out, "response.reasoning_summary_part.done",
                       f'{head},"summary_index":0,"part":{{"type":"summary_text","text":{dump_json(text)}}}')
            done = _reasoning_item(item.item_id, text)
        else:
            self._emit(out, "response.function_call_arguments.done", f'{head},"arguments":{dump_json(text)}')
            done = _call_item(item.item_id, item.call_id, item.name, text)
        self._output[item.index] = done
        self._emit(out, "response.output_item.done", f'"output_index":{item.index},"item":{dump_json(done)}')

    def _stop(self, event: MessageStop, out: Out) -> None:
        self._close(out)
        self._done = True
        status = _status(event.stop_reason)
        env = _envelope(self._id or "", self._model, self._created, status, self._output, event.usage,
                        event.stop_reason)
        kind = "response.completed" if status == "completed" else "response.incomplete"
        self._emit(out, kind, f'"response":{dump_json(env)}')

    def _fail(self, event: StreamError, out: Out) -> None:
        self._done = True
        env = _envelope(self._id or "", self._model, self._created, "failed", self._output, None)
        env["error"] = {"code": event.kind or "server_error", "message": event.message}
        self._emit(out, "response.failed", f'"response":{dump_json(env)}')


# --- where streamed text sits (``routerd.dialects.texts``) ------------------------------------------

# The text streams of an output item, by the prefix of their event types: the index that tells
# one of an item's texts from another (None: an item has one).
_TEXT_STREAMS = {"response.output_text": "content_index", "response.refusal": "content_index",
                 "response.reasoning_text": "content_index", "response.reasoning_summary_text": "summary_index",
                 "response.function_call_arguments": None}
_ENDS_ALL = frozenset({"response.completed", "response.incomplete", "response.failed", "error"})
_ANNOTATION = "response.output_text.annotation.added"


def stream_texts(event: str | None, data: Any) -> Texts:
    """An output item's text deltas (channel ``(output index, stream, part index)``); an
    annotation refers to its text; a text's ``.done`` event ends it, ``response.output_item.done``
    the item's, the response's end or an error every channel."""
    if not isinstance(data, dict):
        return NO_TEXTS
    kind = data.get("type")
    if not isinstance(kind, str):
        return NO_TEXTS
    stream, _, step = kind.rpartition(".")
    if stream in _TEXT_STREAMS:
        part = _TEXT_STREAMS[stream]
        channel = (whole(data.get("output_index")), stream, whole(data.get(part)) if part else 0)
        if step == "delta" and isinstance(data.get("delta"), str):
            return [TextSpot(channel, data, "delta")], NONE
        return ([], (channel,)) if step == "done" else NO_TEXTS
    if kind == _ANNOTATION:
        return [TextSpot((whole(data.get("output_index")), "response.output_text",
                          whole(data.get("content_index"))), data, None)], NONE
    if kind == "response.output_item.done":
        return [], ((whole(data.get("output_index")),),)
    return ([], ALL) if kind in _ENDS_ALL else NO_TEXTS


def text_event(channel: Channel, text: str, template: Any) -> tuple[str | None, Any]:
    """The delta event ``template`` was, carrying ``text`` (its sequence number is that of the
    template: a number goes with an upstream event, and none is left between two of them)."""
    return template.get("type"), {**template, "delta": text}


# Where a finished text is written out whole, by the event types that carry it: the text's own
# ``.done`` event (the key of its text), a part's (``part``), an item's, the response's.
_DONE_KEYS = {"response.output_text": "text", "response.refusal": "refusal", "response.reasoning_text": "text",
              "response.reasoning_summary_text": "text", "response.function_call_arguments": "arguments"}
_PARTS = {"output_text": ("response.output_text", "text"), "refusal": ("response.refusal", "refusal"),
          "reasoning_text": ("response.reasoning_text", "text"),
          "summary_text": ("response.reasoning_summary_text", "text")}
_FINAL_RESPONSES = frozenset({"response.completed", "response.incomplete", "response.failed"})


def final_texts(event: str | None, data: Any) -> list[TextSpot]:
    """Where an event writes out a whole text its deltas streamed (channels as ``stream_texts``
    names them): a text's ``.done``, ``content_part.done``, ``reasoning_summary_part.done``, an
    item's ``output_item.done`` and every item of the response's end."""
    if not isinstance(data, dict) or not isinstance(kind := data.get("type"), str):
        return []
    stream, _, step = kind.rpartition(".")
    output = whole(data.get("output_index"))
    if step == "done" and stream in _DONE_KEYS:
        part = _TEXT_STREAMS[stream]
        key = _DONE_KEYS[stream]
        return [TextSpot((output, stream, whole(data.get(part)) if part else 0), data, key)] \
            if isinstance(data.get(key), str) else []
    if kind in ("response.content_part.done", "response.reasoning_summary_part.done"):
        index = data.get("summary_index" if "summary" in kind else "content_index")
        return _part_spots(output, whole(index), data.get("part"))
    if kind == "response.output_item.done":
        return _item_spots(output, data.get("item"))
    response = data.get("response") if kind in _FINAL_RESPONSES else None
    items = response.get("output") if isinstance(response, dict) else None
    return [s for i, item in enumerate(items) for s in _item_spots(i, item)] if isinstance(items, list) else []


def _part_spots(output: int, index: int, part: Any) -> list[TextSpot]:
    kind = part.get("type") if isinstance(part, dict) else None
    named = _PARTS.get(kind) if isinstance(kind, str) else None
    if named is None or not isinstance(part.get(named[1]), str):
        return []
    return [TextSpot((output, named[0], index), part, named[1])]


def _item_spots(output: int, item: Any) -> list[TextSpot]:
    if not isinstance(item, dict):
        return []
    if item.get("type") == "function_call":
        return [TextSpot((output, "response.function_call_arguments", 0), item, "arguments")] \
            if isinstance(item.get("arguments"), str) else []
    spots = []
    for field in ("content", "summary"):
        parts = item.get(field)
        for index, part in enumerate(parts if isinstance(parts, list) else ()):
            spots += _part_spots(output, index, part)
    return spots

