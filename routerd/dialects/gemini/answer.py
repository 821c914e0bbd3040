"""Gemini response bodies and ``streamGenerateContent?alt=sse`` chunks <-> canonical.

Each stream chunk is a whole ``GenerateContentResponse``; Gemini sends a function call in one piece,
so the encoder buffers a tool call's argument deltas and emits the call when it is complete. The
decoder ends the message at the chunk carrying ``finishReason`` (usage comes with it) or at
``close()``. Usage: ``candidatesTokenCount`` excludes ``thoughtsTokenCount``; canonical output
includes it.
"""

from __future__ import annotations

from typing import Any

import msgspec

from routerd.dialects.canonical import (
    ChatResponse, CitationDelta, MessageStart, MessageStop, ReasoningDelta, ReasoningPart, SearchCall, SearchResults,
    StopReason, StreamError, TextDelta, TextPart, ToolCallDelta, ToolCallPart, ToolCallStart, Usage,
)
from routerd.dialects.gemini import search
from routerd.dialects.gemini.request import Content, parse_part, render_part
from routerd.dialects.texts import ALL, NO_TEXTS, Channel, Texts, TextSpot, whole
from routerd.dialects.wire import convert, dump_json, load_arguments, load_body, stable_id
from routerd.errors import UpstreamBadResponse
from routerd.ids import fresh


FINISH_IN: dict[str, StopReason] = {"STOP": "end_turn", "MAX_TOKENS": "max_tokens", "SAFETY": "content_filter",
             "RECITATION": "content_filter", "BLOCKLIST": "content_filter",
             "PROHIBITED_CONTENT": "content_filter", "SPII": "content_filter",
             "IMAGE_SAFETY": "content_filter", "LANGUAGE": "content_filter",
             "MALFORMED_FUNCTION_CALL": "error", "UNEXPECTED_TOOL_CALL": "error",
             "OTHER": "error", "FINISH_REASON_UNSPECIFIED": "end_turn"}
FINISH_OUT = {"end_turn": "STOP", "stop_sequence": "STOP", "tool_use": "STOP",
              "max_tokens": "MAX_TOKENS", "content_filter": "SAFETY", "error": "OTHER"}
# HTTP status -> google.rpc status name, as Google's APIs and client libraries pair them
# (google-api-core: 502 BadGateway is UNAVAILABLE, 504 GatewayTimeout DEADLINE_EXCEEDED).
STATUSES = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
            404: "NOT_FOUND", 409: "ABORTED", 413: "INVALID_ARGUMENT", 429: "RESOURCE_EXHAUSTED",
            499: "CANCELLED", 500: "INTERNAL", 501: "UNIMPLEMENTED", 502: "UNAVAILABLE",
            503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED"}


def status_name(status: int) -> str:
    return STATUSES.get(status, "FAILED_PRECONDITION" if status < 500 else "INTERNAL")


class _Candidate(msgspec.Struct, rename="camel"):
    content: Content | None = None
    finish_reason: str | None = None
    grounding_metadata: search.Grounding | None = None


class _UsageMeta(msgspec.Struct, rename="camel"):
    prompt_token_count: int = 0
    candidates_token_count: int = 0
    cached_content_token_count: int = 0
    thoughts_token_count: int = 0


class _Feedback(msgspec.Struct, rename="camel"):
    block_reason: str | None = None


class _Response(msgspec.Struct, rename="camel"):
    candidates: list[_Candidate] = []
    usage_metadata: _UsageMeta | None = None
    model_version: str = ""
    response_id: str = ""
    prompt_feedback: _Feedback | None = None
    error: dict[str, Any] | None = None


_CHUNK = msgspec.json.Decoder(_Response)


def _usage(raw: _UsageMeta | None) -> Usage | None:
    if raw is None:
        return None
    return Usage(raw.prompt_token_count, raw.candidates_token_count + raw.thoughts_token_count,
                 raw.cached_content_token_count, raw.thoughts_token_count)


