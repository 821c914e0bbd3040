"""How long one oversized request holds everyone else: the daemon under hostile shapes.

    .venv/bin/python bench/bench_bounds.py [--repeats 3] [--out NAME.json]

Starts the fake upstream (``tests/fakes/fast_upstream.py``) and a routerd whose provider serves
catalogue models, so every request is classified by the brain. For each shape, one request is
sent from a thread while this process asks ``/health`` over and over (pausing 2 ms between
asks); printed are the request's status and time, and the longest ``/health`` answer while it ran:
how long the event loop was held. Also the classifier alone on the same messages (median of
``--repeats``). Writes ``bench/results/bench_bounds.json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench_gateway import ROOT, _free_port, launch_routerd, start_upstream  # bench/ is first on sys.path as a script

MEGABYTE = 1 << 20


def _user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


SHAPES: dict[str, Callable[[], list[dict[str, Any]]]] = {
    "1 MB of one-character lines": lambda: [_user("x\n" * (MEGABYTE // 2))],
    "1 MB of fences": lambda: [_user("```\n" * (MEGABYTE // 4))],
    "1 MB of empty paragraphs": lambda: [_user("x\n\n" * (MEGABYTE // 3))],
    "1 MB log with an ask": lambda: [_user("why does this fail?\n\n" + "2026-12-07 10:00:00 INFO worker 17 "
                                           "handled request id=abc123 in 12ms\n" * (MEGABYTE // 70))],
    "100,000 content parts": lambda: [{"role": "user", "content": [{"type": "text", "text": "hi"}] * 100_000}],
    "2,000 messages": lambda: [_user("hi") if i % 2 == 0 else {"role": "assistant", "content": "ok"}
                               for i in range(2_000)] + [_user("now fix the flaky test")],
    "100,000 messages": lambda: [_user("hi") if i % 2 == 0 else {"role": "assistant", "content": "ok"}
                                 for i in range(100_000)] + [_user("now fix the flaky test")],
    "a short ask": lambda: [_user("hello")],
}


def start_routerd(tmp: Path, upstream_port: int) -> tuple[subprocess.Popen, int]:
    port = _free_port()
    config = tmp / "config.toml"
    config.write_text(f'''[daemon]\nlog_level = "warning"\n[http]\nlisten = "127.0.0.1:{port}"\n
[state]\npath = "{tmp}/state.db"\n
[providers.openai]\nkind = "openai"\nbase_url = "http://127.0.0.1:{upstream_port}/v1"\napi_key = "sk-bench-0123456789"
models = ["gpt-*"]\n''')
    return launch_routerd(tmp, config, port, tmp / "routerd.sock"), port


def _post(port: int, body: bytes) -> tuple[int, float]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/v1/chat/completions", data=body,
                                     headers={"content-type": "application/json"})
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=300) as answer:
            answer.read()
            status = answer.status
    except urllib.error.HTTPError as error:
        error.read()
        status = error.code
    return status, time.perf_counter() - start


def held(port: int, messages: list[dict[str, Any]]) -> dict[str, Any]:
    """Send one request; meanwhile ask /health until it is answered. Times in ms."""
    body = json.dumps({"model": "auto", "max_tokens": 16, "messages": messages}).encode()
    result: dict[str, Any] = {}
    sender = threading.Thread(target=lambda: result.update(zip(("status", "seconds"), _post(port, body))))
    waits = []
    sender.start()
    while sender.is_alive():
        start = time.perf_counter()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=300) as answer:
            answer.read()
        waits.append(time.perf_counter() - start)
        time.sleep(0.002)
    sender.join()
    return {"body_mb": round(len(body) / MEGABYTE, 2), "status": result["status"],
            "request_ms": round(result["seconds"] * 1000, 1), "health_asks": len(waits),
            "longest_health_ms": round(max(waits, default=0.0) * 1000, 1)}


def classify_ms(messages: list[dict[str, Any]], repeats: int) -> float:
    from routerd.classify.classifier import classify

    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        classify(messages, explain=False)
        times.append(time.perf_counter() - start)
    return round(statistics.median(times) * 1000, 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default="bench_bounds.json")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from routerd.classify.classifier import classify

    classify([_user("warm up")])  # the model is read once per process
    upstream, upstream_port = start_upstream()
    rows: dict[str, dict[str, Any]] = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            routerd, port = start_routerd(Path(tmp), upstream_port)
            try:
                held(port, SHAPES["a short ask"]())  # the daemon's first brain decision reads the model
                print(f"{'shape':30} {'body':>8} {'status':>6} {'request':>10} {'longest /health':>16} {'classify':>10}")
                for name, make in SHAPES.items():
                    messages = make()
                    runs = [held(port, messages) for _ in range(args.repeats)]
                    row = {**runs[-1], "request_ms": statistics.median(r["request_ms"] for r in runs),
                           "longest_health_ms": statistics.median(r["longest_health_ms"] for r in runs),
                           "classify_ms": classify_ms(messages, args.repeats)}
                    rows[name] = row
                    print(f"{name:30} {row['body_mb']:6.2f}MB {row['status']:>6} {row['request_ms']:8.1f}ms "
                          f"{row['longest_health_ms']:14.1f}ms {row['classify_ms']:8.2f}ms")
            finally:
                routerd.terminate()
                routerd.wait()
    finally:
        upstream.terminate()
        upstream.wait()
    out = ROOT / "bench" / "results" / args.out
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"repeats": args.repeats, "shapes": rows}, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
