"""A tool loop with thinking on, from clients routerd translates to Claude, is not refused: the
client has no signed thinking block to send back with its tool result, nor may manual thinking go
with a forced tool choice (the fake Anthropic refuses both as the API does, ``tests.fakes.limits``),
so routerd turns a thinking budget off for that request (adaptive thinking, the model's option,
the API takes in a loop, and beside a forced tool only on Opus 4.8); Claude Code's own loop, which
carries its signed thinking, keeps it."""

import anthropic
import openai
import pytest
from google.genai import types

from tests.gateway.conftest import calls
from tests.gateway.test_gemini_sdk import _sync, get_weather

pytestmark = [pytest.mark.anyio, pytest.mark.filterwarnings("ignore:Async generator:ResourceWarning")]

WEATHER = {"type": "function", "function": {"name": "get_weather", "description": "Weather for a city.",
                                            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}
ASK = [{"role": "user", "content": "weather in Paris?"}]
THINK = types.ThinkingConfig(thinking_budget=2048)


def _openai(base_url: str) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=base_url + "/v1", api_key="unused", max_retries=0)


@pytest.mark.parametrize("model", ["claude-sonnet-4-6", "claude-opus-4-8"])
@pytest.mark.parametrize("stream", [False, True])
async def test_openai_tool_loop_with_reasoning_reaches_claude(daemon, fakes, base_url, model, stream):
    """Step 1 (reasoning_effort, a tool) thinks and calls the tool; step 2 (its result) is answered,
    sent without a thinking budget (Sonnet 4.6) or with adaptive thinking, which Opus 4.8 may skip."""
    async with _openai(base_url) as client:
        first = await client.chat.completions.create(model=model, reasoning_effort="high", tools=[WEATHER],
                                                     messages=ASK)
        [call] = first.choices[0].message.tool_calls
        history = [*ASK, first.choices[0].message.model_dump(exclude_none=True),
                   {"role": "tool", "tool_call_id": call.id, "content": "sunny in Paris"}]
        second = await client.chat.completions.create(model=model, reasoning_effort="high", tools=[WEATHER],
                                                      messages=history, stream=stream)
        if stream:
            text = "".join([c.choices[0].delta.content or "" async for c in second if c.choices])
        else:
            text = second.choices[0].message.content
    assert text == "Hello from anthropic."
    asked, answered = (r.json for r in fakes["anthropic"].received[-2:])
    assert answered.get("thinking") == (None if model == "claude-sonnet-4-6" else {"type": "adaptive"})
    assert asked["thinking"]["type"] == ("enabled" if model == "claude-sonnet-4-6" else "adaptive")
    assert answered["messages"][-1]["content"][0]["type"] == "tool_result"
    assert [r["outcome"] for r in await calls(daemon)] == ["ok", "ok"]


@pytest.mark.parametrize("choice", ["required", {"type": "function", "function": {"name": "get_weather"}}])
async def test_openai_forced_tool_with_reasoning_keeps_the_force(daemon, fakes, base_url, choice):
    """tool_choice "required" or a named function with reasoning_effort, to Sonnet 4.6 (manual
    thinking): the tool is still forced, thinking is off for that request."""
    async with _openai(base_url) as client:
        completion = await client.chat.completions.create(
            model="claude-sonnet-4-6", reasoning_effort="low", tools=[WEATHER], tool_choice=choice, messages=ASK)
    assert completion.choices[0].message.tool_calls[0].function.name == "get_weather"
    sent = fakes["anthropic"].received[-1].json
    assert sent["tool_choice"]["type"] in ("any", "tool") and "thinking" not in sent


async def test_openai_forced_tool_on_opus_keeps_adaptive_thinking(daemon, fakes, base_url):
    """Opus 4.8 thinks adaptively, which the API takes with a forced tool choice: both are sent."""
    async with _openai(base_url) as client:
        await client.chat.completions.create(
            model="claude-opus-4-8", reasoning_effort="low", tools=[WEATHER], tool_choice="required", messages=ASK)
    sent = fakes["anthropic"].received[-1].json
    assert sent["tool_choice"]["type"] == "any" and sent["thinking"] == {"type": "adaptive"}


async def test_genai_automatic_function_calling_with_thinking_reaches_claude(daemon, fakes, base_url):
    """google-genai with thinking_config and a Python function (automatic function calling on): the
    SDK runs it, sends the result back, and gets the final text; only that last request goes without
    thinking."""
    config = types.GenerateContentConfig(tools=[get_weather], thinking_config=THINK)
    response = await _sync(base_url, lambda c: c.models.generate_content(
        model="claude-sonnet-4-6", contents="weather in Paris?", config=config))
    assert response.text == "Hello from anthropic."
    asked, answered = (r.json for r in fakes["anthropic"].received[-2:])
    assert asked["thinking"] == {"type": "enabled", "budget_tokens": 2048} and "thinking" not in answered
    assert "sunny in Paris" in str(answered["messages"][-1]["content"])


