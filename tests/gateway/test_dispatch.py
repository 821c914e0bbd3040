"""Dispatch through real HTTP: retries, fallback across providers, broken streams, pass-through
of upstream errors, and a call row for every attempt."""

import json
import time

import anyio
import httpx
import pytest

from tests.gateway.conftest import calls, raw_http

pytestmark = pytest.mark.anyio

CHAT = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
MESSAGES = {"model": "claude-haiku-4-5", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}


async def _post(base_url: str, path: str, body: dict, **kwargs) -> httpx.Response:
    async with httpx.AsyncClient(timeout=10) as client:
        return await client.post(base_url + path, json=body, **kwargs)


async def test_429_falls_back_to_another_provider_at_once(daemon, fakes, base_url):
    """A 429 moves to another provider for the model without waiting, and both attempts are recorded."""
    fakes["openai"].fail(429, retry_after=0)
    response = await _post(base_url, "/v1/chat/completions", CHAT)
    assert response.status_code == 200 and response.headers["x-routerd-provider"] == "backup"
    rows = await calls(daemon)
    assert [(r["provider"], r["outcome"], r["status"]) for r in rows] == \
        [("openai", "rate_limited", 429), ("backup", "ok", 200)]


async def test_429_with_a_short_retry_after_is_retried_when_no_other_provider_serves(daemon, fakes,
                                                                                      base_url):
    """With no other provider for the model, a short Retry-After is waited out on the same one."""
    fakes["anthropic"].fail(429, retry_after=0)
    response = await _post(base_url, "/v1/messages", MESSAGES)
    assert response.status_code == 200 and len(fakes["anthropic"].received) == 2


@pytest.mark.gateway_config("[gateway]\nretry_backoff_s = 0\nbreaker_failures = 1\n")
async def test_429_is_never_a_breaker_failure_and_answers_429_with_retry_after(daemon, fakes, base_url):
    """Rate limits do not open the circuit: the client gets 429 with the provider's Retry-After, and
    while it runs the provider is left alone and the answer is 429 with the time left, not 502."""
    import anthropic

    fakes["anthropic"].fail(429, {"type": "error", "error": {"type": "rate_limit_error", "message": "slow"}},
                            retry_after=30)
    first = await _post(base_url, "/v1/messages", MESSAGES)
    assert first.status_code == 429 and first.headers["retry-after"] == "30"
    assert first.json()["error"]["type"] == "rate_limit_error"
    async with anthropic.AsyncAnthropic(base_url=base_url, api_key="x", max_retries=0) as client:
        with pytest.raises(anthropic.RateLimitError) as raised:
            await client.messages.create(**MESSAGES)
    assert int(raised.value.response.headers["retry-after"]) in range(28, 31)
    assert "anthropic/claude-haiku-4-5: rate limited by the provider" in raised.value.message
    assert len(fakes["anthropic"].received) == 1
    async with httpx.AsyncClient() as client:
        health = (await client.get(base_url + "/health")).json()
    assert health["providers"]["anthropic"] == "closed"


@pytest.mark.parametrize("status", [500, 502, 503, 529])
async def test_5xx_falls_back_to_the_next_provider(daemon, fakes, base_url, status):
    """A server error moves on to the next provider for the model at once: no retry of the failed
    one while another can take the call."""
    fakes["openai"].fail(status)
    response = await _post(base_url, "/v1/chat/completions", CHAT)
    assert response.status_code == 200
    assert response.json()["choices"][0]["message"]["content"] == "Hello from backup."
    assert response.headers["x-routerd-provider"] == "backup"
    rows = await calls(daemon)
    assert [r["provider"] for r in rows] == ["openai", "backup"]
    assert [r["attempt"] for r in rows] == [1, 2]


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


@pytest.mark.gateway_config("[gateway]\nretries = 0\nretry_backoff_s = 0\nbreaker_failures = 1\n")
async def test_a_cancelled_half_open_probe_frees_the_breaker(daemon, fakes, base_url):
    """The half-open probe whose client hangs up does not leave the breaker half-open for good:
    the next request is let through, succeeds, and closes the circuit."""
    import time

    breaker = daemon.resilience.health.breaker("anthropic")
    breaker.failure(time.time() - 60)  # opened a minute ago: its cool-down has passed
    fakes["anthropic"].hold()
    await _hang_up_mid_stream(daemon, {**MESSAGES, "stream": True})
    with anyio.fail_after(5):
        await fakes["anthropic"].cancelled.wait()
    response = await _post(base_url, "/v1/messages", MESSAGES)
    assert response.status_code == 200 and breaker.state == "closed"


