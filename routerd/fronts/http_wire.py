"""HTTP/1.1 on the wire for the gateway front: h11 parses requests; limits; response bytes.

Pure: bytes in, values out; ``routerd.fronts.http`` owns the socket. h11 parses and frames requests
(request line, headers, ``Content-Length`` and chunked bodies, trailers, ``Expect``); this module
adds routerd's limits and maps every refusal to ``HttpError`` with the status to answer:

    head or trailer section over MAX_HEAD_BYTES   431     more than MAX_HEADERS header lines  431
    body (or a chunk) over http.max_body_bytes    413     malformed framing, bad bytes         400
    transfer-coding other than chunked            501     HTTP/2 preface, other versions       505

h11 refuses what RFC 9112 says to refuse: control characters (CR, LF, NUL) in values, conflicting
lengths, signed or hex-prefixed chunk sizes; a message with both ``Content-Length`` and
``Transfer-Encoding`` is refused here too, so that no proxy in front can be desynchronised. h11
scans each buffered line once, so a peer that never ends a line costs linear time up to the limit.

Responses are written here rather than through h11: its event objects validated every header again
and made the front cost 45 us more per request (measured), and what goes out is small and ours.
Every header value is still checked for control characters before it is written, so nothing a
client or a provider sent can split a response. Each request gets a fresh h11 parser, handed the
bytes that followed the previous one (pipelining).
"""

import re
from dataclasses import dataclass

import h11

MAX_HEAD_BYTES = 64 * 1024
MAX_HEADERS = 100
_REASONS = {
    100: b"Continue", 200: b"OK", 400: b"Bad Request", 401: b"Unauthorized", 402: b"Payment Required",
    403: b"Forbidden", 404: b"Not Found", 405: b"Method Not Allowed", 408: b"Request Timeout",
    413: b"Content Too Large", 415: b"Unsupported Media Type", 422: b"Unprocessable Content",
    429: b"Too Many Requests", 431: b"Request Header Fields Too Large", 500: b"Internal Server Error",
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


class ServerWire:
    """One connection's HTTP/1.1 parsing (an ``h11.Connection`` per request) with routerd's limits.

    ``next_event`` returns a ``RequestHead``, body bytes, ``END`` (the request is complete),
    ``NEED_DATA`` or ``CLOSED``; ``feed`` gives it received bytes (b"" at end of stream)."""

    __slots__ = ("h11", "body_limit", "body_read", "keep_alive", "responded", "_head", "_eof")

    def __init__(self, body_limit: int) -> None:
        self.h11 = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD_BYTES)
        self.body_limit = body_limit
        self.body_read = 0
        self.keep_alive = False   # the current request allows another after it
        self.responded = False    # an answer to the current request has begun
        self._head: RequestHead | None = None
        self._eof = False

    def feed(self, data: bytes) -> None:
        if not self._eof:
            self._eof = not data
            self.h11.receive_data(data)

    def next_event(self) -> "RequestHead | bytes | object":
        try:
            event = self.h11.next_event()
        except h11.RemoteProtocolError as exc:
            raise _refusal(exc, self.h11.their_state) from None
        kind = type(event)
        if kind is h11.Data:
            self.body_read += len(event.data)
            if self.body_read > self.body_limit:
                raise HttpError(413, f"request body is over the limit of {self.body_limit} bytes")
            return bytes(event.data)
        if kind is h11.Request:
            self._head = self._parse_head(event)
            return self._head
        if kind is h11.EndOfMessage:
            if event.headers:
                _check_fields(event.headers.raw_items(), 0, "trailer")
            return END
        if kind is h11.ConnectionClosed or event is h11.PAUSED:
            return CLOSED
        return event  # NEED_DATA

    def _parse_head(self, request: h11.Request) -> RequestHead:
        _check_fields(request.headers.raw_items(), len(request.target), "header")
        headers: dict[bytes, bytes] = {}
        for name, value in request.headers:  # h11 lower-cases the names
            headers[name] = headers[name] + b", " + value if name in headers else value
        length: int | None = 0
        if b"transfer-encoding" in headers:
            if b"content-length" in headers:  # RFC 9112 6.3: a proxy in front may read it the other way
                raise HttpError(400, "both Content-Length and Transfer-Encoding")
            length = None
        elif (declared := headers.get(b"content-length")) is not None:
            length = int(declared)  # h11 checked it is one plain decimal number
        if request.http_version not in (b"1.1", b"1.0"):
            raise HttpError(505, "only HTTP/1.1 is served")
        path, _, query = request.target.partition(b"?")
        self.body_read = 0
        self.responded = False
        # As h11 decides: HTTP/1.0 closes after one request, "Connection: close" too.
        self.keep_alive = request.http_version == b"1.1" and \
            b"close" not in headers.get(b"connection", b"").lower()
        return RequestHead(request.method, path, query, headers, length, request.http_version)

    def check_declared(self, head: RequestHead) -> None:
        """Refuse a body declared larger than the limit before reading any of it."""
        if head.content_length is not None and head.content_length > self.body_limit:
            raise HttpError(413, f"request body is {head.content_length} bytes, over the limit of "
                                 f"{self.body_limit} bytes")

    @property
    def waiting_for_continue(self) -> bool:
        return self.h11.they_are_waiting_for_100_continue

    @property
    def request_done(self) -> bool:
        """The whole request (body included) has been read."""
        return self.h11.their_state is h11.DONE

    def next_cycle(self) -> None:
        """A fresh parser for the next request, given what followed this one."""
        data, closed = self.h11.trailing_data
        self._head, self.responded = None, False
        self.h11 = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD_BYTES)
        if data:
            self.h11.receive_data(data)
        if closed:
            self.h11.receive_data(b"")

    def response(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes | None, *,
                 close: bool = False) -> bytes:
        """Status line and headers, then ``body`` (None: a streamed body follows, as ``data``
        pieces and an ``end``). ``close`` ends the connection after this answer."""
        self.responded = True
        close = close or not self.keep_alive
        head = self._head
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
            self.keep_alive = False
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
        """Another request may follow on this connection."""
        return self.keep_alive and self.request_done


CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_TOKEN = re.compile(rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_CONTROL = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
END = object()
CLOSED = object()
NEED_DATA = h11.NEED_DATA


def _check_fields(raw: list[tuple[bytes, bytes]], size: int, what: str) -> None:
    """The same limits whether the section came in one read (h11 then never saw it incomplete)."""
    if len(raw) > MAX_HEADERS:
        raise HttpError(431, f"more than {MAX_HEADERS} {what} fields")
    for name, value in raw:
        size += len(name) + len(value) + 4
    if size > MAX_HEAD_BYTES:
        raise HttpError(431, f"{what} section is over {MAX_HEAD_BYTES} bytes")


def _refusal(exc: h11.RemoteProtocolError, their_state) -> HttpError:
    """h11's complaint as the answer to give. A buffer that grew past the limit is an oversized head
    (or trailer section, or chunk line); anything else it refuses is malformed."""
    message = str(exc)
    if "Receive buffer too long" in message:
        where = "request head" if their_state is h11.IDLE else "chunk line or trailer section"
        return HttpError(431, f"{where} is over {MAX_HEAD_BYTES} bytes")
    status = exc.error_status_hint
    return HttpError(status if 400 <= status < 500 or status == 501 else 400, f"malformed request: {message}")
