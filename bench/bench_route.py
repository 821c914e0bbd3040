"""Routing figures (issue #3) through the socket: `route` and `classify` round trips from one
persistent client to a real daemon, for a short prompt and a 4 KB one, next to `ping` in the same
run (the socket's own cost on this machine at this moment).

Usage: .venv/bin/python bench/bench_route.py [--n 2000] [--poll]
Prints p50/p99 and each case's p50 over ping, and writes bench/results/bench_route.json. The
decision itself (classify + policy, in-process) is measured by bench/eval_classifier.py.

Each request frame is encoded once; the cases take turns in `ROUNDS` blocks so that the load from
other processes on this shared machine falls on all of them alike. `--poll` makes the client spin
on a non-blocking receive instead of sleeping in it: the difference is the time this VM takes to
wake a sleeping client (measured here: ~25 us for ping, ~80 us after a 200 us wait), which is the
client's cost, not the daemon's.
"""

import argparse
import json
import socket
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_socket import Daemon, summary_us  # noqa: E402

from routerd.framing import FrameReader, encode_frame  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "bench_route.json"
SHORT = "write a python function that merges overlapping date ranges, with pytest tests"
_PARA = ("We run a payments service on Postgres and Redis; under load the p99 latency climbs and some "
         "workers time out while holding a lock. ")
LONG = (_PARA * 40)[:3000] + "\n```python\n" + ("x = compute(a, b)  # step\n" * 40)[:1000] + "```\nwhy?"
CASES = {
    "ping": {"type": "ping"},
    "route_short": {"type": "route", "prompt": SHORT},
    "route_4kb": {"type": "route", "prompt": LONG},
    "classify_4kb": {"type": "classify", "prompt": LONG},
}
ROUNDS = 10


def request_frame(request: dict) -> bytes:
    return encode_frame(json.dumps({"v": 1, **request}).encode())


def round_trips(sock: socket.socket, reader: FrameReader, frame: bytes, n: int, samples: list[float],
                poll: bool = False) -> None:
    """Send `frame` `n` times, each after the previous reply, appending each round trip's seconds."""
    for _ in range(n):
        start = time.perf_counter()
        sock.sendall(frame)
        while (reply := reader.next_frame()) is None:
            if poll:
                try:
                    reader.feed(sock.recv(65536, socket.MSG_DONTWAIT))
                except BlockingIOError:
                    pass
            else:
                reader.feed(sock.recv(65536))
        samples.append(time.perf_counter() - start)
        assert b'"error"' not in reply[:40], reply


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--poll", action="store_true", help="spin on a non-blocking receive")
    args = parser.parse_args()
    frames = {name: request_frame(request) for name, request in CASES.items()}
    samples: dict[str, list[float]] = {name: [] for name in frames}
    with tempfile.TemporaryDirectory() as tmp:
        daemon = Daemon(Path(tmp))
        try:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.connect(str(daemon.socket))
            reader = FrameReader()
            for frame in frames.values():  # warm up: state load, catalogue, caches
                round_trips(sock, reader, frame, 50, [])
            for _ in range(ROUNDS):
                for name, frame in frames.items():
                    round_trips(sock, reader, frame, args.n // ROUNDS, samples[name], args.poll)
            sock.close()
        finally:
            daemon.proc.terminate()
            daemon.proc.wait(30)
    results = {name: summary_us(values) for name, values in samples.items()}
    ping = results["ping"]["p50_us"]
    for name, figures in results.items():
        over = "" if name == "ping" else f"   (p50 {figures['p50_us'] - ping:+7.1f} over ping)"
        print(f"{name:<14} p50 {figures['p50_us']:>8.1f} us   p99 {figures['p99_us']:>8.1f} us   "
              f"(n={figures['n']}){over}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({**results, "client": "poll" if args.poll else "blocking"}, indent=2))


if __name__ == "__main__":
    main()
