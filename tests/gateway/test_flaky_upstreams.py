"""Providers that answer what routerd cannot read: an encoded body it never asked for, a stream
of bytes that never make an event, one event that never ends, usage said twice, an error after
10 KB of text. Each gives the client a clear error or the next candidate's answer, each attempt is
one row with its usage once, and routerd goes on serving."""

import gzip
import json
import time
from email.utils import formatdate

import httpx
import pytest

from routerd.gateway import usage
from tests.fakes import answers
from tests.gateway.conftest import calls

pytestmark = pytest.mark.anyio

CHAT = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
MESSAGES = {"model": "claude-haiku-4-5", "max_tokens": 50, "messages": [{"role": "user", "content": "hi"}]}
NO_RETRY = "[gateway]\nretries = 0\nretry_backoff_s = 0\n"
SSE = {"content-type": "text/event-stream"}


async def _post(base_url: str, path: str, body: dict) -> httpx.Response:
    async with httpx.AsyncClient(timeout=10) as client:
        return await client.post(base_url + path, json=body)


async def _stream(base_url: str, path: str, body: dict) -> tuple[httpx.Response, str]:
    async with httpx.AsyncClient(timeout=10) as client:
        async with client.stream("POST", base_url + path, json={**body, "stream": True}) as response:
            return response, (await response.aread()).decode()


def _said(text: str) -> str:
    """The text of an OpenAI chat event stream."""
    return "".join(choice["delta"].get("content") or "" for line in text.splitlines() if line.startswith("data: {")
                   for choice in json.loads(line[6:]).get("choices", []))


@pytest.mark.parametrize("stream", [False, True])
async def test_a_gzip_encoded_answer_is_a_bad_response_and_falls_back(daemon, fakes, base_url, stream):
    """routerd asks for no encoding; a provider that gzips its answer anyway (whole or streamed) is
    a bad response named for it, before the client saw a byte: the next candidate answers."""
    said = answers.stream("openai_chat", "gpt-4o", "zipped", None) if stream else [
        json.dumps(answers.body("openai_chat", "gpt-4o", "zipped", None)).encode()]
    fakes["openai"].fail(200, gzip.compress(b"".join(said)), headers={"content-encoding": "gzip", **(SSE if stream else {})})
    if stream:
        response, text = await _stream(base_url, "/v1/chat/completions", CHAT)
        assert _said(text) == "Hello from backup."
    else:
        response = await _post(base_url, "/v1/chat/completions", CHAT)
        assert response.json()["choices"][0]["message"]["content"] == "Hello from backup."
    first, second = await calls(daemon)
    assert (first["provider"], first["outcome"], second["provider"], second["outcome"]) == \
        ("openai", "upstream_bad_response", "backup", "ok")
    assert first["error"] == "openai: the answer is gzip-encoded, which routerd does not ask for"


@pytest.mark.gateway_config(NO_RETRY)
async def test_with_nothing_else_to_try_a_gzip_answer_is_a_502_saying_so(daemon, fakes, base_url):
    """The one candidate gzips: the client gets a 502 in its dialect that says why."""
    fakes["anthropic"].fail(200, gzip.compress(b'{"id": "msg_1"}'), headers={"content-encoding": "gzip"})
    response = await _post(base_url, "/v1/messages", MESSAGES)
    assert response.status_code == 502
    assert "gzip-encoded" in response.json()["error"]["message"]
    assert (await _post(base_url, "/v1/messages", MESSAGES)).status_code == 200


@pytest.mark.gateway_config(NO_RETRY)
async def test_a_gzip_encoded_error_body_is_not_handed_on(daemon, fakes, base_url):
    """An error whose body is gzip-encoded reaches the client as routerd's own error for that
    status, in its dialect, not as bytes it cannot read."""
    fakes["anthropic"].fail(500, gzip.compress(b'{"error": "boom"}'), headers={"content-encoding": "gzip"})
    response = await _post(base_url, "/v1/messages", MESSAGES)
    assert response.status_code == 500 and response.json()["type"] == "error"
    assert "content-encoding" not in response.headers


