"""Every upstream attempt accounted for: connection slots come back whatever happens, a request
is never sent twice behind the client's back, each attempt the provider saw has its ``calls``
row, and answers that are not answers become proper errors in the client's dialect."""

import json

import anthropic
import anyio
import httpx
import openai
import pytest

from tests.gateway.conftest import calls
from tests.support import connect

pytestmark = [pytest.mark.anyio, pytest.mark.filterwarnings("ignore:Async generator:ResourceWarning")]

CHAT = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
TINY = {"model": "tiny-1", "messages": [{"role": "user", "content": "hi"}]}
# One connection at most, a short first-byte deadline, and no other provider serving its models.
TINY_PROVIDER = """
[providers.tiny]
base_url = "{openai}/v1"
api_key = "sk-tiny-secret-0000"
models = ["tiny-*"]
max_connections = 1
timeout_s = 0.3
"""
NO_RETRY = "[gateway]\nretries = 0\nretry_backoff_s = 0\n"


async def _post(base_url: str, body: dict, path: str = "/v1/chat/completions") -> httpx.Response:
    async with httpx.AsyncClient(timeout=10) as client:
        return await client.post(base_url + path, json=body)


async def _stream_text(base_url: str, body: dict) -> tuple[httpx.Response, str]:
    async with httpx.AsyncClient(timeout=10) as client:
        async with client.stream("POST", base_url + "/v1/chat/completions", json=body) as response:
            return response, (await response.aread()).decode()


@pytest.mark.gateway_config(TINY_PROVIDER + NO_RETRY + "[resilience.model_breaker]\nfailures = 5\n")
async def test_streams_whose_first_event_never_comes_give_their_slot_back(daemon, fakes, base_url):
    """A stream whose first event misses the deadline is a timeout, and its connection slot comes
    back: with one slot, the next call still gets through (it used to wait and get 504)."""
    for _ in range(3):
        fakes["openai"].stall()
        response, _ = await _stream_text(base_url, {**TINY, "stream": True})
        assert response.status_code == 504
    response = await _post(base_url, TINY)
    assert response.status_code == 200 and response.headers["x-routerd-provider"] == "tiny"
    assert [r["outcome"] for r in await calls(daemon)] == ["upstream_timeout"] * 3 + ["ok"]
    async with connect(daemon.socket_path) as control:
        status = await control.call({"type": "status"})
    assert status["parts"]["gateway"]["providers"]["tiny"]["pool"]["in_use"] == 0


