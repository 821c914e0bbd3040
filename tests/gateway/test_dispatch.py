"""Dispatch through real HTTP: retries, fallback across providers, broken streams, pass-through
of upstream errors, and a call row for every attempt."""

import json

import anyio
import httpx
import pytest

from tests.gateway.conftest import calls

pytestmark = pytest.mark.anyio

CHAT = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
MESSAGES = {"model": "claude-haiku-4-5", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}


async def _post(base_url: str, path: str, body: dict, **kwargs) -> httpx.Response:
    async with httpx.AsyncClient(timeout=10) as client:
        return await client.post(base_url + path, json=body, **kwargs)


async def test_429_with_retry_after_is_retried_on_the_same_provider(daemon, fakes, base_url):
    """A 429 with a short Retry-After is retried on the same provider, and both attempts recorded."""
    fakes["openai"].fail(429, retry_after=0)
    response = await _post(base_url, "/v1/chat/completions", CHAT)
    assert response.status_code == 200
    assert len(fakes["openai"].received) == 2 and not fakes["backup"].received
    rows = await calls(daemon)
    assert [(r["provider"], r["outcome"], r["status"]) for r in rows] == \
        [("openai", "rate_limited", 429), ("openai", "ok", 200)]


@pytest.mark.parametrize("status", [500, 502, 503, 529])
async def test_5xx_falls_back_to_the_next_provider(daemon, fakes, base_url, status):
    """Server errors that persist through the retry move on to the next provider for the model."""
    fakes["openai"].fail(status)
    fakes["openai"].fail(status)
    response = await _post(base_url, "/v1/chat/completions", CHAT)
    assert response.status_code == 200
    assert response.json()["choices"][0]["message"]["content"] == "Hello from backup."
    assert response.headers["x-routerd-provider"] == "backup"
    rows = await calls(daemon)
    assert [r["provider"] for r in rows] == ["openai", "openai", "backup"]
    assert [r["attempt"] for r in rows] == [1, 2, 3]


@pytest.mark.gateway_config("[gateway]\nretries = 0\nretry_backoff_s = 0\n")
async def test_connection_reset_falls_back(daemon, fakes, base_url):
    """A provider that resets the connection is skipped for the next one."""
    fakes["openai"].reset()
    response = await _post(base_url, "/v1/chat/completions", CHAT)
    assert response.status_code == 200 and response.headers["x-routerd-provider"] == "backup"
    assert [r["outcome"] for r in await calls(daemon)] == ["upstream_unavailable", "ok"]


@pytest.mark.gateway_config("[gateway]\nretries = 0\nretry_backoff_s = 0\n")
async def test_timeout_falls_back(daemon, fakes, base_url):
    """A provider that does not answer within its timeout is abandoned for the next one."""
    fakes["openai"].hang()
    response = await _post(base_url, "/v1/chat/completions", CHAT)
    assert response.status_code == 200 and response.headers["x-routerd-provider"] == "backup"
    assert [r["outcome"] for r in await calls(daemon)] == ["upstream_timeout", "ok"]


@pytest.mark.gateway_config("[gateway]\nretries = 0\nretry_backoff_s = 0\n")
async def test_garbage_body_falls_back(daemon, fakes, base_url):
    """A 200 whose body is not JSON counts as a bad response and moves on."""
    fakes["openai"].garbage()
    response = await _post(base_url, "/v1/chat/completions", CHAT)
    assert response.status_code == 200 and response.headers["x-routerd-provider"] == "backup"
    assert [r["outcome"] for r in await calls(daemon)] == ["upstream_bad_response", "ok"]


@pytest.mark.gateway_config("[gateway]\nretries = 0\nretry_backoff_s = 0\n")
async def test_upstream_error_body_passes_through_when_all_fail(daemon, fakes, base_url):
    """When every candidate fails, the client gets the last upstream's status and body unchanged."""
    fakes["openai"].fail(503)
    body = {"error": {"message": "backup is down", "type": "server_error", "code": "down"}}
    fakes["backup"].fail(503, body)
    response = await _post(base_url, "/v1/chat/completions", CHAT)
    assert response.status_code == 503
    assert response.json() == body


