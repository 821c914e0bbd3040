"""Bytes-in, bytes-out translation between dialects, for the gateway's hot path.

The gateway holds bodies as bytes and relays upstream streams chunk by chunk; these helpers fit that
shape. Dialect names are those of ``registry.DIALECTS``. Same-dialect traffic should not come here
at all: it passes through untouched.

- ``render_read(target, req, model, info=...)`` -> the upstream body, and the ``Reading`` that reads
  its answer back as the client's structured output asked (``routerd.dialects.structured``).
- ``sent_output(front, served, body, info)`` -> the output limit that body is sent with.
- ``translate_request(front, target, body, model, stream=...)`` -> the upstream body.
- ``translate_response(upstream, front, body, model, reading)`` -> the client's body.
- ``StreamTranslator(upstream, front, model, reading=...)``: ``feed(chunk) -> bytes`` per upstream chunk (chunks
  cut anywhere), ``close() -> bytes`` at the end of the upstream stream, ``fail(message) -> bytes``
  for one that broke; ``completed`` says whether the upstream stream reached its end; ``usage``
  holds the canonical usage once known.
- ``translate_error(upstream, front, status, body)`` -> an upstream error body in the front's shape.
- ``wants_usage_chunk(body)`` -> whether an OpenAI chat client asked for the final usage chunk.
- ``count_tokens(front, body)`` -> an Anthropic ``count_tokens`` answer estimated locally, for when
  no Anthropic upstream can count exactly.

All raise ``BadRequest`` for a client body of the wrong shape and ``UpstreamBadResponse`` for an
upstream answer of the wrong shape.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import msgspec

from routerd.catalogue.models import ModelInfo
from routerd.dialects import hosted
from routerd.dialects.canonical import ChatRequest, MessageStop, StreamError, Usage
from routerd.dialects.registry import get
from routerd.dialects.sse import SSEDecoder, encode_event
from routerd.dialects.structured import fit_output
from routerd.dialects.structured_answer import AnswerReader, Reading, read_answer
from routerd.dialects.summary import estimate_tokens
from routerd.errors import UpstreamBadResponse

_encode = msgspec.json.encode


def render_read(target: str, req: ChatRequest, model: str, *, reasoning: bool = True,
                info: ModelInfo | None = None) -> tuple[bytes, Reading | None]:
    """``req`` rendered for ``target`` and encoded, made valid for ``model`` (``routerd.dialects.fit``:
    ``info`` is its catalogue entry, None for a model the catalogue does not know); ``reasoning``
    False drops reasoning parameters (``reasoning_effort``, ``thinking``, ``thinkingConfig``).
    Structured output goes as ``target`` takes it (``routerd.dialects.structured``: a forced tool
    to a Claude model the catalogue does not say takes the native field, ...); the ``Reading``
    (None: none needed) gives the answer back as the client asked."""
    req, reading = fit_output(req, target, info is not None and info.takes_json_output(model))
    dialect = get(target)
    body = dialect.render_request(req, model, reasoning=reasoning)
    dialect.fit(body, info)
    return _encode(body), reading


def sent_output(front: str, served: Sequence[str], body: bytes, info: ModelInfo | None, *,
                front_model: str | None = None) -> int | None:
    """The output limit ``render_read`` sends for a ``front`` request translated for a provider
    serving ``served`` (``hosted.translation`` picks the dialect): that dialect's renderer's
    (``Dialect.sent_output``: Anthropic's room for a thinking budget where the client set no
    limit), at most ``info``'s ``max_output_tokens`` as ``fit`` caps it; None where none is sent."""
    name, req = hosted.translation(front, served, get(front).parse_request(body, model=front_model))
    sent = get(name).sent_output(req)
    if not sent:  # none, or a 0 the upstream refuses
        return None
    limit = info.max_output_tokens if info is not None else None
    return min(sent, limit) if limit else sent


def render(target: str, req: ChatRequest, model: str, *, reasoning: bool = True,
           info: ModelInfo | None = None) -> bytes:
    """``render_read``'s body alone."""
    return render_read(target, req, model, reasoning=reasoning, info=info)[0]


def translate_request(front: str, target: str, body: bytes | dict[str, Any], model: str, *,
                      stream: bool | None = None, front_model: str | None = None,
                      reasoning: bool = True) -> bytes:
    """A client body in ``front`` as a ``target`` body for ``model``. ``stream``/``front_model``
    are for fronts that carry them in the URL (Gemini); ``reasoning`` as in ``render``."""
    req = get(front).parse_request(body, model=front_model, stream=stream)
    return render(target, req, model, reasoning=reasoning)


