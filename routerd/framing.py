"""Length-prefixed frames for the Unix socket, standard library only.

A frame is a 4-byte big-endian length followed by that many bytes of UTF-8 JSON. This module knows
the prefix and the size limit and nothing about the schema; the daemon, ``routerctl`` and the hook
shims all frame through it (the shims carry a copy of the few lines they need, and a contract test
proves the copies agree). ``FrameReader`` is sans-I/O: feed it bytes, take whole frames out.
"""

MAX_FRAME = 8 * 1024 * 1024
HEADER_SIZE = 4


class FrameTooLarge(ValueError):
    """A length prefix announced more than ``MAX_FRAME`` bytes."""

    def __init__(self, size: int) -> None:
        super().__init__(f"frame of {size} bytes exceeds the {MAX_FRAME}-byte limit")
        self.size = size


def encode_frame(payload: bytes) -> bytes:
    """Prefix ``payload`` with its length; refuse payloads over the limit."""
    if len(payload) > MAX_FRAME:
        raise FrameTooLarge(len(payload))
    return len(payload).to_bytes(HEADER_SIZE, "big") + payload


class FrameReader:
    """Incremental frame parser: ``feed`` bytes, then ``next_frame`` until it returns None."""

    __slots__ = ("_buf", "_need")

    def __init__(self) -> None:
        self._buf = bytearray()
        self._need = -1  # body length of the frame being read, -1 while reading its header

    def feed(self, data: bytes) -> None:
        self._buf += data

    @property
    def pending(self) -> int:
        """Bytes received that do not yet make a whole frame (a truncated frame at EOF)."""
        return len(self._buf)

    def next_frame(self) -> bytes | None:
        if self._need < 0:
            if len(self._buf) < HEADER_SIZE:
                return None
            size = int.from_bytes(self._buf[:HEADER_SIZE], "big")
            if size > MAX_FRAME:
                raise FrameTooLarge(size)
            del self._buf[:HEADER_SIZE]
            self._need = size
        if len(self._buf) < self._need:
            return None
        frame = bytes(self._buf[: self._need])
        del self._buf[: self._need]
        self._need = -1
        return frame
