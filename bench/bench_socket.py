"""Foundation figures (issue #2): socket round trips, start time, idle RSS, routerctl status time,
and store throughput with the loop's responsiveness under write load.

Usage: .venv/bin/python bench/bench_socket.py [--quick] [--only start,restart,...]
Prints a table and writes bench/results/bench_socket.json. Ratios against a bare interpreter start
are measured in the same run, since this machine is shared and noisy. The daemon measured is the
one ``routerd.main`` imports: set PYTHONPATH to the tree to measure (another checkout, for a
before/after in one run window).

``start``: exec to READY (the listeners serve), exec to the first classification answered (the
brain loaded: it loads after READY), idle RSS with the brain, and idle RSS of a daemon whose
brain is switched off (what the brain adds is the difference). ``restart``: how long the HTTP port
refuses connections between one daemon's exit and the next one's listeners, and how long until a
request on the first connection it takes is answered (the next one serving).
"""

import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from routerd.framing import FrameReader, encode_frame  # noqa: E402

PY = sys.executable
PING = encode_frame(b'{"type":"ping","v":1}')
CLASSIFY = encode_frame(b'{"type":"classify","v":1,"prompt":"what is a mutex"}')
# A daemon without its brain: the load fails at once (the daemon serves on, as with a broken file).
NO_BRAIN = ("import sys\nimport routerd.routing.brain as brain\n"
            "def off():\n    raise RuntimeError('switched off by the benchmark')\n"
            "brain.read_brain = off\nfrom routerd.main import main\nsys.exit(main())")


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def summary_us(samples: list[float]) -> dict[str, float]:
    return {"p50_us": round(pct(samples, 0.50) * 1e6, 1), "p99_us": round(pct(samples, 0.99) * 1e6, 1),
            "n": len(samples)}


class Daemon:
    def __init__(self, tmp: Path, *args: str, command: list[str] | None = None, listen: str = "127.0.0.1:0") -> None:
        self.socket = tmp / f"r{time.monotonic_ns()}.sock"
        notify_path = tmp / f"n{time.monotonic_ns()}"
        notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        notify.bind(str(notify_path))
        config = tmp / "bench.toml"  # HTTP on a free port: never collide with a routerd on 4141
        config.write_text(f'[http]\nlisten = "{listen}"\n')
        env = {**os.environ, "ROUTERD_SOCKET": str(self.socket), "XDG_STATE_HOME": str(tmp / "state"),
               "ROUTERD_CONFIG": str(config), "NOTIFY_SOCKET": str(notify_path)}
        self.env = env
        self.started = started = time.perf_counter()
        self.proc = subprocess.Popen(command or [PY, "-m", "routerd.main", *args], env=env,
                                     stdout=subprocess.PIPE if command else subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, text=True)
        self.notify = notify
        try:
            _wait_ready(self.proc, notify, 60.0)
        except BaseException:
            notify.close()
            raise
        self.start_s = time.perf_counter() - started

    def wait_settled(self, timeout_s: float = 30.0) -> None:
        """Until the daemon says ``STATUS=serving`` without ``loading``: the brain's load is over
        and the heap trimmed after it (a tree too old to say so: until ``timeout_s``)."""
        self.notify.settimeout(0.05)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                message = self.notify.recv(4096).decode()
            except TimeoutError:
                continue
            if "STATUS=serving" in message and "loading" not in message:
                return

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)
        self.notify.close()


def _wait_ready(proc: subprocess.Popen, notify: socket.socket, timeout_s: float,
                log: Path | None = None) -> None:
    """Until the daemon says READY=1; RuntimeError as soon as it exits or the time is up."""
    notify.settimeout(0.05)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if b"READY=1" in notify.recv(4096):
                return
        except TimeoutError:
            pass
        if proc.poll() is not None:
            why = log.read_text().strip().splitlines()[-1:] if log is not None else []
            raise RuntimeError(f"routerd {' '.join(proc.args[1:])} exited with code {proc.returncode} "
                               f"before it was ready{': ' + why[0] if why else ''}")
    proc.kill()
    raise RuntimeError(f"routerd was not ready within {timeout_s:.0f} s")


