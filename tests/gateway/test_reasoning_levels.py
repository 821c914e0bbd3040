"""Output limits keep their meaning across companies: the official SDKs (openai, google-genai) name
a Claude model with an output limit of their own, and the fake of that model, which refuses what the
real API refuses (``tests.fakes.limits``: a thinking budget under 1,024 or not below max_tokens), is
asked for no more output than the client allowed."""

import anthropic
import anyio
import openai
import pytest
from google import genai
from google.genai import types

pytestmark = [pytest.mark.anyio, pytest.mark.filterwarnings("ignore:Async generator:ResourceWarning")]

HI = [{"role": "user", "content": "hi"}]


def _anthropic(base_url: str) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(base_url=base_url, api_key="unused", max_retries=0, timeout=30)


def _openai(base_url: str) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=base_url + "/v1", api_key="unused", max_retries=0)


async def _gemini(base_url: str, model: str, config: types.GenerateContentConfig) -> str:
    """google-genai's sync client in a worker thread (its aio client does not run under trio)."""
    def run() -> str:
        with genai.Client(api_key="dummy", http_options=types.HttpOptions(
                base_url=base_url, retry_options=types.HttpRetryOptions(attempts=1))) as client:
            return client.models.generate_content(model=model, contents="hi", config=config).text or ""
    return await anyio.to_thread.run_sync(run)


@pytest.mark.gateway_config("", providers=("anthropic",))
@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize(("limit", "thinking"), [
    (500, None), (1024, None), (3000, {"type": "enabled", "budget_tokens": 2999})])
async def test_an_openai_clients_max_completion_tokens_holds_on_claude(daemon, fakes, base_url, stream, limit,
                                                                        thinking):
    """An OpenAI client's max_completion_tokens (which counts reasoning) reaches Claude as
    max_tokens unchanged: the thinking budget shrinks under it, or thinking is dropped where 1,024
    tokens do not fit (the limit was raised to 28,672 for a limit under 1,025)."""
    async with _openai(base_url) as client:
        answer = await client.chat.completions.create(model="claude-haiku-4-5", max_completion_tokens=limit,
                                                      reasoning_effort="high", messages=HI, stream=stream)
        if stream:
            text = "".join([c.choices[0].delta.content or "" async for c in answer if c.choices])
        else:
            text = answer.choices[0].message.content
    assert text == "Hello from anthropic."
    sent = fakes["anthropic"].received[-1].json
    assert sent["max_tokens"] == limit and sent.get("thinking") == thinking


@pytest.mark.gateway_config("", providers=("anthropic",))
@pytest.mark.parametrize(("budget", "limit", "thinking"), [
    (8000, 2000, {"type": "enabled", "budget_tokens": 1999}), (300, 2000, {"type": "enabled", "budget_tokens": 1024}),
    (8000, 1000, None)])
async def test_a_gemini_clients_max_output_tokens_holds_on_claude(daemon, fakes, base_url, budget, limit, thinking):
    """google-genai's max_output_tokens (which counts thinking) reaches Claude as max_tokens
    unchanged, the thinking budget at least Anthropic's 1,024 and below it, or no thinking."""
    config = types.GenerateContentConfig(max_output_tokens=limit,
                                         thinking_config=types.ThinkingConfig(thinking_budget=budget))
    assert await _gemini(base_url, "claude-haiku-4-5", config) == "Hello from anthropic."
    sent = fakes["anthropic"].received[-1].json
    assert sent["max_tokens"] == limit and sent.get("thinking") == thinking
