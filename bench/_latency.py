"""classify + policy latency for one prompt, as the daemon runs it, and an earlier checkout's
`routerd` to measure: shared by `bench/eval_classifier.py` (this tree's brain beside an earlier
one) and `bench/latency_ab.py` (two trees alternating).

Imports `routerd` only when called, from whatever tree is first on `sys.path`, so a subprocess can
measure an older checkout's brain with the same code.
"""

from __future__ import annotations

import gc
import io
import statistics
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

LATENCY_ROUNDS = 3000
LATENCY_REPEATS = 5
_PARA = ("We run a payments service on Postgres and Redis; under load the p99 latency climbs and some "
         "workers time out while holding a lock. ")
PROMPT_4KB = (_PARA * 40)[:3000] + "\n```python\n" + ("x = compute(a, b)  # step\n" * 40)[:1000] + "```\nwhy?"
# The same ask outside ASCII, about 1 KB each: accents, another alphabet, a script without spaces
# (each takes its own path through the tokeniser and the cue tables); Chinese, and Korean (Hangul
# between spaces).
OTHER_LANGUAGES = {
    "de": ("Wir betreiben einen Zahlungsdienst auf Postgres und Redis. Unter Last steigt die p99-Latenz, und "
           "einige Worker laufen in Zeitüberschreitungen, während sie eine Sperre halten. ") * 6,
    "ru": ("Мы запускаем платёжный сервис на Postgres и Redis. Под нагрузкой растёт задержка p99, и некоторые "
           "воркеры падают по таймауту, удерживая блокировку. ") * 4,
    "ja": ("PostgresとRedisで決済サービスを運用しています。負荷がかかるとp99レイテンシが上がり、"
           "ロックを保持したままタイムアウトするワーカーがあります。原因と対策を教えてください。") * 5,
    "zh": ("我们在Postgres和Redis上运行支付服务。负载升高时p99延迟上升，一些工作进程在持有锁的时候超时。"
           "请告诉我原因和解决办法。") * 6,
    "ko": ("PostgreSQL과 Redis에서 결제 서비스를 운영하고 있습니다. 부하가 걸리면 p99 지연 시간이 올라가고, "
           "락을 잡은 채로 타임아웃되는 워커가 있습니다. 원인과 대책을 알려 주세요. ") * 5,
}


def prompt_4kb(lang: str) -> str:
    """The 4 KB prompt in `lang` ("en", or one of `OTHER_LANGUAGES`: its ask repeated to ~4 KB)."""
    if lang == "en":
        return PROMPT_4KB
    text = OTHER_LANGUAGES[lang] * 5
    return text.encode()[:4096].decode("utf-8", "ignore")


def latency(prompt: str = PROMPT_4KB, repeats: int = LATENCY_REPEATS, rounds: int = LATENCY_ROUNDS) -> dict:
    """classify + policy (as `route` without --explain) for a prompt (4 KB), over `repeats` runs.

    Per run: p50 and p99 of wall time and of the thread's CPU time per call (CPU time leaves out the
    time another process held the core, which on a shared 2-core machine sets the wall p99). The
    figures are the medians over the runs, with their ranges.

    `floor`: the machine's own tail. After each call a fixed loop of plain Python arithmetic, sized
    to the call's median, runs in the same process and window; its p99 over its p50 is what this
    machine does to any fixed ~0.2 ms of interpreted work, so a call's p99 near `floor_p99_us` is the
    machine's, not the brain's (on this 2-core VM the loop alone read p99 1.35-1.85x its p50).
    """
    from routerd.catalogue.builtin import load_catalogue
    from routerd.classify.classifier import classify
    from routerd.policy import PolicyInput, decide

    catalogue = load_catalogue()
    messages = [{"role": "user", "content": prompt}]
    enabled = frozenset({"anthropic", "openai", "ollama"})
    # As in the daemon (routerd/main.py): what was imported before serving is frozen out of the collector.
    gc.collect()
    gc.freeze()
    loops = _loops_like(lambda: decide(PolicyInput(classification=classify(messages, explain=False), catalogue=catalogue,
                                                   enabled_providers=enabled, explain=False)))
    runs: dict[str, list[tuple[float, float]]] = {"wall": [], "cpu": [], "classify_wall": [], "floor": []}
    for _ in range(repeats):
        wall, cpu, alone, floor = [], [], [], []
        for _ in range(rounds):
            start_cpu = time.thread_time_ns()
            start = time.perf_counter_ns()
            result = classify(messages, explain=False)
            middle = time.perf_counter_ns()
            decide(PolicyInput(classification=result, catalogue=catalogue, enabled_providers=enabled, explain=False))
            end = time.perf_counter_ns()
            cpu.append((time.thread_time_ns() - start_cpu) / 1000)
            wall.append((end - start) / 1000)
            alone.append((middle - start) / 1000)
            start = time.perf_counter_ns()
            _fixed_work(loops)
            floor.append((time.perf_counter_ns() - start) / 1000)
        runs["wall"].append(_p50_p99(wall))
        runs["floor"].append(_p50_p99(floor))
        runs["cpu"].append(_p50_p99(cpu))
        runs["classify_wall"].append(_p50_p99(alone))
    out: dict = {"prompt_bytes": len(prompt.encode()), "rounds": rounds, "repeats": repeats}
    for name, pairs in runs.items():
        for index, figure in enumerate(("p50", "p99")):
            values = sorted(pair[index] for pair in pairs)
            out[f"{name}_{figure}_us"] = round(statistics.median(values), 1)
            out[f"{name}_{figure}_range_us"] = [values[0], values[-1]]
    return out


@contextmanager
def routerd_at(root: Path, ref: str) -> Iterator[Path]:
    """A temporary directory holding the `routerd` package of `ref` in the repository at `root`
    (`git archive`), for a subprocess to put first on `sys.path`; removed on exit."""
    archive = subprocess.run(["git", "-C", str(root), "archive", ref, "routerd"], check=True,
                             capture_output=True).stdout
    with tempfile.TemporaryDirectory() as tmp:
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(tmp, filter="data")
        yield Path(tmp)


def _fixed_work(loops: int) -> int:
    """The same interpreted work every time: `loops` additions, no allocation, no I/O."""
    total = 0
    for i in range(loops):
        total += i & 7
    return total


def _loops_like(call: Callable[[], object], samples: int = 301) -> int:
    """How many loops of `_fixed_work` take as long as `call`'s median (both timed `samples` times)."""
    def median_us(run: Callable[[], object]) -> float:
        times = []
        for _ in range(samples):
            start = time.perf_counter_ns()
            run()
            times.append((time.perf_counter_ns() - start) / 1000)
        return statistics.median(times)

    target = median_us(call)
    probe = 10_000
    return max(1, round(probe * target / median_us(lambda: _fixed_work(probe))))


def _p50_p99(samples: list[float]) -> tuple[float, float]:
    samples.sort()
    return round(statistics.median(samples), 1), round(samples[int(len(samples) * 0.99) - 1], 1)
