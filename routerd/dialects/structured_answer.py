"""Reading a translated answer back as the structured output its client asked for.

``routerd.dialects.structured`` may state a client's structured output otherwise than the client
did: as a forced tool whose input is the answer (a Claude model without the native field), wrapped
as ``{"value": X}`` (an answer that is not an object: no tool input can be one, and OpenAI's
json_schema takes object roots only), or as JSON for Gemini's ``text/x.enum`` (whose answer is the
enum value's bare text). It returns a ``Reading`` saying which; the gateway keeps it with the
request and hands it to the answer's translation, which gives the client its answer through
``read_answer`` (whole) or an ``AnswerReader`` (streamed, event by event).

A streamed ``{"value": X}`` is unwrapped as it comes (``Unwrapper``), not held until its end: the
client of a stream wants its first bytes early (partial JSON parsers render them), and the wrapper
is of a fixed shape, so only its head (``{"value":``, a dozen characters) and its last ``}`` are
held. Text that does not open with that head (a model that did not follow a schema it was not held
to) goes through as it came. An enum's bare text is short and must be JSON-decoded whole (escapes):
it is held to the end.

Pure: canonical answers and events in, the same out.
"""

from __future__ import annotations

from typing import Any

import msgspec

from routerd.dialects.canonical import (
    ChatResponse, MessageStop, Part, StreamError, TextDelta, TextPart, ToolCallDelta, ToolCallPart, ToolCallStart,
)

_SPACE = " \t\r\n"
_HEAD = ("{", '"value"', ":")


class Reading(msgspec.Struct, frozen=True, omit_defaults=True):
    """How an answer comes back to its client: ``tool``, the name of the forced tool routerd
    offered (a call of it is the answer's text); ``wrapped``, the answer (text, or that tool's
    input) is ``{"value": X}`` and the client's is X; ``bare``, a JSON string answer goes back as
    its bare text (Gemini's ``text/x.enum``)."""

    tool: str | None = None
    wrapped: bool = False
    bare: bool = False


def _head_end(text: str) -> int | None:
    """Where the value starts after the wrapper's head ``{"value":`` (whitespace allowed around its
    tokens) in ``text``; -1 when ``text`` does not open with it, None when it may still (too short
    to tell)."""
    i = 0
    for token in _HEAD:
        while i < len(text) and text[i] in _SPACE:
            i += 1
        piece = text[i:i + len(token)]
        if not token.startswith(piece):
            return -1
        if len(piece) < len(token):
            return None
        i += len(token)
    while i < len(text) and text[i] in _SPACE:
        i += 1
    return i if i < len(text) else None  # where the value starts: held until it does


class Unwrapper:
    """``{"value": X}`` streamed in pieces -> X in pieces: the head held until whole, then each
    piece passed on but for a trailing ``}`` (and the whitespace after it), which may be the
    wrapper's end and is held until more comes."""

    __slots__ = ("_held", "_state")

    def __init__(self) -> None:
        self._held = ""
        self._state = "head"  # head -> body; raw: not a wrapper, passed through

    def feed(self, text: str) -> str:
        data = self._held + text
        if self._state == "head":
            end = _head_end(data)
            if end is None:
                self._held = data
                return ""
            if end < 0:
                self._state, self._held = "raw", ""
                return data
            self._state, data = "body", data[end:]
        elif self._state == "raw":
            return text
        kept = data.rstrip(_SPACE)
        cut = len(kept) - 1 if kept.endswith("}") else len(kept)
        self._held = data[cut:]
        return data[:cut]

    def close(self) -> str:
        """The end of the text: a held head that never completed goes out as it came; the held
        ``}`` closed the wrapper and is dropped."""
        held, self._held = self._held, ""
        return held if self._state == "head" else ""


def unwrap(text: str) -> str:
    """The X of a whole ``{"value": X}`` JSON text; any other text as it is."""
    try:
        value = msgspec.json.decode(text)
    except msgspec.DecodeError:
        return text
    return msgspec.json.encode(value["value"]).decode() if isinstance(value, dict) and value.keys() == {"value"} \
        else text


def bare(text: str) -> str:
    """A JSON string's bare text (``"a\\"b"`` -> ``a"b``); any other text as it is."""
    try:
        value = msgspec.json.decode(text)
    except msgspec.DecodeError:
        return text
    return value if isinstance(value, str) else text


def _answer_text(text: str, reading: Reading) -> str:
    if reading.wrapped:
        text = unwrap(text)
    return bare(text) if reading.bare else text


def read_answer(resp: ChatResponse, reading: Reading) -> ChatResponse:
    """A whole answer as its client asked for it: a call of ``reading.tool`` as its text (a
    ``tool_use`` stop with no other call left becoming ``end_turn``); that text, or with no tool
    each text part, unwrapped and made bare as ``reading`` says."""
    tool, stop = reading.tool, resp.stop_reason
    if tool is None:
        content: list[Part] = [msgspec.structs.replace(p, text=_answer_text(p.text, reading))
                               if isinstance(p, TextPart) else p for p in resp.content]
    else:
        content = [TextPart(_answer_text(p.arguments, reading)) if isinstance(p, ToolCallPart) and p.name == tool
                   else p for p in resp.content]
        if stop == "tool_use" and not any(isinstance(p, ToolCallPart) for p in content):
            stop = "end_turn"
    return msgspec.structs.replace(resp, content=content, stop_reason=stop)


class AnswerReader:
    """A streamed answer's canonical events as its client asked for them (``read_answer`` event by
    event): the forced tool's call becomes text deltas, the other calls keep their order with
    indexes counted without it, the answer's text is unwrapped as it comes and, made bare, held
    until the stream's end."""

    __slots__ = ("_reading", "_unwrapper", "_bare", "_answers", "_calls")

    def __init__(self, reading: Reading) -> None:
        self._reading = reading
        self._unwrapper = Unwrapper() if reading.wrapped else None
        self._bare: list[str] | None = [] if reading.bare else None
        self._answers: set[int] = set()  # upstream indexes of the forced tool's calls
        self._calls: dict[int, int] = {}  # upstream index -> the client's, for the other calls

    def feed(self, event: Any) -> list[Any]:
        if isinstance(event, ToolCallStart):
            if event.name == self._reading.tool:
                self._answers.add(event.index)
                return []
            index = self._calls.setdefault(event.index, len(self._calls))
            return [event if index == event.index else msgspec.structs.replace(event, index=index)]
        if isinstance(event, ToolCallDelta):
            if event.index in self._answers:
                return self._text(event.arguments)
            index = self._calls.get(event.index, event.index)
            return [event if index == event.index else msgspec.structs.replace(event, index=index)]
        if isinstance(event, TextDelta) and self._reading.tool is None:
            return self._text(event.text)
        if isinstance(event, MessageStop):
            if event.stop_reason == "tool_use" and self._answers and not self._calls:
                event = msgspec.structs.replace(event, stop_reason="end_turn")  # the only call was the answer
            return [*self._flush(), event]
        if isinstance(event, StreamError):
            return [*self._flush(), event]
        return [event]

    def _text(self, text: str) -> list[Any]:
        if self._unwrapper is not None:
            text = self._unwrapper.feed(text)
        if self._bare is not None:
            self._bare.append(text)
            return []
        return [TextDelta(text)] if text else []

    def _flush(self) -> list[Any]:
        """What is held, at the stream's end (or its error)."""
        text = self._unwrapper.close() if self._unwrapper is not None else ""
        if self._bare is not None:
            text, self._bare = bare("".join(self._bare) + text), []
        return [TextDelta(text)] if text else []
