"""Anthropic's adaptive thinking without ``output_config.effort`` runs at high ("By default, Claude
uses high effort"; high is "Equivalent to not setting the parameter", platform.claude.com, Effort),
so the anthropic SDK's request moved to another company's model, or to a Claude that takes only a
budget, asks it for high: OpenAI's reasoning_effort high, Gemini 2.5's and Haiku 4.5's budget 24,576
(both were medium: 8,192)."""

import anthropic
import pytest

pytestmark = [pytest.mark.anyio, pytest.mark.filterwarnings("ignore:Async generator:ResourceWarning")]

HI = [{"role": "user", "content": "hi"}]


async def _adaptive(base_url: str, model: str, stream: bool) -> str:
    """The anthropic SDK's adaptive thinking with no effort, as a Messages client sends it."""
    async with anthropic.AsyncAnthropic(base_url=base_url, api_key="unused", max_retries=0, timeout=30) as client:
        if not stream:
            message = await client.messages.create(model=model, max_tokens=32_000, messages=HI,
                                                   thinking={"type": "adaptive"})
            return message.content[0].text
        async with client.messages.stream(model=model, max_tokens=32_000, messages=HI,
                                          thinking={"type": "adaptive"}) as events:
            return await events.get_final_text()


@pytest.mark.gateway_config("", providers=("openai",))
@pytest.mark.parametrize("stream", [False, True])
async def test_no_effort_to_openai_is_high(daemon, fakes, base_url, stream):
    """Naming gpt-5.5: reasoning_effort high, the client's 32,000 kept."""
    assert await _adaptive(base_url, "gpt-5.5", stream) == "Hello from openai."
    sent = fakes["openai"].received[-1].json
    assert sent["reasoning_effort"] == "high" and sent["max_completion_tokens"] == 32_000


@pytest.mark.gateway_config("", providers=("gemini",))
async def test_no_effort_to_gemini_is_highs_budget(daemon, fakes, base_url):
    """Naming Gemini 2.5 Flash: thinkingBudget 24,576, high's."""
    assert await _adaptive(base_url, "gemini-2.5-flash", False) == "Hello from gemini."
    config = fakes["gemini"].received[-1].json["generationConfig"]
    assert config["thinkingConfig"]["thinkingBudget"] == 24_576 and config["maxOutputTokens"] == 32_000


@pytest.mark.gateway_config('[[routing.rules]]\nname = "to-haiku"\nkeywords = ["hi"]\nmodel = "claude-haiku-4-5"\n',
                            providers=("anthropic",))
async def test_no_effort_moved_to_a_budget_claude_is_highs_budget(daemon, fakes, base_url):
    """Asking routerd's choice (auto) with adaptive thinking, moved to Haiku 4.5 (budgets only):
    budget_tokens 24,576."""
    assert await _adaptive(base_url, "auto", False) == "Hello from anthropic."
    sent = fakes["anthropic"].received[-1].json
    assert sent["model"] == "claude-haiku-4-5"
    assert sent["thinking"] == {"type": "enabled", "budget_tokens": 24_576} and sent["max_tokens"] == 32_000
