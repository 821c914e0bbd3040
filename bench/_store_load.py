"""Helper for bench_socket.py: a daemon whose event loop also records decision rows at a set rate,
as the routing path does, so the bench can measure ping latency while the store is under load."""

import sys
import time
import uuid
from pathlib import Path

import anyio

from routerd.daemon import DaemonOptions, run_daemon

ROWS_PER_TICK = 100
TICK_S = 0.005  # 100 rows / 5 ms = 20,000 rows/s offered


async def main(socket_path: str, seconds: float) -> None:
    options = DaemonOptions(config_path=None, socket_path=Path(socket_path), backend="asyncio",
                            watch_config=False, http=False)
    async with anyio.create_task_group() as tg:
        app = await tg.start(run_daemon, options)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            now = time.time()
            for _ in range(ROWS_PER_TICK):
                app.store.record("decisions", {
                    "id": uuid.uuid4().hex, "ts": now, "source": "bench", "prompt_hash": "0" * 64,
                    "prompt_len": 4096, "tier": "moderate", "task_type": "code", "confidence": 0.8,
                    "profile": "balanced", "model": "claude-sonnet-4-5", "provider": "anthropic",
                    "detail": '{"candidates": ["a", "b", "c"]}'})
            await anyio.sleep(TICK_S)
        await app.store.flush()
        print(app.store.statistics().written, flush=True)
        app.request_stop()


if __name__ == "__main__":
    import importlib.util

    # uvloop is the fast extra: without it (the README's plain install) the stock loop serves.
    uvloop = importlib.util.find_spec("uvloop") is not None
    anyio.run(main, sys.argv[1], float(sys.argv[2]), backend_options={"use_uvloop": uvloop})
