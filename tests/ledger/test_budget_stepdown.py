"""Budgets and automatic routing: a candidate whose worst case does not fit a limit is passed over
for cheaper tiers' models; only when none fits is the request refused, with a message that names
the model, what it would reserve and why, and max_tokens as the way to reserve less. A request for
a named model does not step down."""

from pathlib import Path

import openai
import pytest

from tests.fakes.upstream import FakeUpstream

pytestmark = pytest.mark.anyio
COMPLEX = [{"role": "user", "content": "Design a rate limiter for a multi-region API with per-tenant quotas, "
                                       "consistency trade-offs and failure modes."}]


@pytest.fixture
def cap() -> float:
    return 1.5


@pytest.fixture
def config_file(daemon_env: Path, fakes: dict[str, FakeUpstream], cap: float) -> Path:
    """Anthropic models only, a rule sending the prompt to the complex tier (Opus, whose 64,000
    output tokens at max effort reserve about $1.60), and a daily cap of ``cap``."""
    path = daemon_env / "config.toml"
    path.write_text(f'''[http]
listen = "127.0.0.1:0"
[budgets]
daily_usd = {cap}
[[routing.rules]]
name = "design"
keywords = ["rate limiter"]
tier = "complex"
[providers.anthropic]
kind = "anthropic"
base_url = "{fakes["paid"].url}"
models = ["claude-*"]
''')
    return path


async def _ask(daemon, model: str = "auto") -> openai.types.chat.ChatCompletion:
    """The prompt at reasoning effort max and no output limit: Claude is sent max_tokens = max's
    thinking budget + 4,096, 64,000 (``anthropic.request.max_tokens``), and held for that."""
    async with openai.AsyncOpenAI(base_url=f"http://{daemon.http_address}/v1", api_key="x",
                                  max_retries=0) as client:
        return await client.chat.completions.create(model=model, messages=COMPLEX, reasoning_effort="max")


async def test_auto_steps_down_to_a_cheaper_tier_that_fits_the_budget(daemon, fakes):
    """A complex auto request at max effort without max_tokens: Opus's 64,000 output tokens do
    not fit a $1.50 cap, so the next tier's model serves it, and the limit counts no refusal."""
    answer = await _ask(daemon)
    assert answer.choices[0].message.content == "Hello from paid."
    [sent] = fakes["paid"].received
    assert sent.json["model"] == "claude-sonnet-4-6"
    [limit] = daemon.spending.statistics(daemon.runtime).limits
    assert limit.refused == 0 and limit.used > 0


@pytest.mark.parametrize("cap", [0.001])
async def test_when_no_model_fits_the_402_names_the_model_its_reservation_and_max_tokens(daemon, fakes):
    """Nothing fits a $0.001 cap: 402 naming Opus, the dollars its output would
    reserve (the 64,000 tokens routerd sends it), that cheaper models were tried, and max_tokens as
    the way to reserve less."""
    with pytest.raises(openai.APIStatusError) as caught:
        await _ask(daemon)
    assert caught.value.status_code == 402 and not fakes["paid"].received
    message = caught.value.body["message"]
    assert "anthropic/claude-opus-4-8 would reserve $1.6" in message
    assert ("the 64,000 output tokens routerd asks of the model for it (room for its reasoning), since the "
            "request sets no max_tokens") in message
    assert "no cheaper model fits either" in message and "set max_tokens to reserve less" in message


async def test_a_named_model_does_not_step_down(daemon, fakes):
    """Asking for Opus by name under the same cap is refused (402), not served by another model."""
    with pytest.raises(openai.APIStatusError) as caught:
        await _ask(daemon, "claude-opus-4-8")
    assert caught.value.status_code == 402 and not fakes["paid"].received
    assert "no cheaper model" not in caught.value.body["message"]