async def _hang_up_mid_stream(daemon, body: dict) -> None:
    """POST ``body`` to /v1/messages on a raw connection and close it once the first event is in."""
    raw = json.dumps(body).encode()
    host, port = daemon.http_address.rsplit(":", 1)
    async with await anyio.connect_tcp(host, int(port)) as stream:
        await stream.send(b"POST /v1/messages HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n"
                          b"content-length: %d\r\n\r\n%s" % (len(raw), raw))
        received = b""
        while b"message_start" not in received:
            received += await stream.receive()


async def test_unknown_model_is_a_404_naming_the_served_models(daemon, fakes, base_url):
    """A model no provider serves is the SDKs' NotFoundError (not a retried 503), in each dialect,
    and the message says what can be asked for."""
    import anthropic
    import openai

    async with openai.AsyncOpenAI(base_url=base_url + "/v1", api_key="x", max_retries=0) as client:
        with pytest.raises(openai.NotFoundError) as raised:
            await client.chat.completions.create(**{**CHAT, "model": "llama-9"})
    assert raised.value.code == "model_not_found"
    assert "'llama-9' is not served here" in raised.value.message and "gpt-* (openai)" in raised.value.message
    async with anthropic.AsyncAnthropic(base_url=base_url, api_key="x", max_retries=0) as client:
        with pytest.raises(anthropic.NotFoundError) as raised:
            await client.messages.create(**{**MESSAGES, "model": "llama-9"})
    assert raised.value.body["error"]["type"] == "not_found_error"
    assert "claude-* (anthropic)" in raised.value.message
    assert not any(f.received for f in fakes.values())


@pytest.mark.gateway_config("[gateway]\nretries = 0\nretry_backoff_s = 0\n")
async def test_cooling_providers_are_named_with_why_and_when(daemon, fakes, base_url):
    """When every provider for a request is cooling down, the error names each and why, with a
    Retry-After, instead of claiming no provider serves the model."""
    import time

    for name in ("openai", "backup"):
        daemon.resilience.health.cool(name, 20, time.time(), "rate limited by the provider", "rate_limited")
    response = await _post(base_url, "/v1/chat/completions", CHAT)
    assert response.status_code == 429 and int(response.headers["retry-after"]) in range(18, 21)
    message = response.json()["error"]["message"]
    assert "openai: rate limited by the provider (retry in" in message and "backup: rate limited" in message
    assert not fakes["openai"].received and not fakes["backup"].received


async def test_auto_with_every_provider_cooling_says_which_and_why(daemon, fakes, base_url):
    """model auto while every provider is rate limited: the answer names each provider and why it
    was passed over, with a Retry-After, instead of 'no configured provider serves model auto'."""
    import time

    for name in daemon.runtime.providers:
        daemon.resilience.health.cool(name, 20, time.time(), "rate limited by the provider", "rate_limited")
    response = await _post(base_url, "/v1/chat/completions", {**CHAT, "model": "auto"})
    assert response.status_code == 503 and int(response.headers["retry-after"]) in range(18, 21)
    message = response.json()["error"]["message"]
    for name in ("openai", "backup", "anthropic", "gemini"):
        assert f"{name}: rate limited by the provider (retry in" in message
    assert not any(f.received for f in fakes.values())


@pytest.mark.gateway_config('[gateway]\nretries = 0\nfallbacks = { "gpt-4o" = ["gpt-4o-mini"] }\n')
async def test_a_404_without_a_model_stops_trying_that_provider(daemon, fakes, base_url):
    """A provider answering 404 for the endpoint itself is not asked again for the plan's other
    models; the client gets the 404."""
    for name in ("openai", "backup"):
        fakes[name].fail(404, {"error": {"message": "File Not Found", "type": "not_found_error"}})
    response = await _post(base_url, "/v1/chat/completions", CHAT)
    assert response.status_code == 404
    assert len(fakes["openai"].received) == len(fakes["backup"].received) == 1