async def test_genai_mode_any_with_thinking_reaches_claude(daemon, fakes, base_url):
    """A forced call (mode ANY) with thinking_config becomes tool_choice any, without thinking."""
    config = types.GenerateContentConfig(
        tools=[get_weather], thinking_config=THINK,
        automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
        tool_config=types.ToolConfig(function_calling_config=types.FunctionCallingConfig(mode="ANY")))
    response = await _sync(base_url, lambda c: c.models.generate_content(
        model="claude-sonnet-4-6", contents="weather in Paris?", config=config))
    assert response.function_calls[0].name == "get_weather"
    sent = fakes["anthropic"].received[-1].json
    assert sent["tool_choice"]["type"] == "any" and "thinking" not in sent


THOUGHT = {"type": "thinking", "thinking": "I should check the weather.", "signature": "EqQBCkYIBxgCKkA"}
CALL = {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}}
RESULT = {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny"}]}
TOOL = {"name": "get_weather", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}
CLAUDE = ('[gateway]\nretries = 0\n\n[providers.only]\nkind = "anthropic"\nbase_url = "{anthropic}"\n'
          'api_key = "sk-test-secret-0000"\nmodels = ["claude-*"]\n')


@pytest.mark.gateway_config(CLAUDE, providers=())
@pytest.mark.parametrize("model", ["auto", "claude-sonnet-4-6"])
async def test_claude_code_tool_loop_keeps_its_signed_thinking(daemon, fakes, base_url, model):
    """Claude Code's step 2 (its signed thinking leading the tool call) keeps thinking, passed through
    to the model it named or to the one ``auto`` chose."""
    messages = [*ASK, {"role": "assistant", "content": [THOUGHT, CALL]}, RESULT]
    async with anthropic.AsyncAnthropic(base_url=base_url, api_key="unused", max_retries=0) as client:
        message = await client.messages.create(model=model, max_tokens=16_000, tools=[TOOL], messages=messages,
                                               thinking={"type": "enabled", "budget_tokens": 4096})
    assert message.content[0].text == "Hello from anthropic."
    sent = fakes["anthropic"].received[-1].json
    assert sent["messages"][1]["content"][0] == THOUGHT
    assert sent["thinking"]["type"] in ("enabled", "adaptive")


OPUS = CLAUDE.replace('"claude-*"', '"claude-opus-4-8"')


@pytest.mark.parametrize(("thinking", "expected"), [
    pytest.param({"type": "enabled", "budget_tokens": 4096}, None, marks=pytest.mark.gateway_config(CLAUDE, providers=())),
    pytest.param({"type": "adaptive"}, None, marks=pytest.mark.gateway_config(CLAUDE, providers=())),
    pytest.param({"type": "adaptive"}, {"type": "adaptive"}, marks=pytest.mark.gateway_config(OPUS, providers=())),
])
async def test_anthropic_loop_without_thinking_block_moved_by_auto(daemon, fakes, base_url, thinking, expected):
    """A Messages tool loop without a thinking block (a history another provider answered, or one
    adaptive thinking skipped), sent to ``auto``: Haiku (routing's choice) gets no thinking budget,
    rather than a 400; Opus 4.8 (the only model served) keeps adaptive thinking."""
    messages = [*ASK, {"role": "assistant", "content": [CALL]}, RESULT]
    async with anthropic.AsyncAnthropic(base_url=base_url, api_key="unused", max_retries=0) as client:
        message = await client.messages.create(model="auto", max_tokens=16_000, tools=[TOOL], messages=messages,
                                               thinking=thinking)
    assert message.content[0].text == "Hello from anthropic."
    sent = fakes["anthropic"].received[-1].json
    assert (sent["model"], sent.get("thinking")) == ("claude-opus-4-8" if expected else "claude-haiku-4-5", expected)


SONNET = CLAUDE.replace('"claude-*"', '"claude-sonnet-4-6"')


@pytest.mark.parametrize(("model", "expected"), [
    pytest.param("claude-sonnet-4-6", None, marks=pytest.mark.gateway_config(SONNET, providers=())),
    pytest.param("claude-opus-4-8", {"type": "adaptive"}, marks=pytest.mark.gateway_config(OPUS, providers=())),
])
async def test_anthropic_forced_tool_with_adaptive_thinking_moved_by_auto(daemon, fakes, base_url, model, expected):
    """Adaptive thinking beside a forced tool choice, sent to ``auto``: Sonnet 4.6 (Claude 4.7 and
    earlier refuse the pair) gets the forced tool without thinking; Opus 4.8, which takes both, both."""
    async with anthropic.AsyncAnthropic(base_url=base_url, api_key="unused", max_retries=0) as client:
        await client.messages.create(model="auto", max_tokens=16_000, tools=[TOOL], messages=ASK,
                                     tool_choice={"type": "any"}, thinking={"type": "adaptive"})
    sent = fakes["anthropic"].received[-1].json
    assert (sent["model"], sent["tool_choice"], sent.get("thinking")) == (model, {"type": "any"}, expected)
