"""Every request routerd sends upstream is one the target model takes: the official SDKs ask
``auto`` (or a model in another dialect) for what their own model would take, and routerd makes it
valid for the model it chose, whose fake refuses what the real API refuses (``tests.fakes.limits``)."""

from collections.abc import Callable

import anthropic
import anyio
import httpx
import openai
import pytest

from google import genai
from google.genai import types

from tests.gateway.conftest import chat_text

pytestmark = [pytest.mark.anyio, pytest.mark.filterwarnings("ignore:Async generator:ResourceWarning")]


def _only(kind: str, fake: str, models: str, path: str = "") -> str:
    """One provider of ``kind`` at the fake ``fake`` serving only ``models`` (so ``auto`` picks it:
    a provider named after the maker would serve all its models)."""
    return (f'[gateway]\nretries = 0\nretry_backoff_s = 0\n\n[providers.only]\nkind = "{kind}"\n'
            f'base_url = "{{{fake}}}{path}"\napi_key = "sk-test-secret-0000"\nmodels = ["{models}"]\n'
            + ("responses = true\n" if kind == "openai" else ""))


O3 = _only("openai", "openai", "o3", "/v1")
GPT41 = _only("openai", "openai", "gpt-4.1", "/v1")
FLASH = _only("gemini", "gemini", "gemini-2.5-flash")
CLAUDE = _only("anthropic", "anthropic", "claude-*")
HI = [{"role": "user", "content": "hi"}]


def _anthropic(base_url: str) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(base_url=base_url, api_key="unused", max_retries=0, timeout=30)


def _openai(base_url: str) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=base_url + "/v1", api_key="unused", max_retries=0)


@pytest.mark.gateway_config(O3, providers=())
async def test_claude_code_turn_without_thinking_translated_to_o3(daemon, fakes, base_url):
    """A Messages request (max_tokens 64,000, temperature 0.2, no thinking) routed to o3 goes as
    max_completion_tokens, without the temperature o3 refuses."""
    async with _anthropic(base_url) as client:
        message = await client.messages.create(model="auto", max_tokens=64_000, messages=HI,
                                               extra_body={"temperature": 0.2})
    assert message.content[0].text == "Hello from openai."
    sent = fakes["openai"].received[-1].json
    assert sent["model"] == "o3" and sent["max_completion_tokens"] == 64_000
    assert "max_tokens" not in sent and "temperature" not in sent


@pytest.mark.gateway_config(GPT41, providers=())
async def test_claude_code_turn_with_thinking_translated_to_gpt41(daemon, fakes, base_url):
    """A thinking Messages request asking 64,000 tokens, streamed, routed to gpt-4.1 (32,768, no
    reasoning) asks for 32,768 and no reasoning_effort."""
    async with _anthropic(base_url) as client:
        async with client.messages.stream(model="auto", max_tokens=64_000, messages=HI,
                                          thinking={"type": "enabled", "budget_tokens": 16_000}) as stream:
            text = await stream.get_final_text()
    assert text == "Hello from openai."
    sent = fakes["openai"].received[-1].json
    assert sent["model"] == "gpt-4.1" and "reasoning_effort" not in sent
    assert sent.get("max_tokens", sent.get("max_completion_tokens")) == 32_768


@pytest.mark.gateway_config(GPT41, providers=())
async def test_openai_auto_passed_through_to_gpt41_is_capped(daemon, fakes, base_url):
    """An OpenAI request for ``auto`` with max_tokens 100,000 passed through to gpt-4.1 asks for 32,768."""
    async with _openai(base_url) as client:
        completion = await client.chat.completions.create(model="auto", max_tokens=100_000, messages=HI)
    assert completion.choices[0].message.content == "Hello from openai."
    sent = fakes["openai"].received[-1].json
    assert (sent["model"], sent["max_tokens"]) == ("gpt-4.1", 32_768)