async def test_client_disconnect_cancels_the_upstream_call(daemon, fakes, base_url):
    """A client that goes away mid-stream closes the upstream connection, and the call is recorded."""
    fakes["anthropic"].hold()
    await _hang_up_mid_stream(daemon, {**MESSAGES, "stream": True})
    with anyio.fail_after(5):
        await fakes["anthropic"].cancelled.wait()
    with anyio.fail_after(5):
        while not (rows := await calls(daemon)):
            await fakes["anthropic"].cancelled.wait()  # yields to the loop while the row is queued
    assert rows[0]["outcome"] == "client_disconnected" and rows[0]["input_tokens"] == 11


@pytest.mark.parametrize("header", ["session-id", "x-claude-code-session-id"])
async def test_the_clients_session_id_is_recorded(daemon, fakes, base_url, header):
    """Codex's session-id header (and Claude Code's) is stored with the decision."""
    await _post(base_url, "/v1/chat/completions", CHAT, headers={header: "0199-abc"})
    await daemon.store.flush()
    rows = await daemon.store.read(lambda c: c.execute("SELECT session_id FROM decisions").fetchall())
    assert rows == [("0199-abc",)]


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


@pytest.mark.parametrize(("said", "told"), [("inf", "1"), ("1e308", "1"), ("-5", "1"), ("99999999", "86400")])
async def test_a_providers_retry_after_reaches_the_client_bounded(daemon, fakes, base_url, said, told):
    """A Retry-After that is no number of seconds is not passed on; a huge one is a day at most."""
    for _ in range(2):
        fakes["anthropic"].fail(429, headers={"retry-after": said})
    response = await _post(base_url, "/v1/messages", MESSAGES)
    assert response.status_code == 429 and response.headers.get_list("retry-after") == [told]


async def test_another_vendors_rate_limit_headers_are_ignored(daemon, fakes, base_url):
    """anthropic-ratelimit-* headers on an OpenAI-kind provider's 429 mark no subscription window."""
    fakes["openai"].fail(429, headers={"anthropic-ratelimit-unified-5h-utilization": "1",
                                       "anthropic-ratelimit-unified-status": "rejected"})
    response = await _post(base_url, "/v1/chat/completions", CHAT)
    assert response.status_code == 200
    assert daemon.gateway.spending.budgets.windows.statistics(time.time()) == []


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/messages"])
async def test_headers_the_connection_header_names_are_not_forwarded(daemon, fakes, path):
    """RFC 9110 7.6.1: a field named in Connection is hop-by-hop and never reaches the provider,
    passed through or translated; the other headers still go."""
    body = json.dumps({**CHAT, "model": "gpt-4o"}).encode()
    out = await raw_http(daemon.http_address, b"POST %s HTTP/1.1\r\nhost: 127.0.0.1\r\n"
                         b"content-type: application/json\r\nconnection: keep-alive, X-Drop-Me , user-agent\r\n"
                         b"x-drop-me: 1\r\nuser-agent: probe/1\r\nx-keep-me: 2\r\nanthropic-version: 2023-06-01\r\n"
                         b"content-length: %d\r\n\r\n%s" % (path.encode(), len(body), body))
    assert out.startswith(b"HTTP/1.1 200 "), out[:300]
    sent = fakes["openai"].received[-1].headers
    assert "x-drop-me" not in sent and sent.get("user-agent") != "probe/1"
    assert path != "/v1/chat/completions" or sent["x-keep-me"] == "2"


async def test_a_model_missing_on_chat_is_still_asked_on_responses(daemon, fakes, base_url):
    """An upstream serving a model only on /v1/responses: its chat-completions 404 cools the model
    on chat alone, and a Responses request for it is still served (it used to be refused for 600 s)."""
    import openai

    fakes["openai"].fail(404, {"error": {"message": "The model `gpt-4.1` does not exist",
                                         "type": "invalid_request_error", "code": "model_not_found"}})
    async with openai.AsyncOpenAI(base_url=base_url + "/v1", api_key="x", max_retries=0) as client:
        with pytest.raises(openai.NotFoundError):
            await client.chat.completions.create(**{**CHAT, "model": "openai/gpt-4.1"})
        answer = await client.responses.create(model="openai/gpt-4.1", input="hi")
        with pytest.raises(openai.APIStatusError) as again:    # chat stays cooled: not asked again
            await client.chat.completions.create(**{**CHAT, "model": "openai/gpt-4.1"})
    assert answer.output_text == "Hello from openai."
    assert [r.path for r in fakes["openai"].received] == ["/v1/chat/completions", "/v1/responses"]
    assert "does not serve this model" in again.value.message