@pytest.mark.gateway_config(TINY_PROVIDER + NO_RETRY)
@pytest.mark.parametrize("stream", [True, False])
async def test_a_client_that_leaves_early_gives_the_slot_back_and_leaves_a_row(daemon, fakes, base_url,
                                                                               stream):
    """A client that hangs up before the first byte of the answer cancels the upstream call; the
    slot returns and the attempt is recorded as ``client_disconnected`` (stream or not)."""
    (fakes["openai"].stall if stream else fakes["openai"].hang)()
    body = json.dumps({**TINY, "stream": stream}).encode()
    host, port = daemon.http_address.rsplit(":", 1)
    async with await anyio.connect_tcp(host, int(port)) as conn:
        await conn.send(b"POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1\r\n"
                        b"content-type: application/json\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body))
        with anyio.fail_after(5):
            await fakes["openai"].stalled.wait()
    with anyio.fail_after(5):
        while not (rows := await calls(daemon)):
            pass  # each round waits on the store's writer thread
    assert [(r["provider"], r["outcome"]) for r in rows] == [("tiny", "client_disconnected")]
    response = await _post(base_url, TINY)
    assert response.status_code == 200


@pytest.mark.gateway_config(NO_RETRY)
async def test_a_request_the_provider_read_is_not_silently_sent_again(daemon, fakes, base_url):
    """When a kept-alive connection dies after the request was written, that attempt fails and is
    recorded; routerd does not re-send it behind the client's back. Every request a provider saw
    has its row (one used to be sent twice and recorded once)."""
    assert (await _post(base_url, CHAT)).status_code == 200  # leaves a kept-alive connection
    fakes["openai"].drop()
    response = await _post(base_url, CHAT)
    assert response.status_code == 200 and response.headers["x-routerd-provider"] == "backup"
    rows = await calls(daemon)
    assert [(r["provider"], r["outcome"]) for r in rows] == \
        [("openai", "ok"), ("openai", "upstream_unavailable"), ("backup", "ok")]
    for name in ("openai", "backup"):
        assert len(fakes[name].received) == sum(r["provider"] == name for r in rows)


async def test_early_hints_are_not_the_answer(daemon, fakes, base_url):
    """``103 Early Hints`` before the answer is skipped: one request, one upstream call, its own
    answer. (Taken as the answer, the hints made routerd send the request again on the same
    connection and read the first request's late answer as the second's.)"""
    fakes["openai"].early_hints()
    first = await _post(base_url, CHAT)
    second = await _post(base_url, {**CHAT, "model": "gpt-4o-mini"})
    assert first.status_code == second.status_code == 200
    assert (first.json()["model"], second.json()["model"]) == ("gpt-4o", "gpt-4o-mini")
    assert len(fakes["openai"].received) == 2
    assert [r["outcome"] for r in await calls(daemon)] == ["ok", "ok"]


@pytest.mark.gateway_config(NO_RETRY)
async def test_an_answer_that_is_not_json_is_a_502_the_sdks_raise(daemon, fakes, base_url):
    """A 200 whose body is not JSON, from every candidate, reaches the client as a 502 in its own
    dialect, which the SDKs raise (the openai SDK used to return ``choices=None``)."""
    fakes["openai"].garbage()
    fakes["backup"].garbage()
    async with openai.AsyncOpenAI(base_url=base_url + "/v1", api_key="x", max_retries=0) as client:
        with pytest.raises(openai.InternalServerError) as info:
            await client.chat.completions.create(**CHAT)
    assert info.value.status_code == 502 and "not JSON" in info.value.message
    fakes["anthropic"].garbage()
    async with anthropic.AsyncAnthropic(base_url=base_url, api_key="x", max_retries=0) as client:
        with pytest.raises(anthropic.APIStatusError) as info:
            await client.messages.create(model="claude-haiku-4-5", max_tokens=5,
                                         messages=[{"role": "user", "content": "hi"}])
    assert info.value.status_code == 502 and info.value.body["error"]["type"] == "api_error"


@pytest.mark.gateway_config(NO_RETRY)
async def test_an_oversized_answer_is_a_502(daemon, fakes, base_url, monkeypatch):
    """An answer over the size routerd relays is refused as a bad response, not cut short."""
    monkeypatch.setattr("routerd.gateway.attempt.MAX_ANSWER_BODY", 100)
    response = await _post(base_url, {**CHAT, "model": "openai/gpt-4o"})
    assert response.status_code == 502
    assert "over 100 bytes" in response.json()["error"]["message"]
    assert [r["outcome"] for r in await calls(daemon)] == ["upstream_bad_response"]


@pytest.mark.gateway_config(NO_RETRY)
async def test_a_stream_request_answered_without_an_event_stream_falls_back(daemon, fakes, base_url):
    """Asked for a stream, a provider that answers something else is a bad response before
    anything reached the client: the next candidate streams instead."""
    fakes["openai"].garbage()
    response, text = await _stream_text(base_url, {**CHAT, "stream": True})
    deltas = [json.loads(line[6:])["choices"] for line in text.splitlines() if line.startswith("data: {")]
    assert response.headers["x-routerd-provider"] == "backup"
    assert "".join(c[0]["delta"].get("content") or "" for c in deltas if c) == "Hello from backup."
    assert [r["outcome"] for r in await calls(daemon)] == ["upstream_bad_response", "ok"]


async def test_a_garbage_stream_ends_with_a_well_framed_error_event(daemon, fakes, base_url):
    """Bytes that are not events, after a first good one, are relayed as they came, then ended
    with the dialect's error event after a blank line, so that the client's SSE parser reads the
    error as an event of its own and the SDK raises it."""
    garbage = (b'data: {"choices":[{"index":0,"delta":{"content":"hi"}}]}\n\n', b"<html>this is not an event stream")
    fakes["openai"].events(*garbage)
    _, text = await _stream_text(base_url, {**CHAT, "stream": True})
    last = text.split("\n\n")[-2]
    assert last.startswith("data: ") and "<html>this is not an event stream" in text
    assert "upstream stream interrupted" in json.loads(last[6:])["error"]["message"]
    fakes["openai"].events(*garbage)
    async with openai.AsyncOpenAI(base_url=base_url + "/v1", api_key="x", max_retries=0) as client:
        with pytest.raises(openai.APIError, match="upstream stream interrupted"):
            async for _ in await client.chat.completions.create(**CHAT, stream=True):
                pass


async def test_an_error_body_that_echoes_the_key_is_scrubbed(daemon, fakes, base_url):
    """A provider error that quotes routerd's key back reaches the client with the key blanked."""
    fakes["openai"].fail(401, {"error": {"message": "Incorrect API key provided: sk-openai-secret-1234."}})
    response = await _post(base_url, {**CHAT, "model": "openai/gpt-4o"})
    assert response.status_code == 401
    assert "sk-openai-secret-1234" not in response.text and "***" in response.json()["error"]["message"]