@pytest.mark.gateway_config(O3, providers=())
async def test_openai_auto_passed_through_to_o3(daemon, fakes, base_url):
    """An OpenAI request for ``auto`` with max_tokens, temperature and penalties passed through to o3,
    streamed, goes as max_completion_tokens, without the sampling o3 refuses."""
    async with _openai(base_url) as client:
        stream = await client.chat.completions.create(model="auto", max_tokens=100_000, temperature=0.2,
                                                      presence_penalty=0.5, frequency_penalty=0.1,
                                                      messages=HI, stream=True)
        text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
    assert text == "Hello from openai."
    sent = fakes["openai"].received[-1].json
    assert sent["model"] == "o3" and sent["max_completion_tokens"] == 100_000
    assert not {"max_tokens", "temperature", "presence_penalty", "frequency_penalty"} & set(sent)


@pytest.mark.gateway_config(O3, providers=())
async def test_responses_auto_passed_through_to_o3(daemon, fakes, base_url):
    """A Responses request for ``auto`` with max_output_tokens 200,000 and a temperature passed
    through to o3 asks for 100,000, without the temperature."""
    async with _openai(base_url) as client:
        response = await client.responses.create(model="auto", input="hi", max_output_tokens=200_000,
                                                 temperature=0.5, top_p=0.9)
    assert response.output_text == "Hello from openai."
    sent = fakes["openai"].received[-1].json
    assert sent["model"] == "o3" and sent["max_output_tokens"] == 100_000
    assert "temperature" not in sent and "top_p" not in sent


@pytest.mark.gateway_config(FLASH, providers=())
@pytest.mark.parametrize("stream", [False, True])
async def test_openai_auto_translated_to_gemini_is_capped(daemon, fakes, base_url, stream):
    """An OpenAI request for ``auto`` with max_tokens 100,000 translated to Gemini 2.5 Flash asks
    for its 65,536, with a thinking budget below that."""
    async with _openai(base_url) as client:
        answer = await client.chat.completions.create(model="auto", max_tokens=100_000, messages=HI,
                                                      reasoning_effort="high", stream=stream)
        text = await chat_text(answer, stream)
    assert text == "Hello from gemini."
    config = fakes["gemini"].received[-1].json["generationConfig"]
    assert config["maxOutputTokens"] == 65_536
    assert 0 < config["thinkingConfig"]["thinkingBudget"] < 65_536


@pytest.mark.gateway_config(CLAUDE, providers=())
async def test_anthropic_auto_keeps_the_sampling_its_claude_takes(daemon, fakes, base_url):
    """A Messages request for ``auto`` with temperature and top_p, passed through to the Claude
    routing chose, keeps the temperature (4.5/4.6 take one of them) or neither (Opus 4.7 on)."""
    async with _anthropic(base_url) as client:
        message = await client.messages.create(model="auto", max_tokens=100, messages=HI,
                                               extra_body={"temperature": 0.5, "top_p": 0.9})
    assert message.content[0].text == "Hello from anthropic."
    sent = fakes["anthropic"].received[-1].json
    assert "top_p" not in sent
    assert sent.get("temperature") == (None if sent["model"] == "claude-opus-4-8" else 0.5), sent["model"]


@pytest.mark.gateway_config(CLAUDE, providers=())
async def test_openai_request_translated_to_thinking_claude(daemon, fakes, base_url):
    """An OpenAI request with temperature, top_p and reasoning_effort translated to Sonnet 4.6
    thinks without the sampling settings thinking refuses, below its 64,000 output tokens."""
    async with _openai(base_url) as client:
        completion = await client.chat.completions.create(
            model="claude-sonnet-4-6", max_tokens=100_000, temperature=0.7, top_p=0.5, reasoning_effort="high",
            messages=HI)
    assert completion.choices[0].message.content == "Hello from anthropic."
    sent = fakes["anthropic"].received[-1].json
    assert sent["max_tokens"] == 64_000 and sent["thinking"]["budget_tokens"] < 64_000
    assert "temperature" not in sent and "top_p" not in sent


@pytest.mark.gateway_config(CLAUDE, providers=())
async def test_openai_reasoning_translated_to_opus_thinks_adaptively(daemon, fakes, base_url):
    """reasoning_effort translated to Opus 4.8, which takes no thinking budget nor temperature,
    goes as adaptive thinking at that effort."""
    async with _openai(base_url) as client:
        completion = await client.chat.completions.create(
            model="claude-opus-4-8", temperature=0.2, reasoning_effort="medium", messages=HI)
    assert completion.choices[0].message.content == "Hello from anthropic."
    sent = fakes["anthropic"].received[-1].json
    assert sent["thinking"] == {"type": "adaptive"} and sent["output_config"] == {"effort": "medium"}
    assert "temperature" not in sent


