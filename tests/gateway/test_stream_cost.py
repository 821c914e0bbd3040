"""What a hostile upstream costs: one event as big as routerd reads (16 MiB), sent in 1 KiB
chunks, costs every part that reads stream bytes time linear in its size, as a 1 MiB event
scaled up does; each chunk used to copy and search all that came before it (minutes of CPU)."""

import math
import time
from collections.abc import Callable

import pytest

from routerd.dialects.registry import get
from routerd.dialects.sse import EventCutter, SSEDecoder
from routerd.gateway.holdback import Holdback
from routerd.gateway.usage import MAX_EVENT_BYTES, UsageMeter
from routerd.redact import Redactor

CHUNK = 1024
BIG = MAX_EVENT_BYTES - 4 * CHUNK  # as big as the meter lets an event grow
SMALL = 1 << 20
# A linear part costs BIG / SMALL (16) times the small event's CPU; one that copies what came
# before with each chunk costs that squared (256 times). Three times linear leaves room for noise.
SLACK = 3
# Below this much CPU time a measurement is mostly noise: no budget is tighter.
FLOOR_S = 0.5


def _event(size: int, lines: bool) -> list[bytes]:
    """One event of about ``size`` bytes in CHUNK-byte chunks: one data line, or a line per chunk."""
    body = b"data: " + b"x" * (CHUNK - 7) + b"\n" if lines else b"x" * CHUNK
    return [b"" if lines else b"data: ", *[body] * (size // CHUNK - 1), b"\n\n"]


def _feeders() -> dict[str, Callable[[], Callable[[bytes], object]]]:
    redactor = Redactor(frozenset({"sk-test-secret-0123456789abcdef"}))
    return {
        "SSEDecoder": lambda: SSEDecoder().feed,
        "EventCutter": lambda: EventCutter().feed,
        "UsageMeter": lambda: UsageMeter("openai_chat").feed_stream,
        "Holdback": lambda: Holdback(redactor, get("openai_chat")).feed,
    }


def _cpu_s(feed: Callable[[bytes], object], chunks: list[bytes], budget_s: float = math.inf) -> float:
    """The CPU time ``feed`` takes for ``chunks``; infinite once it passes ``budget_s``."""
    start = time.process_time()
    for i, chunk in enumerate(chunks):
        feed(chunk)
        if i % 256 == 0 and time.process_time() - start > budget_s:
            return math.inf
    return time.process_time() - start


@pytest.mark.parametrize("lines", [False, True], ids=["one line", "a line per chunk"])
@pytest.mark.parametrize("part", list(_feeders()))
def test_a_16_mib_event_in_1_kib_chunks_costs_linear_time(part, lines):
    """A 16 MiB event in 1 KiB chunks costs at most SLACK times what a 1 MiB event costs, scaled
    by size: linear, not quadratic."""
    make = _feeders()[part]
    small = min(_cpu_s(make(), _event(SMALL, lines)) for _ in range(3))
    budget_s = max(SLACK * small * BIG / SMALL, FLOOR_S)
    spent = _cpu_s(make(), _event(BIG, lines), budget_s)
    assert spent <= budget_s, f"{part}: over {budget_s:.2f} s of CPU (1 MiB took {small * 1000:.1f} ms)"
