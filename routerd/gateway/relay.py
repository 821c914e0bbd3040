"""Relaying an upstream stream to the client as it arrives: usage metered on the way, translated
across dialects, secrets blanked, and ended with the client dialect's error event when the upstream
breaks or sends an event that cannot be read.

A stream is committed to once the client's first bytes are ready (``begin``): until then a broken
upstream, a bad event, the provider's own error event or an end before the first whole event
raises, while dispatch can still fall back to another candidate; after that they end the client's
stream with the dialect's error event and a clean end of the body. A provider that sends its own
error event after that has told the client already: its stream ends there, with no second error,
and the row keeps the provider's words."""

import logging
import time

import anyio

from routerd.budgets.codex_plan import event_headers
from routerd.dialects.error_reading import StreamFailure
from routerd.dialects.registry import get as dialect_of
from routerd.dialects.translate import StreamTranslator, wants_usage_chunk
from routerd.errors import UpstreamBadResponse, UpstreamError
from routerd.gateway.failures import status_error
from routerd.gateway.h1client import Response, UpstreamIOError
from routerd.gateway.holdback import Holdback
from routerd.routing.types import Candidate
from routerd.gateway.prepare import Prepared
from routerd.gateway.record import CallRecord
from routerd.gateway.upstream import map_error
from routerd.gateway.usage import UsageMeter

log = logging.getLogger("routerd.gateway")
# The status an error event before the answer stands for, by what it reads as.
_STATUS = {"rate_limited": 429, "overloaded": 503, "timeout": 504}
_JSON = ((b"content-type", b"application/json"),)


class StreamRelay:
    """Relays an upstream stream chunk by chunk; ``receive`` returns b"" at the end. A broken or
    unfinished upstream stream, or one with an event that cannot be translated, ends with the
    client dialect's error event. Across dialects each chunk goes through a ``StreamTranslator``;
    when routerd asked for OpenAI's usage chunk on the client's behalf, that chunk is held back
    from the client. The client gets whole events, through a ``Holdback``: every secret of the
    runtime blanked, even one streamed in pieces."""

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
        dialect = dialect_of(front)
        self._holdback = Holdback(record.runtime.redactor, dialect, dialect.usage_only if drop_usage else None)
        if self._holdback.reads_text:  # it counts the text for the meter (``streamed``): once is enough
            meter.counts_text = False
        self._done = False

    async def begin(self) -> None:
        """Read until the client's first bytes are ready, before anything is sent to the client: an
        upstream that breaks or sends a bad event by then raises ``UpstreamError``."""
        self._ready = await self._next()
        if self._meter.failure is not None:
            raise self._refused(self._meter.failure)
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
            try:
                self._meter.feed_stream(data)
                data = self._holdback.feed(self._translator.feed(data) if self._translator is not None else data)
            except UpstreamBadResponse as exc:
                return self._bad(exc)
            if self._meter.rate_limits is not None:
                self._plan_windows()
            self._meter.streamed(self._holdback.text_chars)
            if data:
                return data
        return b""

    def _plan_windows(self) -> None:
        """A Codex stream's plan windows (its ``codex.rate_limits`` event), read as the same
        windows in its headers are, into the budgets."""
        meter, record = self._meter, self._record
        found, meter.rate_limits = meter.rate_limits, None
        provider = record.runtime.providers.get(self._provider)
        kind = provider.kind if provider is not None else None
        record.gateway.spending.observe(self._provider, [], event_headers(found or {}), time.time(), kind)

    @property
    def finished(self) -> bool:
        """The client has been handed its stream's final event, so a client that leaves now has the
        whole answer (Codex closes as soon as it reads ``response.completed``)."""
        return self._translator.completed if self._translator is not None else self._meter.completed

    def _bad(self, exc: UpstreamBadResponse) -> bytes:
        """An event that cannot be translated, or text after its end: before the client has seen a
        byte, a failed attempt like any other; after, the end of the client's stream."""
        if not self._committed:
            raise UpstreamBadResponse(f"{self._provider}: {exc.message}", status=200) from None
        return self._broken("upstream_bad_response", f"upstream sent a bad stream event: {exc.message}")

    def _end(self) -> bytes:
        closing = b""
        if self._translator is not None:
            try:
                closing = self._translator.close()
            except UpstreamBadResponse as exc:
                return self._bad(exc)
        if self._meter.completed and self._meter.failure is None:
            self._done = True
            self._record.outcome = "ok"
            return self._holdback.close(closing)
        if not self._committed and self._meter.failure is not None:
            raise self._refused(self._meter.failure)
        if not self._committed:  # bytes that are no event (gzip, HTML), or none: nothing sent yet
            raise UpstreamBadResponse(f"{self._provider}: the stream ended before its first event", status=200)
        return self._broken("stream_cut", "upstream stream interrupted: upstream ended the stream before its "
                            "final event", closing)

    def _broken(self, outcome: str, message: str, before: bytes = b"") -> bytes:
        """The last bytes for the client: what is left of the stream, then the dialect's error event,
        unless the provider sent its own (passed on, or translated, already): the client gets one
        error event, and the row says what the provider said."""
        self._done = True
        failure = self._meter.failure
        if failure is not None:
            self._record.outcome, self._record.error = "stream_cut", f"upstream error event: {failure}"
            return self._holdback.close(before)
        self._record.outcome, self._record.error = outcome, message
        if outcome != "stream_cut":
            log.warning("%s/%s: %s", self._provider, self._record.candidate.model, message)
        if self._translator is not None:
            error = self._translator.fail(message)
        else:
            error = dialect_of(self._front).stream_error(502, message, "upstream_error")
        return self._holdback.close(before + error)

    def _refused(self, failure: StreamFailure) -> UpstreamError:
        """A stream whose first word is the provider's error event: an error answer like any other,
        read by what it says (a rate limit, an overload), which dispatch can still fall back from."""
        status = _STATUS.get(failure.hint or "server_error", 500)
        body = dialect_of(self._meter.dialect).error_bytes(status, failure.message, failure.kind)
        error = status_error(self._provider, status, _JSON, self._record.runtime.redactor.blank(body))
        error.message = f"{self._provider}: an error event before the answer: {failure}"
        if failure.retry_after_s is not None:  # the rebuilt body lost it (Gemini's RetryInfo)
            error.retry_after_s = failure.retry_after_s
        return error

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
                                      include_usage=wants_usage_chunk(request.body), reading=prepared.reading)
    return StreamRelay(response, request.dialect, meter, record, candidate.provider, read_timeout_s,
                       translator, drop_usage=prepared.usage_added, first=first)
