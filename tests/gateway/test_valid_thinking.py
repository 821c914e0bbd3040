"""Thinking budgets and levels reach each model as it takes them: the official SDKs ask ``auto``
(or a model another company makes) for thinking their own model would take, and the fake of the
model routerd sends it to refuses what the real API refuses (``tests.fakes.limits``)."""

import anthropic
import openai
import pytest

from tests.gateway.conftest import chat_text

pytestmark = [pytest.mark.anyio, pytest.mark.filterwarnings("ignore:Async generator:ResourceWarning")]

HI = [{"role": "user", "content": "hi"}]


def _only(kind: str, fake: str, models: str, path: str = "") -> str:
    """One provider of ``kind`` at the fake ``fake`` serving only ``models`` (so ``auto`` picks it)."""
    return (f'[gateway]\nretries = 0\nretry_backoff_s = 0\n\n[providers.only]\nkind = "{kind}"\n'
            f'base_url = "{{{fake}}}{path}"\napi_key = "sk-test-secret-0000"\nmodels = ["{models}"]\n'
            + ("responses = true\n" if kind == "openai" else ""))


def _anthropic(base_url: str) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(base_url=base_url, api_key="unused", max_retries=0, timeout=30)


def _openai(base_url: str) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=base_url + "/v1", api_key="unused", max_retries=0)


def _thinking(sent: dict) -> dict:
    config = sent["generationConfig"]
    return config.get("thinkingConfig") or config.get("thinking_config")


@pytest.mark.gateway_config(_only("gemini", "gemini", "gemini-2.5-pro"), providers=())
@pytest.mark.parametrize("stream", [False, True])
async def test_a_large_claude_budget_reaches_gemini_pro_whole(daemon, fakes, base_url, stream):
    """A Messages request thinking with 32,000 tokens, routed to Gemini 2.5 Pro (budgets up to
    32,768), asks Pro for all 32,000, not the 24,576 every Gemini model takes."""
    async with _anthropic(base_url) as client:
        thinking = {"type": "enabled", "budget_tokens": 32_000}
        if stream:
            async with client.messages.stream(model="auto", max_tokens=60_000, messages=HI,
                                              thinking=thinking) as events:
                text = await events.get_final_text()
        else:
            text = (await client.messages.create(model="auto", max_tokens=60_000, messages=HI,
                                                 thinking=thinking)).content[0].text
    assert text == "Hello from gemini."
    sent = fakes["gemini"].received[-1]
    assert "gemini-2.5-pro:" in sent.path and _thinking(sent.json)["thinkingBudget"] == 32_000


@pytest.mark.gateway_config("", providers=("gemini",))
@pytest.mark.parametrize(("effort", "level"), [("minimal", "low"), ("medium", "low"), ("high", "high")])
async def test_openai_reasoning_effort_to_gemini_3_pro(daemon, fakes, base_url, effort, level):
    """An OpenAI client naming gemini-3-pro-preview (the catalogue's alias of 3.1 Pro, which takes
    medium) reaches Gemini 3 Pro, which takes only low and high: medium goes as low."""
    async with _openai(base_url) as client:
        completion = await client.chat.completions.create(model="gemini-3-pro-preview", reasoning_effort=effort,
                                                          messages=HI)
    assert completion.choices[0].message.content == "Hello from gemini."
    sent = fakes["gemini"].received[-1]
    assert "gemini-3-pro-preview:" in sent.path and _thinking(sent.json) == {"thinkingLevel": level}


@pytest.mark.gateway_config("", providers=("gemini",))
async def test_a_claude_budget_to_gemini_3_pro(daemon, fakes, base_url):
    """A Messages request naming gemini-3-pro-preview with an 8,192-token budget (medium elsewhere)
    asks Gemini 3 Pro for the level below it that it takes, low."""
    async with _anthropic(base_url) as client:
        message = await client.messages.create(model="gemini-3-pro-preview", max_tokens=16_000, messages=HI,
                                               thinking={"type": "enabled", "budget_tokens": 8192})
    assert message.content[0].text == "Hello from gemini."
    sent = fakes["gemini"].received[-1]
    assert "gemini-3-pro-preview:" in sent.path
    assert _thinking(sent.json) == {"thinkingLevel": "low", "includeThoughts": True}


