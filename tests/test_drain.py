"""Draining: a stop lets in-flight requests finish (within the grace) and takes no new ones (a new
control connection is told routerd is stopping)."""

import os
import sys

import anyio
import msgspec
import pytest

from routerd.daemon import DaemonOptions, run_daemon
from routerd.handlers import table
from routerd.protocol import Usage, UsageReply, UsageReport
from tests.support import connect

pytestmark = pytest.mark.anyio

FINISHED = UsageReport(period="today", since=None, start=0.0, group_by="model", groups=[], total={"calls": 7})


@pytest.fixture
def slow_usage(monkeypatch):
    """Make `usage` requests wait for a test-controlled event; return (started, release)."""
    started, release = anyio.Event(), anyio.Event()

    async def handle_slow(app, request):
        started.set()
        await release.wait()
        return UsageReply(kind="usage", data=FINISHED)

    monkeypatch.setitem(table.HANDLERS, Usage, handle_slow)
    return started, release


async def test_stop_waits_for_in_flight_requests(daemon_env, config_file, slow_usage, anyio_backend):
    """A request in flight when stop is asked still gets its reply; a new connection gets a
    shutting_down error, and `routerctl ping` says routerd is stopping (not that it is not running)."""
    started, release = slow_usage
    options = DaemonOptions(config_path=config_file, socket_path=daemon_env / "routerd.sock",
                            backend=anyio_backend, watch_config=False, handle_signals=False)
    replies = []
    async with anyio.create_task_group() as tg:
        app = await tg.start(run_daemon, options)

        async def slow_client():
            async with connect(app.socket_path) as client:
                replies.append(await client.call({"type": "usage"}))

        tg.start_soon(slow_client)
        await started.wait()
        app.request_stop()
        with anyio.fail_after(5):
            while app.draining is False:
                await anyio.wait_all_tasks_blocked()
        async with connect(app.socket_path) as client:
            refused = await client.call({"type": "ping"})
        assert (refused["code"], refused["retryable"]) == ("shutting_down", True)
        env = {**os.environ, "ROUTERD_SOCKET": str(app.socket_path)}
        ping = await anyio.run_process([sys.executable, "-m", "routerctl.main", "ping"], env=env, check=False)
        assert ping.returncode == 1 and ping.stderr.decode().startswith("routerctl: routerd is stopping")
        release.set()
    assert replies == [{"type": "data", "kind": "usage", "data": msgspec.to_builtins(FINISHED)}]


async def test_drain_grace_is_bounded(daemon_env, slow_usage, anyio_backend):
    """A request that outlives daemon.drain_timeout_s is cancelled and the daemon still stops."""
    config = daemon_env / "config.toml"
    config.write_text("[daemon]\ndrain_timeout_s = 0.05\n[http]\nenabled = false\n")
    started, _ = slow_usage
    options = DaemonOptions(config_path=config, socket_path=daemon_env / "routerd.sock",
                            backend=anyio_backend, watch_config=False, handle_signals=False)
    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            app = await tg.start(run_daemon, options)

            async def stuck_client():
                async with connect(app.socket_path) as client:
                    assert await client.stream_call_or_none({"type": "usage"}) is None

            tg.start_soon(stuck_client)
            await started.wait()
            app.request_stop()
