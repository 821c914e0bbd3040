"""The brain loads while the daemon serves: what needs no classifier is answered at once, what does
waits for it (bounded), and a model file that cannot be read fails those requests with the reason."""

import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import httpx
import pytest

from routerd.classify.model import read_model
from routerd.errors import BrainUnavailable
from routerd.routing import brain as brain_module
from tests.fakes.upstream import FakeUpstream
from tests.support import connect

pytestmark = pytest.mark.anyio

CHAT = {"messages": [{"role": "user", "content": "what is the capital of Peru"}]}


@pytest.fixture
async def fakes(anyio_backend: str) -> AsyncIterator[dict[str, FakeUpstream]]:
    async with anyio.create_task_group() as tg:
        found = {"openai": await tg.start(FakeUpstream("Hello from openai.").serve)}
        yield found
        tg.cancel_scope.cancel()


@pytest.fixture
def config_file(daemon_env: Path, fakes: dict[str, FakeUpstream]) -> Path:
    path = daemon_env / "config.toml"
    path.write_text(f'[http]\nlisten = "127.0.0.1:0"\n[providers.openai]\nkind = "openai"\n'
                    f'base_url = "{fakes["openai"].url}/v1"\napi_key = "sk-openai-secret-1234"\nmodels = ["gpt-*"]\n')
    return path


def asked_for(app) -> anyio.Event:
    """An event set when a request first asks the brain for its files."""
    asked, ready = anyio.Event(), app.brain.ready

    async def noting():
        asked.set()
        return await ready()

    app.brain.ready = noting
    return asked


@asynccontextmanager
async def waiting_auto(app, http: httpx.AsyncClient) -> AsyncIterator[list[httpx.Response]]:
    """An auto request sent and waiting for the brain while the body runs; its reply is in the
    list once the block ends."""
    asked, replies = asked_for(app), []
    async with anyio.create_task_group() as tg:
        async def auto() -> None:
            replies.append(await http.post("/v1/chat/completions", json={**CHAT, "model": "auto"}))
        tg.start_soon(auto)
        await asked.wait()
        yield replies


async def test_named_models_health_and_ping_are_served_while_the_brain_loads(held_brain, daemon, fakes):
    """Before the brain is loaded: /health says brain loading, a named model is served, ping and
    status answer; an auto request waits for the brain and then succeeds."""
    try:
        base = f"http://{daemon.http_address}"
        async with httpx.AsyncClient(base_url=base) as http, connect(daemon.socket_path) as sock:
            health = await http.get("/health")
            assert health.status_code == 200 and health.json()["brain"] == "loading"
            named = await http.post("/v1/chat/completions", json={**CHAT, "model": "gpt-4o"})
            assert named.status_code == 200 and "Hello from openai." in named.text
            assert (await sock.call({"type": "ping"}))["type"] == "pong"
            status = await sock.call({"type": "status"})
            assert status["parts"]["brain"]["state"] == "loading"
            async with waiting_auto(daemon, http) as replies:
                assert not replies and daemon.brain.state == "loading"
                held_brain.set()
            assert replies[0].status_code == 200, replies[0].text
            assert (await http.get("/health")).json()["brain"] == "ready"
    finally:
        held_brain.set()


async def test_a_brain_still_loading_after_the_wait_is_a_retryable_503(held_brain, daemon, monkeypatch):
    """auto while the brain is still loading after BRAIN_WAIT_S: a 503 saying so, not a hang."""
    monkeypatch.setattr(brain_module, "BRAIN_WAIT_S", 0.05)
    try:
        async with httpx.AsyncClient(base_url=f"http://{daemon.http_address}") as http:
            reply = await http.post("/v1/chat/completions", json={**CHAT, "model": "auto"})
        assert reply.status_code == 503
        assert "the classifier is still loading after 0.05 s" in reply.json()["error"]["message"]
    finally:
        held_brain.set()


@pytest.fixture
def broken_brain(monkeypatch: pytest.MonkeyPatch) -> None:
    """The shipped model file replaced by bytes that are no model file."""
    monkeypatch.setattr(brain_module, "read_brain", lambda: (read_model(b"not a zip file"),))


async def test_a_broken_model_file_fails_what_needs_it_and_serves_the_rest(broken_brain, daemon):
    """A model file that cannot be read: auto and classify fail at once naming why, /health is
    degraded with brain failed, and a named model is still served."""
    with pytest.raises(BrainUnavailable):
        await daemon.brain.ready()
    async with httpx.AsyncClient(base_url=f"http://{daemon.http_address}") as http, \
            connect(daemon.socket_path) as sock:
        health = (await http.get("/health")).json()
        assert (health["status"], health["brain"]) == ("degraded", "failed")
        auto = await http.post("/v1/chat/completions", json={**CHAT, "model": "auto"})
        assert auto.status_code == 503
        assert auto.json()["error"]["message"] == ("the classifier's model could not be loaded (BadZipFile: File "
                                                   "is not a zip file); reinstall routerd")
        named = await http.post("/v1/chat/completions", json={**CHAT, "model": "gpt-4o"})
        assert named.status_code == 200
        classified = await sock.call({"type": "classify", "prompt": "what is a mutex"})
        assert (classified["type"], classified["code"], classified["retryable"]) == ("error", "brain_unavailable",
                                                                                      False)


@pytest.fixture
def supervisor(daemon_env: Path, monkeypatch: pytest.MonkeyPatch, no_blocking) -> Iterator[socket.socket]:
    """A notify socket standing in for systemd's (NOTIFY_SOCKET), for the daemon to report to."""
    for call in ("socket.socket.connect", "socket.socket.sendall"):  # sd_notify's: one local datagram
        no_blocking.functions[call].deactivate()
    path = daemon_env / "notify"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(path))
        sock.setblocking(False)
        monkeypatch.setenv("NOTIFY_SOCKET", str(path))
        yield sock


async def test_a_brain_loaded_during_the_drain_says_nothing_after_stopping(supervisor, held_brain, daemon):
    """A stop while an auto request waits for the brain: the request is served once the brain is
    in, and STOPPING=1 stays the last thing the supervisor hears (no STATUS after it)."""
    try:
        async with httpx.AsyncClient(base_url=f"http://{daemon.http_address}") as http:
            async with waiting_auto(daemon, http) as replies:
                daemon.request_stop()
                heard = []
                while "STOPPING=1" not in heard:
                    await anyio.wait_readable(supervisor)
                    heard.append(supervisor.recv(4096).decode())
                held_brain.set()
            assert replies[0].status_code == 200, replies[0].text
        await daemon.inflight.wait_idle()
        await daemon.brain.ready()
        with pytest.raises(BlockingIOError):
            supervisor.recv(4096)
    finally:
        held_brain.set()
