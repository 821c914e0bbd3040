"""Reasoning levels and output limits keep their meaning across companies: the official SDKs
(openai, anthropic, google-genai) name a model another company makes, at the top levels (Codex's
xhigh, OpenAI's max, Claude Code's xhigh) or with an output limit of their own, and the fake of that
model, which refuses what the real API refuses (``tests.fakes.limits``: a thinking budget under
1,024 or not below max_tokens, a budget to Opus 4.7 on, an effort level the model lacks), is asked
for the highest it takes and for no more output than the client allowed."""

import anthropic
import anyio
import openai
import pytest

from google import genai
from google.genai import types

from tests.gateway.conftest import chat_text

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


async def _codex(base_url: str, model: str, effort: str, stream: bool) -> str:
    """A Responses request as Codex sends it: reasoning.effort and no output limit."""
    async with _openai(base_url) as client:
        if not stream:
            return (await client.responses.create(model=model, input="hi", reasoning={"effort": effort})).output_text
        async with await client.responses.create(model=model, input="hi", reasoning={"effort": effort},
                                                 stream=True) as events:
            return "".join([e.delta async for e in events if e.type == "response.output_text.delta"])


@pytest.mark.gateway_config("", providers=("anthropic",))
@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("effort", ["xhigh", "max"])
async def test_codex_top_effort_to_claude_opus(daemon, fakes, base_url, stream, effort):
    """Codex at xhigh or max naming claude-opus-4-8 (no budgets: adaptive thinking and effort)
    asks Opus for that very effort (it went as medium)."""
    assert await _codex(base_url, "claude-opus-4-8", effort, stream) == "Hello from anthropic."
    sent = fakes["anthropic"].received[-1].json
    assert sent["thinking"] == {"type": "adaptive"} and sent["output_config"] == {"effort": effort}


@pytest.mark.gateway_config("", providers=("anthropic",))
@pytest.mark.parametrize(("model", "effort", "budget"), [
    ("claude-haiku-4-5", "xhigh", 32_768), ("claude-haiku-4-5", "max", 59_904),
    ("claude-sonnet-4-6", "max", 59_904), ("claude-opus-4-5", "xhigh", 32_768)])
async def test_codex_top_effort_to_a_claude_that_thinks_with_a_budget(daemon, fakes, base_url, model, effort, budget):
    """Codex at xhigh or max naming a Claude model that takes budgets gets a budget near the most
    it writes (64K), with room for an answer, as Codex set no output limit."""
    assert await _codex(base_url, model, effort, False) == "Hello from anthropic."
    sent = fakes["anthropic"].received[-1].json
    assert sent["thinking"] == {"type": "enabled", "budget_tokens": budget}
    assert sent["max_tokens"] == min(budget + 4096, 64_000)


@pytest.mark.gateway_config("", providers=("gemini",))
@pytest.mark.parametrize(("model", "thinking"), [
    ("gemini-3-flash-preview", {"thinkingLevel": "high"}), ("gemini-3-pro-preview", {"thinkingLevel": "high"}),
    ("gemini-2.5-pro", {"thinkingBudget": 32_768}), ("gemini-2.5-flash", {"thinkingBudget": 24_576})])
async def test_openai_max_effort_to_gemini(daemon, fakes, base_url, model, thinking):
    """An OpenAI client at reasoning_effort max naming a Gemini model: Gemini 3's highest level,
    Gemini 2.5's most budget (Pro 32,768, Flash 24,576)."""
    async with _openai(base_url) as client:
        completion = await client.chat.completions.create(model=model, reasoning_effort="max", messages=HI)
    assert completion.choices[0].message.content == "Hello from gemini."
    assert fakes["gemini"].received[-1].json["generationConfig"]["thinkingConfig"] == thinking


@pytest.mark.gateway_config("", providers=("openai",))
@pytest.mark.parametrize(("model", "effort", "sent_effort"), [
    ("gpt-5.5", "xhigh", "xhigh"), ("gpt-5.5", "max", "max"), ("gpt-5", "xhigh", "high"), ("gpt-5.1", "max", "high")])
async def test_claude_codes_top_effort_to_openai(daemon, fakes, base_url, model, effort, sent_effort):
    """Claude Code's adaptive thinking at xhigh or max naming an OpenAI model asks it for that
    effort, or the highest below it the model takes (the aliases gpt-5 and gpt-5.1: high); it went as high or medium."""
    async with _anthropic(base_url) as client:
        message = await client.messages.create(model=model, max_tokens=32_000, messages=HI,
                                               thinking={"type": "adaptive"},
                                               extra_body={"output_config": {"effort": effort}})
    assert message.content[0].text == "Hello from openai."
    sent = fakes["openai"].received[-1].json
    assert sent["reasoning_effort"] == sent_effort and sent["max_completion_tokens"] == 32_000


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
        text = await chat_text(answer, stream)
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


@pytest.mark.gateway_config("", providers=("openai",))
async def test_a_gemini_clients_high_level_to_openai(daemon, fakes, base_url):
    """google-genai's thinking_level HIGH naming gpt-5.5 asks for high, within its output limit."""
    config = types.GenerateContentConfig(max_output_tokens=5000,
                                         thinking_config=types.ThinkingConfig(thinking_level=types.ThinkingLevel.HIGH))
    assert await _gemini(base_url, "gpt-5.5", config) == "Hello from openai."
    sent = fakes["openai"].received[-1].json
    assert sent["reasoning_effort"] == "high" and sent["max_completion_tokens"] == 5000


@pytest.mark.gateway_config("", providers=("anthropic",))
async def test_an_opus_4_1_request_asks_for_what_opus_4_1_writes(daemon, fakes, base_url):
    """An OpenAI client naming claude-opus-4-1 (an alias of Opus 4.8, which writes 128K tokens)
    with max_tokens 64,000 reaches Opus 4.1, which writes at most 32K: it asks for 32,000."""
    async with _openai(base_url) as client:
        completion = await client.chat.completions.create(model="claude-opus-4-1", max_tokens=64_000,
                                                          reasoning_effort="high", messages=HI)
    assert completion.choices[0].message.content == "Hello from anthropic."
    sent = fakes["anthropic"].received[-1].json
    assert sent["max_tokens"] == 32_000 and sent["thinking"] == {"type": "enabled", "budget_tokens": 24_576}


@pytest.mark.gateway_config("", providers=("anthropic",))
async def test_codex_xhigh_to_opus_4_1_leaves_room_for_an_answer(daemon, fakes, base_url):
    """Codex at xhigh (no output limit) naming claude-opus-4-1: its 32,768-token budget and the
    4,096 beside it do not fit Opus 4.1's 32K, so both keep their share of it (not 31,999 tokens
    of thinking and one of answer)."""
    assert await _codex(base_url, "claude-opus-4-1", "xhigh", False) == "Hello from anthropic."
    sent = fakes["anthropic"].received[-1].json
    assert sent["max_tokens"] == 32_000 and sent["thinking"] == {"type": "enabled", "budget_tokens": 28_444}