async def test_client_error_is_not_retried_or_rerouted(daemon, fakes, base_url):
    """A 400 is the client's fault: no retry, no fallback, body passed through."""
    body = {"type": "error", "error": {"type": "invalid_request_error", "message": "max_tokens: bad"}}
    fakes["anthropic"].fail(400, body)
    response = await _post(base_url, "/v1/messages", MESSAGES)
    assert response.status_code == 400 and response.json() == body
    assert len(fakes["anthropic"].received) == 1


async def test_stream_cut_midway_ends_with_the_dialects_error_event(daemon, fakes, base_url):
    """Once a stream has started there is no fallback: a cut upstream ends it with an error event."""
    fakes["anthropic"].cut(after=2)
    async with httpx.AsyncClient(timeout=10) as client:
        async with client.stream("POST", base_url + "/v1/messages", json={**MESSAGES, "stream": True}) as r:
            text = (await r.aread()).decode()
    assert r.status_code == 200
    assert text.count("event: ") == 3 and text.rstrip().endswith("}")
    last = text.strip().split("\n\n")[-1]
    assert last.startswith("event: error")
    assert json.loads(last.split("data: ", 1)[1])["error"]["type"] == "api_error"
    assert not fakes["backup"].received
    [row] = await calls(daemon)
    assert row["outcome"] == "stream_cut" and row["input_tokens"] == 11


@pytest.mark.filterwarnings("ignore:Async generator:ResourceWarning")  # the SDK's, see test_sdk_clients
async def test_openai_stream_cut_raises_in_the_sdk(daemon, fakes, base_url):
    """The OpenAI chat dialect's error event makes the official SDK raise mid-stream."""
    import openai

    fakes["openai"].cut(after=3)
    async with openai.AsyncOpenAI(base_url=base_url + "/v1", api_key="x", max_retries=0) as client:
        stream = await client.chat.completions.create(**CHAT, stream=True)
        with pytest.raises(openai.APIError, match="upstream stream interrupted"):
            async with stream:
                async for _ in stream:
                    pass


@pytest.mark.gateway_config("[gateway]\nretries = 0\nretry_backoff_s = 0\nbreaker_failures = 2\n")
async def test_breaker_opens_after_consecutive_failures(daemon, fakes, base_url):
    """After N failures the provider's breaker opens and later calls skip it entirely."""
    for _ in range(2):
        fakes["openai"].fail(500)
        assert (await _post(base_url, "/v1/chat/completions", CHAT)).status_code == 200
    before = len(fakes["openai"].received)
    response = await _post(base_url, "/v1/chat/completions", CHAT)
    assert response.headers["x-routerd-provider"] == "backup"
    assert len(fakes["openai"].received) == before
    async with httpx.AsyncClient() as client:
        health = (await client.get(base_url + "/health")).json()
    assert health["providers"]["openai"] == "open"


async def test_client_disconnect_cancels_the_upstream_call(daemon, fakes, base_url):
    """A client that goes away mid-stream closes the upstream connection, and the call is recorded."""
    fakes["anthropic"].hold()
    body = json.dumps({**MESSAGES, "stream": True}).encode()
    host, port = daemon.http_address.rsplit(":", 1)
    async with await anyio.connect_tcp(host, int(port)) as stream:
        await stream.send(b"POST /v1/messages HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n"
                          b"content-length: %d\r\n\r\n%s" % (len(body), body))
        received = b""
        while b"message_start" not in received:
            received += await stream.receive()
        # the first event arrived; hang up
    with anyio.fail_after(5):
        await fakes["anthropic"].cancelled.wait()
    with anyio.fail_after(5):
        while not (rows := await calls(daemon)):
            await fakes["anthropic"].cancelled.wait()  # yields to the loop while the row is queued
    assert rows[0]["outcome"] == "client_disconnected" and rows[0]["input_tokens"] == 11


