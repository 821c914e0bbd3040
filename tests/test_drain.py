"""Draining: a stop lets in-flight requests finish (within the grace) and takes no new ones, but
answers them: the control socket says routerd is stopping (status and stop still served), HTTP
clients get a retryable 503 in their own dialect; what the end of the drain cuts gets a last word."""

import os
import sys

import anthropic
import apsw
import anyio
import httpx
import msgspec
import openai
import pytest

from routerd.daemon import DaemonOptions, run_daemon
from routerd.handlers import table
from routerd.protocol.reports import UsageReply, UsageReport
from routerd.protocol.requests import Usage
from tests.fakes.upstream import FakeUpstream
from tests.support import connect

pytestmark = [
    pytest.mark.anyio,
    # openai's AsyncStream breaks out of its SSE generator at [DONE] without closing it; trio warns
    # when such a generator is collected. That is the SDK's, not routerd's.
    pytest.mark.filterwarnings("ignore:Async generator:ResourceWarning"),
]

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
    """A request in flight when stop is asked still gets its reply; meanwhile status says draining,
    a second stop says a stop was asked already, anything else gets a shutting_down error, and
    `routerctl ping` says routerd is stopping (not that it is not running)."""
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
        async with connect(app.socket_path) as client:
            assert (await client.call({"type": "status"}))["draining"] is True
        async with connect(app.socket_path) as client:
            again = await client.call({"type": "stop"})
        assert (again["type"], again["pid"], again["already"]) == ("stopping", os.getpid(), True)
        env = {**os.environ, "ROUTERD_SOCKET": str(app.socket_path)}
        ping = await anyio.run_process([sys.executable, "-m", "routerctl.main", "ping"], env=env, check=False)
        assert ping.returncode == 1 and ping.stderr.decode().startswith("routerctl: routerd is stopping")
        release.set()
    assert replies == [{"type": "data", "kind": "usage", "data": msgspec.to_builtins(FINISHED)}]


async def test_drain_grace_is_bounded(daemon_env, slow_usage, anyio_backend):
    """A request that outlives daemon.drain_timeout_s is cancelled, its client told so with a
    shutting_down error, and the daemon still stops."""
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
                    cut = await client.stream_call_or_none({"type": "usage"})
                assert (cut["code"], cut["retryable"]) == ("shutting_down", True)
                assert cut["message"].startswith("routerd stopped before this request was done")

            tg.start_soon(stuck_client)
            await started.wait()
            app.request_stop()


@pytest.fixture
async def upstream(anyio_backend):
    """A fake provider holding its streams until released (``hold()``), serving gpt-* and claude-*."""
    async with anyio.create_task_group() as tg:
        fake = await tg.start(FakeUpstream("Hello from the provider.").serve)
        yield fake
        tg.cancel_scope.cancel()


def _gateway_options(daemon_env, upstream, backend: str, drain_timeout_s: float = 30) -> DaemonOptions:
    config = daemon_env / "config.toml"
    config.write_text(
        f'[http]\nlisten = "127.0.0.1:0"\n[daemon]\ndrain_timeout_s = {drain_timeout_s}\n'
        f'[providers.openai]\nkind = "openai"\nbase_url = "{upstream.url}/v1"\napi_key = "sk-test-1"\n'
        f'models = ["gpt-*"]\n[providers.anthropic]\nkind = "anthropic"\nbase_url = "{upstream.url}"\n'
        f'api_key = "sk-test-2"\nmodels = ["claude-*"]\n[providers.gemini]\nkind = "gemini"\n'
        f'base_url = "{upstream.url}"\napi_key = "sk-test-3"\nmodels = ["gemini-*"]\n')
    return DaemonOptions(config_path=config, socket_path=daemon_env / "routerd.sock",
                         backend=backend, watch_config=False, handle_signals=False)


async def _drain_with_a_stream_in_flight(tg, options, upstream):
    """Start routerd, hold one OpenAI stream in flight, ask for a stop; the app and the stream's text."""
    app = await tg.start(run_daemon, options)
    upstream.hold()
    text = []

    async def stream_in_flight():
        async with openai.AsyncOpenAI(base_url=f"http://{app.http_address}/v1", api_key="k",
                                      max_retries=0) as client:
            stream = await client.chat.completions.create(
                model="gpt-4o", messages=[{"role": "user", "content": "hi"}], stream=True)
            async with stream:
                text.extend([c.choices[0].delta.content or "" async for c in stream if c.choices])

    tg.start_soon(stream_in_flight)
    await upstream.holding.wait()
    app.request_stop()
    with anyio.fail_after(5):
        while not app.draining:
            await anyio.wait_all_tasks_blocked()
    return app, text