def _backend_missing(name: str) -> str | None:
    import importlib.util

    module = {"trio": "trio", "asyncio+uvloop": "uvloop"}.get(name)
    if module and importlib.util.find_spec(module) is None:
        extra = "trio" if module == "trio" else "fast"
        return f"{module} is not installed (pip install -e '.[{extra}]')"
    return None


def connect(path: Path) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(str(path))
    return sock


def roundtrip(sock: socket.socket, reader: FrameReader, frame: bytes = PING) -> bytes:
    sock.sendall(frame)
    while (reply := reader.next_frame()) is None:
        reader.feed(sock.recv(65536))
    return reply


def ping_persistent(path: Path, n: int) -> list[float]:
    sock, reader, samples = connect(path), FrameReader(), []
    for _ in range(200):
        roundtrip(sock, reader)
    for _ in range(n):
        t = time.perf_counter()
        roundtrip(sock, reader)
        samples.append(time.perf_counter() - t)
    sock.close()
    return samples


def ping_new_connection(path: Path, n: int) -> list[float]:
    samples = []
    for _ in range(n):
        t = time.perf_counter()
        sock = connect(path)
        roundtrip(sock, FrameReader())
        sock.close()
        samples.append(time.perf_counter() - t)
    return samples


def time_command(argv: list[str], env: dict[str, str], n: int) -> float:
    samples = []
    for _ in range(n):
        t = time.perf_counter()
        subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        samples.append(time.perf_counter() - t)
    return statistics.median(samples)


