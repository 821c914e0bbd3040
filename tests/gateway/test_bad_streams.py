"""Upstream streams whose events cannot be read, across dialects: before the client has a byte, a
failed attempt like any other (fallback, or a 502 in the client's dialect); after, the dialect's
error event and a clean end of the body; recorded as what happened and logged as a warning."""

import json

import httpx
import pytest

from tests.gateway.conftest import calls

pytestmark = pytest.mark.anyio

NO_RETRY = "[gateway]\nretries = 0\nretry_backoff_s = 0\n"
MESSAGES = {"model": "gpt-4o", "max_tokens": 50, "stream": True, "messages": [{"role": "user", "content": "hi"}]}
CHAT = {"model": "claude-haiku-4-5", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
GOOD_CHUNK = (b'data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":'
              b'[{"index":0,"delta":{"role":"assistant","content":"Hel"},"finish_reason":null}]}\n\n')
BAD_CHAT_EVENTS = [b"data: {not json\n\n", b'data: {"choices": 5}\n\n', b"data: [1,2]\n\n"]


async def _stream(base_url: str, path: str, body: dict) -> tuple[httpx.Response, str]:
    async with httpx.AsyncClient(timeout=10) as client:
        async with client.stream("POST", base_url + path, json=body) as response:
            return response, (await response.aread()).decode()


@pytest.mark.parametrize("bad", BAD_CHAT_EVENTS)
async def test_a_bad_first_event_across_dialects_falls_back(daemon, fakes, base_url, caplog, bad):
    """An Anthropic client's stream whose OpenAI upstream opens with an unreadable event is served
    by the next candidate; the attempt is recorded as a bad response and logged as a warning."""
    fakes["openai"].events(bad + b"data: [DONE]\n\n")
    response, text = await _stream(base_url, "/v1/messages", MESSAGES)
    assert response.status_code == 200 and response.headers["x-routerd-provider"] == "backup"
    assert "Hello from backup." in "".join(
        json.loads(line[6:])["delta"].get("text", "") for line in text.splitlines()
        if line.startswith("data: ") and '"content_block_delta"' in line)
    assert [r["outcome"] for r in await calls(daemon)] == ["upstream_bad_response", "ok"]
    logged = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any("openai/gpt-4o" in line and "bad chat completion chunk" in line for line in logged)


@pytest.mark.gateway_config(NO_RETRY)
@pytest.mark.parametrize("bad", [b"event: message_start\ndata: {not json\n\n",
                                 b'event: message_start\ndata: {"type": "message_start", "message": 5}\n\n'])
async def test_a_bad_first_event_with_nothing_else_to_try_is_a_502_in_the_clients_dialect(
        daemon, fakes, base_url, bad):
    """An OpenAI client whose only Anthropic upstream opens with a bad event gets OpenAI's 502."""
    fakes["anthropic"].events(bad)
    response, text = await _stream(base_url, "/v1/chat/completions", CHAT)
    assert response.status_code == 502
    assert "bad anthropic stream event" in json.loads(text)["error"]["message"]
    [row] = await calls(daemon)
    assert row["outcome"] == "upstream_bad_response"


@pytest.mark.gateway_config(NO_RETRY)
async def test_a_bad_first_gemini_event_answers_a_responses_client_with_a_502(daemon, fakes, base_url):
    """Responses in, Gemini out: an unreadable first chunk is a 502 in the Responses shape."""
    fakes["gemini"].events(b"data: {not json\n\n")
    response, text = await _stream(base_url, "/v1/responses",
                                   {"model": "gemini-2.5-flash", "stream": True, "input": "hi"})
    assert response.status_code == 502 and "bad gemini stream chunk" in json.loads(text)["error"]["message"]
    assert [r["outcome"] for r in await calls(daemon)] == ["upstream_bad_response"]


async def _held_stream(base_url: str, fake, path: str = "/v1/messages", body: dict = MESSAGES) -> tuple[bytes, str]:
    """Stream ``body`` (MESSAGES) through routerd: the first bytes the client gets, then (once the
    fake, held after its first event, is released) the whole text."""
    async with httpx.AsyncClient(timeout=10) as client:
        async with client.stream("POST", base_url + path, json=body) as response:
            chunks = response.aiter_bytes()
            first = await chunks.__anext__()
            fake.release.set()
            return first, (first + b"".join([chunk async for chunk in chunks])).decode()


async def test_a_bad_event_mid_stream_ends_with_the_error_event_and_a_clean_end(daemon, fakes, base_url, caplog):
    """Once the client has its first event, a bad one ends the stream with the dialect's error
    event and the chunked body's last chunk (the client reads a whole answer, not a cut)."""
    fakes["openai"].events(GOOD_CHUNK, b"data: {oops\n\n", b"data: [DONE]\n\n", hold_after=1)
    first, text = await _held_stream(base_url, fakes["openai"])
    assert b'"text":"Hel"' in first
    last = text.strip().split("\n\n")[-1]
    assert last.startswith("event: error")
    assert "bad stream event" in json.loads(last.split("data: ", 1)[1])["error"]["message"]
    [row] = await calls(daemon)
    assert row["outcome"] == "upstream_bad_response" and "bad chat completion chunk" in row["error"]
    logged = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any("openai/gpt-4o" in line and "bad chat completion chunk" in line for line in logged)


async def test_a_bad_event_after_a_good_one_in_the_same_chunk_keeps_the_good_one(daemon, fakes, base_url):
    """Events translated before a bad one in the same upstream chunk still reach the client once
    the stream is committed, ahead of the error event."""
    fakes["openai"].events(GOOD_CHUNK, GOOD_CHUNK + b"data: {oops\n\n", hold_after=1)
    first, text = await _held_stream(base_url, fakes["openai"])
    assert text.count('"text":"Hel"') == 2 and text.strip().split("\n\n")[-1].startswith("event: error")


async def test_a_same_dialect_stream_with_a_bad_event_ends_there_with_an_error(daemon, fakes, base_url):
    """Passed through, an event that looks like JSON and does not decode is not relayed (its text,
    unseen, could be a piece of a key): the events before it, in its chunk too, reach the client,
    then the error event and a clean end of the body, recorded as a bad response."""
    fakes["openai"].events(GOOD_CHUNK, GOOD_CHUNK + b"data: {oops\n\n", hold_after=1)
    first, text = await _held_stream(base_url, fakes["openai"], "/v1/chat/completions",
                                     {**CHAT, "model": "gpt-4o", "stream": True})
    assert first == GOOD_CHUNK and text.count(GOOD_CHUNK.decode()) == 2 and "oops" not in text
    assert "not JSON" in json.loads(text.strip().split("\n\n")[-1][6:])["error"]["message"]
    [row] = await calls(daemon)
    assert row["outcome"] == "upstream_bad_response"