async def test_a_stream_of_no_events_falls_back_before_the_client_sees_a_byte(daemon, fakes, base_url):
    """An event stream that ends without one whole event (HTML, say) is a failed attempt, not the
    client's stream: the next candidate streams instead."""
    fakes["openai"].garbage_stream()
    response, text = await _stream(base_url, "/v1/chat/completions", CHAT)
    assert response.headers["x-routerd-provider"] == "backup" and _said(text) == "Hello from backup."
    first, second = await calls(daemon)
    assert (first["outcome"], second["outcome"]) == ("upstream_bad_response", "ok")
    assert first["error"] == "openai: the stream ended before its first event"


@pytest.mark.parametrize("path, body", [("/v1/chat/completions", CHAT),
                                        ("/v1/messages", {**MESSAGES, "model": "gpt-4o"})])
async def test_an_event_that_never_ends_is_refused_at_its_limit(daemon, fakes, base_url, monkeypatch, path, body):
    """An upstream that streams one event without end is cut off at MAX_EVENT_BYTES instead of
    filling routerd's memory, passed through or translated; nothing had reached the client, so
    the next candidate streams."""
    monkeypatch.setattr(usage, "MAX_EVENT_BYTES", 64 << 10)
    fakes["openai"].events(b'data: {"choices":[{"index":0,"delta":{"content":"', *[b"x" * 16384] * 8)
    response, text = await _stream(base_url, path, body)
    assert response.status_code == 200 and response.headers["x-routerd-provider"] == "backup"
    first, second = await calls(daemon)
    assert (first["outcome"], second["outcome"]) == ("upstream_bad_response", "ok")
    assert "an event of more than" in first["error"]


@pytest.mark.gateway_config(NO_RETRY)
@pytest.mark.parametrize("path, body", [("/v1/messages", MESSAGES), ("/v1/chat/completions", {**CHAT, "model": "claude-haiku-4-5"})])
async def test_usage_said_twice_is_recorded_once(daemon, fakes, base_url, path, body):
    """A stream whose message_delta (with the usage) comes twice is recorded with its usage once."""
    events = answers.stream("anthropic", "claude-haiku-4-5", "Hello there", None)
    usage = next(e for e in events if b"message_delta" in e)
    fakes["anthropic"].events(*[part for e in events for part in ([e, e] if e == usage else [e])])
    response, _ = await _stream(base_url, path, body)
    [row] = await calls(daemon)
    assert (row["outcome"], row["input_tokens"], row["output_tokens"]) == \
        ("ok", answers.INPUT_TOKENS, answers.OUTPUT_TOKENS)


# An overload mid-stream cools the provider like a 529 (tests/resilience/test_stream_errors.py);
# with no cool-down the next request goes to it at once.
@pytest.mark.gateway_config(NO_RETRY + "[resilience.cooldowns]\noverloaded_s = 0\n")
@pytest.mark.parametrize("path, body", [("/v1/messages", MESSAGES), ("/v1/chat/completions", {**CHAT, "model": "claude-haiku-4-5"})])
async def test_an_upstream_error_after_10_kb_ends_the_stream_and_routerd_serves_on(daemon, fakes, base_url, path,
                                                                                    body):
    """An overloaded error event after 10 KB of text: the client gets the text, then the error in
    its dialect; the attempt is one row, a cut with the input the provider reported; the next
    request is served."""
    text = "x" * 10240
    events = answers.stream("anthropic", "claude-haiku-4-5", text, None,
                            pieces=[text[i:i + 512] for i in range(0, len(text), 512)])
    events = events[:next(i for i, e in enumerate(events) if b"content_block_stop" in e)]
    fakes["anthropic"].events(*events, b'event: error\ndata: {"type":"error","error":{"type":"overloaded_error",'
                                       b'"message":"Overloaded"}}\n\n')
    response, said = await _stream(base_url, path, body)
    assert response.status_code == 200 and said.count("x") >= 10240 and "Overloaded" in said
    [row] = await calls(daemon)
    assert (row["outcome"], row["input_tokens"]) == ("stream_cut", answers.INPUT_TOKENS)
    assert (await _post(base_url, path, body)).status_code == 200