@pytest.mark.gateway_config(GPT41, providers=())
async def test_a_codex_shaped_responses_request_to_gpt41(daemon, fakes, base_url):
    """A Responses request as Codex sends it (reasoning, include of encrypted reasoning) for ``auto``
    passed through to gpt-4.1, which does not reason, goes without either."""
    async with _openai(base_url) as client:
        response = await client.responses.create(model="auto", input="hi", reasoning={"effort": "high"},
                                                 include=["reasoning.encrypted_content"], store=False)
    assert response.output_text == "Hello from openai."
    sent = fakes["openai"].received[-1].json
    assert sent["model"] == "gpt-4.1" and "reasoning" not in sent and "include" not in sent


@pytest.mark.gateway_config(FLASH, providers=())
@pytest.mark.parametrize("method", ["generateContent", "streamGenerateContent?alt=sse"])
async def test_gemini_auto_passed_through_is_capped(daemon, fakes, base_url, method):
    """A Gemini request for ``auto`` (its model in the URL) asking 100,000 output tokens, passed
    through to Gemini 2.5 Flash, asks for its 65,536."""
    body = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}],
            "generationConfig": {"maxOutputTokens": 100_000}}
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as http:
        response = await http.post(f"/v1beta/models/auto:{method}", json=body)
    assert response.status_code == 200 and "Hell" in response.text and "error" not in response.text, response.text
    sent = fakes["gemini"].received[-1]
    assert "gemini-2.5-flash:" in sent.path and sent.json["generationConfig"]["maxOutputTokens"] == 65_536


PRO = _only("gemini", "gemini", "gemini-2.5-pro")
GEMINI3 = _only("gemini", "gemini", "gemini-3.1-pro-preview")
DEEPSEEK = _only("openai", "openai", "deepseek-reasoner", "/v1")


def _genai(base_url: str, model: str, thinking: types.ThinkingConfig) -> Callable[[], str | None]:
    def call() -> str | None:
        with genai.Client(api_key="unused", http_options=types.HttpOptions(
                base_url=base_url, retry_options=types.HttpRetryOptions(attempts=1))) as client:
            config = types.GenerateContentConfig(thinking_config=thinking, max_output_tokens=60_000)
            return client.models.generate_content(model=model, contents="hi", config=config).text
    return call


def _thinking(sent: dict) -> dict:
    config = sent["generationConfig"]
    return config.get("thinkingConfig") or config.get("thinking_config")


@pytest.mark.gateway_config(PRO, providers=())
async def test_gemini_sdk_thinking_off_moved_to_gemini_pro(daemon, fakes, base_url):
    """google-genai with thinking off (budget 0, as 2.5 Flash takes it) for ``auto``, passed through
    to Gemini 2.5 Pro, which cannot turn thinking off, asks for its least budget."""
    text = await anyio.to_thread.run_sync(_genai(base_url, "auto", types.ThinkingConfig(thinking_budget=0)))
    assert text == "Hello from gemini."
    sent = fakes["gemini"].received[-1]
    assert "gemini-2.5-pro:" in sent.path and _thinking(sent.json) == {"thinking_budget": 128}


@pytest.mark.gateway_config(FLASH, providers=())
async def test_gemini_sdk_pro_budget_moved_to_flash(daemon, fakes, base_url):
    """2.5 Pro's largest budget (32,768) moved to 2.5 Flash asks for Flash's most, 24,576."""
    thinking = types.ThinkingConfig(thinking_budget=32_768, include_thoughts=True)
    text = await anyio.to_thread.run_sync(_genai(base_url, "auto", thinking))
    assert text == "Hello from gemini."
    assert _thinking(fakes["gemini"].received[-1].json) == {"thinking_budget": 24_576, "include_thoughts": True}


