"""Resilience figures: fallback under a failing primary, recovery, and limits under concurrency.

    .venv/bin/python bench/bench_resilience.py [--total 10000] [--concurrency 32] [--quick]
                                               [--parts fallback,recovery,buckets]

Processes: a flaky fake provider (``tests/fakes/flaky_upstream.py``: fails a share of its calls
with 500, 503, 429, resets and hangs past routerd's timeout), a healthy one
(``tests/fakes/fast_upstream.py``), routerd started as a user would with both serving
``bench-model`` (the flaky one first), and this script as the load generator (keep-alive
connections, ``--concurrency`` at once).

- fallback: the primary fails 50% of calls; the share of requests that succeed, and what a
  fallback adds beyond the failed attempts' own time (routerd's ``x-routerd-overhead-ms`` is its
  time before the call that answered; the failed attempts' times come from the ``calls`` table;
  what remains, less the overhead of requests that did not fall back, is the fallback's cost).
  Run twice: with the default breakers and the provider's Retry-After (which soon keep most
  traffic off the failing primary), and with breakers that never open and 429s without
  Retry-After and no cool-down, so that every request tries the primary first.
- recovery: the primary fails every call until its breaker opens, then recovers; how long until
  traffic is back on it, next to the cool-down in force (from ``routerctl status``).
- buckets: the primary has limits (requests per second, tokens per minute) and no failures;
  ``--concurrency`` clients push past them; what the provider saw per second and per minute, next
  to the limits (the healthy secondary takes the overflow).

Prints the figures next to the issue's targets and writes ``bench/results/bench_resilience.json``.
"""

import argparse
import asyncio
import json
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
BODY = json.dumps({"model": "bench-model", "max_tokens": 32,
                   "messages": [{"role": "user", "content": "Say hello to the benchmark, briefly."}]}).encode()
REQUEST = (b"POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n"
           b"content-length: %d\r\n\r\n" % len(BODY)) + BODY
TIMEOUT_S = 0.5            # the primary's read timeout: a hang costs this much
COOLDOWN_S = 2.0           # breaker cool-down, short so that recovery is measured in seconds
LIMIT_RPS, LIMIT_TPM = 40, 6_000          # ~72 tokens reserved a call: both limits bind in a run
NEVER_OPEN = ("[resilience.breaker]\nfailures = 1000000\nfailure_rate = 1.0\nmin_calls = 1000000\n"
              "[resilience.model_breaker]\nfailures = 1000000\n[resilience.cooldowns]\nrate_limited_s = 0\n")
TARGETS = {"success_rate": 0.999, "fallback_added_p50_ms": 2.0, "recovery_in_cooldowns": 1.0}


# --- a small keep-alive HTTP/1.1 client -----------------------------------------------------------

async def _one(reader, writer) -> tuple[int, dict[bytes, bytes], float]:
    started = time.perf_counter()
    writer.write(REQUEST)
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(b":") for line in lines[1:] if line)}
    if b"content-length" in headers:
        await reader.readexactly(int(headers[b"content-length"]))
    else:
        while (size := int((await reader.readuntil(b"\r\n")).strip(), 16)):
            await reader.readexactly(size + 2)
        await reader.readuntil(b"\r\n")
    return status, headers, (time.perf_counter() - started) * 1000


async def _load(port: int, total: int, concurrency: int) -> list[tuple[int, dict, float]]:
    results, left = [], [total]

    async def worker() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while left[0] > 0:
                left[0] -= 1
                try:
                    results.append(await _one(reader, writer))
                except (OSError, asyncio.IncompleteReadError, ValueError):
                    results.append((0, {}, 0.0))
                    writer.close()
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
        finally:
            writer.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return results


# --- processes -----------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_fake(module: str) -> tuple[subprocess.Popen, int]:
    proc = subprocess.Popen([PYTHON, "-m", module], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    return proc, int(proc.stdout.readline().split()[1])


def _http(port: int, path: str, method: str = "GET") -> dict:
    with urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method),
                                timeout=10) as answer:
        return json.loads(answer.read())


def _config(port: int, tmp: Path, primary: int, secondary: int, limits: bool, extra: str) -> str:
    text = f'''[daemon]
log_level = "error"
[http]
listen = "127.0.0.1:{port}"
[state]
path = "{tmp}/state.db"
[gateway]
breaker_reset_s = {COOLDOWN_S}
[providers.primary]
base_url = "http://127.0.0.1:{primary}/v1"
models = ["bench-model"]
timeout_s = {TIMEOUT_S}
max_keepalive = 64
[providers.secondary]
base_url = "http://127.0.0.1:{secondary}/v1"
models = ["bench-model"]
max_keepalive = 64
''' + extra
    if limits:
        text += f'''[[limits]]
provider = "primary"
window = "second"
requests = {LIMIT_RPS}
[[limits]]
provider = "primary"
window = "minute"
tokens = {LIMIT_TPM}
'''
    return text