SAID = "Overloaded, try later"
# Each dialect's error event mid-stream: (fake, its dialect, the model it serves, the event, its type).
ERROR_EVENTS = {
    "anthropic": ("anthropic", "anthropic", "claude-haiku-4-5", b'event: error\ndata: {"type":"error","error":'
                  b'{"type":"overloaded_error","message":"' + SAID.encode() + b'"}}\n\n', "overloaded_error"),
    "openai chat": ("openai", "openai_chat", "gpt-4o", b'data: {"error":{"message":"' + SAID.encode()
                    + b'","type":"server_error","param":null,"code":null}}\n\n', "server_error"),
    "openai chat, then [DONE]": ("openai", "openai_chat", "gpt-4o", b'data: {"error":{"message":"' + SAID.encode()
                                 + b'","type":"server_error","param":null,"code":null}}\n\ndata: [DONE]\n\n',
                                 "server_error"),
    "responses error": ("openai", "responses", "gpt-4o", b'event: error\ndata: {"type":"error","code":"server_error",'
                        b'"message":"' + SAID.encode() + b'","param":null,"sequence_number":9}\n\n', "server_error"),
    "responses failed": ("openai", "responses", "gpt-4o", b'event: response.failed\ndata: {"type":"response.failed",'
                         b'"sequence_number":9,"response":{"id":"resp_1","object":"response","status":"failed",'
                         b'"error":{"code":"server_error","message":"' + SAID.encode() + b'"},"output":[]}}\n\n',
                         "server_error"),
    "gemini": ("gemini", "gemini", "gemini-2.5-flash", b'data: {"error":{"code":503,"message":"' + SAID.encode()
               + b'","status":"UNAVAILABLE"}}\n\n', "UNAVAILABLE"),
}
# Each client dialect's streaming path and body for ``model``.
CLIENTS = {
    "anthropic": lambda model: ("/v1/messages", {**MESSAGES, "model": model}),
    "openai chat": lambda model: ("/v1/chat/completions", {**CHAT, "model": model}),
    "responses": lambda model: ("/v1/responses", {"model": model, "input": "hi"}),
    "gemini": lambda model: (f"/v1beta/models/{model}:streamGenerateContent?alt=sse",
                             {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}),
}


# The fake openai serves the Responses API to Responses clients, chat to the others.
PAIRS = [(upstream, client) for upstream in ERROR_EVENTS for client in CLIENTS
         if ERROR_EVENTS[upstream][1] != "openai_chat" or client != "responses"
         if ERROR_EVENTS[upstream][1] != "responses" or client == "responses"]


@pytest.mark.gateway_config(NO_RETRY)
@pytest.mark.parametrize("upstream, client", PAIRS)
async def test_an_upstream_error_event_reaches_the_client_once_and_the_row_keeps_its_words(
        daemon, fakes, base_url, upstream, client):
    """A provider's own error event mid-stream, in any dialect, passed through or translated: the
    client gets that error once (routerd adds none after it), and the row records the provider's
    error type and message as a cut stream."""
    fake, dialect, model, event, kind = ERROR_EVENTS[upstream]
    text = "y" * 64
    fakes[fake].events(*answers.stream(dialect, model, text, None)[:-3], event)
    path, body = CLIENTS[client](model)
    response, said = await _stream(base_url, path, body)
    assert response.status_code == 200 and "yyyy" in said
    assert said.count(SAID) == 1 and "upstream stream interrupted" not in said
    [row] = await calls(daemon)
    assert (row["outcome"], row["error"]) == ("stream_cut", f"upstream error event: {kind}: {SAID}")


@pytest.mark.gateway_config(NO_RETRY)
@pytest.mark.parametrize("upstream, client", PAIRS)
async def test_an_error_event_as_a_streams_first_word_is_an_error_answer_that_falls_back(
        daemon, fakes, base_url, upstream, client):
    """A stream whose first event is the provider's error has sent the client nothing: it is a
    failed attempt like an error answer, read by what it says; the next candidate streams (OpenAI's
    backup), or the client gets that error in its own dialect, once, with the provider's words."""
    fake, _, model, event, kind = ERROR_EVENTS[upstream]
    fakes[fake].events(event)
    path, body = CLIENTS[client](model)
    response, said = await _stream(base_url, path, body)
    first, *rest = await calls(daemon)
    assert (first["outcome"], first["error"]) == ("upstream_unavailable",
                                                  f"{fake}: an error event before the answer: {kind}: {SAID}")
    if fake == "openai":
        assert response.headers["x-routerd-provider"] == "backup" and [r["outcome"] for r in rest] == ["ok"]
    else:
        assert (response.status_code, said.count(SAID), rest) == (503, 1, [])