@pytest.mark.gateway_config(PRO, providers=())
@pytest.mark.parametrize("thinking", [{"type": "disabled"}, {"type": "enabled", "budget_tokens": 1024}])
async def test_claude_thinking_translated_to_gemini_pro(daemon, fakes, base_url, thinking):
    """A Messages request with thinking off, or a small budget, translated to Gemini 2.5 Pro asks
    for a budget in Pro's range (thinking off is its least, 128)."""
    async with _anthropic(base_url) as client:
        message = await client.messages.create(model="auto", max_tokens=4096, messages=HI, thinking=thinking)
    assert message.content[0].text == "Hello from gemini."
    budget = _thinking(fakes["gemini"].received[-1].json)["thinkingBudget"]
    assert budget == (128 if thinking["type"] == "disabled" else 1024)


@pytest.mark.gateway_config(GEMINI3, providers=())
@pytest.mark.parametrize(("effort", "level"), [("none", "low"), ("minimal", "low"), ("medium", "medium"),
                                               ("high", "high")])
async def test_openai_reasoning_effort_translated_to_gemini3(daemon, fakes, base_url, effort, level):
    """reasoning_effort translated to Gemini 3.1 Pro goes as the thinkingLevel it stands for, among
    the levels Pro takes (none and minimal: its lowest, low), and no budget beside it."""
    async with _openai(base_url) as client:
        completion = await client.chat.completions.create(model="auto", reasoning_effort=effort, messages=HI)
    assert completion.choices[0].message.content == "Hello from gemini."
    assert _thinking(fakes["gemini"].received[-1].json) == {"thinkingLevel": level}


@pytest.mark.gateway_config(DEEPSEEK, providers=())
async def test_openai_auto_passed_through_to_deepseek_reasoner(daemon, fakes, base_url):
    """An OpenAI request for ``auto`` with max_completion_tokens, temperature and logprobs passed
    through to deepseek-reasoner goes as max_tokens (at most its 64K), without the logprobs it refuses."""
    async with _openai(base_url) as client:
        completion = await client.chat.completions.create(
            model="auto", max_completion_tokens=100_000, temperature=0.2, logprobs=True, top_logprobs=2,
            reasoning_effort="high", messages=HI)
    assert completion.choices[0].message.content == "Hello from openai."
    sent = fakes["openai"].received[-1].json
    assert sent["model"] == "deepseek-reasoner" and sent["max_tokens"] == 65_536
    assert not {"max_completion_tokens", "logprobs", "top_logprobs"} & set(sent)


@pytest.mark.gateway_config(DEEPSEEK, providers=())
async def test_claude_thinking_translated_to_deepseek_reasoner(daemon, fakes, base_url):
    """A thinking Messages request translated to deepseek-reasoner asks with max_tokens, not the
    max_completion_tokens of OpenAI's reasoning models."""
    async with _anthropic(base_url) as client:
        message = await client.messages.create(model="auto", max_tokens=8000, messages=HI,
                                               thinking={"type": "enabled", "budget_tokens": 4000})
    assert message.content[0].text == "Hello from openai."
    sent = fakes["openai"].received[-1].json
    assert sent["max_tokens"] == 8000 and "max_completion_tokens" not in sent


HAIKU = _only("anthropic", "anthropic", "claude-haiku-4-5")


@pytest.mark.gateway_config(HAIKU, providers=())
async def test_claude_codes_adaptive_thinking_moved_to_haiku_thinks(daemon, fakes, base_url):
    """Claude Code's request for its Opus (adaptive thinking, effort) moved by ``auto`` to Haiku 4.5,
    which takes extended thinking with a budget but neither adaptive thinking nor effort, thinks
    with the budget of the effort asked (high: 24,576, not medium's 8,192) below its max_tokens."""
    async with _anthropic(base_url) as client:
        message = await client.messages.create(
            model="auto", max_tokens=32_000, messages=HI, thinking={"type": "adaptive"},
            extra_body={"output_config": {"effort": "high"}})
    assert message.content[0].text == "Hello from anthropic."
    sent = fakes["anthropic"].received[-1].json
    assert sent["model"] == "claude-haiku-4-5" and "output_config" not in sent
    assert sent["thinking"] == {"type": "enabled", "budget_tokens": 24_576}