O3 = _only("openai", "openai", "o3", "/v1")


@pytest.mark.gateway_config(O3, providers=())
@pytest.mark.parametrize(("thinking", "effort"), [({"type": "disabled"}, "low"),
                                                  ({"type": "enabled", "budget_tokens": 1024}, "low"),
                                                  ({"type": "enabled", "budget_tokens": 8192}, "medium")])
async def test_claude_thinking_translated_to_o3(daemon, fakes, base_url, thinking, effort):
    """A Messages request with thinking off or a 1,024-token budget (none and minimal, which o3
    refuses) translated to o3 asks for its lowest effort, low."""
    async with _anthropic(base_url) as client:
        message = await client.messages.create(model="auto", max_tokens=16_000, messages=HI, thinking=thinking)
    assert message.content[0].text == "Hello from openai."
    sent = fakes["openai"].received[-1].json
    assert sent["model"] == "o3" and sent["reasoning_effort"] == effort


@pytest.mark.gateway_config(O3, providers=())
@pytest.mark.parametrize("stream", [False, True])
async def test_codex_xhigh_moved_to_o3(daemon, fakes, base_url, stream):
    """A Responses request for ``auto`` at Codex's xhigh, passed through to o3 (low to high), asks
    for high."""
    async with _openai(base_url) as client:
        if stream:
            async with await client.responses.create(model="auto", input="hi", reasoning={"effort": "xhigh"},
                                                     stream=True) as events:
                text = "".join([e.delta async for e in events if e.type == "response.output_text.delta"])
        else:
            text = (await client.responses.create(model="auto", input="hi",
                                                  reasoning={"effort": "xhigh"})).output_text
    assert text == "Hello from openai."
    sent = fakes["openai"].received[-1].json
    assert sent["model"] == "o3" and sent["reasoning"] == {"effort": "high"}


@pytest.mark.gateway_config("", providers=("openai",))
async def test_a_small_claude_budget_to_gpt51(daemon, fakes, base_url):
    """A Messages request naming gpt-5.1 (an alias of gpt-5.5) with a 1,024-token budget, minimal
    elsewhere, asks gpt-5.1, which takes none but not minimal, for none."""
    async with _anthropic(base_url) as client:
        message = await client.messages.create(model="gpt-5.1", max_tokens=4096, messages=HI,
                                               thinking={"type": "enabled", "budget_tokens": 1024})
    assert message.content[0].text == "Hello from openai."
    sent = fakes["openai"].received[-1].json
    assert sent["model"] == "gpt-5.1" and sent["reasoning_effort"] == "none"


@pytest.mark.gateway_config("", providers=("anthropic",))
@pytest.mark.parametrize("stream", [False, True])
async def test_openai_reasoning_to_claude_opus_4_5(daemon, fakes, base_url, stream):
    """An OpenAI client naming claude-opus-4-5 (an alias of Opus 4.8, which takes only adaptive
    thinking and writes up to 128K tokens) with reasoning_effort and max_tokens 100,000 reaches
    Opus 4.5, which takes only a budget and at most 64K: it gets a budget and 64,000."""
    async with _openai(base_url) as client:
        answer = await client.chat.completions.create(model="claude-opus-4-5", max_tokens=100_000,
                                                      reasoning_effort="high", messages=HI, stream=stream)
        text = await chat_text(answer, stream)
    assert text == "Hello from anthropic."
    sent = fakes["anthropic"].received[-1].json
    assert sent["model"] == "claude-opus-4-5" and sent["thinking"] == {"type": "enabled", "budget_tokens": 24_576}
    assert sent["max_tokens"] == 64_000
