"""HTTP/1.1 on the wire for the gateway front: llhttp parses requests; limits; response bytes.

Pure: bytes in, values out; ``routerd.fronts.http`` owns the socket. llhttp (Node.js's parser, via
httptools) parses and frames requests in its strict mode: request line, headers, ``Content-Length``
and chunked bodies, trailers. This module adds routerd's rules and limits and maps every refusal
to ``HttpError`` with the status to answer:

    head or trailer section over MAX_HEAD_BYTES   431     more than MAX_HEADERS header lines  431
    body (or a chunk) over http.max_body_bytes    413     malformed framing, bad bytes         400
    a chunk line over MAX_HEAD_BYTES              431     HTTP/1.1 without exactly one Host    400
    transfer-coding other than chunked            501     versions other than 1.0 and 1.1      505
    CONNECT, or an Upgrade that carries a body    400     a method llhttp does not know        400
    an Expect other than 100-continue             417

Where this differs from h11 (the reference the differential fuzz test,
``tests/gateway/test_fuzz_front.py``, holds it to), it is stricter as RFC 9110/9112 allow: bare LF
line ends, obsolete line folding, control characters in field values or chunk extensions,
whitespace after a chunk size and a repeated ``Content-Length`` are refused (400); it accepts runs of
spaces between the parts of the request line, which h11 does not. A bodiless Upgrade request (curl
--http2 sends one) is answered without the upgrade, and the connection closed.

llhttp keeps its state between reads, so a line that never ends costs linear time; it is cut at
MAX_HEAD_BYTES, exactly for a chunk line (its CRLF counted): llhttp reports no byte offsets, but a
line begins after an LF and ends at one, so the bytes after a piece's last LF and those up to the
next piece's first LF are the open line's. h11 parsed here first: at 236,000 instructions per request against llhttp's 20,000
(callgrind) it cost a fifth of the gateway's throughput.

Responses are written here: what goes out is small and ours, and every header value is checked for
control characters before it is written, so nothing a client or a provider sent can split one.
"""

import re
from collections import deque
from dataclasses import dataclass

import httptools
MAX_HEAD_BYTES = 64 * 1024
MAX_HEADERS = 100
# Received bytes go to llhttp in pieces of at most this, so that a line that never ends is cut
# after at most one piece past the limit, whatever the read size (the limit itself is exact).
FEED_PIECE = 8 * 1024
_REASONS = {
    100: b"Continue", 200: b"OK", 400: b"Bad Request", 401: b"Unauthorized", 402: b"Payment Required",
    403: b"Forbidden", 404: b"Not Found", 405: b"Method Not Allowed", 408: b"Request Timeout",
    413: b"Content Too Large", 415: b"Unsupported Media Type", 417: b"Expectation Failed",
    422: b"Unprocessable Content", 429: b"Too Many Requests", 431: b"Request Header Fields Too Large", 500: b"Internal Server Error",
    501: b"Not Implemented", 502: b"Bad Gateway", 503: b"Service Unavailable", 504: b"Gateway Timeout",
    505: b"HTTP Version Not Supported", 529: b"Overloaded",
}


