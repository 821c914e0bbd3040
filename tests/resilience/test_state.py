"""The resilience state outlives reloads and, for long limit windows, restarts."""

import time
from pathlib import Path

import anyio
import httpx
import pytest

from routerd.daemon import DaemonOptions, run_daemon

pytestmark = pytest.mark.anyio

CHAT = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}


async def _post(app, body: dict) -> httpx.Response:
    async with httpx.AsyncClient(timeout=10) as client:
        return await client.post(f"http://{app.http_address}/v1/chat/completions", json=body)


@pytest.mark.resilience_config("[resilience]\nlocal_last_resort = false\n[resilience.breaker]\nfailures = 1\n"
                               "cooldown_s = 600\n")
async def test_a_reload_keeps_open_breakers_and_bucket_counts(daemon, fakes, config_file: Path):
    """A reload that changes limits and thresholds keeps the breaker open and the bucket's count."""
    text = config_file.read_text()
    config_file.write_text('[[limits]]\nprovider = "backup"\nwindow = "day"\nrequests = 10\n' + text)
    assert (await daemon.reload("test")).ok
    fakes["openai"].fail(500)
    assert (await _post(daemon, CHAT)).headers["x-routerd-provider"] == "backup"
    breaker = daemon.resilience.health.breaker("primary")
    assert breaker.state == "open"
    config_file.write_text('[[limits]]\nprovider = "backup"\nwindow = "day"\nrequests = 20\n'
                           + text.replace("cooldown_s = 600", "cooldown_s = 900"))
    result = await daemon.reload("test")
    assert result.ok, result.message
    assert daemon.resilience.health.breaker("primary") is breaker and breaker.state == "open"
    [bucket] = [b for b in daemon.resilience.limiter.statistics(time.time()) if b.name == "backup/requests/day"]
    assert (bucket.used, bucket.limit) == (1, 20)


@pytest.mark.resilience_config('[[limits]]\nprovider = "backup"\nwindow = "day"\nrequests = 3\n')
async def test_a_day_window_survives_a_restart(daemon_env: Path, config_file: Path, fakes, anyio_backend: str,
                                               no_blocking):
    """Two calls counted in a day's window before a stop are still counted after the start."""
    options = DaemonOptions(config_path=config_file, socket_path=daemon_env / "routerd.sock",
                            backend=anyio_backend, watch_config=False, handle_signals=False)
    fakes["openai"].fail(500)
    fakes["openai"].fail(500)
    for first in (True, False):
        async with anyio.create_task_group() as tg:
            app = await tg.start(run_daemon, options)
            if first:
                for _ in range(2):
                    assert (await _post(app, CHAT)).headers["x-routerd-provider"] == "backup"
            [bucket] = [b for b in app.resilience.limiter.statistics(time.time()) if b.name == "backup/requests/day"]
            assert bucket.used == 2
            app.request_stop()
    assert len(fakes["backup"].received) == 2
