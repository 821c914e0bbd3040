"""Relaying an upstream stream to the client as it arrives: usage metered on the way, translated
across dialects, and ended with the client dialect's error event when the upstream breaks."""


import anyio

from routerd.dialects.registry import get as dialect_of
from routerd.dialects.translate import StreamTranslator, wants_usage_chunk
from routerd.gateway.h1client import Response, UpstreamIOError
from routerd.routing.types import Candidate
from routerd.gateway.prepare import Prepared
from routerd.gateway.record import CallRecord
from routerd.gateway.upstream import map_error
from routerd.gateway.usage import UsageMeter



class StreamRelay:
    """Relays an upstream stream chunk by chunk; ``receive`` returns b"" at the end. A broken or
    unfinished upstream stream ends with the client dialect's error event. Across dialects each
    chunk goes through a ``StreamTranslator``; when routerd asked for OpenAI's usage chunk on the
    client's behalf, that chunk is held back from the client."""

    def __init__(self, response: Response, front: str, meter: UsageMeter, record: CallRecord,
                 provider: str, read_timeout_s: float, translator=None, drop_usage: bool = False,
                 first: bytes | None = None) -> None:
        self._response = response
        self._first = first  # the first body bytes, read by dispatch before committing to the stream
        self._read_timeout_s = read_timeout_s
        self._front = front
        self._meter = meter
        self._record = record
        self._provider = provider
        self._translator = translator
        self._drop_usage = drop_usage
        self._tail = b""
        self._ended = True   # what the client got so far ends at an event boundary (a blank line)
        self._done = False

    async def receive(self) -> bytes:
        while not self._done:
            if self._first is not None:
                data, self._first = self._first, None
            else:
                try:
                    with anyio.fail_after(self._read_timeout_s):
                        data = await self._response.next_chunk()
                except (UpstreamIOError, TimeoutError) as exc:
                    self._done = True
                    return self._tail + self._broken(map_error(exc, self._provider).message)
            if not data:
                self._done = True
                return self._end()
            self._record.first_byte()
            self._meter.feed_stream(data)
            if self._translator is not None:
                data = self._translator.feed(data)
            elif self._drop_usage:
                data = self._without_usage_chunk(data)
            if data:
                self._ended = data.endswith((b"\n\n", b"\r\n\r\n", b"\r\r"))
                return data
        return b""

    @property
    def finished(self) -> bool:
        """The client has been handed its stream's final event, so a client that leaves now has the
        whole answer (Codex closes as soon as it reads ``response.completed``)."""
        return self._translator.completed if self._translator is not None else self._meter.completed

    def _end(self) -> bytes:
        out = self._tail
        if self._translator is not None:
            out += self._translator.close()
        if self._meter.completed:
            self._record.outcome = "ok"
            return out
        return out + self._broken("upstream ended the stream before its final event")

    def _without_usage_chunk(self, data: bytes) -> bytes:
        """Whole events only, minus the usage-only chunk (``"choices":[]``) the client did not ask for."""
        data = self._tail + data
        end = data.rfind(b"\n\n")
        if end < 0:
            self._tail = data
            return b""
        events, self._tail = data[:end + 2], data[end + 2:]
        usage_only = dialect_of(self._front).usage_only
        if not usage_only(events):
            return events
        return b"".join(e + b"\n\n" for e in events.split(b"\n\n") if e and not usage_only(e))

    def _broken(self, message: str) -> bytes:
        message = f"upstream stream interrupted: {message}"
        self._record.outcome, self._record.error = "stream_cut", message
        if self._translator is not None:
            return self._translator.fail(message)
        # After a partial event the error event needs a blank line first, or the client's parser
        # reads it as the rest of that event (an extra blank line is harmless: SSE skips it).
        separator = b"" if self._ended and not self._tail else b"\n\n"
        return separator + dialect_of(self._front).stream_error(502, message, "upstream_error")

    @property
    def ready(self) -> bool:
        """Upstream bytes are waiting: ``receive`` will answer without waiting for the network."""
        return self._first is not None

    async def aclose(self) -> None:
        await self._response.aclose()


def open_relay(response, request, prepared: Prepared, meter: UsageMeter, record: CallRecord,
               candidate: Candidate, read_timeout_s: float, first: bytes) -> StreamRelay:
    translator = None
    if prepared.translated:
        translator = StreamTranslator(prepared.dialect, request.dialect, candidate.model,
                                      include_usage=wants_usage_chunk(request.body))
    return StreamRelay(response, request.dialect, meter, record, candidate.provider, read_timeout_s,
                       translator, drop_usage=prepared.usage_added, first=first)