class Routerd:
    def __init__(self, tmp: Path, primary: int, secondary: int, limits: bool = False, extra: str = "") -> None:
        self.tmp, self.port = tmp, _free_port()
        config = tmp / "config.toml"
        config.write_text(_config(self.port, tmp, primary, secondary, limits, extra))
        env = {**os.environ, "XDG_STATE_HOME": str(tmp), "XDG_CONFIG_HOME": str(tmp),
               "XDG_RUNTIME_DIR": str(tmp)}
        self.socket = tmp / "routerd.sock"
        self.env = env
        self.proc = subprocess.Popen([str(ROOT / ".venv/bin/routerd"), "--config", str(config), "--socket",
                                      str(self.socket)], env=env)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:       # bounded poll of readiness, in a helper process
            try:
                _http(self.port, "/health")
                return
            except OSError:
                if self.proc.poll() is not None:
                    raise SystemExit(f"routerd exited with {self.proc.returncode}") from None
                time.sleep(0.05)
        raise SystemExit("routerd did not become ready")

    def status(self) -> dict:
        out = subprocess.run([str(ROOT / ".venv/bin/routerctl"), "--socket", str(self.socket), "status",
                              "--json"], env=self.env, capture_output=True, text=True, check=True)
        return json.loads(out.stdout)

    def stop(self) -> None:
        """Stop routerd (its writer flushes every row) and wait for it."""
        self.proc.terminate()
        self.proc.wait(timeout=30)


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] if ordered else float("nan")


# --- the parts -----------------------------------------------------------------------------------

def bench_fallback(tmp: Path, primary: int, secondary: int, total: int, concurrency: int,
                   extra: str = "") -> dict:
    _http(primary, "/_fail/0.5", "POST")
    _http(primary, f"/_retry_after/{0 if extra else 1}", "POST")
    before = _http(primary, "/_stats")["counts"]
    routerd = Routerd(tmp, primary, secondary, extra=extra)
    try:
        started = time.perf_counter()
        results = asyncio.run(_load(routerd.port, total, concurrency))
        elapsed = time.perf_counter() - started
    finally:
        routerd.stop()
        _http(primary, "/_fail/0", "POST")
    ok = [r for r in results if r[0] == 200]
    failed_ms = _failed_attempts_ms(tmp / "state.db")
    first_try, fell_back = [], []
    for _, headers, _ in ok:
        decision = headers.get(b"x-routerd-decision-id", b"").decode()
        overhead = float(headers.get(b"x-routerd-overhead-ms", b"nan"))
        (fell_back if decision in failed_ms else first_try).append((overhead, failed_ms.get(decision, 0.0)))
    base = statistics.median(o for o, _ in first_try) if first_try else 0.0
    added = [o - f - base for o, f in fell_back]
    statuses: dict[int, int] = {}
    for status, _, _ in results:
        statuses[status] = statuses.get(status, 0) + 1
    return {"requests": total, "concurrency": concurrency, "elapsed_s": round(elapsed, 2),
            "success_rate": round(len(ok) / total, 5), "statuses": statuses,
            "fell_back": len(fell_back), "served_first_try": len(first_try),
            "overhead_first_try_p50_ms": round(base, 3),
            "fallback_added_p50_ms": round(_pct(added, 50), 3), "fallback_added_p99_ms": round(_pct(added, 99), 3),
            "failed_attempt_p50_ms": round(_pct([f for _, f in fell_back], 50), 3),
            "primary_outcomes": {k: v - before[k] for k, v in _http(primary, "/_stats")["counts"].items()}}