def bench_backends(tmp: Path, n: int) -> dict:
    results = {}
    for name, args in (("asyncio+uvloop", ["--backend", "asyncio"]),
                       ("asyncio", ["--backend", "asyncio", "--no-uvloop"]),
                       ("trio", ["--backend", "trio"])):
        if why := _backend_missing(name):
            print(f"{name}: skipped, {why}", file=sys.stderr)
            results[name] = {"skipped": why}
            continue
        daemon = Daemon(tmp, *args)
        try:
            persistent = ping_persistent(daemon.socket, n)
            fresh = ping_new_connection(daemon.socket, n // 3)
            results[name] = {"ping_persistent": summary_us(persistent),
                             "ping_new_connection": summary_us(fresh),
                             "start_ms": round(daemon.start_s * 1000, 1),
                             "idle_rss_mb": round(daemon.rss_mb(), 1)}
        finally:
            daemon.stop()
    return results


def bench_start(tmp: Path, n: int) -> dict:
    bare = time_command([PY, "-I", "-S", "-c", "pass"], dict(os.environ), n)
    plain = time_command([PY, "-c", "pass"], dict(os.environ), n)
    starts, brains, rss, bare_rss = [], [], [], []
    # A tree from before the brain loaded after READY cannot switch it off: no figure without it.
    switchable = subprocess.run([PY, "-c", "import routerd.routing.brain"], capture_output=True).returncode == 0
    for _ in range(n):
        daemon = Daemon(tmp)
        starts.append(daemon.start_s)
        sock = connect(daemon.socket)
        roundtrip(sock, FrameReader(), CLASSIFY)  # waits for the brain
        brains.append(time.perf_counter() - daemon.started)
        sock.close()
        daemon.wait_settled()  # read after the trim that follows the brain's load, not racing it
        rss.append(daemon.rss_mb())
        daemon.stop()
        if not switchable:
            continue
        daemon = Daemon(tmp, command=[PY, "-c", NO_BRAIN])
        sock = connect(daemon.socket)
        roundtrip(sock, FrameReader(), CLASSIFY)  # answered once the (failing) load is over
        sock.close()
        daemon.wait_settled()
        bare_rss.append(daemon.rss_mb())
        daemon.stop()
    start = statistics.median(starts)
    return {"exec_to_ready_ms": round(start * 1000, 1),
            "exec_to_first_classification_ms": round(statistics.median(brains) * 1000, 1),
            "bare_python_ms": round(bare * 1000, 1),
            "python_site_ms": round(plain * 1000, 1), "ratio_vs_python_site": round(start / plain, 1),
            "idle_rss_mb": round(statistics.median(rss), 1),
            "idle_rss_without_brain_mb": round(statistics.median(bare_rss), 1) if bare_rss else None, "n": n}


def bench_restart(tmp: Path, n: int) -> dict:
    """How long the HTTP port refuses connections when one daemon exits and the next starts (as
    ``routerctl restart`` does: the new one is exec'd once the old one has gone), and how long
    until a request made on the first connection it takes (``GET /health``) is answered: a
    connection accepted into the backlog waits there until the new daemon serves."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    gaps, answered = [], []
    daemon = Daemon(tmp, listen=f"127.0.0.1:{port}")
    for _ in range(n):
        daemon.stop()
        gone = time.perf_counter()
        threaded = _started_in_background(tmp, port)
        while (conn := _connected(port)) is None:
            time.sleep(0.002)
        gaps.append(time.perf_counter() - gone)
        conn.request("GET", "/health")
        conn.getresponse().read()
        conn.close()
        answered.append(time.perf_counter() - gone)
        daemon = threaded()
    daemon.stop()
    return {"refused_ms_median": round(statistics.median(gaps) * 1000, 1),
            "refused_ms_max": round(max(gaps) * 1000, 1),
            "first_answer_ms_median": round(statistics.median(answered) * 1000, 1), "n": n}


def _started_in_background(tmp: Path, port: int):
    import threading

    box: list[Daemon] = []
    thread = threading.Thread(target=lambda: box.append(Daemon(tmp, listen=f"127.0.0.1:{port}")))
    thread.start()

    def join() -> Daemon:
        thread.join()
        return box[0]
    return join


def _connected(port: int) -> http.client.HTTPConnection | None:
    """A connection to ``port``, or None while it is refused."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.connect()
    except OSError:
        conn.close()
        return None
    return conn


def bench_routerctl(tmp: Path, n: int) -> dict:
    daemon = Daemon(tmp)
    try:
        ctl = str(Path(PY).parent / "routerctl")
        status = time_command([ctl, "status"], daemon.env, n)
        helps = time_command([ctl, "--help"], daemon.env, n)
        plain = time_command([PY, "-c", "pass"], daemon.env, n)
    finally:
        daemon.stop()
    return {"status_ms": round(status * 1000, 1), "help_ms": round(helps * 1000, 1),
            "python_site_ms": round(plain * 1000, 1)}


def bench_store_load(tmp: Path, seconds: float) -> dict:
    sock_path = tmp / "load.sock"
    env = {**os.environ, "XDG_STATE_HOME": str(tmp / "loadstate")}
    notify_path = tmp / "load-notify"
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(notify_path))
    with open(tmp / "load.log", "w") as log:  # a file, not a pipe: nobody reads it while it runs
        proc = subprocess.Popen([PY, str(ROOT / "bench" / "_store_load.py"), str(sock_path), str(seconds)],
                                env={**env, "NOTIFY_SOCKET": str(notify_path)}, stdout=subprocess.PIPE,
                                stderr=log, text=True)
    _wait_ready(proc, notify, 60.0, tmp / "load.log")
    t0 = time.perf_counter()
    sock, reader, samples = connect(sock_path), FrameReader(), []
    while time.perf_counter() - t0 < seconds - 0.3:
        t = time.perf_counter()
        roundtrip(sock, reader)
        samples.append(time.perf_counter() - t)
        time.sleep(0.0005)
    sock.close()
    written = int(proc.stdout.readline())
    elapsed = time.perf_counter() - t0
    proc.wait(timeout=30)
    proc.stdout.close()
    notify.close()
    return {"rows_written": written, "rows_per_s": round(written / elapsed),
            "ping_under_load": summary_us(samples)}


def main() -> None:
    quick = "--quick" in sys.argv
    only = sys.argv[sys.argv.index("--only") + 1].split(",") if "--only" in sys.argv else None
    n = 1000 if quick else 5000
    benches = {
        "backends": lambda tmp: bench_backends(tmp, n),
        "start": lambda tmp: bench_start(tmp, 3 if quick else 7),
        "restart": lambda tmp: bench_restart(tmp, 3 if quick else 7),
        "routerctl": lambda tmp: bench_routerctl(tmp, 5 if quick else 11),
        "store_load": lambda tmp: bench_store_load(tmp, 3.0 if quick else 6.0),
    }
    with tempfile.TemporaryDirectory(prefix="bench-socket-") as tmpdir:
        results = {name: bench(Path(tmpdir)) for name, bench in benches.items() if only is None or name in only}
    print(json.dumps(results, indent=2))
    out = ROOT / "bench" / "results" / "bench_socket.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
