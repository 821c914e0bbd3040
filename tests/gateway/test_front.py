"""The HTTP front: bad input answered in the dialect's error format, limits, keys, keep-alive."""

import json
import re

import anyio
import httpx
import pytest

from tests.gateway.conftest import GATEWAY_KEY, raw_http

pytestmark = pytest.mark.anyio


async def test_invalid_json_gets_openai_error_shape(daemon, base_url):
    """Invalid JSON on an OpenAI endpoint is a 400 in OpenAI's error shape."""
    async with httpx.AsyncClient() as client:
        response = await client.post(base_url + "/v1/chat/completions", content=b"{nope",
                                     headers={"content-type": "application/json"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and "not valid JSON" in error["message"]


async def test_a_body_that_is_not_json_keeps_a_well_framed_connection(daemon):
    """Invalid JSON in a body framed correctly is a 400 without connection: close, and the next
    pipelined request on the connection is answered; malformed framing closes it."""
    host, port = daemon.http_address.rsplit(":", 1)
    bad = b"POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n" \
          b"content-length: 5\r\n\r\n{nope"
    health = b"GET /health HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n"
    for first, answers in [(bad, [b"HTTP/1.1 400 ", b"HTTP/1.1 200 "]),
                           (b"POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-length: x\r\n\r\n",
                            [b"HTTP/1.1 400 "])]:
        out = b""
        async with await anyio.connect_tcp(host, int(port)) as stream:
            await stream.send(first + health)
            with anyio.fail_after(10):
                while True:
                    try:
                        out += await stream.receive()
                    except (anyio.EndOfStream, anyio.BrokenResourceError):
                        break
        assert re.findall(rb"HTTP/1\.1 \d{3} ", out) == answers, out
        assert (b"connection: close" in out.partition(b"\r\n\r\n")[0].lower()) == (len(answers) == 1)


async def test_wrong_shape_gets_anthropic_error_shape(daemon, base_url):
    """A body of the wrong shape on /v1/messages is a 400 in Anthropic's error shape."""
    async with httpx.AsyncClient() as client:
        response = await client.post(base_url + "/v1/messages", json={"model": 42, "messages": []})
    assert response.status_code == 400
    body = response.json()
    assert body["type"] == "error" and body["error"]["type"] == "invalid_request_error"
    assert "model" in body["error"]["message"]


async def test_body_not_an_object_is_rejected(daemon, base_url):
    """A JSON array where an object belongs is a clear 400."""
    async with httpx.AsyncClient() as client:
        response = await client.post(base_url + "/v1/responses", json=[1, 2])
    assert response.status_code == 400 and "object" in response.json()["error"]["message"]


@pytest.mark.gateway_config(http="max_body_bytes = 1000")
async def test_oversized_body_is_413_in_dialect_format(daemon, fakes, base_url):
    """A body over http.max_body_bytes is refused with 413 before it is read, never forwarded."""
    big = {"model": "claude-x", "max_tokens": 1, "messages": [{"role": "user", "content": "x" * 2000}]}
    async with httpx.AsyncClient() as client:
        response = await client.post(base_url + "/v1/messages", json=big)
    assert response.status_code == 413
    assert response.json()["error"]["type"] == "request_too_large"
    assert not fakes["anthropic"].received


async def test_unknown_endpoint_is_404(daemon, base_url):
    """Unknown paths are 404 with a message naming them."""
    async with httpx.AsyncClient() as client:
        response = await client.get(base_url + "/v2/nothing")
    assert response.status_code == 404 and "/v2/nothing" in response.json()["error"]["message"]


async def test_unknown_model_is_a_clear_error(daemon, base_url):
    """A model no provider serves is a 404 naming the model and what is served."""
    async with httpx.AsyncClient() as client:
        response = await client.post(base_url + "/v1/chat/completions",
                                     json={"model": "nobody/serves-this", "messages": [{"role": "user", "content": "hi"}]})
    assert response.status_code == 404
    assert "nobody/serves-this" in response.json()["error"]["message"]


async def test_keep_alive_serves_many_requests_on_one_connection(daemon, fakes, base_url):
    """One connection carries several requests (and chunked request bodies are read)."""
    body = json.dumps({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}).encode()
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    host, port = daemon.http_address.rsplit(":", 1)
    async with await anyio.connect_tcp(host, int(port)) as stream:
        for _ in range(3):
            await stream.send(b"POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1\r\n"
                              b"content-type: application/json\r\n"
                              b"transfer-encoding: chunked\r\n\r\n" + chunked)
            out = b""
            with anyio.fail_after(5):
                while b"Hello from openai." not in out:
                    out += await stream.receive()
            assert out.startswith(b"HTTP/1.1 200 OK\r\n")
    assert len(fakes["openai"].received) == 3


async def test_malformed_request_line_is_400(daemon):
    """Garbage instead of HTTP gets a 400 and the connection closes."""
    out = await raw_http(daemon.http_address, b"HELLO\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 400 ")


async def test_smuggling_shape_is_refused(daemon):
    """Both Content-Length and Transfer-Encoding: refused (RFC 9112 §6.3)."""
    out = await raw_http(daemon.http_address, b"POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1\r\n"
                     b"content-length: 3\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 400 ")


@pytest.mark.gateway_config(http='gateway_key_env = "ROUTERD_TEST_GATEWAY_KEY"')
async def test_gateway_key_required_when_configured(daemon, base_url, monkeypatch):
    """With a gateway key configured, requests need it as Bearer or x-api-key; /health does not."""
    monkeypatch.setenv("ROUTERD_TEST_GATEWAY_KEY", GATEWAY_KEY)
    chat = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
    async with httpx.AsyncClient() as client:
        denied = await client.post(base_url + "/v1/chat/completions", json=chat)
        bearer = await client.post(base_url + "/v1/chat/completions", json=chat,
                                   headers={"authorization": f"Bearer {GATEWAY_KEY}"})
        api_key = await client.post(base_url + "/v1/messages", headers={"x-api-key": GATEWAY_KEY},
                                    json={"model": "claude-x", "max_tokens": 1, "messages": chat["messages"]})
        health = await client.get(base_url + "/health")
    assert denied.status_code == 401 and denied.json()["error"]["type"] == "authentication_error"
    assert bearer.status_code == 200 and api_key.status_code == 200 and health.status_code == 200


async def test_status_shows_gateway_without_secrets(daemon, base_url):
    """routerctl status carries the gateway's providers and breakers, and no provider key."""
    from tests.support import connect

    async with httpx.AsyncClient() as client:
        await client.post(base_url + "/v1/chat/completions",
                          json={"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]})
    async with connect(daemon.socket_path) as client:
        status = await client.call({"type": "status"})
    gateway = status["parts"]["gateway"]
    assert gateway["requests"] == 1 and gateway["providers"]["openai"]["breaker"]["state"] == "closed"
    assert status["http"] == daemon.http_address
    text = json.dumps(status)
    for secret in ("sk-openai-secret-1234", "sk-ant-secret-9012", "gem-secret-3456"):
        assert secret not in text


async def test_expect_100_continue_is_answered_before_the_body(daemon, fakes):
    """A client that waits for ``100 Continue`` (curl does above 1 MB) is told to go on, and its
    request is answered once the body follows."""
    body = json.dumps({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}).encode()
    host, port = daemon.http_address.rsplit(":", 1)
    async with await anyio.connect_tcp(host, int(port)) as stream:
        await stream.send(b"POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n"
                          b"expect: 100-continue\r\ncontent-length: %d\r\n\r\n" % len(body))
        with anyio.fail_after(5):
            interim = await stream.receive()
        assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
        await stream.send(body)
        out = b""
        with anyio.fail_after(5):
            while b"Hello from openai." not in out:
                out += await stream.receive()
    assert out.startswith(b"HTTP/1.1 200 OK\r\n")


async def test_an_unknown_expectation_is_417_and_closes(daemon, fakes):
    """Expect: 200-ok is answered 417 Expectation Failed before any body is read, nothing goes
    upstream, and the connection closes."""
    out = await raw_http(daemon.http_address, b"POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1\r\n"
                         b"content-type: application/json\r\nexpect: 200-ok\r\ncontent-length: 2\r\n\r\n{}")
    assert out.startswith(b"HTTP/1.1 417 Expectation Failed\r\n") and b"connection: close" in out.lower()
    assert not any(fake.received for fake in fakes.values())


async def test_a_lone_surrogate_in_a_body_is_named(daemon, base_url):
    """A body whose string ends in a lone \\ud800 is a 400 that says so, not "truncated"."""
    async with httpx.AsyncClient() as client:
        response = await client.post(base_url + "/v1/chat/completions", content=rb'{"model": "\ud800"}',
                                     headers={"content-type": "application/json"})
    assert response.status_code == 400 and "lone UTF-16 surrogate" in response.json()["error"]["message"]
