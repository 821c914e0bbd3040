"""OpenAI Chat Completions responses and streams <-> canonical, its stop reasons and error shape
(the Responses API shares the error shape)."""

from __future__ import annotations

import time
from typing import Any

import msgspec

from routerd.dialects.wire import convert, dump_json, load_body
from routerd.dialects.canonical import (
    ChatResponse, MessageStart, MessageStop, ReasoningDelta, ReasoningPart, StopReason, StreamError,
    TextDelta, TextPart, ToolCallDelta, ToolCallPart, ToolCallStart, Usage,
)
from routerd.dialects.openai_chat.usage import WireUsage
from routerd.dialects.texts import ALL, NO_TEXTS, Channel, Texts, TextSpot, whole
from routerd.errors import UpstreamBadResponse
from routerd.ids import fresh


FINISH_IN: dict[str, StopReason] = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use",
             "function_call": "tool_use", "content_filter": "content_filter"}
FINISH_OUT: dict[str, str] = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length",
              "tool_use": "tool_calls", "content_filter": "content_filter", "error": "stop"}
# HTTP status -> OpenAI's error type; other 4xx are invalid requests, other 5xx server errors.
ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
               404: "not_found_error", 413: "invalid_request_error", 429: "rate_limit_error"}


def error_type(status: int) -> str:
    return ERROR_TYPES.get(status, "invalid_request_error" if status < 500 else "server_error")


class _Fn(msgspec.Struct):
    name: str | None = None
    arguments: str | None = None


class _Call(msgspec.Struct):
    index: int = 0
    id: str | None = None
    function: _Fn | None = None


class _Delta(msgspec.Struct):
    content: str | None = None
    reasoning_content: str | None = None
    reasoning: str | None = None
    refusal: str | None = None
    tool_calls: list[_Call] | None = None


class _Choice(msgspec.Struct):
    index: int = 0
    message: _Delta | None = None
    delta: _Delta | None = None
    finish_reason: str | None = None


class _Body(msgspec.Struct):
    id: str = ""
    model: str = ""
    choices: list[_Choice] = []
    usage: WireUsage | None = None
    error: dict[str, Any] | None = None


_CHUNK = msgspec.json.Decoder(_Body)


def _usage(raw: WireUsage | None) -> Usage | None:
    if raw is None:
        return None
    reasoning = (raw.completion_tokens_details.reasoning_tokens or 0) if raw.completion_tokens_details else 0
    return Usage(raw.prompt_tokens or 0, raw.completion_tokens or 0, raw.cache_read(), reasoning)


def _usage_dict(usage: Usage) -> dict[str, Any]:
    return {"prompt_tokens": usage.input_tokens, "completion_tokens": usage.output_tokens,
            "total_tokens": usage.input_tokens + usage.output_tokens,
            "prompt_tokens_details": {"cached_tokens": usage.cached_input_tokens},
            "completion_tokens_details": {"reasoning_tokens": usage.reasoning_tokens}}


def parse_response(body: Any) -> ChatResponse:
    """An upstream ``chat.completion`` body as a ``ChatResponse`` (first choice only)."""
    raw = convert(load_body(body, UpstreamBadResponse), _Body, UpstreamBadResponse)
    if not raw.choices:
        raise UpstreamBadResponse("chat completion without choices")
    choice = raw.choices[0]
    msg = choice.message or _Delta()
    content: list[Any] = []
    thought = msg.reasoning_content or msg.reasoning
    if thought:
        content.append(ReasoningPart(thought))
    if msg.content:
        content.append(TextPart(msg.content))
    if msg.refusal:
        content.append(TextPart(msg.refusal))
    for call in msg.tool_calls or ():
        fn = call.function or _Fn()
        content.append(ToolCallPart(call.id or fresh("call_"), fn.name or "", fn.arguments or "{}"))
    stop = FINISH_IN.get(choice.finish_reason or "stop", "end_turn")
    return ChatResponse(id=raw.id, model=raw.model, content=content, stop_reason=stop,
                        usage=_usage(raw.usage) or Usage())


