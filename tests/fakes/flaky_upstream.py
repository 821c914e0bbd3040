"""A fast fake OpenAI-compatible provider that fails a share of its calls the ways providers do,
for the resilience benchmark (``bench/bench_resilience.py``).

    python -m tests.fakes.flaky_upstream [--port N]      # prints "PORT <n>" when listening

Each chat call fails with probability ``rate`` (0 at start), evenly among: HTTP 500, HTTP 503,
HTTP 429 with ``Retry-After``, a connection reset (RST) before any answer, and a hang (no answer
at all: the caller's timeout ends it). ``POST /_fail/<rate>`` sets the rate (the answer is
``{"rate": ...}``), ``GET /_stats`` answers the count of each outcome so far, and the calls
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
    rate = 0.0
    random = random.Random(1234)
    counts: dict[str, int] = {"ok": 0, **{f: 0 for f in FAILURES}}
    per_second: dict[int, int] = {}
    tokens_per_minute: dict[int, int] = {}


def _answered(now: float) -> None:
    _State.counts["ok"] += 1
    second, minute = int(now), int(now // 60 * 60)
    _State.per_second[second] = _State.per_second.get(second, 0) + 1
    _State.tokens_per_minute[minute] = _State.tokens_per_minute.get(minute, 0) + fast_upstream.TOKENS


def _json(status: bytes, value: object, extra: bytes = b"") -> bytes:
    body = json.dumps(value).encode()
    return (b"HTTP/1.1 %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\n%s\r\n"
            % (status, len(body), extra)) + body


class FlakyProtocol(fast_upstream.FakeProtocol):
    def answer(self, head: bytes, body: bytes) -> bool:
        line = head.split(b"\r\n", 1)[0]
        if line.startswith(b"POST /_fail/"):
            _State.rate = float(line.split()[1].rsplit(b"/", 1)[1])
            self.transport.write(_json(b"200 OK", {"rate": _State.rate}))
            return True
        if line.startswith(b"GET /_stats"):
            self.transport.write(_json(b"200 OK", {"counts": _State.counts, "per_second": _State.per_second,
                                                   "tokens_per_minute": _State.tokens_per_minute}))
            return True
        if b"/chat/completions" not in line or _State.random.random() >= _State.rate:
            _answered(time.time())
            return super().answer(head, body)
        failure = _State.random.choice(FAILURES)
        _State.counts[failure] += 1
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
        extra = b"retry-after: 1\r\n" if failure == "429" else b""
        self.transport.write(_json(status, json.loads(_ERROR), extra))
        return True


if __name__ == "__main__":
    fast_upstream.main(FlakyProtocol)