@pytest.mark.gateway_config(NO_RETRY)
@pytest.mark.parametrize("path, body", [("/v1/messages", MESSAGES),
                                        ("/v1/chat/completions", {**CHAT, "model": "claude-haiku-4-5"})])
async def test_an_error_event_first_is_answered_as_json_with_secrets_blanked(daemon, fakes, base_url, path, body):
    """The error a stream's first event stands for reaches the client as a JSON error answer, with
    a key the provider's message echoes blanked."""
    fakes["anthropic"].events(b'event: error\ndata: {"type":"error","error":{"type":"api_error",'
                              b'"message":"bad key sk-ant-secret-9012"}}\n\n')
    response, said = await _stream(base_url, path, body)
    assert response.status_code == 500 and response.headers["content-type"] == "application/json"
    assert "bad key" in said and "sk-ant-secret-9012" not in said


# (fake, its dialect, client path, body) for a stream cut mid-answer.
CUT = [("anthropic", "anthropic", "/v1/messages", MESSAGES),
       ("anthropic", "anthropic", "/v1/chat/completions", {**CHAT, "model": "claude-haiku-4-5"}),
       ("gemini", "gemini", "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
        {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}),
       ("openai", "responses", "/v1/responses", {"model": "gpt-4o", "input": "hi"})]


@pytest.mark.gateway_config(NO_RETRY)
@pytest.mark.parametrize("fake, dialect, path, body", CUT)
async def test_a_stream_cut_after_10_kb_records_the_output_it_streamed(daemon, fakes, base_url, fake, dialect, path,
                                                                       body):
    """A provider bills what it generated before the cut: the row counts the streamed text's
    tokens (an estimate, marked so), not the 1 or 0 output tokens the stream's start reported."""
    text = "x" * 10240
    events = answers.stream(dialect, "m", text, None, pieces=[text[i:i + 512] for i in range(0, len(text), 512)])
    fakes[fake].events(*events[:-2])  # without the last text chunk (Gemini) or the final events
    response, said = await _stream(base_url, path, body)
    assert response.status_code == 200 and said.count("x") >= 9 * 1024
    [row] = await calls(daemon)
    assert row["outcome"] == "stream_cut" and row["estimated"]
    assert 9 * 1024 // 4 <= row["output_tokens"] <= 10240 // 4 and row["input_tokens"] > 0


@pytest.mark.gateway_config(NO_RETRY)
async def test_a_retry_after_given_as_an_http_date_is_read_and_kept(daemon, fakes, base_url):
    """A 429 whose Retry-After is an HTTP date 30 s ahead: the client is told the seconds, and the
    provider is left alone until then (the next request is refused without reaching it)."""
    fakes["anthropic"].fail(429, headers={"retry-after": formatdate(time.time() + 30, usegmt=True)})
    first = await _post(base_url, "/v1/messages", MESSAGES)
    assert first.status_code == 429 and 28 <= int(first.headers["retry-after"]) <= 31
    second = await _post(base_url, "/v1/messages", MESSAGES)
    assert second.status_code == 429 and len(fakes["anthropic"].received) == 1
    assert [row["outcome"] for row in await calls(daemon)] == ["rate_limited"]


CLOUDFLARE = (b'<!DOCTYPE html><html><head><title>example.com | 502: Bad gateway</title><style>'
              + b"body{font-family:sans-serif}" * 200 + b"</style></head><body><h1>Bad gateway</h1></body></html>")


@pytest.mark.gateway_config(NO_RETRY)
@pytest.mark.parametrize("path, body", [("/v1/messages", MESSAGES),
                                        ("/v1/chat/completions", {**CHAT, "model": "claude-haiku-4-5"})])
async def test_an_html_error_page_is_an_error_naming_its_title(daemon, fakes, base_url, path, body):
    """A CDN's HTML error page reaches the client, passed through or translated, as JSON in its
    dialect with the status and the page's title, not kilobytes of markup."""
    fakes["anthropic"].fail(502, CLOUDFLARE, headers={"content-type": "text/html; charset=UTF-8"})
    response = await _post(base_url, path, body)
    assert response.status_code == 502 and response.headers["content-type"] == "application/json"
    assert response.json()["error"]["message"] == "anthropic: HTTP 502, an HTML page: example.com | 502: Bad gateway"