def render_response(resp: ChatResponse, model: str, *, created: int | None = None) -> dict[str, Any]:
    """``resp`` as a ``chat.completion`` body naming ``model``."""
    texts = [p.text for p in resp.content if isinstance(p, TextPart)]
    message: dict[str, Any] = {"role": "assistant", "content": "".join(texts) if texts else None}
    thoughts = [p.text for p in resp.content if isinstance(p, ReasoningPart) and p.text]
    if thoughts:
        message["reasoning_content"] = "".join(thoughts)
    calls = [{"id": p.id, "type": "function", "function": {"name": p.name, "arguments": p.arguments}}
             for p in resp.content if isinstance(p, ToolCallPart)]
    if calls:
        message["tool_calls"] = calls
    return {"id": resp.id or fresh("chatcmpl-"), "object": "chat.completion",
            "created": int(time.time()) if created is None else created, "model": model,
            "choices": [{"index": 0, "message": message, "logprobs": None,
                         "finish_reason": FINISH_OUT[resp.stop_reason]}],
            "usage": _usage_dict(resp.usage)}


def error_body(status: int, message: str, kind: str = "") -> dict[str, Any]:
    """OpenAI's error shape; ``kind`` (a routerd error code) goes in ``code``."""
    # OpenAI itself answers a model it does not serve with invalid_request_error (code model_not_found).
    kind_type = "invalid_request_error" if kind == "model_not_found" else error_type(status)
    return {"error": {"message": message, "type": kind_type, "param": None, "code": kind or None}}


class StreamDecoder:
    """Chat-completion chunks -> canonical events. ``feed(event, data)`` per SSE event; ``close()`` at
    the end of the byte stream. The message ends at ``[DONE]``; a stream that ends without it still
    ends cleanly if a ``finish_reason`` came (some servers omit ``[DONE]``), else with a StreamError."""

    def __init__(self) -> None:
        self._started = False
        self._stopped = False
        self._finish: StopReason | None = None
        self._usage: Usage | None = None
        self._tools: dict[int, int] = {}  # upstream index -> canonical index
        self._ids: dict[int, str] = {}  # upstream index -> id of the call it holds now
        self._count = 0

    def feed(self, event: str | None, data: str) -> list[Any]:
        if self._stopped:
            return []
        if data == "[DONE]":
            return self._stop()
        try:
            chunk = _CHUNK.decode(data)
        except msgspec.MsgspecError as exc:
            raise UpstreamBadResponse(f"bad chat completion chunk: {exc}") from None
        out: list[Any] = []
        if chunk.error is not None:
            self._stopped = True
            return [StreamError(str(chunk.error.get("message", "upstream error")), "upstream_error")]
        if not self._started:
            self._started = True
            out.append(MessageStart(chunk.id, chunk.model))
        if chunk.usage is not None:
            self._usage = _usage(chunk.usage)
        for choice in chunk.choices:
            if choice.index == 0:
                self._choice(choice, out)
        return out

    def _choice(self, choice: _Choice, out: list[Any]) -> None:
        delta = choice.delta
        if delta is not None:
            thought = delta.reasoning_content or delta.reasoning
            if thought:
                out.append(ReasoningDelta(thought))
            if delta.content:
                out.append(TextDelta(delta.content))
            if delta.refusal:
                out.append(TextDelta(delta.refusal))
            for call in delta.tool_calls or ():
                self._tool_delta(call, out)
        if choice.finish_reason:
            self._finish = FINISH_IN.get(choice.finish_reason, "end_turn")

    def _tool_delta(self, call: _Call, out: list[Any]) -> None:
        fn = call.function or _Fn()
        index = self._tools.get(call.index)
        # A new id at a known index is a new call: some servers (Ollama) send every call at index 0.
        if index is None or (call.id and call.id != self._ids[call.index]):
            index = self._tools[call.index] = self._count
            self._count += 1
            self._ids[call.index] = call.id or fresh("call_")
            out.append(ToolCallStart(index, self._ids[call.index], fn.name or ""))
        if fn.arguments:
            out.append(ToolCallDelta(index, fn.arguments))

    def _stop(self) -> list[Any]:
        if self._stopped or not self._started:
            return []
        self._stopped = True
        return [MessageStop(self._finish or "end_turn", self._usage)]

    def close(self) -> list[Any]:
        if self._stopped or self._finish is not None or not self._started:
            return self._stop()
        self._stopped = True
        return [StreamError("upstream stream ended before its finish_reason", "upstream_bad_response", 502)]


