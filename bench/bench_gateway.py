"""Gateway overhead: routerd in front of a fake OpenAI-compatible upstream vs the upstream direct.

    .venv/bin/python bench/bench_gateway.py [--backend asyncio|trio|both] [--total 100000] [--quick]
                                            [--model bench-model] [--budgets] [--no-uvloop] [--out NAME.json]

Three processes: the fake upstream (``tests/fakes/fast_upstream.py``, raw asyncio protocol), the
routerd daemon (started like a user would), and a load generator (raw asyncio protocol client, keep-
alive connections; run as ``--loadgen``). Every figure compares the same load sent direct to the
upstream and through routerd in the same run; "added" is the difference. Prints a table next to the
issue's targets and writes ``bench/results/bench_gateway.json`` (``--out``). ``--budgets`` gives
routerd a ``[budgets]`` section whose caps are never reached, so that every priced call (``--model
bench/gpt-4.1``) reserves its worst case in two limits and settles it. ``--no-uvloop`` runs the asyncio
backend on the stock event loop (routerd's own flag), to weigh what uvloop buys against its RSS.
"""

import argparse
import asyncio
import functools
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
# The model asked for: the default is one no catalogue prices; `--model bench/gpt-4.1` makes every
# call priced (cache and baseline included) through the provider `bench`.
DEFAULT_MODEL = "bench-model"


def _body(model: str, stream: bool) -> bytes:
    body = json.dumps({"model": model, "max_tokens": 32,
                       "messages": [{"role": "user", "content": "Say hello to the benchmark, briefly."}]}).encode()
    return body[:-1] + b', "stream": true}' if stream else body
TARGETS = {"added_p50_ms": 0.5, "added_p99_ms": 2.0, "added_ttft_p99_ms": 2.0, "c32_rps": 3000,
           "c32_added_p99_ms": 20.0, "rss_idle_mb": 60, "rss_after_mb": 120}


# --- load generator (runs in its own process) --------------------------------------------------

class _Conn(asyncio.Protocol):
    """One keep-alive connection that sends a request, waits for the whole answer, repeats."""

    def __init__(self, request: bytes, stream: bool) -> None:
        self.request, self.stream = request, stream
        self.buffer = b""
        self.done: asyncio.Future | None = None
        self.first: int | None = None
        self.head_end = -1

    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.head_end < 0:
            self.head_end = self.buffer.find(b"\r\n\r\n")
            if self.head_end < 0:
                return
        if self.first is None and b"data:" in self.buffer[self.head_end:]:
            self.first = time.perf_counter_ns()
        if self._complete() and not self.done.done():
            self.done.set_result(None)

    def _complete(self) -> bool:
        head = self.buffer[:self.head_end].lower()
        at = head.find(b"content-length:")
        if at >= 0:
            end = head.find(b"\r\n", at)
            length = int(head[at + 15:end if end > 0 else None])
            return len(self.buffer) >= self.head_end + 4 + length
        return self.buffer.endswith(b"0\r\n\r\n")

    async def one(self) -> tuple[int, int | None, bool]:
        self.buffer, self.first, self.head_end = b"", None, -1
        self.done = asyncio.get_running_loop().create_future()
        start = time.perf_counter_ns()
        self.transport.write(self.request)
        await self.done
        ok = self.buffer.startswith(b"HTTP/1.1 200")
        return time.perf_counter_ns() - start, (self.first - start) if self.first else None, ok


async def _load(port: int, path: str, stream: bool, concurrency: int, total: int, model: str) -> dict:
    body = _body(model, stream)
    request = (f"POST {path} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n"
               f"content-length: {len(body)}\r\n\r\n").encode() + body
    loop = asyncio.get_running_loop()
    conns = [(await loop.create_connection(lambda: _Conn(request, stream), "127.0.0.1", port))[1]
             for _ in range(concurrency)]
    for conn in conns:  # warm up each connection (and routerd's upstream pool)
        for _ in range(3):
            await conn.one()
    latencies, ttfts, errors = [], [], 0
    remaining = [total]

    async def worker(conn: _Conn) -> None:
        nonlocal errors
        while remaining[0] > 0:
            remaining[0] -= 1
            latency, ttft, ok = await conn.one()
            latencies.append(latency)
            if ttft is not None:
                ttfts.append(ttft)
            errors += not ok

    started = time.perf_counter()
    await asyncio.gather(*(worker(c) for c in conns))
    elapsed = time.perf_counter() - started
    for conn in conns:
        conn.transport.close()
    return {"latencies_ns": latencies, "ttfts_ns": ttfts, "errors": errors, "elapsed_s": elapsed}


def loadgen_main(argv: list[str]) -> None:
    port, path, stream, concurrency, total = int(argv[0]), argv[1], argv[2] == "1", int(argv[3]), int(argv[4])
    model = argv[5] if len(argv) > 5 else DEFAULT_MODEL
    try:
        import uvloop
        result = uvloop.run(_load(port, path, stream, concurrency, total, model))
    except ImportError:
        result = asyncio.run(_load(port, path, stream, concurrency, total, model))
    json.dump(result, sys.stdout)


