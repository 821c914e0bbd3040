"""A request with no conversation (its messages, input or contents missing, null or empty) is a 400
in the client's dialect, refused before routing: no provider hears of it."""

from typing import Any

import anthropic
import httpx
import openai
import pytest

pytestmark = pytest.mark.anyio
HI = [{"role": "user", "content": "hi"}]


def _none_received(fakes) -> bool:
    return not any(fake.received for fake in fakes.values())


@pytest.mark.parametrize("messages", [[], None])
async def test_chat_completions_without_messages_is_400(daemon, fakes, base_url, messages):
    """``{"model": "auto", "messages": []}`` and ``"messages": null`` through the OpenAI SDK: 400, OpenAI's shape."""
    async with openai.AsyncOpenAI(base_url=base_url + "/v1", api_key="x", max_retries=0) as client:
        with pytest.raises(openai.BadRequestError) as caught:
            await client.chat.completions.create(model="auto", messages=messages)  # type: ignore[arg-type]
    error: Any = caught.value.body
    assert error["type"] == "invalid_request_error" and error["message"].startswith("messages is ")
    assert _none_received(fakes)


@pytest.mark.parametrize("messages", [[], None])
async def test_anthropic_messages_without_messages_is_400(daemon, fakes, base_url, messages):
    """The same on /v1/messages through the Anthropic SDK: 400 in Anthropic's error shape."""
    async with anthropic.AsyncAnthropic(base_url=base_url, api_key="x", max_retries=0) as client:
        with pytest.raises(anthropic.BadRequestError) as caught:
            await client.messages.create(model="auto", max_tokens=10, messages=messages)  # type: ignore[arg-type]
    error: Any = caught.value.body
    assert error["type"] == "error" and error["error"]["type"] == "invalid_request_error"
    assert "messages is" in error["error"]["message"]
    assert _none_received(fakes)


@pytest.mark.parametrize("value", [[], None, ""])
async def test_responses_without_input_is_400(daemon, fakes, base_url, value):
    """Responses with ``input`` empty, null or "" through the OpenAI SDK: 400; with a
    ``previous_response_id`` continuing a conversation, an empty input goes through."""
    async with openai.AsyncOpenAI(base_url=base_url + "/v1", api_key="x", max_retries=0) as client:
        with pytest.raises(openai.BadRequestError) as caught:
            await client.responses.create(model="gpt-4o", input=value)  # type: ignore[arg-type]
        assert _none_received(fakes)
        assert "input is " in caught.value.message
        await client.responses.create(model="gpt-4o", input=[], previous_response_id="resp_1")
    assert len(fakes["openai"].received) == 1


async def test_gemini_without_contents_is_400(daemon, fakes, base_url):
    """generateContent with ``contents`` empty or missing: 400 in Gemini's shape; countTokens is left alone."""
    async with httpx.AsyncClient(base_url=base_url) as client:
        for body in ({"contents": []}, {}):
            response = await client.post("/v1beta/models/gemini-2.5-flash:generateContent", json=body)
            assert response.status_code == 400
            assert response.json()["error"]["status"] == "INVALID_ARGUMENT"
    assert _none_received(fakes)


async def test_a_conversation_with_a_message_is_routed(daemon, fakes, base_url):
    """The same request with one message is served."""
    async with openai.AsyncOpenAI(base_url=base_url + "/v1", api_key="x", max_retries=0) as client:
        answer = await client.chat.completions.create(model="gpt-4o", messages=HI)  # type: ignore[arg-type]
    assert answer.choices[0].message.content
