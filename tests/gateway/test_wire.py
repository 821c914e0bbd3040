"""The front's HTTP/1.1 parsing (llhttp with routerd's rules and limits): each refusal with its
status, bodies however their bytes are split, pipelined requests one at a time."""

import pytest

from routerd.fronts.http_wire import (CLOSED, END, FEED_PIECE, MAX_HEAD_BYTES, NEED_DATA, HttpError,
                                     RequestHead, ServerWire)


def parse(data: bytes, *, step: int | None = None, limit: int = 1000, eof: bool = True) -> list:
    """Every event the wire gives for ``data`` fed ``step`` bytes at a time (then end of stream)."""
    wire, events = ServerWire(limit), []
    step = step or len(data) or 1
    pieces = [data[i:i + step] for i in range(0, len(data), step)] + ([b""] if eof else [])
    for piece in pieces:
        wire.feed(piece)
        while (event := wire.next_event()) is not NEED_DATA:
            events.append(event)
            if isinstance(event, RequestHead):
                wire.check_declared(event)  # as the front does before reading a body
            if event is END:
                return events
            if event is CLOSED:
                return events
    return events


def status_of(data: bytes, **kwargs) -> int:
    with pytest.raises(HttpError) as info:
        parse(data, **kwargs)
    return info.value.status


def test_head_is_parsed_with_joined_headers():
    """Names are lower-cased, repeated headers joined, the query split off the path."""
    head, *_ = parse(b"POST /v1/messages?beta=true HTTP/1.1\r\nHost: x\r\nX-A: 1\r\nx-a: 2\r\n"
                     b"Content-Length: 5\r\n\r\nhello")
    assert isinstance(head, RequestHead)
    assert (head.path, head.query, head.headers[b"x-a"], head.content_length) == \
        (b"/v1/messages", b"beta=true", b"1, 2", 5)


@pytest.mark.parametrize("step", [1, 2, 5, None])
def test_chunked_body_however_split(step):
    """Chunk extensions and trailers are handled whatever the read boundaries."""
    data = (b"POST / HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n"
            b"3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\ntrailer: t\r\n\r\n")
    events = parse(data, step=step)
    assert events[0].content_length is None
    assert b"".join(e for e in events if isinstance(e, bytes)) == b"abcde" and events[-1] is END


@pytest.mark.parametrize("request_bytes, status", [
    (b"GET / HTTP/2.0\r\nhost: x\r\n\r\n", 505),
    (b"GET /\r\nx: y\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nhost: x\r\nbad\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\n\r\n", 400),                                              # no Host
    (b"POST / HTTP/1.1\r\nhost: x\r\ncontent-length: -1\r\n\r\n", 400),
    (b"POST / HTTP/1.1\r\nhost: x\r\ntransfer-encoding: gzip\r\n\r\n", 501),
    (b"POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 3\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nhost: x\r\nx-a: a\x00b\r\n\r\n", 400),                    # NUL in a value
    (b"GET / HTTP/1.1\r\nhost: x\r\nx-a: a\rb\r\n\r\n", 400),                      # bare CR
])
def test_malformed_heads_are_refused(request_bytes, status):
    """What RFC 9112 says to refuse is refused, with the status to answer."""
    assert status_of(request_bytes) == status


@pytest.mark.parametrize(("expect", "status"), [
    (b"200-ok", 417), (b"100-continue, x", 417), (b"foo=bar", 417), (b"100-Continue", None), (b"", None),
])
def test_an_expectation_other_than_100_continue_is_refused(expect, status):
    """RFC 9110 10.1.1: an expectation the server cannot meet is answered 417."""
    data = b"POST / HTTP/1.1\r\nhost: x\r\nexpect: %s\r\ncontent-length: 2\r\n\r\n{}" % expect
    if status is None:
        assert parse(data)[0].expect_continue == bool(expect)
    else:
        assert status_of(data) == status


@pytest.mark.parametrize("size", [b"-40", b"0x2", b"1_0", b"+5", b" 5", b"1" * 30])
def test_chunk_sizes_that_are_not_hex_digits_are_refused(size):
    """A negative, prefixed, separated or overflowing chunk size is malformed (-40 once spun the CPU)."""
    data = b"POST / HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n" + size + b"\r\nab\r\n0\r\n\r\n"
    assert status_of(data) == 400


def test_limits_each_with_its_status():
    """Oversized head, too many headers, body and chunk over the limit, trailers: each its 4xx."""
    post = b"POST / HTTP/1.1\r\nhost: x\r\n"
    assert status_of(b"GET / HTTP/1.1\r\nhost: x\r\nx-big: " + b"a" * MAX_HEAD_BYTES + b"\r\n\r\n") == 431
    assert status_of(b"GET / HTTP/1.1\r\nhost: x\r\n" + b"x-n: 1\r\n" * 101 + b"\r\n") == 431
    assert status_of(post + b"content-length: 1001\r\n\r\n", eof=False) == 413
    assert status_of(post + b"transfer-encoding: chunked\r\n\r\n3e9\r\n" + b"a" * 1001) == 413
    assert status_of(post + b"transfer-encoding: chunked\r\n\r\n1" + b"0" * 30) == 400  # overflow
    endless = b"a" * (MAX_HEAD_BYTES + FEED_PIECE)  # the limit holds to within one piece fed
    assert status_of(post + b"transfer-encoding: chunked\r\n\r\n1;x=" + endless) == 431
    assert status_of(post + b"transfer-encoding: chunked\r\n\r\n0\r\n" + b"t: 1\r\n" * 101 + b"\r\n") == 431
    assert status_of(post + b"transfer-encoding: chunked\r\n\r\n0\r\nt: " + endless) == 431


@pytest.mark.parametrize("step", [None, 1000, FEED_PIECE - 1, FEED_PIECE, FEED_PIECE + 1, 3 * FEED_PIECE + 7])
@pytest.mark.parametrize("before", [0, 1, 5000, FEED_PIECE - 3])
def test_the_chunk_line_limit_is_exact(step, before):
    """A chunk line of MAX_HEAD_BYTES bytes (its CRLF included) is read; one byte more is 431,
    wherever the reads and the line begin (``before``: chunk bytes ahead of it)."""
    head = b"POST / HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n"
    lead = b"%x\r\n%s\r\n" % (before, b"b" * before) if before else b""

    def request(line_bytes: int) -> bytes:
        line = b"2;x=" + b"e" * (line_bytes - 6) + b"\r\n"
        assert len(line) == line_bytes
        return head + lead + line + b"ab\r\n0\r\n\r\n"

    events = parse(request(MAX_HEAD_BYTES), step=step, limit=10 ** 6)
    assert b"".join(e for e in events if isinstance(e, bytes)).endswith(b"ab") and events[-1] is END
    assert status_of(request(MAX_HEAD_BYTES + 1), step=step, limit=10 ** 6) == 431


def test_endless_chunk_line_costs_linear_time():
    """A chunk-size line that never ends is scanned once per byte, not once per read, and refused at
    the limit (it once cost a minute of CPU from one connection)."""
    wire = ServerWire(10 ** 9)
    wire.feed(b"POST / HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n1;ext=")
    assert isinstance(wire.next_event(), RequestHead)
    with pytest.raises(HttpError) as info:
        for _ in range(MAX_HEAD_BYTES + 2):  # one byte per read: the worst case for rescanning
            wire.feed(b"a")
            assert wire.next_event() is NEED_DATA
    assert info.value.status == 431