def _failed_attempts_ms(db: Path) -> dict[str, float]:
    """Per decision: the time its failed attempts took (ms), for decisions that had any."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        rows = conn.execute("SELECT decision_id, SUM(latency_ms) FROM calls WHERE outcome != 'ok' "
                            "GROUP BY decision_id").fetchall()
    return {decision: total or 0.0 for decision, total in rows}


def bench_recovery(tmp: Path, primary: int, secondary: int) -> dict:
    _http(primary, "/_fail/1", "POST")
    routerd = Routerd(tmp, primary, secondary)
    try:
        async def until(provider: bytes, limit_s: float) -> float | None:
            reader, writer = await asyncio.open_connection("127.0.0.1", routerd.port)
            started = time.perf_counter()
            try:
                while time.perf_counter() - started < limit_s:
                    status, headers, _ = await _one(reader, writer)
                    if status == 200 and headers.get(b"x-routerd-provider") == provider:
                        return time.perf_counter() - started
                    await asyncio.sleep(0.01)      # a steady trickle of traffic, 100 req/s
            finally:
                writer.close()
            return None

        opened_after = asyncio.run(until(b"secondary", 30))
        for _ in range(50):                        # let the breaker open on the failure rate
            asyncio.run(_load(routerd.port, 20, 4))
            breaker = routerd.status()["parts"]["gateway"]["providers"]["primary"]["breaker"]
            if breaker["state"] == "open":
                break
        cooldown = breaker.get("cooldown_s", COOLDOWN_S)
        _http(primary, "/_fail/0", "POST")
        back_after = asyncio.run(until(b"primary", 10 * COOLDOWN_S))
    finally:
        routerd.stop()
    return {"breaker_at_recovery": breaker, "cooldown_s": cooldown, "first_secondary_after_s": opened_after,
            "back_on_primary_after_s": None if back_after is None else round(back_after, 3),
            "recovery_in_cooldowns": None if back_after is None else round(back_after / cooldown, 3)}


def bench_buckets(tmp: Path, primary: int, secondary: int, total: int, concurrency: int) -> dict:
    before = _http(primary, "/_stats")
    routerd = Routerd(tmp, primary, secondary, limits=True)
    try:
        results = asyncio.run(_load(routerd.port, total, concurrency))
    finally:
        routerd.stop()
    after = _http(primary, "/_stats")
    seconds = {s: n - before["per_second"].get(s, 0) for s, n in after["per_second"].items()}
    minutes = {m: n - before["tokens_per_minute"].get(m, 0) for m, n in after["tokens_per_minute"].items()}
    return {"requests": total, "concurrency": concurrency, "ok": sum(r[0] == 200 for r in results),
            "limit_rps": LIMIT_RPS, "primary_max_per_second": max(seconds.values(), default=0),
            "limit_tpm": LIMIT_TPM, "primary_max_tokens_per_minute": max(minutes.values(), default=0),
            "primary_calls": sum(seconds.values())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--total", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--parts", default="fallback,fallback_every_request,recovery,buckets")
    parser.add_argument("--quick", action="store_true", help="2,000 requests (a smoke run)")
    args = parser.parse_args()
    total = 2000 if args.quick else args.total
    parts = args.parts.split(",")
    primary_proc, primary = _start_fake("tests.fakes.flaky_upstream")
    secondary_proc, secondary = _start_fake("tests.fakes.fast_upstream")
    results = {"cpus": os.cpu_count(), "targets": TARGETS, "timeout_s": TIMEOUT_S, "cooldown_s": COOLDOWN_S}
    try:
        for part in parts:
            with tempfile.TemporaryDirectory() as tmp:
                if part == "fallback":
                    results[part] = bench_fallback(Path(tmp), primary, secondary, total, args.concurrency)
                elif part == "fallback_every_request":
                    results[part] = bench_fallback(Path(tmp), primary, secondary, total, args.concurrency,
                                                   NEVER_OPEN)
                elif part == "recovery":
                    results[part] = bench_recovery(Path(tmp), primary, secondary)
                elif part == "buckets":
                    results[part] = bench_buckets(Path(tmp), primary, secondary, total, args.concurrency)
            print(f"{part}: {json.dumps(results[part], indent=1)}", flush=True)
    finally:
        for proc in (primary_proc, secondary_proc):
            proc.terminate()
            proc.wait()
    out = ROOT / "bench" / "results" / "bench_resilience.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {out.relative_to(ROOT)}")
    _report(results)


def _report(results: dict) -> None:
    """The issue's figures next to their targets."""
    lines = []
    for part in ("fallback", "fallback_every_request"):
        if part in results:
            r = results[part]
            lines.append(f"{part}: {r['success_rate']:.2%} of {r['requests']} succeeded (>= 99.9%); "
                         f"{r['fell_back']} fell back, adding p50 {r['fallback_added_p50_ms']} ms / p99 "
                         f"{r['fallback_added_p99_ms']} ms beyond the failed attempts (<= 2 ms)")
    if "recovery" in results:
        r = results["recovery"]
        lines.append(f"recovery: back on the primary {r['back_on_primary_after_s']} s after it recovered, "
                     f"{r['recovery_in_cooldowns']} of a {r['cooldown_s']} s cool-down (<= 1)")
    if "buckets" in results:
        r = results["buckets"]
        lines.append(f"buckets: the primary saw at most {r['primary_max_per_second']} calls in a second (limit "
                     f"{r['limit_rps']}) and {r['primary_max_tokens_per_minute']} tokens in a minute (limit "
                     f"{r['limit_tpm']}) under {r['concurrency']} concurrent clients")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