async def test_http_answers_503_in_the_clients_dialect_while_draining(daemon_env, upstream, anyio_backend):
    """While a stream drains, new HTTP requests get a retryable 503 with Retry-After and
    Connection: close in the client's own error shape (real openai and anthropic SDKs), /health
    says draining with a 503, and the stream in flight still finishes."""
    options = _gateway_options(daemon_env, upstream, anyio_backend)
    async with anyio.create_task_group() as tg:
        app, text = await _drain_with_a_stream_in_flight(tg, options, upstream)
        base = f"http://{app.http_address}"
        async with openai.AsyncOpenAI(base_url=base + "/v1", api_key="k", max_retries=0) as client:
            with pytest.raises(openai.InternalServerError) as refused:
                await client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
        assert refused.value.status_code == 503 and refused.value.code == "shutting_down"
        assert refused.value.response.headers["retry-after"] == "1"
        assert refused.value.response.headers["connection"] == "close"
        async with anthropic.AsyncAnthropic(base_url=base, api_key="k", max_retries=0) as claude:
            with pytest.raises(anthropic.APIStatusError) as overloaded:
                await claude.messages.create(model="claude-sonnet-4-5", max_tokens=10,
                                             messages=[{"role": "user", "content": "hi"}])
        assert overloaded.value.status_code == 503
        assert overloaded.value.body["error"]["type"] == "overloaded_error"
        assert overloaded.value.response.headers["retry-after"] == "1"
        async with httpx.AsyncClient(base_url=base) as http:
            gemini = await http.post("/v1beta/models/gemini-2.5-flash:generateContent",
                                     json={"contents": [{"parts": [{"text": "hi"}]}]})
            health = await http.get("/health")
        assert (gemini.status_code, gemini.json()["error"]["status"]) == (503, "UNAVAILABLE")
        assert (health.status_code, health.json()["status"], health.headers["retry-after"]) == (503, "draining", "1")
        assert app.inflight.count == 1, "refused requests are not in flight: they cannot hold the drain up"
        upstream.release.set()
    assert "".join(text) == "Hello from the provider."
    assert len(upstream.received) == 1, "nothing refused reached the provider"


@pytest.mark.parametrize("ending", ["drain_timeout_s", "second signal"])
async def test_requests_the_drain_cuts_get_a_last_word(daemon_env, upstream, anyio_backend, ending):
    """When drain_timeout_s runs out or a second signal ends the drain, a stream already flowing
    ends with an error event in its dialect (the openai and anthropic SDKs raise it) and a request
    not yet answered gets a 503 in its dialect (anthropic's overloaded_error), instead of a dropped
    connection; each call is recorded once, as ``stopped`` by routerd (not as a client that left),
    with the usage its stream had reported."""
    options = _gateway_options(daemon_env, upstream, anyio_backend,
                               drain_timeout_s=0.2 if ending == "drain_timeout_s" else 30)
    errors = {}
    async with anyio.create_task_group() as tg:
        app = await tg.start(run_daemon, options)
        base = f"http://{app.http_address}"
        upstream.hold()

        async def openai_stream():
            async with openai.AsyncOpenAI(base_url=base + "/v1", api_key="k", max_retries=0) as client:
                stream = await client.chat.completions.create(
                    model="gpt-4o", messages=[{"role": "user", "content": "hi"}], stream=True)
                with pytest.raises(openai.APIError) as cut:
                    async with stream:
                        async for _ in stream:
                            pass
                errors["openai"] = cut.value

        async def anthropic_stream(task_status=anyio.TASK_STATUS_IGNORED):
            async with anthropic.AsyncAnthropic(base_url=base, api_key="k", max_retries=0) as client:
                stream = await client.messages.create(model="claude-sonnet-4-5", max_tokens=10, stream=True,
                                                      messages=[{"role": "user", "content": "hi"}])
                flowing = False
                with pytest.raises(anthropic.APIStatusError) as cut:
                    async with stream:
                        async for _ in stream:
                            if not flowing:  # its first event is in: routerd has begun the answer
                                flowing = True
                                task_status.started()
                errors["anthropic stream"] = cut.value

        async def anthropic_message():
            async with anthropic.AsyncAnthropic(base_url=base, api_key="k", max_retries=0) as client:
                with pytest.raises(anthropic.APIStatusError) as cut:
                    await client.messages.create(model="claude-sonnet-4-5", max_tokens=10,
                                                 messages=[{"role": "user", "content": "hi"}])
                errors["anthropic"] = cut.value

        tg.start_soon(openai_stream)
        await upstream.holding.wait()
        upstream.hold()
        await tg.start(anthropic_stream)
        upstream.hang()
        tg.start_soon(anthropic_message)
        await upstream.stalled.wait()
        app.request_stop()
        if ending == "second signal":
            with anyio.fail_after(5):
                while not app.draining:
                    await anyio.wait_all_tasks_blocked()
            app.end_drain()
    assert "routerd stopped before this answer was complete" in errors["openai"].message
    assert errors["openai"].body["code"] == "shutting_down"
    assert errors["anthropic stream"].body["error"]["type"] == "overloaded_error"  # Claude Code retries it
    assert errors["anthropic"].status_code == 503
    assert errors["anthropic"].body["error"]["type"] == "overloaded_error"
    assert errors["anthropic"].response.headers["retry-after"] == "1"
    state = apsw.Connection(str(app.state_path))
    rows = list(state.execute("SELECT provider, outcome, error, input_tokens > 0 FROM calls ORDER BY 1, 4"))
    stopped = "routerd stopped before the answer finished"
    assert rows == [("anthropic", "stopped", stopped, 0), ("anthropic", "stopped", stopped, 1),
                    ("openai", "stopped", stopped, 1)]
