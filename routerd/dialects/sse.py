"""Server-sent events, incrementally: bytes in, ``(event, data)`` out, and back.

``SSEDecoder.feed`` accepts chunks cut anywhere (inside a line, between ``\\r`` and ``\\n``, inside a
UTF-8 sequence) and returns the events completed so far. It follows the WHATWG rules: lines end in
``\\r\\n``, ``\\n`` or ``\\r``; ``data`` lines of one event are joined with ``\\n``; lines starting with
``:`` are comments; one leading space after the colon is dropped; an event with no data is not
dispatched; ``event`` defaults to None (the spec's "message"). ``id`` and ``retry`` are ignored.

``EventCutter`` cuts the same bytes into whole events as they came (line ends kept), for the parts
that pass events on verbatim (the usage meter, the secret holdback).

Both take time linear in the bytes fed, however an upstream cuts them: an event that arrives in
many small chunks is not copied or searched again with each one (a 16 MiB event in 1 KiB chunks
used to cost seconds), since only the new bytes, and the few before them that could start an
event's end, are searched. How long an event may grow is bounded where upstream bytes are first
read (``routerd.gateway.usage.MAX_EVENT_BYTES``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["EventCutter", "SSEDecoder", "encode_event", "encode_events"]

# An event's end: two line ends, each CRLF, LF or CR (a CR followed by LF is one CRLF).
EVENT_END = re.compile(rb"(?:\r\n|\n|\r(?!\n))(?:\r\n|\n|\r(?!\n))")
# The most bytes of an event's end that can come before the chunk that completes it.
_END_REACH = 3


class SSEDecoder:
    """Incremental SSE parser. Not thread-safe; one per stream."""

    __slots__ = ("_buf", "_pending_cr", "events", "bytes_in")

    def __init__(self) -> None:
        self._buf = bytearray()  # what came after the last whole event, its line ends made "\n"
        self._pending_cr = False
        self.events = 0
        self.bytes_in = 0

    def feed(self, chunk: bytes) -> list[tuple[str | None, str]]:
        """Add ``chunk``; return the events it completed, in order."""
        if not chunk:  # nothing: a CR waiting for its LF keeps waiting
            return []
        self.bytes_in += len(chunk)
        if self._pending_cr:
            # A lone '\r' at the end of the last chunk: if this one starts with '\n' it was '\r\n'.
            self._pending_cr = False
            if chunk[:1] == b"\n":
                chunk = chunk[1:]
        if chunk[-1:] == b"\r":
            self._pending_cr = True
        if b"\r" in chunk:
            chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        waiting = self._buf
        if waiting:  # an event's end ("\n\n") may begin with the last byte that waits
            scan = len(waiting) - 1
            waiting += chunk  # no copy of what waits, until an event completes
            if waiting.find(b"\n\n", scan) < 0:
                return []
            buf = bytes(waiting)
            waiting.clear()
        else:
            buf, scan = chunk, 0
        out: list[tuple[str | None, str]] = []
        start = 0
        while (end := buf.find(b"\n\n", scan)) >= 0:
            event = _parse_block(buf[start:end])
            if event is not None:
                out.append(event)
            start = scan = end + 2
        waiting += buf[start:]
        self.events += len(out)
        return out

    def close(self) -> list[tuple[str | None, str]]:
        """End of stream. A last event whose lines are complete but which lacks the blank line is
        dispatched (some servers end ``data: [DONE]\n``); a half-received line is dropped, as the
        spec drops an incomplete event, since it is a cut, not an answer."""
        rest, self._buf = bytes(self._buf), bytearray()
        if self._pending_cr:
            rest += b"\n"
            self._pending_cr = False
        if not rest.endswith(b"\n") or not rest.strip(b"\n"):
            return []
        event = _parse_block(rest.rstrip(b"\n"))
        return [event] if event is not None else []


class EventCutter:
    """Bytes cut anywhere in, whole events out as the very bytes they came in (line ends kept):
    ``feed`` returns the events its bytes completed (b"" when none), ``rest`` what is left after
    the last one. A CR that ends what came so far waits for the next byte, which may make it a
    CRLF."""

    __slots__ = ("_parts", "_last", "waiting")

    def __init__(self) -> None:
        self._parts: list[bytes] = []  # what came after the last whole event: no event's end in it
        self._last = b""  # their last few bytes, where the end of an event may begin
        self.waiting = 0  # their size

    def feed(self, data: bytes) -> bytes:
        before = self._last
        if b"\n" not in data and b"\r" not in data and not before.endswith(b"\r"):
            return self._wait(data)  # ends no event: set aside, not copied onto what waits
        window = before + data
        end = self._last_end(window)
        if end < 0:
            return self._wait(data)
        whole = b"".join((*self._parts, data)) if self._parts else data
        cut = self.waiting - len(before) + end
        events, tail = whole[:cut], whole[cut:]
        self._parts, self._last, self.waiting = [tail] if tail else [], tail[-_END_REACH:], len(tail)
        return events

    @staticmethod
    def _last_end(window: bytes) -> int:
        """Where the last event that ``window`` completes ends, or -1."""
        if b"\r" not in window:  # the usual stream: a pair of LFs after a byte that is none ends one
            at = window.rfind(b"\n\n")
            if at < 0:
                return -1
            if at > 0 and window[at - 1] != 0x0A:
                return at + 2
        end = -1  # CRs, or a run of LFs, whose pairing depends on where it began: read in order
        for found in EVENT_END.finditer(window):
            if found.end() < len(window) or window[-1:] != b"\r":
                end = found.end()
        return end

    def _wait(self, data: bytes) -> bytes:
        self._parts.append(data)
        self.waiting += len(data)
        self._last = data[-_END_REACH:] if len(data) >= _END_REACH else (self._last + data)[-_END_REACH:]
        return b""

    def rest(self) -> bytes:
        """What waits after the last whole event (the stream ended), and nothing waits any more."""
        rest, self._parts, self._last, self.waiting = b"".join(self._parts), [], b"", 0
        return rest


def _parse_block(block: bytes) -> tuple[str | None, str] | None:
    if block.startswith(b"data: ") and b"\n" not in block:
        return None, block[6:].decode("utf-8", "replace")  # the common one-line case
    event: str | None = None
    data: list[str] = []
    for raw in block.split(b"\n"):
        if not raw or raw[:1] == b":":
            continue
        line = raw.decode("utf-8", "replace")
        name, sep, value = line.partition(":")
        if sep and value[:1] == " ":
            value = value[1:]
        if name == "data":
            data.append(value)
        elif name == "event":
            event = value or None
    if not data:
        return None
    return event, "\n".join(data)


def encode_event(event: str | None, data: str) -> bytes:
    """One SSE event as bytes; multi-line ``data`` becomes several ``data:`` lines."""
    if "\n" in data or "\r" in data:
        body = "".join(f"data: {line}\n" for line in data.replace("\r\n", "\n").replace("\r", "\n").split("\n"))
    else:
        body = f"data: {data}\n"
    if event is not None:
        return f"event: {event}\n{body}\n".encode()
    return f"{body}\n".encode()


def encode_events(events: Iterable[tuple[str | None, str]]) -> bytes:
    """Several events joined, for one write."""
    return b"".join(encode_event(e, d) for e, d in events)
