"""A provider's error event after the client's first bytes: read like the same error before the
stream (an overload cools the provider and counts for its breakers, a rate limit cools the model
and trips nothing), while the client gets the error once in its dialect and the row its usage once."""

import json
import time

import httpx
import pytest

from routerd.dialects.error_reading import stream_failure
from routerd.gateway.guard import admit, stream_verdict
from routerd.resilience.board import Resilience
from tests.fakes import answers
from tests.gateway.conftest import calls, config_file  # noqa: F401  (the gateway's four fakes as providers)
from tests.resilience.test_attempt_guard import CONFIG

pytestmark = pytest.mark.anyio

MODEL = "claude-haiku-4-5"
MESSAGES = {"model": MODEL, "max_tokens": 50, "messages": [{"role": "user", "content": "hi"}]}
CHAT = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}]}
GEMINI_STREAM = "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
GEMINI = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}
QUOTA = json.dumps({"error": {"code": 429, "status": "RESOURCE_EXHAUSTED", "message": "Quota exceeded",
                              "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo",
                                           "retryDelay": "42s"}]}}).encode()


def _error_event(kind: str, message: str) -> bytes:
    return b'event: error\ndata: ' + json.dumps({"type": "error", "error": {"type": kind, "message": message}}).encode() \
        + b"\n\n"


async def _stream(base_url: str, path: str, body: dict) -> tuple[httpx.Response, str]:
    async with httpx.AsyncClient(timeout=10) as client:
        async with client.stream("POST", base_url + path, json={**body, "stream": True}) as response:
            return response, (await response.aread()).decode()


def _text_then(fakes, event: bytes) -> None:
    """The Anthropic fake streams some text, then ``event`` in place of the answer's end."""
    events = answers.stream("anthropic", MODEL, "z" * 64, None)
    fakes["anthropic"].events(*events[:next(i for i, e in enumerate(events) if b"content_block_stop" in e)], event)


@pytest.mark.parametrize("path, body", [("/v1/messages", MESSAGES), ("/v1/chat/completions", CHAT)])
async def test_an_overloaded_error_mid_stream_cools_the_provider_like_a_529(daemon, fakes, base_url, path, body):
    """``overloaded_error`` after text: the client (passed through or translated) gets the text and
    the error once; the row is one cut with its usage; both breakers heard a failure and the
    provider cools, so the next request is not sent to it but answered 529/503 with a Retry-After."""
    _text_then(fakes, _error_event("overloaded_error", "Overloaded"))
    response, said = await _stream(base_url, path, body)
    assert response.status_code == 200 and "zzzz" in said and said.count("Overloaded") == 1
    [row] = await calls(daemon)
    assert (row["outcome"], row["input_tokens"]) == ("stream_cut", answers.INPUT_TOKENS)
    health = daemon.resilience.health
    assert health.cooling["anthropic"].category == "overloaded"
    assert [health.breaker("anthropic").consecutive, health.breaker("anthropic", MODEL).consecutive] == [1, 1]
    again, _ = await _stream(base_url, path, body)
    assert again.status_code in (503, 529) and int(again.headers["retry-after"]) >= 1
    assert len(fakes["anthropic"].received) == 1 and len(await calls(daemon)) == 1


async def test_a_rate_limit_error_mid_stream_cools_the_model_and_trips_no_breaker(daemon, fakes, base_url):
    """``rate_limit_error`` after text is a limit, not a fault: the model cools, the breakers
    hear nothing, and the row still counts the usage it streamed once."""
    _text_then(fakes, _error_event("rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit"))
    response, said = await _stream(base_url, "/v1/messages", MESSAGES)
    assert response.status_code == 200 and said.count("rate_limit_error") == 1
    [row] = await calls(daemon)
    assert (row["outcome"], row["input_tokens"]) == ("stream_cut", answers.INPUT_TOKENS)
    health = daemon.resilience.health
    assert health.cooling[f"anthropic/{MODEL}"].category == "rate_limited"
    assert "anthropic" not in health.cooling
    assert health.breaker("anthropic").consecutive == 0 and health.breaker("anthropic", MODEL).consecutive == 0


async def test_a_retry_delay_in_a_streams_first_error_event_is_the_retry_after(daemon, fakes, base_url):
    """A Gemini stream whose first event is ``RESOURCE_EXHAUSTED`` with a ``RetryInfo``: the client
    gets 429 with that delay as its Retry-After, and the model is left alone until then."""
    fakes["gemini"].events(b"data: " + QUOTA + b"\n\n")
    response, _ = await _stream(base_url, GEMINI_STREAM, GEMINI)
    assert response.status_code == 429 and int(response.headers["retry-after"]) in range(40, 43)
    cooling = daemon.resilience.health.cooling["gemini/gemini-2.5-flash"]
    assert cooling.category == "rate_limited" and cooling.until - time.time() > 40


def test_a_retry_delay_in_a_streamed_error_sets_the_cool_down():
    """Gemini's ``RetryInfo`` in a mid-stream ``RESOURCE_EXHAUSTED`` is the only word on when to come
    back (a stream has no Retry-After): the model cools that long."""
    failure = stream_failure("gemini", QUOTA)
    board = Resilience(CONFIG, {})
    held = admit(board, "g", "gemini-2.5-flash", {"requests": 1}, 0, has_own_key=False)
    verdict = stream_verdict(held, failure)
    assert (verdict.category, verdict.cools, verdict.cooldown_s) == ("rate_limited", "model", 42.0)
    held.failed(100, verdict, 200, "quota")
    assert board.health.unavailable("g", "gemini-2.5-flash", 141) is not None
    assert board.health.unavailable("g", "gemini-2.5-flash", 143) is None


# Each other dialect's overload mid-stream: (fake, its dialect, model, client path, body, the event).
OVERLOADS = {
    "gemini": ("gemini", "gemini", "gemini-2.5-flash", GEMINI_STREAM, GEMINI,
               b'data: {"error":{"code":503,"message":"The model is overloaded. Please try again later.",'
               b'"status":"UNAVAILABLE"}}\n\n'),
    "responses": ("openai", "responses", "gpt-4o", "/v1/responses", {"model": "gpt-4o", "input": "hi"},
                  b'event: response.failed\ndata: {"type":"response.failed","sequence_number":9,"response":'
                  b'{"id":"resp_1","object":"response","status":"failed","error":{"code":"server_is_overloaded",'
                  b'"message":"Try again later."},"output":[]}}\n\n'),
}


@pytest.mark.parametrize("dialect", OVERLOADS)
async def test_gemini_and_responses_overloads_mid_stream_cool_the_provider(daemon, fakes, base_url, dialect):
    """Gemini's ``UNAVAILABLE`` "overloaded" and a Responses ``response.failed`` with
    ``server_is_overloaded`` after text cool the provider and count for its breakers; the client
    got the provider's error once, and the next request goes elsewhere or waits."""
    fake, upstream, model, path, body, event = OVERLOADS[dialect]
    fakes[fake].events(*answers.stream(upstream, model, "y" * 64, None)[:-3], event)
    response, said = await _stream(base_url, path, body)
    assert response.status_code == 200 and "yyyy" in said
    [row] = await calls(daemon)
    assert row["outcome"] == "stream_cut"
    health = daemon.resilience.health
    assert health.cooling[fake].category == "overloaded" and health.breaker(fake).consecutive == 1
    again, _ = await _stream(base_url, path, body)
    assert len(fakes[fake].received) == 1
    if fake == "openai":
        assert again.headers["x-routerd-provider"] == "backup"
