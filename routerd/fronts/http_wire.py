"""HTTP/1.1 on the wire for the gateway front: a small, strict request parser and response encoders.

Pure: bytes in, values out. It handles what API clients send — a request line, headers, a body
framed by ``Content-Length`` or chunked — and refuses the rest with ``HttpError`` carrying the status
to answer with (400, 413, 431, 501, 505). A message with both ``Content-Length`` and
``Transfer-Encoding`` is refused, as RFC 9112 advises, so that no proxy in front can be desynchronised.
It stands in for h11 on the hot path because the gateway's whole budget is well under a millisecond
per request (the issue's h11 prototype added 1.3 ms); this parser does one split per head.
"""

from dataclasses import dataclass

MAX_HEAD_BYTES = 64 * 1024
_REASONS = {
    100: b"Continue", 200: b"OK", 400: b"Bad Request", 401: b"Unauthorized", 402: b"Payment Required",
    403: b"Forbidden", 404: b"Not Found", 405: b"Method Not Allowed", 408: b"Request Timeout",
    413: b"Content Too Large", 422: b"Unprocessable Content", 429: b"Too Many Requests",
    431: b"Request Header Fields Too Large", 500: b"Internal Server Error", 501: b"Not Implemented",
    502: b"Bad Gateway", 503: b"Service Unavailable", 504: b"Gateway Timeout",
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
    keep_alive: bool
    content_length: int
    chunked: bool
    expect_continue: bool


def parse_head(data: bytes) -> RequestHead:
    """Parse a request head (up to, not including, the blank line)."""
    lines = data.split(b"\r\n")
    try:
        method, target, version = lines[0].split(b" ")
    except ValueError:
        raise HttpError(400, "malformed request line") from None
    if version not in (b"HTTP/1.1", b"HTTP/1.0"):
        raise HttpError(505, "only HTTP/1.1 is served")
    headers: dict[bytes, bytes] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        if not sep or not name or name[-1:] in b" \t":
            raise HttpError(400, "malformed header line")
        name = name.lower()
        value = value.strip(b" \t")
        headers[name] = headers[name] + b", " + value if name in headers else value
    path, _, query = target.partition(b"?")
    connection = headers.get(b"connection", b"").lower()
    keep_alive = b"close" not in connection if version == b"HTTP/1.1" else b"keep-alive" in connection
    te = headers.get(b"transfer-encoding")
    cl = headers.get(b"content-length")
    if te is not None:
        if cl is not None:
            raise HttpError(400, "both Content-Length and Transfer-Encoding")
        if te.lower() != b"chunked":
            raise HttpError(501, "unsupported transfer-encoding")
    length = 0
    if cl is not None:
        if not cl.isdigit():
            raise HttpError(400, "invalid Content-Length")
        length = int(cl)
    expect = headers.get(b"expect", b"").lower() == b"100-continue"
    return RequestHead(method, path, query, headers, keep_alive, length, te is not None, expect)


class ChunkedDecoder:
    """Incremental decoder of a chunked request body. ``feed`` returns whether the body is complete;
    ``body`` holds the bytes so far and ``rest`` what followed the body (a pipelined request)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.body = bytearray()
        self.rest = b""
        self._buf = b""

    def feed(self, data: bytes) -> bool:
        buf = self._buf + data
        while True:
            end = buf.find(b"\r\n")
            if end < 0:
                self._buf = buf
                return False
            try:
                size = int(buf[:end].split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise HttpError(400, "malformed chunk size") from None
            if size == 0:
                trailer_end = buf.find(b"\r\n\r\n", end)
                if buf[end:end + 4] == b"\r\n\r\n" or trailer_end >= 0:
                    stop = end + 4 if buf[end:end + 4] == b"\r\n\r\n" else trailer_end + 4
                    self.rest, self._buf = buf[stop:], b""
                    return True
                self._buf = buf
                return False
            if len(self.body) + size > self.limit:
                raise HttpError(413, f"request body is over the limit of {self.limit} bytes")
            if len(buf) < end + 2 + size + 2:
                self._buf = buf
                return False
            self.body += buf[end + 2:end + 2 + size]
            buf = buf[end + 2 + size + 2:]


def response_head(status: int, headers: list[tuple[bytes, bytes]], *, length: int | None,
                  keep_alive: bool) -> bytes:
    """Status line and headers; ``length`` None means a chunked body."""
    out = [b"HTTP/1.1 %d %s\r\n" % (status, _REASONS.get(status, b"Status"))]
    for name, value in headers:
        out.append(b"%s: %s\r\n" % (name, value))
    if length is None:
        out.append(b"transfer-encoding: chunked\r\n")
    else:
        out.append(b"content-length: %d\r\n" % length)
    if not keep_alive:
        out.append(b"connection: close\r\n")
    out.append(b"\r\n")
    return b"".join(out)


def chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


LAST_CHUNK = b"0\r\n\r\n"
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