def _usage_dict(u: Usage) -> dict[str, Any]:
    visible = max(0, u.output_tokens - u.reasoning_tokens)
    out = {"promptTokenCount": u.input_tokens, "candidatesTokenCount": visible,
           "totalTokenCount": u.input_tokens + u.output_tokens}
    if u.cached_input_tokens:
        out["cachedContentTokenCount"] = u.cached_input_tokens
    if u.reasoning_tokens:
        out["thoughtsTokenCount"] = u.reasoning_tokens
    return out


def _stop(raw: _Response, finish: str | None, has_calls: bool) -> StopReason:
    if finish is None and raw.prompt_feedback is not None and raw.prompt_feedback.block_reason:
        return "content_filter"
    stop = FINISH_IN.get(finish or "STOP", "end_turn")
    return "tool_use" if has_calls and stop == "end_turn" else stop


def _parts(raw: _Response, salt: str) -> list[Any]:
    if not raw.candidates or raw.candidates[0].content is None:
        return []
    out = []
    for j, part in enumerate(raw.candidates[0].content.parts):
        if part.function_call is not None:
            call_id = stable_id("call_", salt, str(j), part.function_call.name)
        else:
            call_id = ""
        parsed = parse_part(part, f"candidates[0].content.parts[{j}]", call_id)
        if parsed is not None:
            out.append(parsed)
    return out


def parse_response(body: Any) -> ChatResponse:
    """An upstream ``GenerateContentResponse`` as a ``ChatResponse`` (first candidate)."""
    raw = convert(load_body(body, UpstreamBadResponse), _Response, UpstreamBadResponse)
    content = _parts(raw, raw.response_id or fresh(""))
    grounding = raw.candidates[0].grounding_metadata if raw.candidates else None
    if grounding is not None:
        content = search.search_parts(grounding, raw.response_id) + search.cite(content, grounding)
    finish = raw.candidates[0].finish_reason if raw.candidates else None
    stop = _stop(raw, finish, any(isinstance(p, ToolCallPart) for p in content))
    usage = _usage(raw.usage_metadata) or Usage()
    if grounding is not None:  # Gemini bills grounded prompts (or, newer models, queries): count the queries
        usage = msgspec.structs.replace(usage, web_search_requests=len(grounding.web_search_queries))
    return ChatResponse(id=raw.response_id, model=raw.model_version, content=content,
                        stop_reason=stop, usage=usage)


def _part_dict(part: Any) -> dict[str, Any] | None:
    if isinstance(part, ReasoningPart):
        return {"text": part.text, "thought": True} if part.text else None
    out = render_part(part, {})
    if out is not None and isinstance(part, ToolCallPart):
        out["functionCall"]["id"] = part.id.partition("__ts__")[0]
    return out


def render_response(resp: ChatResponse, model: str) -> dict[str, Any]:
    """``resp`` as a ``GenerateContentResponse`` naming ``model``."""
    parts = [p for p in (_part_dict(x) for x in resp.content) if p is not None]
    candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts},
                                 "finishReason": FINISH_OUT[resp.stop_reason], "index": 0}
    if (grounding := search.metadata(resp.content)) is not None:
        candidate["groundingMetadata"] = grounding
    return {"candidates": [candidate], "usageMetadata": _usage_dict(resp.usage), "modelVersion": model,
            "responseId": resp.id}


def error_body(status: int, message: str, kind: str = "") -> dict[str, Any]:
    """Google's error shape: ``{"error": {"code", "message", "status"}}``."""
    return {"error": {"code": status, "message": message, "status": status_name(status)}}


