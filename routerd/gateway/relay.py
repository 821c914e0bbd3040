"""Relaying an upstream stream to the client as it arrives: usage metered on the way, translated
across dialects, secrets blanked, and ended with the client dialect's error event when the upstream
breaks or sends an event that cannot be read.

A stream is committed to once the client's first bytes are ready (``begin``): until then a broken
upstream or a bad event raises, while dispatch can still fall back to another candidate; after
that they end the client's stream with the dialect's error event and a clean end of the body."""

import logging

import anyio

from routerd.dialects.registry import get as dialect_of
from routerd.dialects.translate import StreamTranslator, wants_usage_chunk
from routerd.errors import UpstreamBadResponse
from routerd.gateway.h1client import Response, UpstreamIOError
from routerd.routing.types import Candidate
from routerd.gateway.prepare import Prepared
from routerd.gateway.record import CallRecord
from routerd.gateway.upstream import map_error
from routerd.gateway.usage import UsageMeter

log = logging.getLogger("routerd.gateway")
_EVENT_ENDS = (b"\n\n", b"\r\n\r\n", b"\r\r")


class StreamRelay:
    """Relays an upstream stream chunk by chunk; ``receive`` returns b"" at the end. A broken or
    unfinished upstream stream, or one with an event that cannot be translated, ends with the
    client dialect's error event. Across dialects each chunk goes through a ``StreamTranslator``;
    when routerd asked for OpenAI's usage chunk on the client's behalf, that chunk is held back
    from the client. Every secret of the runtime is blanked from what the client gets; passed
    through as bytes, the end of an unfinished event is held back until the next chunk (at most
    what a written-out secret takes), so that no secret reaches the client cut in two."""

    def __init__(self, response: Response, front: str, meter: UsageMeter, record: CallRecord,
                 provider: str, read_timeout_s: float, translator=None, drop_usage: bool = False,
                 first: bytes = b"") -> None:
        self._response = response
        self._first = first  # the first body bytes, read by dispatch before committing to the stream
        self._ready: bytes | None = None  # the client's first bytes, made ready by ``begin``
        self._committed = False
        self._read_timeout_s = read_timeout_s
        self._front = front
        self._meter = meter
        self._record = record
        self._provider = provider
        self._translator = translator
        self._drop_usage = drop_usage
        self._redactor = record.runtime.redactor
        self._hold = max(0, self._redactor.longest - 1)
        self._tail = b""
        self._ended = True   # what the client got so far ends at an event boundary (a blank line)
        self._done = False

    async def begin(self) -> None:
        """Read until the client's first bytes are ready, before anything is sent to the client: an
        upstream that breaks or sends a bad event by then raises ``UpstreamError``."""
        self._ready = await self._next()
        self._committed = True

    async def receive(self) -> bytes:
        if self._ready is not None:
            data, self._ready = self._ready, None
            return data
        return await self._next()

    async def _next(self) -> bytes:
        while not self._done:
            if self._first:
                data, self._first = self._first, b""
            else:
                try:
                    with anyio.fail_after(self._read_timeout_s):
                        data = await self._response.next_chunk()
                except (UpstreamIOError, TimeoutError) as exc:
                    error = map_error(exc, self._provider)
                    if not self._committed:
                        raise error from None
                    return self._broken("stream_cut", f"upstream stream interrupted: {error.message}")
            if not data:
                return self._end()
            self._record.first_byte()
            self._meter.feed_stream(data)
            if self._translator is not None:
                data = self._translated(data)
            elif self._drop_usage:
                data = self._redactor.blank(self._without_usage_chunk(data))
            else:
                data = self._held_back(data)
            if data:
                self._ended = data.endswith(_EVENT_ENDS)
                return data
        return b""

    @property
    def finished(self) -> bool:
        """The client has been handed its stream's final event, so a client that leaves now has the
        whole answer (Codex closes as soon as it reads ``response.completed``)."""
        return self._translator.completed if self._translator is not None else self._meter.completed

    def _translated(self, data: bytes) -> bytes:
        try:
            return self._redactor.blank(self._translator.feed(data))
        except UpstreamBadResponse as exc:
            if not self._committed:  # nothing sent yet: a failed attempt like any other
                raise UpstreamBadResponse(f"{self._provider}: {exc.message}", status=200) from None
            return self._broken("upstream_bad_response", f"upstream sent a bad stream event: {exc.message}")

    def _held_back(self, data: bytes) -> bytes:
        """Passed-through bytes, secrets blanked; unless they end an event, their last ``_hold``
        bytes wait for the next chunk (a client's SSE parser uses no part of an unfinished event)."""
        if self._tail:
            data, self._tail = self._tail + data, b""
        data = self._redactor.blank(data)
        if self._hold and not data.endswith(_EVENT_ENDS):
            cut = max(0, len(data) - self._hold)
            data, self._tail = data[:cut], data[cut:]
        return data

    def _end(self) -> bytes:
        if self._translator is not None:
            try:
                closing = self._redactor.blank(self._translator.close())
            except UpstreamBadResponse as exc:
                return self._broken("upstream_bad_response", f"upstream sent a bad stream event: {exc.message}")
        else:
            closing = b""
        if self._meter.completed:
            self._done = True
            self._record.outcome = "ok"
            return self._redactor.blank(self._tail) + closing
        return self._broken("stream_cut", "upstream stream interrupted: upstream ended the stream before its "
                            "final event", closing)

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

    def _broken(self, outcome: str, message: str, before: bytes = b"") -> bytes:
        """The last bytes for the client: what is left of the stream, then the dialect's error event."""
        self._done = True
        self._record.outcome, self._record.error = outcome, message
        if outcome != "stream_cut":
            log.warning("%s/%s: %s", self._provider, self._record.candidate.model, message)
        if self._translator is not None:
            return before + self._redactor.blank(self._translator.fail(message))
        out = self._redactor.blank(self._tail) + before
        self._tail = b""
        # After a partial event the error event needs a blank line first, or the client's parser
        # reads it as the rest of that event (an extra blank line is harmless: SSE skips it).
        ended = out.endswith(_EVENT_ENDS) if out else self._ended
        separator = b"" if ended else b"\n\n"
        return out + separator + dialect_of(self._front).stream_error(502, message, "upstream_error")

    @property
    def ready(self) -> bool:
        """The client's first bytes are waiting: ``receive`` will answer without the network."""
        return self._ready is not None

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
