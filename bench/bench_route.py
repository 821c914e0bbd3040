"""Routing figures (issue #3) through the socket: `route` and `classify` round trips from one
persistent client to a real daemon, for a short prompt and a 4 KB one.

Usage: .venv/bin/python bench/bench_route.py [--n 2000]
Prints p50/p99 and writes bench/results/bench_route.json. The decision itself (classify + policy,
in-process) is measured by bench/eval_classifier.py.
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


def round_trips(sock: socket.socket, request: dict, n: int) -> list[float]:
    frame = encode_frame(json.dumps({"v": 1, **request}).encode())
    reader = FrameReader()
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        sock.sendall(frame)
        while (reply := reader.next_frame()) is None:
            reader.feed(sock.recv(65536))
        samples.append(time.perf_counter() - start)
        assert b'"error"' not in reply[:40], reply
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        daemon = Daemon(Path(tmp))
        try:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.connect(str(daemon.socket))
            round_trips(sock, {"type": "route", "prompt": SHORT}, 50)  # warm up: state load, catalogue
            for name, request in (
                ("route_short", {"type": "route", "prompt": SHORT}),
                ("route_4kb", {"type": "route", "prompt": LONG}),
                ("classify_4kb", {"type": "classify", "prompt": LONG}),
            ):
                results[name] = summary_us(round_trips(sock, request, args.n))
            sock.close()
        finally:
            daemon.proc.terminate()
            daemon.proc.wait(30)
    for name, figures in results.items():
        print(f"{name:<14} p50 {figures['p50_us']:>8.1f} us   p99 {figures['p99_us']:>8.1f} us   (n={figures['n']})")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