class StreamDecoder:
    """Gemini stream chunks (whole ``GenerateContentResponse`` objects) -> canonical events."""

    def __init__(self) -> None:
        self._started = False
        self._done = False
        self._calls = 0
        self._chunks = 0
        self._usage: Usage | None = None
        self._id = ""
        self._salt = fresh("")  # the tool calls' ids when the upstream names no response
        self._text: list[str] = []  # the answer's visible text, which grounding offsets count
        self._run_start = 0          # where the current text run starts in it, in characters
        self._queries: list[str] = []
        self._sources: set[str] = set()
        self._cited: set[tuple[int, int, str]] = set()

    def feed(self, event: str | None, data: str) -> list[Any]:
        if self._done:
            return []
        try:
            raw = _CHUNK.decode(data)
        except msgspec.MsgspecError as exc:
            raise UpstreamBadResponse(f"bad gemini stream chunk: {exc}") from None
        if raw.error is not None:
            self._done = True
            return [StreamError(str(raw.error.get("message", "upstream error")), "upstream_error",
                                int(raw.error.get("code", 500) or 500))]
        out: list[Any] = []
        if not self._started:
            self._started = True
            out.append(MessageStart(raw.response_id, raw.model_version))
        self._chunks += 1
        for part in _parts(raw, f"{raw.response_id or self._salt}:{self._chunks}"):
            self._part(part, out)
        self._id = self._id or raw.response_id
        if raw.candidates and raw.candidates[0].grounding_metadata is not None:
            self._grounding(raw.candidates[0].grounding_metadata, out)
        self._usage = _usage(raw.usage_metadata) or self._usage
        if self._usage is not None and self._queries:
            self._usage = msgspec.structs.replace(self._usage, web_search_requests=len(self._queries))
        finish = raw.candidates[0].finish_reason if raw.candidates else None
        if finish is not None or (raw.prompt_feedback is not None and raw.prompt_feedback.block_reason):
            self._done = True
            out.append(MessageStop(_stop(raw, finish, self._calls > 0), self._usage))
        return out

    def _grounding(self, grounding: search.Grounding, out: list[Any]) -> None:
        """New citations of the text so far (while its run is open), then new queries and sources
        as search calls and results (Gemini sends them after the text they ground)."""
        text = "".join(self._text)
        for c in search.cited(grounding, text, self._cited):
            if (c.start or 0) >= self._run_start:
                out.append(CitationDelta(msgspec.structs.replace(
                    c, start=(c.start or 0) - self._run_start, end=(c.end or 0) - self._run_start)))
        fresh = [q for q in grounding.web_search_queries if q not in self._queries]
        found = [s for s in search.sources(grounding) if s.url not in self._sources]
        if found and not fresh and not self._queries:
            fresh = [""]
        for query in fresh:
            self._queries.append(query)
            out.append(SearchCall(f"gs_{self._id}_{len(self._queries) - 1}", query))
        if found:
            self._sources.update(s.url for s in found)
            out.append(SearchResults(f"gs_{self._id}_{len(self._queries) - 1}", found))
        if fresh or found:
            self._run_start = len(text)

    def _part(self, part: Any, out: list[Any]) -> None:
        if isinstance(part, TextPart):
            if part.text:
                self._text.append(part.text)
                out.append(TextDelta(part.text))
            return
        self._run_start = sum(map(len, self._text))
        if isinstance(part, ReasoningPart):
            if part.text:
                out.append(ReasoningDelta(part.text))
        elif isinstance(part, ToolCallPart):
            out.append(ToolCallStart(self._calls, part.id, part.name))
            out.append(ToolCallDelta(self._calls, part.arguments))
            self._calls += 1

    def close(self) -> list[Any]:
        """End of the byte stream: after a ``finishReason`` nothing; before it, the stream was cut."""
        if self._done:
            return []
        self._done = True
        return [StreamError("upstream stream ended before its finishReason", "upstream_bad_response", 502)]