class HttpError(Exception):
    """The request cannot be served; answer ``status`` and close the connection."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(slots=True)
class RequestHead:
    method: bytes
    path: bytes
    query: bytes
    headers: dict[bytes, bytes]  # names lower-cased; repeated headers joined with ", "
    content_length: int | None   # None: chunked
    http_version: bytes
    keep_alive: bool = True      # another request may follow this one
    expect_continue: bool = False
    complete: bool = False       # llhttp has read the whole message (its body may not be taken yet)


class ServerWire:
    """One connection's HTTP/1.1 parsing with routerd's rules and limits.

    ``feed`` gives it received bytes (b"" at end of stream); ``next_event`` returns a
    ``RequestHead``, body bytes, ``END`` (the request is complete), ``NEED_DATA`` or ``CLOSED``,
    and raises ``HttpError`` where the request is refused. llhttp's callbacks queue the events, so a
    read holding several pipelined requests is handed out one event at a time."""

    __slots__ = ("parser", "body_limit", "body_read", "responded", "request_done", "_closing",
                 "_events", "_head", "_parsing", "_url", "_fields", "_in_head", "_unparsed", "_progress",
                 "_in_message", "_stopped")

    def __init__(self, body_limit: int) -> None:
        self.parser = httptools.HttpRequestParser(self)
        self.body_limit = body_limit
        self.body_read = 0         # of the message llhttp is reading
        self.responded = False     # an answer to the current request has begun
        self.request_done = False  # the current request's body has been taken to its end
        self._closing = False      # no request after the current one
        self._events: deque = deque()
        self._head: RequestHead | None = None      # the request being answered
        self._parsing: RequestHead | None = None   # the request llhttp is reading (may be later)
        self._url = b""
        self._fields: list[tuple[bytes, bytes]] = []
        self._in_head = self._in_message = self._stopped = False
        self._unparsed = 0         # bytes fed since llhttp last finished a head, body bytes or a chunk
        self._progress = False

    # --- feeding and events ----------------------------------------------------------------------

    def feed(self, data: bytes) -> None:
        if self._stopped:
            return
        if not data:
            self._stopped = True
            self._events.append(HttpError(400, "connection closed inside the request")
                                if self._in_message else CLOSED)
            return
        for start in range(0, len(data), FEED_PIECE):
            piece = data if len(data) <= FEED_PIECE else data[start:start + FEED_PIECE]
            in_head = self._in_head or not self._in_message  # what an unfinished line belongs to
            queued = len(self._events)
            self._progress = False
            try:
                self.parser.feed_data(piece)
            except httptools.HttpParserUpgrade:
                self._upgraded()
                return
            except httptools.HttpParserCallbackError as exc:  # a limit a callback enforced
                self._stop(exc.__context__ if isinstance(exc.__context__, HttpError)
                           else HttpError(400, f"malformed request: {exc}"))
                return
            except httptools.HttpParserError as exc:
                self._stop(_refusal(exc))
                return
            if self._progress:
                # What was unfinished when this piece began (a chunk line, or a head or trailer
                # section) went on at least to its first LF: llhttp names no offsets, but lines end
                # at one, and nothing else is left unfinished without an on_body.
                over = self._unparsed > 0 and self._unparsed + piece.find(b"\n") + 1 > MAX_HEAD_BYTES
                # A line still open began after the piece's last LF (a line begins after one; body
                # bytes counted here are forgotten at the next on_body), so it is counted exactly.
                self._unparsed = len(piece) - 1 - piece.rfind(b"\n")
            else:
                self._unparsed += len(piece)
                over = self._unparsed > MAX_HEAD_BYTES
            if over:
                while len(self._events) > queued:  # what llhttp read past the line: never served
                    self._events.pop()
                where = "request head" if in_head else "chunk line or trailer section"
                self._stop(HttpError(431, f"{where} is over {MAX_HEAD_BYTES} bytes"))
                return

    def _upgraded(self) -> None:
        """CONNECT, or an Upgrade: nothing after it is HTTP/1.1, and llhttp reads no body for it.
        A bodiless one (curl --http2 asks so) is answered without the upgrade, then closed."""
        self._stopped = True
        head = self._parsing
        if head is not None:
            head.keep_alive = False
        if head is not None and head.method != b"CONNECT" and head.complete and head.content_length == 0:
            return
        events = self._events  # the refused request's own events go; those before it stay
        while head is not None and events and any(event is head for event in events):
            events.pop()
        events.append(HttpError(400, "CONNECT is not served" if head is not None and head.method == b"CONNECT"
                                else "protocol upgrades are not served"))

    def _stop(self, error: HttpError) -> None:
        self._stopped = True
        self._events.append(error)

    def next_event(self) -> "RequestHead | bytes | object":
        if not self._events:
            return NEED_DATA
        event = self._events.popleft()
        if type(event) is HttpError:
            self._events.appendleft(event)  # the connection stays refused
            raise event
        if type(event) is RequestHead:
            self._head, self.responded, self.request_done = event, False, False
        elif event is END:
            self.request_done = True
        return event

    @property
    def waiting_for_continue(self) -> bool:
        """The client asked to be told to send its body, and none of it has come."""
        head = self._head
        return head is not None and head.expect_continue and not head.complete and not self._events

    # --- llhttp's callbacks --------------------------------------------------------------------------

    def on_message_begin(self) -> None:
        self._url, self._fields = b"", []
        self._in_head = self._in_message = True
        self.body_read = 0

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self._fields.append((name.lower(), value))
        if len(self._fields) > MAX_HEADERS:
            raise HttpError(431, f"more than {MAX_HEADERS} {'header' if self._in_head else 'trailer'} fields")

    def on_headers_complete(self) -> None:
        parser = self.parser
        version = parser.get_http_version().encode()
        if version not in (b"1.1", b"1.0"):  # 0.9 is a request line without a version
            raise HttpError(400 if version == b"0.9" else 505, "only HTTP/1.1 is served")
        headers: dict[bytes, bytes] = {}
        hosts = 0
        for name, value in self._fields:
            if name in headers:
                headers[name] += b", " + value
            else:
                headers[name] = value
            hosts += name == b"host"
        if hosts > 1 or (version == b"1.1" and not hosts):
            raise HttpError(400, "an HTTP/1.1 request needs exactly one Host header")
        _check_fields(self._fields, len(self._url), "header")  # it may have come in one read
        length: int | None = 0
        if (coding := headers.get(b"transfer-encoding")) is not None:
            if coding.lower() != b"chunked":  # llhttp let "gzip, chunked" by; the body is JSON
                raise HttpError(501, "unsupported transfer-coding (only chunked is served)")
            length = None  # llhttp refused a Content-Length beside it
        elif (declared := headers.get(b"content-length")) is not None:
            length = int(declared)  # llhttp checked it is one decimal number
        expect_continue = False
        if (expect := headers.get(b"expect")) is not None:
            expect_continue = _expects_continue(expect)
        path, _, query = self._url.partition(b"?")
        head = self._parsing = RequestHead(
            parser.get_method(), path, query, headers, length, version, parser.should_keep_alive(),
            expect_continue)
        self._in_head, self._progress, self._fields = False, True, []
        self._events.append(head)

    def on_body(self, body: bytes) -> None:
        self.body_read += len(body)
        self._progress = True
        if self.body_read > self.body_limit:
            raise HttpError(413, f"request body is over the limit of {self.body_limit} bytes")
        self._events.append(body)

    def on_chunk_header(self) -> None:  # a chunk line's LF: the line is done
        self._progress = True

    def on_chunk_complete(self) -> None:
        self._progress = True

    def on_message_complete(self) -> None:
        if self._fields:  # trailers
            _check_fields(self._fields, 0, "trailer")
        self._in_message, self._progress = False, True
        if self._parsing is not None:
            self._parsing.complete = True
        self._events.append(END)

    # --- answering ------------------------------------------------------------------------------------

    def check_declared(self, head: RequestHead) -> None:
        """Refuse a body declared larger than the limit before reading any of it."""
        if head.content_length is not None and head.content_length > self.body_limit:
            raise HttpError(413, f"request body is {head.content_length} bytes, over the limit of "
                                 f"{self.body_limit} bytes")

    def next_cycle(self) -> None:
        """Ready for the next request (llhttp resets itself after each message): what is left of
        this one (a body its endpoint did not read) is dropped."""
        events = self._events
        while events and type(events[0]) is not RequestHead and events[0] is not CLOSED \
                and type(events[0]) is not HttpError:
            events.popleft()
        self._head, self.responded = None, False

    def response(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes | None, *,
                 close: bool = False) -> bytes:
        """Status line and headers, then ``body`` (None: a streamed body follows, as ``data``
        pieces and an ``end``). ``close`` ends the connection after this answer."""
        self.responded = True
        head = self._head
        close = close or self._closing or head is None or not head.keep_alive
        out = [b"HTTP/1.1 %d %s\r\n" % (status, _REASONS.get(status, b"Status"))]
        for name, value in headers:
            if not _TOKEN.fullmatch(name) or _CONTROL.search(value):
                raise ValueError(f"refusing to write header {name[:40]!r}: not a valid field")
            out.append(b"%s: %s\r\n" % (name, value))
        if body is not None:
            out.append(b"content-length: %d\r\n" % len(body))
        elif head is not None and head.http_version == b"1.1":
            out.append(b"transfer-encoding: chunked\r\n")
        else:  # an HTTP/1.0 client reads a streamed body to the end of the connection
            close = True
        if close:
            self._closing = True
            out.append(b"connection: close\r\n")
        out.append(b"\r\n")
        if body and not (head is not None and head.method == b"HEAD"):
            out.append(body)
        return b"".join(out)

    def data(self, data: bytes) -> bytes:
        """One piece of a streamed body."""
        if self._head is not None and self._head.http_version == b"1.1":
            return b"%x\r\n%s\r\n" % (len(data), data)
        return data

    def end(self) -> bytes:
        """The end of a streamed body."""
        return b"0\r\n\r\n" if self._head is not None and self._head.http_version == b"1.1" else b""

    @property
    def reusable(self) -> bool:
        """Another request may follow on this connection: this one was read to its end (taken, or
        dropped by ``next_cycle``) and neither side said to close."""
        head = self._head
        return head is not None and head.complete and head.keep_alive and not self._closing

    @property
    def message_complete(self) -> bool:
        """llhttp has read the whole current request (so an answer need not close the connection)."""
        return self._head is not None and self._head.complete


CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_TOKEN = re.compile(rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_CONTROL = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
END = object()
CLOSED = object()
NEED_DATA = object()


def _check_fields(raw: list[tuple[bytes, bytes]], size: int, what: str) -> None:
    """The same limits whether the section came in one read or in many."""
    if len(raw) > MAX_HEADERS:
        raise HttpError(431, f"more than {MAX_HEADERS} {what} fields")
    for name, value in raw:
        size += len(name) + len(value) + 4
    if size > MAX_HEAD_BYTES:
        raise HttpError(431, f"{what} section is over {MAX_HEAD_BYTES} bytes")


def _expects_continue(value: bytes) -> bool:
    """Whether an Expect field asks for 100 Continue; HttpError 417 when it expects anything else
    (RFC 9110 10.1.1 allows the refusal, and a server cannot meet an expectation it does not know)."""
    members = [m.strip(b" \t").lower() for m in value.split(b",")]
    if any(m not in (b"", b"100-continue") for m in members):
        raise HttpError(417, "the only expectation served is 100-continue")
    return b"100-continue" in members


def _refusal(exc: httptools.HttpParserError) -> HttpError:
    """llhttp's complaint as the answer to give."""
    message = str(exc) or type(exc).__name__
    if "Transfer-Encoding" in message and "Content-Length" not in message:
        return HttpError(501, "unsupported transfer-coding (only chunked is served)")
    if isinstance(exc, httptools.HttpParserInvalidMethodError):
        return HttpError(400, "unknown method")
    if "version" in message.lower():
        return HttpError(505, "only HTTP/1.1 is served")
    return HttpError(400, f"malformed request: {message}")