async def test_explicit_provider_and_alias(daemon, fakes, base_url):
    """``provider/model`` picks that provider; an alias resolves to its target."""
    response = await _post(base_url, "/v1/chat/completions", {**CHAT, "model": "backup/gpt-4o"})
    assert response.headers["x-routerd-provider"] == "backup"
    assert fakes["backup"].received[-1].json["model"] == "gpt-4o"


async def test_passthrough_keeps_unknown_fields_and_bytes(daemon, fakes, base_url):
    """Same dialect in and out: the body arrives byte for byte, apart from the model name."""
    raw = (b'{"messages": [{"role": "user", "content": "hi", "x_future": 1.50}], '
           b'"model": "backup/gpt-4o", "tools": [{"type": "function", "function": {"name": "f", '
           b'"parameters": {"properties": {"model": {"type": "string"}}}}}], "weird_field": [1e3]}')
    async with httpx.AsyncClient() as client:
        response = await client.post(base_url + "/v1/chat/completions", content=raw,
                                     headers={"content-type": "application/json", "openai-beta": "x"})
    assert response.status_code == 200
    sent = fakes["backup"].received[-1]
    assert sent.body == raw.replace(b'"model": "backup/gpt-4o"', b'"model":"gpt-4o"')
    assert sent.headers["openai-beta"] == "x"


async def test_long_retry_after_moves_on_and_keeps_the_provider_out(daemon, fakes, base_url):
    """A Retry-After longer than gateway.max_retry_after_s is not waited for: the next provider
    answers, and the rate-limited one is skipped until its Retry-After has passed."""
    fakes["openai"].fail(429, retry_after=60)
    first = await _post(base_url, "/v1/chat/completions", CHAT)
    second = await _post(base_url, "/v1/chat/completions", CHAT)
    assert first.headers["x-routerd-provider"] == second.headers["x-routerd-provider"] == "backup"
    assert len(fakes["openai"].received) == 1


async def test_reload_swaps_providers(daemon, fakes, base_url, config_file):
    """A config reload that changes the providers is used by the next request."""
    text = config_file.read_text().replace('models = ["gpt-*"]\nresponses = true',
                                           'models = ["other-*"]\nresponses = true')
    config_file.write_text(text)
    assert (await daemon.reload("test")).ok
    response = await _post(base_url, "/v1/chat/completions", CHAT)
    assert response.headers["x-routerd-provider"] == "backup" and not fakes["openai"].received


async def test_reload_with_a_broken_provider_is_refused(daemon, fakes, base_url, config_file):
    """A reload whose provider URL is not http(s) keeps the running providers and says why."""
    config_file.write_text(config_file.read_text().replace(f'base_url = "{fakes["backup"].url}/v1"',
                                                           'base_url = "ftp://nowhere"'))
    result = await daemon.reload("test")
    assert not result.ok and "providers.backup.base_url" in result.message
    assert (await _post(base_url, "/v1/chat/completions", CHAT)).status_code == 200


@pytest.mark.gateway_config("[gateway]\nretries = 0\nretry_backoff_s = 0\n")
async def test_stream_that_breaks_before_its_first_event_falls_back(daemon, fakes, base_url):
    """A stream is committed to only once its first event arrived: an upstream that answers 200 and
    then closes is abandoned for the next candidate, and the client sees one clean stream."""
    fakes["openai"].cut(after=0)
    async with httpx.AsyncClient(timeout=10) as client:
        async with client.stream("POST", base_url + "/v1/chat/completions",
                                 json={**CHAT, "stream": True}) as response:
            text = (await response.aread()).decode()
    assert response.headers["x-routerd-provider"] == "backup"
    assert "Hello from backup." in "".join(
        json.loads(line[6:])["choices"][0]["delta"].get("content") or ""
        for line in text.splitlines() if line.startswith("data: {") and '"choices": [{' in line)
    assert [r["outcome"] for r in await calls(daemon)] == ["upstream_unavailable", "ok"]
