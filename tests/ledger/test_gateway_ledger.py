"""The gateway's rows: a provider on 127.0.0.1 is priced like any other unless configured
``local = true``; ``auto`` is compared with ``accounting.baseline_model``; tiers come from the
decision, and the baseline model is stored with the row."""

from pathlib import Path

import openai
import pytest

from routerd.catalogue.builtin import load_catalogue
from routerd.catalogue.prices import Tokens
from routerd.ledger import costs
from tests.e2e.harness import recorded_calls
from tests.fakes.answers import INPUT_TOKENS, OUTPUT_TOKENS
from tests.fakes.upstream import FakeUpstream

pytestmark = pytest.mark.anyio
CATALOGUE = load_catalogue()
TOKENS = Tokens(input=INPUT_TOKENS, output=OUTPUT_TOKENS)


@pytest.fixture
def config_file(daemon_env: Path, fakes: dict[str, FakeUpstream]) -> Path:
    """``openai`` and ``proxy`` are both on 127.0.0.1 (a fake, a LiteLLM-style proxy); only
    ``box`` says it is local."""
    path = daemon_env / "config.toml"
    path.write_text(f'''[http]
listen = "127.0.0.1:0"
[accounting]
baseline_model = "opus"
[providers.openai]
base_url = "{fakes["paid"].url}/v1"
models = ["gpt-*"]
[providers.proxy]
base_url = "{fakes["paid"].url}/v1"
[providers.box]
base_url = "{fakes["box"].url}/v1"
local = true
''')
    return path


async def _ask(daemon, model: str) -> str:
    async with openai.AsyncOpenAI(base_url=f"http://{daemon.http_address}/v1", api_key="x",
                                  max_retries=0) as client:
        raw = await client.chat.completions.with_raw_response.create(
            model=model, messages=[{"role": "user", "content": "What is the capital of France?"}])
    return raw.headers["x-routerd-decision-id"]


async def test_an_address_on_this_machine_is_not_free_a_configured_local_provider_is(daemon, fakes):
    """Same loopback fake: priced as gpt-4.1 through openai and through a proxy, free through box;
    the model the client named is the baseline, so none of them saved anything."""
    for model in ("openai/gpt-4.1", "proxy/gpt-4.1", "box/gpt-4.1"):
        await _ask(daemon, model)
    rows = {r["provider"]: r for r in await recorded_calls(daemon)}
    paid = costs.price(CATALOGUE, ("openai", "gpt-4.1"), TOKENS)
    assert paid and rows["openai"]["cost_usd"] == pytest.approx(paid) == rows["proxy"]["cost_usd"]
    assert rows["box"]["cost_usd"] == 0.0 == rows["box"]["baseline_cost_usd"]
    assert rows["openai"]["baseline_cost_usd"] == rows["openai"]["cost_usd"]
    assert rows["box"]["baseline_model"] == "box/gpt-4.1" and not rows["box"]["estimated"]


async def test_auto_is_compared_with_the_configured_baseline_and_keeps_its_tier(daemon, fakes):
    """model=auto: the baseline is accounting.baseline_model (opus), priced on the same tokens."""
    decision_id = await _ask(daemon, "auto")
    [row] = await recorded_calls(daemon)
    assert row["decision_id"] == decision_id and row["tier"] in ("simple", "moderate", "complex")
    assert row["baseline_model"] == "anthropic/claude-opus-4-8"
    assert row["baseline_cost_usd"] == pytest.approx(costs.price(CATALOGUE, ("anthropic", "claude-opus-4-8"),
                                                                 TOKENS))


async def test_counts_no_call_can_have_are_estimated_and_the_ledger_keeps_writing(daemon, fakes):
    """A provider reporting 10**30 prompt tokens (broken or hostile) neither prices the call at any
    sum nor stops the state writer (an int past 64 bits killed its thread, and every later row was
    lost): the call is estimated from the request, and the next call is recorded as usual."""
    huge = {"id": "chatcmpl-huge", "object": "chat.completion", "created": 0, "model": "gpt-4.1",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "Paris."}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 10**30, "completion_tokens": 3, "total_tokens": 10**30 + 3}}
    fakes["paid"].fail(200, huge)
    await _ask(daemon, "openai/gpt-4.1")
    await _ask(daemon, "openai/gpt-4.1")
    first, second = await recorded_calls(daemon)
    assert first["estimated"] and 0 < first["input_tokens"] < 100 and first["cost_usd"] < 0.01
    assert (second["input_tokens"], second["output_tokens"]) == (INPUT_TOKENS, OUTPUT_TOKENS)
    assert daemon.store.statistics().state == "writing" and daemon.store.statistics().dropped == 0