class StreamEncoder:
    """Canonical events -> Gemini SSE chunks (``(None, data)``; Gemini names no events)."""

    def __init__(self, model: str, *, id: str | None = None) -> None:
        self._model = model
        self._id = id
        self._call: list[Any] | None = None  # [id, name, [argument pieces]]
        self._done = False
        self._grounding = search.Collector()
        self._before = ""  # the visible text before the current run
        self._run = ""

    def _chunk(self, parts: list[dict[str, Any]], finish: str | None = None,
               usage: Usage | None = None) -> tuple[None, str]:
        candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts}, "index": 0}
        if finish is not None:
            candidate["finishReason"] = finish
            if (grounding := self._grounding.metadata()) is not None:
                candidate["groundingMetadata"] = grounding
        body: dict[str, Any] = {"candidates": [candidate]}
        if usage is not None:
            body["usageMetadata"] = _usage_dict(usage)
        body["modelVersion"] = self._model
        body["responseId"] = self._id or ""
        return None, dump_json(body)

    def _flush(self, out: list[tuple[str | None, str]]) -> None:
        if self._call is not None:
            call_id, name, pieces = self._call
            self._call = None
            fc = {"id": call_id.partition("__ts__")[0], "name": name, "args": load_arguments("".join(pieces))}
            out.append(self._chunk([{"functionCall": fc}]))

    def feed(self, event: Any) -> list[tuple[str | None, str]]:
        if self._done:
            return []
        out: list[tuple[str | None, str]] = []
        if isinstance(event, ToolCallDelta):
            if self._call is not None:
                self._call[2].append(event.arguments)
            return out
        self._flush(out)
        if isinstance(event, TextDelta):
            self._run += event.text
            out.append(self._chunk([{"text": event.text}]))
            return out
        if isinstance(event, CitationDelta):
            self._grounding.support(event.citation, self._before, self._run)
            return out
        self._before, self._run = self._before + self._run, ""
        if isinstance(event, SearchCall):
            self._grounding.queries.append(event.query)
        elif isinstance(event, SearchResults):
            self._grounding.results(event.results)
        elif isinstance(event, ReasoningDelta):
            if event.text:
                out.append(self._chunk([{"text": event.text, "thought": True}]))
        elif isinstance(event, ToolCallStart):
            self._call = [event.id, event.name, []]
        elif isinstance(event, MessageStart):
            self._id = self._id or event.id
        elif isinstance(event, MessageStop):
            self._done = True
            out.append(self._chunk([{"text": ""}], FINISH_OUT[event.stop_reason],
                                   event.usage or Usage()))
        elif isinstance(event, StreamError):
            self._done = True
            out.append((None, dump_json(error_body(event.status, event.message, event.kind))))
        return out


# --- where streamed text sits (``routerd.dialects.texts``) ------------------------------------------


def stream_texts(event: str | None, data: Any) -> Texts:
    """Each candidate's text parts (channel ``(candidate, thought)``: thoughts apart from the
    answer); a ``finishReason`` ends the candidate's channels, with the text of its own chunk, and
    an error every channel."""
    if not isinstance(data, dict):
        return NO_TEXTS
    candidates = data.get("candidates")
    if not isinstance(candidates, list):
        return ([], ALL) if "error" in data else NO_TEXTS
    spots: list[TextSpot] = []
    ends: list[Channel] = []
    for candidate in candidates:
        if not isinstance(candidate, dict):
            continue
        index = whole(candidate.get("index", 0))
        content = candidate.get("content")
        parts = content.get("parts") if isinstance(content, dict) else None
        for part in parts if isinstance(parts, list) else ():
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                spots.append(TextSpot((index, part.get("thought") is True), part, "text"))
        if candidate.get("finishReason"):
            ends.append((index,))
    return spots, tuple(ends)


def text_event(channel: Channel, text: str, template: Any) -> tuple[str | None, Any]:
    """A chunk with one text part of the candidate ``channel`` names (its model and response id
    from ``template``)."""
    index, thought = channel
    part: dict[str, Any] = {"text": text, "thought": True} if thought else {"text": text}
    head = {k: template[k] for k in ("modelVersion", "responseId") if k in template}
    return None, {"candidates": [{"content": {"role": "model", "parts": [part]}, "index": index}], **head}
