"""Server-sent events, incrementally: bytes in, ``(event, data)`` out, and back.

``SSEDecoder.feed`` accepts chunks cut anywhere (inside a line, between ``\\r`` and ``\\n``, inside a
UTF-8 sequence) and returns the events completed so far. It follows the WHATWG rules: lines end in
``\\r\\n``, ``\\n`` or ``\\r``; ``data`` lines of one event are joined with ``\\n``; lines starting with
``:`` are comments; one leading space after the colon is dropped; an event with no data is not
dispatched; ``event`` defaults to None (the spec's "message"). ``id`` and ``retry`` are ignored.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["SSEDecoder", "encode_event", "encode_events"]


class SSEDecoder:
    """Incremental SSE parser. Not thread-safe; one per stream."""

    __slots__ = ("_buf", "_pending_cr", "events", "bytes_in")

    def __init__(self) -> None:
        self._buf = b""
        self._pending_cr = False
        self.events = 0
        self.bytes_in = 0

    def feed(self, chunk: bytes) -> list[tuple[str | None, str]]:
        """Add ``chunk``; return the events it completed, in order."""
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
        buf = self._buf + chunk if self._buf else chunk
        out: list[tuple[str | None, str]] = []
        start = 0
        while True:
            end = buf.find(b"\n\n", start)
            if end < 0:
                break
            event = _parse_block(buf[start:end])
            if event is not None:
                out.append(event)
            start = end + 2
        self._buf = buf[start:] if start else buf
        self.events += len(out)
        return out

    def close(self) -> list[tuple[str | None, str]]:
        """End of stream. A last event whose lines are complete but which lacks the blank line is
        dispatched (some servers end ``data: [DONE]\n``); a half-received line is dropped, as the
        spec drops an incomplete event, since it is a cut, not an answer."""
        rest, self._buf = self._buf, b""
        if self._pending_cr:
            rest += b"\n"
            self._pending_cr = False
        if not rest.endswith(b"\n") or not rest.strip(b"\n"):
            return []
        event = _parse_block(rest.rstrip(b"\n"))
        return [event] if event is not None else []


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