class StreamEncoder:
    """Canonical events -> chat-completion chunks, ending ``finish_reason`` chunk, usage chunk (when
    ``include_usage``) and ``[DONE]``. Every chunk carries the same id, created and model."""

    def __init__(self, model: str, *, include_usage: bool = False, id: str | None = None,
                 created: int | None = None) -> None:
        self._model = model
        self._include_usage = include_usage
        self._id = id
        self._created = int(time.time()) if created is None else created
        self._prefix = ""
        self._done = False

    def _head(self, message_id: str) -> None:
        self._id = self._id or message_id or fresh("chatcmpl-")
        self._prefix = (f'{{"id":{dump_json(self._id)},"object":"chat.completion.chunk",'
                        f'"created":{self._created},"model":{dump_json(self._model)},"choices":')

    def _chunk(self, delta: str, finish: str = "null") -> tuple[None, str]:
        return None, f'{self._prefix}[{{"index":0,"delta":{delta},"logprobs":null,"finish_reason":{finish}}}]}}'

    def feed(self, event: Any) -> list[tuple[str | None, str]]:
        if self._done:
            return []
        if not self._prefix:
            self._head(event.id if isinstance(event, MessageStart) else "")
            if not isinstance(event, MessageStart):
                out = [self._chunk('{"role":"assistant","content":""}')]
                return out + self.feed(event)
        if isinstance(event, TextDelta):
            return [self._chunk(f'{{"content":{dump_json(event.text)}}}')]
        if isinstance(event, ToolCallDelta):
            return [self._chunk(f'{{"tool_calls":[{{"index":{event.index},"function":'
                                f'{{"arguments":{dump_json(event.arguments)}}}}}]}}')]
        if isinstance(event, ReasoningDelta):
            return [self._chunk(f'{{"reasoning_content":{dump_json(event.text)}}}')] if event.text else []
        if isinstance(event, ToolCallStart):
            call = {"index": event.index, "id": event.id, "type": "function",
                    "function": {"name": event.name, "arguments": ""}}
            return [self._chunk(f'{{"tool_calls":[{dump_json(call)}]}}')]
        if isinstance(event, MessageStart):
            return [self._chunk('{"role":"assistant","content":""}')]
        if isinstance(event, MessageStop):
            return self._stop(event)
        if isinstance(event, StreamError):
            self._done = True
            return [(None, dump_json(error_body(event.status, event.message, event.kind)))]
        return []

    def _stop(self, event: MessageStop) -> list[tuple[str | None, str]]:
        self._done = True
        out: list[tuple[str | None, str]] = [self._chunk("{}", f'"{FINISH_OUT[event.stop_reason]}"')]
        if self._include_usage:
            usage = dump_json(_usage_dict(event.usage or Usage()))
            out.append((None, f'{self._prefix}[],"usage":{usage}}}'))
        out.append((None, "[DONE]"))
        return out


# --- where streamed text sits (``routerd.dialects.texts``) ------------------------------------------

_TEXT_FIELDS = ("content", "reasoning_content", "reasoning", "refusal")


def stream_texts(event: str | None, data: Any) -> Texts:
    """A chunk's text: per choice, each text field of its delta (channel ``(choice, field)``) and
    each tool call's arguments (``(choice, "tool", call)``); a ``finish_reason`` ends the choice's
    channels, ``[DONE]`` and an error every channel."""
    if not isinstance(data, dict):
        return ([], ALL) if data == "[DONE]" else NO_TEXTS
    choices = data.get("choices")
    if not isinstance(choices, list):
        return ([], ALL) if "error" in data else NO_TEXTS
    spots: list[TextSpot] = []
    ends: list[Channel] = []
    for choice in choices:
        if not isinstance(choice, dict):
            continue
        index = whole(choice.get("index", 0))
        delta = choice.get("delta")
        if isinstance(delta, dict):
            for key in _TEXT_FIELDS:
                if type(delta.get(key)) is str:
                    spots.append(TextSpot((index, key), delta, key))
            calls = delta.get("tool_calls")
            for call in calls if type(calls) is list else ():
                fn = call.get("function") if isinstance(call, dict) else None
                if isinstance(fn, dict) and isinstance(fn.get("arguments"), str):
                    spots.append(TextSpot((index, "tool", whole(call.get("index", 0))), fn, "arguments"))
        if choice.get("finish_reason"):
            ends.append((index,))
    return spots, tuple(ends)


def text_event(channel: Channel, text: str, template: Any) -> tuple[str | None, Any]:
    """A chunk like ``template`` (its id, created, model) whose one choice's delta is ``text``."""
    delta: dict[str, Any] = ({"tool_calls": [{"index": channel[2], "function": {"arguments": text}}]}
                             if channel[1] == "tool" else {channel[1]: text})
    head = {k: v for k, v in template.items() if k not in ("choices", "usage")}
    return None, {**head, "choices": [{"index": channel[0], "delta": delta, "finish_reason": None}]}
