"""Token usage read from upstream answers, whole bodies and streams alike, in each dialect.

``UsageMeter`` is fed the bytes the client receives. For a stream it cuts server-sent events at blank
lines and decodes only the events that can carry usage (found by a byte search), so a long stream
costs one ``find`` per chunk. The generated text an estimate needs (a stream cut before its usage,
or one that reports none) is counted lazily: events wait, up to ``COUNT_AFTER_BYTES``, and are
counted together when that is passed or when an estimate asks, so a stream that ends with its
usage before that never has its text counted. The meter also notes whether the stream reached its
terminal event, which tells a finished stream from one cut in the middle, and the first error
event the provider sent (``failure``), which says why a stream ended without it. What a dialect's answers say and where is the
dialect's (``Dialect.usage``, e.g. ``routerd.dialects.anthropic.usage``); the counts are kept as the
provider reports them, in the shape ``routerd.catalogue.prices.Tokens`` prices.
"""

from typing import Any

import msgspec

from routerd.catalogue.prices import Tokens
from routerd.dialects.error_reading import STREAM_ERROR, StreamFailure, stream_failure
from routerd.dialects.registry import get
from routerd.dialects.sse import EventCutter
from routerd.dialects.summary import estimate_tokens
from routerd.errors import UpstreamBadResponse


CHARS_PER_TOKEN = 4
# The longest event read: a stream's last event can hold the whole answer (Responses'
# ``response.completed``), and an upstream that never ends its event must not fill memory.
MAX_EVENT_BYTES = 16 << 20
# Event bytes whose text may wait to be counted (``UsageMeter.text_chars``): most answers' streams
# are smaller (4,000 tokens of text, 20 characters an event, stream ~100 KB) and end with their
# usage, so their text is never counted; a longer stream's, counted in pieces this big, costs what
# counting it whole does (bench/bench_meter.py). The memory it holds is per stream, while it streams.
COUNT_AFTER_BYTES = 256 << 10
# Between events waiting to be counted, joined: a text value cut short in one cannot run into the
# next, since a backslash before a line end is no JSON string's (``text_fields``). (Every blob of
# events ends with a line end, so the backslash cannot escape one before it.)
_APART = b"\\\n"
# No tokens: what a call that used none is priced at, and what ``UsageMeter.tokens`` answers (this
# very object) when the provider's counts were discarded.
NO_TOKENS = Tokens()


