"""The front's refusals that protect the user and keep the daemon serving: browser origins, DNS
rebinding, content types, injected model names, client mistakes answered as 4xx (never a 500)."""

import json

import httpx
import pytest

from routerd.framing import encode_frame
from tests.gateway.conftest import calls, raw_http
from tests.support import connect

pytestmark = pytest.mark.anyio

CHAT = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}


def _post(path: bytes, body: bytes, *headers: bytes) -> bytes:
    return (b"POST %s HTTP/1.1\r\n" % path + b"".join(h + b"\r\n" for h in headers)
            + b"content-length: %d\r\n\r\n" % len(body) + body)


async def test_a_web_page_cannot_spend_the_keys(daemon, fakes):
    """What a hostile page can make a browser send is refused before anything is forwarded:
    another site's Host (DNS rebinding), another site's Origin, a non-JSON content type."""
    body = json.dumps(CHAT).encode()
    json_type, local = b"content-type: application/json", b"host: 127.0.0.1"
    cases = [
        (_post(b"/v1/chat/completions", body, b"host: attacker.example:4141", json_type), 403, b"Host"),
        (_post(b"/v1/chat/completions", body, local, b"origin: http://attacker.example", json_type), 403,
         b"origin"),
        (_post(b"/v1/chat/completions", body, local, b"content-type: text/plain"), 415, b"application/json"),
        (_post(b"/v1/chat/completions", body, local), 415, b"application/json"),
        (b"GET /v1/models HTTP/1.1\r\nhost: rebind.attacker.example\r\n\r\n", 403, b"Host"),
    ]
    for request, status, said in cases:
        out = await raw_http(daemon.http_address, request)
        assert out.startswith(b"HTTP/1.1 %d " % status) and said in out, out[:300]
    assert not fakes["openai"].received and not await calls(daemon)


@pytest.mark.gateway_config(http='allowed_hosts = ["routerd.internal"]\n'
                                 'allowed_origins = ["https://app.example"]')
async def test_configured_hosts_and_origins_and_the_same_origin_are_served(daemon, fakes):
    """``http.allowed_hosts`` and ``http.allowed_origins`` let chosen names and pages in; a page
    served by routerd itself (same origin) and the usual loopback names need no configuration."""
    body = json.dumps(CHAT).encode()
    json_type = b"content-type: application/json"
    port = daemon.http_address.rsplit(":", 1)[1].encode()
    for headers in [(b"host: routerd.internal",), (b"host: localhost:" + port, b"origin: https://app.example"),
                    (b"host: 127.0.0.1:" + port, b"origin: http://127.0.0.1:" + port),
                    (b"host: [::1]:" + port,)]:
        out = await raw_http(daemon.http_address, _post(b"/v1/chat/completions", body, json_type, *headers))
        assert out.startswith(b"HTTP/1.1 200 "), (headers, out[:300])


@pytest.mark.parametrize("model", [
    "gemini-x:generateContent HTTP/1.1\r\nhost: s\r\ncontent-length: 0\r\n\r\nDELETE /v1beta/files/victim HTTP/1.1\r\nx-pad: ",
    "gemini/../../v1beta/files/victim", "gpt-4o\r\nx-injected: 1", "gpt 4o", "gemini-x%2F..", "a\x00b",
    "gpt-4o\r\n", " gpt-4o ", "auto\r\n", "gpt-4o\u00a0", "gpt-4o\u2028", "claude-sonnet-4-6[1m] ", " ",
])
async def test_model_names_cannot_forge_requests_or_headers(daemon, fakes, base_url, model):
    """A model name that would change the upstream request line, its path or a response header is
    refused with a 400; nothing reaches any provider."""
    async with httpx.AsyncClient() as client:
        response = await client.post(base_url + "/v1/chat/completions", json={**CHAT, "model": model})
    assert response.status_code == 400 and "invalid model name" in response.json()["error"]["message"]
    assert not any(fake.received for fake in fakes.values())


async def test_model_names_are_one_path_segment_upstream(daemon, fakes, base_url):
    """Characters model ids may hold (``:``, ``@``) are percent-encoded in a Gemini path."""
    async with httpx.AsyncClient() as client:
        response = await client.post(base_url + "/v1/chat/completions",
                                     json={**CHAT, "model": "gemini/gemini-2.0-flash:exp@1"})
    assert response.status_code == 200
    assert fakes["gemini"].received[-1].path == "/v1beta/models/gemini-2.0-flash%3Aexp%401:generateContent"


async def test_client_mistakes_are_4xx_and_the_daemon_keeps_serving(daemon, fakes):
    """A non-UTF-8 path, a non-UTF-8 session header and JSON nested past the stack are answered
    with 4xx, never a 500 with a traceback; other clients are served meanwhile."""
    json_type, local = b"content-type: application/json", b"host: 127.0.0.1"
    out = await raw_http(daemon.http_address, b"GET /v1/\xff\xfe HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 400 ")  # not a valid request target
    out = await raw_http(daemon.http_address, _post(b"/v1/chat/completions", json.dumps(CHAT).encode(), local,
                                                json_type, b"x-claude-code-session-id: \xff\xfe"))
    assert out.startswith(b"HTTP/1.1 200 ")
    deep = b'{"model": "gpt-4o", "messages": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    out = await raw_http(daemon.http_address, _post(b"/v1/chat/completions", deep, local, json_type))
    assert out.startswith(b"HTTP/1.1 400 ") and b"nested too deeply" in out
    async with connect(daemon.socket_path) as client:
        await client.send_raw(encode_frame(b'{"type": "ping", "v": 1, "x": ' + b"[" * 5000 + b"]" * 5000 + b"}"))
        reply = await client.read_frame()
        assert (reply["type"], reply["code"]) == ("error", "bad_request") and "nested too deeply" in reply["message"]
        assert (await client.call({"type": "ping"}))["type"] == "pong"


async def test_a_body_slower_than_the_limit_gets_408(daemon, monkeypatch):
    """A request body that does not arrive within the partial-request limit is answered 408 (it used
    to end in a 500), and the connection closes."""
    monkeypatch.setattr("routerd.fronts.http.PARTIAL_REQUEST_TIMEOUT_S", 0.2)
    out = await raw_http(daemon.http_address, b"POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1\r\n"
                     b"content-type: application/json\r\ncontent-length: 100\r\n\r\n{\"model\"")
    assert out.startswith(b"HTTP/1.1 408 ") and b"connection: close" in out.lower()
