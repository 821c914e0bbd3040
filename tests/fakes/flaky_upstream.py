"""A fast fake OpenAI-compatible provider that fails a share of its calls the ways providers do,
for the resilience benchmark (``bench/bench_resilience.py``).

    python -m tests.fakes.flaky_upstream [--port N]      # prints "PORT <n>" when listening

Each chat call fails with probability ``rate`` (0 at start), evenly among: HTTP 500, HTTP 503,
HTTP 429 (with ``Retry-After: 1`` unless ``POST /_retry_after/0`` turned it off), a connection
reset (RST) before any answer, and a hang (no answer at all: the caller's timeout ends it).
``POST /_fail/<rate>`` sets the rate (the answer is ``{"rate": ...}``), ``GET /_stats`` answers the count of each outcome so far, and the calls
answered per Unix second and tokens per Unix minute (to check limits from the provider's side), as
JSON. Seeded, so that runs compare.
"""

import json
import random
import socket
import struct
import time

from tests.fakes import fast_upstream

FAILURES = ("500", "503", "429", "reset", "hang")
_ERROR = json.dumps({"error": {"message": "injected failure", "type": "server_error"}}).encode()


class _State:
    """What this process's fake provider was told and has seen."""

    def __init__(self) -> None:
        self.rate = 0.0
        self.retry_after = True
        self.random = random.Random(1234)
        self.counts: dict[str, int] = {"ok": 0, **{f: 0 for f in FAILURES}}
        self.per_second: dict[int, int] = {}
        self.tokens_per_minute: dict[int, int] = {}


STATE = _State()


def _answered(now: float) -> None:
    STATE.counts["ok"] += 1
    second, minute = int(now), int(now // 60 * 60)
    STATE.per_second[second] = STATE.per_second.get(second, 0) + 1
    STATE.tokens_per_minute[minute] = STATE.tokens_per_minute.get(minute, 0) + fast_upstream.TOKENS


def _json(status: bytes, value: object, extra: bytes = b"") -> bytes:
    body = json.dumps(value).encode()
    return (b"HTTP/1.1 %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\n%s\r\n"
            % (status, len(body), extra)) + body


class FlakyProtocol(fast_upstream.FakeProtocol):
    def answer(self, head: bytes, body: bytes) -> bool:
        line = head.split(b"\r\n", 1)[0]
        if line.startswith(b"POST /_fail/"):
            STATE.rate = float(line.split()[1].rsplit(b"/", 1)[1])
            self.transport.write(_json(b"200 OK", {"rate": STATE.rate}))
            return True
        if line.startswith(b"POST /_retry_after/"):
            STATE.retry_after = line.split()[1].rsplit(b"/", 1)[1] != b"0"
            self.transport.write(_json(b"200 OK", {"retry_after": STATE.retry_after}))
            return True
        if line.startswith(b"GET /_stats"):
            self.transport.write(_json(b"200 OK", {"counts": STATE.counts, "per_second": STATE.per_second,
                                                   "tokens_per_minute": STATE.tokens_per_minute}))
            return True
        if b"/chat/completions" not in line or STATE.random.random() >= STATE.rate:
            _answered(time.time())
            return super().answer(head, body)
        failure = STATE.random.choice(FAILURES)
        STATE.counts[failure] += 1
        if failure == "reset":
            sock = self.transport.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.transport.abort()
            return False
        if failure == "hang":
            self.data_received = lambda data: None    # nothing more is answered on this connection
            return False
        status = {"500": b"500 Internal Server Error", "503": b"503 Service Unavailable",
                  "429": b"429 Too Many Requests"}[failure]
        extra = b"retry-after: 1\r\n" if failure == "429" and STATE.retry_after else b""
        self.transport.write(_json(status, json.loads(_ERROR), extra))
        return True


if __name__ == "__main__":
    fast_upstream.main(FlakyProtocol)