class UsageMeter:
    """Accumulates usage for one upstream answer in ``dialect``."""

    __slots__ = ("cache_read", "cache_write", "cache_write_1h", "completed", "counts_text", "dialect",
                 "discarded", "estimated", "failure", "input_tokens", "output_tokens", "rate_limits", "reasoning",
                 "response_id",
                 "web_searches", "_chars", "_cutter", "_decoder", "_markers", "_reader", "_terminal", "_text",
                 "_uncounted", "_uncounted_bytes")

    def __init__(self, dialect: str) -> None:
        self.dialect = dialect
        self.input_tokens = self.output_tokens = 0
        self.cache_read = self.cache_write = self.cache_write_1h = self.reasoning = 0
        # hosted web searches: the provider's count, or in a stream cut before it, the searches its
        # events showed finished (``estimate`` then marks the row estimated)
        self.web_searches = 0
        self.response_id: str | None = None
        self.estimated = False  # the counts are routerd's estimate, not the provider's report
        self.discarded = False  # the provider reported counts no call can have (`Tokens.plausible`)
        self.completed = False
        self.failure: StreamFailure | None = None  # the provider's own error event, the first one
        # A Codex stream's plan (its ``codex.rate_limits`` event's fields), until the relay hands them on.
        self.rate_limits: dict[str, Any] | None = None
        self._chars = 0  # characters of generated text counted so far (``text_chars``)
        self._uncounted: list[bytes] = []  # events whose text is still to be counted
        self._uncounted_bytes = 0
        reader = self._reader = get(dialect).usage
        self.counts_text = reader.counts_text
        self._decoder = reader.decoder
        self._markers = reader.markers
        self._terminal = reader.terminal
        self._text = reader.text
        self._cutter = EventCutter()

    def tokens(self) -> Tokens:
        """The counts so far, in the shape prices are computed from; none when the provider's are
        past what any call can use (``estimate`` then replaces them)."""
        tokens = Tokens(input=self.input_tokens, output=self.output_tokens, cache_read=self.cache_read,
                        cache_write=self.cache_write, cache_write_1h=self.cache_write_1h,
                        reasoning=self.reasoning, web_searches=self.web_searches)
        if tokens.plausible():
            return tokens
        self.discarded = True
        return NO_TOKENS

    def feed_body(self, body: bytes) -> None:
        """A whole non-streamed answer."""
        try:
            self._take(self._decoder.decode(body))
        except msgspec.DecodeError:
            return
        self.completed = True

    def feed_stream(self, data: bytes) -> None:
        """The next bytes of a server-sent-event stream, cut anywhere. Raises ``UpstreamBadResponse``
        for an event that grows past ``MAX_EVENT_BYTES`` without its end."""
        events = self._cutter.feed(data)
        if self._cutter.waiting > MAX_EVENT_BYTES:
            raise UpstreamBadResponse(f"an event of more than {MAX_EVENT_BYTES >> 20} MiB")
        if not events:
            return
        if not self.completed and self._terminal in events:
            self.completed = True
        if self.counts_text:  # no final usage yet: count generated text in case none ever comes
            self._uncounted.append(events)
            self._uncounted_bytes += len(events)
            if self._uncounted_bytes > COUNT_AFTER_BYTES:
                self._count()
        markers = self._markers
        if any(marker in events for marker in markers):
            for event in events.replace(b"\r\n", b"\n").split(b"\n\n"):
                if any(marker in event for marker in markers):
                    self._event(event)
        if self.failure is None and b'"error"' in events and STREAM_ERROR.search(events):
            for event in events.replace(b"\r\n", b"\n").split(b"\n\n"):
                if STREAM_ERROR.search(event) and (found := self._failed(event)) is not None:
                    self.failure = found
                    break

    @property
    def text_chars(self) -> int:
        """Characters of generated text seen in the stream, for an estimate: the text fields of its
        events as written (``UsageReader.text``), until its final usage; or what the relay read
        (``streamed``), when that is more."""
        self._count()
        return self._chars

    def streamed(self, chars: int) -> None:
        """The relay has read ``chars`` characters of streamed text so far, in any dialect."""
        if chars > self._chars:  # (the events waiting are counted first only when this could matter)
            self._chars = max(self.text_chars, chars)

    def _count(self) -> None:
        """Count the text of the events waiting: in one search, which costs a fraction of one a
        chunk (a stream read one event a chunk paid ~1 us of calls per event)."""
        if self._uncounted:
            waiting = self._uncounted[0] if len(self._uncounted) == 1 else _APART.join(self._uncounted)
            self._uncounted, self._uncounted_bytes = [], 0
            self._chars += sum(map(len, self._text.findall(waiting)))

    def estimate(self, request_body: bytes, dialect: str) -> None:
        """Fill in estimates when the upstream reported no usage (llama.cpp streams, say), or usage
        no call can have: the request's size by the dialect's estimator, the generated text at ~4
        characters a token. A stream cut before its final usage keeps what was reported (the
        input, at its start) and counts its output from the text it streamed, when that is more
        (Anthropic's start says 1 output token; Gemini and Responses say none until the end), and
        its searches from the ones it showed finished (none reported: they are the end's)."""
        if not self.completed and self.web_searches:
            self.estimated = True
        if (self.input_tokens or self.output_tokens) and self.tokens() is not NO_TOKENS:
            if self.completed:  # the provider's counts stand: the text is never counted
                return
            streamed = -(-self.text_chars // CHARS_PER_TOKEN)
            if streamed > self.output_tokens:
                self.output_tokens, self.estimated = streamed, True
            return
        self.input_tokens = self.output_tokens = 0
        self.cache_read = self.cache_write = self.cache_write_1h = self.reasoning = 0
        self.estimated = True
        self.output_tokens = -(-self.text_chars // CHARS_PER_TOKEN)
        try:
            self.input_tokens = estimate_tokens(get(dialect).parse_request(request_body))
        except Exception:  # an estimate must never fail a call
            self.input_tokens = len(request_body) // CHARS_PER_TOKEN

    def _event(self, event: bytes) -> None:
        for line in event.split(b"\n"):
            if line.startswith(b"data:"):
                try:
                    self._take(self._decoder.decode(line[5:]))
                except msgspec.DecodeError:
                    pass

    def _failed(self, event: bytes) -> StreamFailure | None:
        data = b"\n".join(line[5:] for line in event.split(b"\n") if line.startswith(b"data:"))
        return stream_failure(self.dialect, data) if data else None

    def _take(self, body: object) -> None:
        self._reader.take(body, self)
