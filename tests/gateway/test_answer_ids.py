"""An upstream that names no answer or tool call (some OpenAI-compatible servers do not) still gives
the client ids of its own that never repeat: Claude Code merges assistant turns that share a message
id, and a tool call's id must not come back twice in one conversation."""

import json

import anthropic
import openai
import pytest

from tests.gateway.test_sdk_clients import WEATHER_ANTHROPIC, WEATHER_OPENAI

pytestmark = [pytest.mark.anyio,
              pytest.mark.filterwarnings("ignore:Async generator:ResourceWarning")]  # the SDK's

_CALL = {"role": "assistant", "content": None,
         "tool_calls": [{"type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}}]}
_USAGE = {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}


def _whole() -> dict:
    return {"object": "chat.completion", "created": 1, "model": "gpt-4o",
            "choices": [{"index": 0, "message": _CALL, "finish_reason": "tool_calls"}], "usage": _USAGE}


def _stream() -> bytes:
    head = {"object": "chat.completion.chunk", "created": 1, "model": "gpt-4o"}
    first = {**head, "choices": [{"index": 0, "delta": {"role": "assistant", "tool_calls": [
        {"index": 0, "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}}]}}]}
    last = {**head, "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}], "usage": _USAGE}
    return b"".join(b"data: " + json.dumps(c).encode() + b"\n\n" for c in (first, last)) + b"data: [DONE]\n\n"


async def test_anthropic_client_gets_fresh_ids_from_an_upstream_without_any(daemon, fakes, base_url):
    for _ in range(2):
        fakes["openai"].fail(200, _whole())
        fakes["openai"].events(_stream())
    messages = []
    async with anthropic.AsyncAnthropic(base_url=base_url, api_key="x", max_retries=0) as client:
        for _ in range(2):
            messages.append(await client.messages.create(
                model="gpt-4o", max_tokens=20, tools=WEATHER_ANTHROPIC, messages=[{"role": "user", "content": "weather?"}]))
            async with client.messages.stream(model="gpt-4o", max_tokens=20, tools=WEATHER_ANTHROPIC,
                                              messages=[{"role": "user", "content": "weather?"}]) as stream:
                messages.append(await stream.get_final_message())
    assert all(m.content[0].type == "tool_use" and m.content[0].input == {"city": "Paris"} for m in messages)
    assert all(m.id and m.content[0].id for m in messages)
    assert len({m.id for m in messages}) == 4
    assert len({m.content[0].id for m in messages}) == 4


_GEMINI = {"candidates": [{"content": {"role": "model", "parts": [
    {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}}]}, "finishReason": "STOP", "index": 0}],
    "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 5, "totalTokenCount": 15}}


async def test_openai_client_gets_fresh_ids_from_a_gemini_upstream_without_any(daemon, fakes, base_url):
    for _ in range(2):
        fakes["gemini"].fail(200, _GEMINI)
        fakes["gemini"].events(b"data: " + json.dumps(_GEMINI).encode() + b"\n\n")
    ids, calls = [], []
    async with openai.AsyncOpenAI(base_url=base_url + "/v1", api_key="unused", max_retries=0) as client:
        for _ in range(2):
            whole = await client.chat.completions.create(model="gemini-2.5-flash", tools=WEATHER_OPENAI,
                                                         messages=[{"role": "user", "content": "weather?"}])
            ids.append(whole.id)
            calls.append(whole.choices[0].message.tool_calls[0].id)
            async with await client.chat.completions.create(
                    model="gemini-2.5-flash", tools=WEATHER_OPENAI, stream=True,
                    messages=[{"role": "user", "content": "weather?"}]) as stream:
                chunks = [c async for c in stream]
            ids.append(chunks[0].id)
            calls += [tc.id for c in chunks if c.choices for tc in c.choices[0].delta.tool_calls or [] if tc.id]
    assert all(ids) and len(set(ids)) == 4
    assert all(calls) and len(set(calls)) == 4