def translate_response(upstream: str, front: str, body: bytes | dict[str, Any], model: str,
                       reading: Reading | None = None) -> bytes:
    """A whole upstream answer in ``upstream`` as a ``front`` body naming ``model``, its structured
    output read back as ``reading`` says (``render_read``)."""
    resp = get(upstream).parse_response(body)
    if reading is not None:
        resp = read_answer(resp, reading)
    return _encode(get(front).render_response(resp, model))


class _AnyError(msgspec.Struct):
    message: str = ""


class _ErrorBody(msgspec.Struct):
    error: _AnyError | str | None = None
    message: str = ""


def error_message(body: bytes) -> str:
    """The human message of an error body in any dialect's shape (or its text, shortened)."""
    try:
        parsed = msgspec.json.decode(body, type=_ErrorBody)
    except msgspec.MsgspecError:
        return body[:500].decode("utf-8", "replace").strip() or "upstream error"
    if isinstance(parsed.error, _AnyError) and parsed.error.message:
        return parsed.error.message
    if isinstance(parsed.error, str) and parsed.error:
        return parsed.error
    return parsed.message or "upstream error"


def translate_error(upstream: str, front: str, status: int, body: bytes, kind: str = "") -> bytes:
    """An upstream error body (in ``upstream``'s shape) as ``front``'s error body, same status."""
    if upstream == front:
        return body
    return get(front).error_bytes(status, error_message(body), kind)


_INCLUDE_USAGE = re.compile(rb'"include_usage"\s*:\s*true')


def wants_usage_chunk(body: bytes) -> bool:
    """Whether an OpenAI chat body asks for ``stream_options.include_usage`` (the Python SDK writes
    ``"include_usage": true`` with a space, so a plain byte search is not enough). A byte-level check:
    no decode on the hot path; a false positive only adds a usage chunk the SDKs accept anyway."""
    return _INCLUDE_USAGE.search(body) is not None


def count_tokens(front: str, body: bytes | dict[str, Any], **url: Any) -> bytes:
    """``{"input_tokens": n}`` for a request body in ``front``, by ``canonical.estimate_tokens``."""
    return _encode({"input_tokens": estimate_tokens(get(front).parse_request(body, **url))})


class StreamTranslator:
    """An upstream SSE byte stream in one dialect -> the client's SSE bytes in another."""

    __slots__ = ("_sse", "_decoder", "_reader", "_encoder", "_unsent", "completed", "usage", "events_in",
                 "events_out")

    def __init__(self, upstream: str, front: str, model: str, *, include_usage: bool = True,
                 message_id: str | None = None, reading: Reading | None = None) -> None:
        self._sse = SSEDecoder()
        self._decoder = get(upstream).stream_decoder()
        self._reader = AnswerReader(reading) if reading is not None else None
        self._encoder = get(front).stream_encoder(model, id=message_id, include_usage=include_usage)
        self._unsent: list[Any] = []
        self.completed = False
        self.usage: Usage | None = None
        self.events_in = 0
        self.events_out = 0

    def _encode(self, events: list[Any]) -> bytes:
        if self._reader is not None:
            events = [read for ev in events for read in self._reader.feed(ev)]
        out: list[bytes] = []
        for ev in events:
            if isinstance(ev, MessageStop):
                self.completed = True
                self.usage = ev.usage
            for name, data in self._encoder.feed(ev):
                out.append(encode_event(name, data))
        self.events_out += len(out)
        return b"".join(out)

    def feed(self, chunk: bytes) -> bytes:
        """Translate one upstream chunk; returns b"" when it completed no event. An event of the wrong
        shape raises ``UpstreamBadResponse``; the events of the chunk before it are kept for ``fail``."""
        events: list[Any] = []
        try:
            for name, data in self._sse.feed(chunk):
                self.events_in += 1
                events.extend(self._decoder.feed(name, data))
        except UpstreamBadResponse:
            self._unsent = events
            raise
        return self._encode(events) if events else b""

    def close(self) -> bytes:
        """End of the upstream stream: flush what is left. A stream that never reached its end event
        ends with the front's error event (OpenAI chat/Gemini end cleanly if text had started)."""
        events: list[Any] = []
        for name, data in self._sse.close():
            events.extend(self._decoder.feed(name, data))
        events.extend(self._decoder.close())
        return self._encode(events)

    def fail(self, message: str, status: int = 502, kind: str = "upstream_error") -> bytes:
        """The front's error event, for an upstream stream that broke (reset, timeout, a bad event),
        after what the chunk before a bad event held."""
        events, self._unsent = self._unsent, []
        return self._encode([*events, StreamError(message, kind, status)])