# --- the driver ----------------------------------------------------------------------------------

def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def _summary(result: dict, key: str = "latencies_ns") -> dict:
    ms = [v / 1e6 for v in result[key]]
    return {"n": len(ms), "p50_ms": round(_pct(ms, 50), 3), "p99_ms": round(_pct(ms, 99), 3),
            "mean_ms": round(statistics.fmean(ms), 3), "rps": round(len(result["latencies_ns"]) / result["elapsed_s"], 1),
            "errors": result["errors"]}


def run_load(port: int, path: str, *, stream: bool = False, concurrency: int = 1, total: int = 1000,
             model: str = DEFAULT_MODEL) -> dict:
    out = subprocess.run([PYTHON, __file__, "--loadgen", str(port), path, "1" if stream else "0",
                          str(concurrency), str(total), model], check=True, capture_output=True)
    return json.loads(out.stdout)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _cpu_s(pid: int) -> float:
    """CPU time (user + system, all threads: the event loop and the store's writer) used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def start_upstream() -> tuple[subprocess.Popen, int]:
    proc = subprocess.Popen([PYTHON, "-m", "tests.fakes.fast_upstream"], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline().split()
    return proc, int(line[1])


# Caps no run reaches: every priced call reserves and settles in both, none is refused.
# A provider key, as real providers have: routerd keeps it out of every answer and streamed text
# (the fake upstream asks for none), and what that costs is part of what is measured.
BENCH_KEY = "sk-bench-not-a-real-key-0123456789"
BUDGETS = "[budgets]\nmonthly_usd = 1000000.0\ndaily_tokens = 100000000000\n"


def start_routerd(tmp: Path, upstream_port: int, backend: str, budgets: bool = False,
                  uvloop: bool = True) -> tuple[subprocess.Popen, int]:
    port = _free_port()
    config = tmp / f"config-{backend}.toml"
    config.write_text(f'''[daemon]\nlog_level = "warning"\n[http]\nlisten = "127.0.0.1:{port}"\n
[state]\npath = "{tmp}/state-{backend}.db"\n
[providers.bench]\nbase_url = "http://127.0.0.1:{upstream_port}/v1"\nmodels = ["bench-*"]\nmax_keepalive = 64\n
api_key = "{BENCH_KEY}"\n'''
                      + (BUDGETS if budgets else ""))
    options = ("--backend", backend) + (() if uvloop else ("--no-uvloop",))
    return launch_routerd(tmp, config, port, tmp / f"routerd-{backend}.sock", *options), port


def launch_routerd(tmp: Path, config: Path, port: int, sock: Path, *options: str) -> subprocess.Popen:
    """routerd started as a user would (state and config under ``tmp``), once its /health answers."""
    env = {**os.environ, "XDG_STATE_HOME": str(tmp), "XDG_CONFIG_HOME": str(tmp)}
    proc = subprocess.Popen([str(ROOT / ".venv/bin/routerd"), "--config", str(config), "--socket", str(sock),
                             *options], env=env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # bounded poll of readiness in a helper process
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1):
                return proc
        except OSError:
            if proc.poll() is not None:
                raise SystemExit(f"routerd exited with {proc.returncode}") from None
            time.sleep(0.05)
    raise SystemExit("routerd did not become ready")


def wait_brain(port: int, timeout_s: float = 60) -> None:
    """Until /health says the brain (the classifier's files, loaded after READY) is in, or failed:
    idle RSS is read after it, not in the middle of its parse (0.5 s after READY on a loaded
    machine was, up to 80 MB instead of 60)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:  # bounded poll of a helper process's state
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as response:
                brain = json.loads(response.read()).get("brain", "ready")
        except urllib.error.HTTPError as exc:  # 503: degraded (a brain that failed) or draining
            brain = json.loads(exc.read()).get("brain", "ready")
        if brain != "loading":
            return
        time.sleep(0.05)
    raise SystemExit("routerd's brain did not load")


def bench_backend(tmp: Path, upstream: int, backend: str, args) -> dict:
    proc, port = start_routerd(tmp, upstream, backend, args.budgets, uvloop=not args.no_uvloop)
    try:
        wait_brain(port)
        time.sleep(0.5)  # the heap trimmed after the brain's parse, start-up garbage settled
        rss_idle = _rss_mb(proc.pid)
        path = "/v1/chat/completions"
        n1, n32 = (500, 3000) if args.quick else (3000, 20000)
        res = {"rss_idle_mb": rss_idle}
        load = functools.partial(run_load, model=args.model)
        direct = _summary(load(upstream, path, total=n1))
        cpu = _cpu_s(proc.pid)
        ours = _summary(load(port, path, total=n1))
        c1_cpu_us = round((_cpu_s(proc.pid) - cpu) / n1 * 1e6, 1)
        res["c1"] = {"direct": direct, "routerd": ours, "cpu_us_per_request": c1_cpu_us,
                     "added_p50_ms": round(ours["p50_ms"] - direct["p50_ms"], 3),
                     "added_p99_ms": round(ours["p99_ms"] - direct["p99_ms"], 3)}
        sd = load(upstream, path, stream=True, total=n1)
        cpu = _cpu_s(proc.pid)
        so = load(port, path, stream=True, total=n1)
        stream_cpu_us = round((_cpu_s(proc.pid) - cpu) / n1 * 1e6, 1)  # six events relayed per stream
        ttft_d, ttft_o = _summary(sd, "ttfts_ns"), _summary(so, "ttfts_ns")
        res["stream_c1"] = {"direct_ttft": ttft_d, "routerd_ttft": ttft_o, "cpu_us_per_request": stream_cpu_us,
                            "added_ttft_p50_ms": round(ttft_o["p50_ms"] - ttft_d["p50_ms"], 3),
                            "added_ttft_p99_ms": round(ttft_o["p99_ms"] - ttft_d["p99_ms"], 3)}
        d32 = _summary(load(upstream, path, concurrency=32, total=n32))
        cpu = _cpu_s(proc.pid)
        o32 = _summary(load(port, path, concurrency=32, total=n32))
        time.sleep(0.5)  # the store's writer commits the last rows of the run
        # routerd's CPU per request, writer included: steadier than latency on a shared machine
        cpu_us = round((_cpu_s(proc.pid) - cpu) / n32 * 1e6, 1)
        res["c32"] = {"direct": d32, "routerd": o32, "rps": o32["rps"], "cpu_us_per_request": cpu_us,
                      "added_p99_ms": round(o32["p99_ms"] - d32["p99_ms"], 3)}
        served = 2 * n1 + n32 + 3 * 33
        rest = max(0, args.total - served)
        if rest:
            load(port, path, concurrency=32, total=rest)
        time.sleep(0.5)
        res["rss_after_mb"] = _rss_mb(proc.pid)
        res["requests_served"] = served + rest
        return res
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _line(name: str, value, target, better: str) -> str:
    ok = value <= target if better == "<=" else value >= target
    return f"  {name:<34} {value:>10} {better} {target:<8} {'ok' if ok else 'MISSED'}"


def report(backend: str, res: dict) -> None:
    print(f"\n[{backend}]  requests served: {res['requests_served']}")
    print(_line("added latency c=1 p50 (ms)", res["c1"]["added_p50_ms"], TARGETS["added_p50_ms"], "<="))
    print(_line("added latency c=1 p99 (ms)", res["c1"]["added_p99_ms"], TARGETS["added_p99_ms"], "<="))
    print(_line("added TTFT streaming p99 (ms)", res["stream_c1"]["added_ttft_p99_ms"],
                TARGETS["added_ttft_p99_ms"], "<="))
    print(_line("c=32 throughput (req/s)", res["c32"]["rps"], TARGETS["c32_rps"], ">="))
    print(_line("c=32 added p99 (ms)", res["c32"]["added_p99_ms"], TARGETS["c32_added_p99_ms"], "<="))
    print(f"  {'routerd CPU per request, c=1 (us)':<34} {res['c1']['cpu_us_per_request']:>10}")
    print(f"  {'routerd CPU per request, c=32 (us)':<34} {res['c32']['cpu_us_per_request']:>10}")
    print(f"  {'routerd CPU per stream, c=1 (us)':<34} {res['stream_c1']['cpu_us_per_request']:>10}")
    print(_line("RSS idle (MB)", res["rss_idle_mb"], TARGETS["rss_idle_mb"], "<="))
    print(_line(f"RSS after {res['requests_served']} requests (MB)", res["rss_after_mb"],
                TARGETS["rss_after_mb"], "<="))
    print(f"  (direct c=1 p50 {res['c1']['direct']['p50_ms']} ms, routerd {res['c1']['routerd']['p50_ms']} ms; "
          f"direct c=32 {res['c32']['direct']['rps']} req/s)")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--loadgen":
        loadgen_main(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["asyncio", "trio", "both"], default="both")
    parser.add_argument("--total", type=int, default=100_000, help="requests through routerd per backend")
    parser.add_argument("--quick", action="store_true", help="fewer requests (a smoke run)")
    parser.add_argument("--model", default=DEFAULT_MODEL, help="the model asked for (bench/gpt-4.1: priced)")
    parser.add_argument("--budgets", action="store_true", help="caps never reached: every priced call reserves")
    parser.add_argument("--no-uvloop", action="store_true", help="asyncio on its stock event loop")
    parser.add_argument("--out", default="bench_gateway.json", help="the file written under bench/results")
    args = parser.parse_args()
    backends = ["asyncio", "trio"] if args.backend == "both" else [args.backend]
    upstream_proc, upstream = start_upstream()
    results = {"cpus": os.cpu_count(), "model": args.model, "budgets": args.budgets, "targets": TARGETS,
               "backends": {}}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for backend in backends:
                total = args.total if backend == "asyncio" else min(args.total, 20_000)
                res = bench_backend(Path(tmp), upstream, backend, argparse.Namespace(**{**vars(args), "total": total}))
                name = backend + ("+uvloop" if backend == "asyncio" and not args.no_uvloop else "")
                results["backends"][name] = res
                report(name, res)
    finally:
        upstream_proc.terminate()
        upstream_proc.wait()
    out = ROOT / "bench" / "results" / args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
