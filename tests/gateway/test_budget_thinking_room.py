"""A budget holds the output routerd itself asks for: an OpenAI client that sets no output limit
but a reasoning effort reaches Claude as ``max_tokens`` = the effort's thinking budget + 4,096
(``anthropic.request.max_tokens``), so a Claude model the catalogue does not know but the price book
prices (claude-3-opus-20240229, $75 per million output tokens) is held for that, not for
``spend.DEFAULT_MAX_OUTPUT`` (8,192: $0.61, under the $1 cap, where xhigh may spend $2.76)."""

import openai
import pytest

pytestmark = [pytest.mark.anyio, pytest.mark.filterwarnings("ignore:Async generator:ResourceWarning")]

MODEL = "claude-3-opus-20240229"
HI = [{"role": "user", "content": "hi"}]


@pytest.mark.gateway_config("[budgets]\ndaily_usd = 1.0\n", providers=("anthropic",))
async def test_an_effort_without_a_limit_is_held_for_the_room_routerd_sends(daemon, fakes, base_url):
    """reasoning_effort xhigh (36,864 tokens sent, $2.76) is refused with a 402 that says so and
    nothing reaches Claude; low (6,144 tokens, $0.46) is served, sent as what was held."""
    async with openai.AsyncOpenAI(base_url=base_url + "/v1", api_key="unused", max_retries=0) as client:
        with pytest.raises(openai.APIStatusError) as caught:
            await client.chat.completions.create(model=MODEL, messages=HI, reasoning_effort="xhigh")
        assert caught.value.status_code == 402
        assert "36,864 output tokens routerd asks of the model" in str(caught.value)
        assert not fakes["anthropic"].received
        completion = await client.chat.completions.create(model=MODEL, messages=HI, reasoning_effort="low")
    assert completion.choices[0].message.content == "Hello from anthropic."
    sent = fakes["anthropic"].received[-1].json
    assert sent["max_tokens"] == 6_144 and sent["thinking"] == {"type": "enabled", "budget_tokens": 2_048}
