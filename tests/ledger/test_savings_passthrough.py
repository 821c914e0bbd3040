"""Only routing saves: a model the client named and routerd passed through, retried or handed to a
configured fallback after a failure saves nothing (baseline cost = cost, 0 saved), on a paid
provider and on a local one; ``auto`` and a downshift still count against their baseline."""

import os
import sys
from pathlib import Path

import anyio
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
    """``openai`` (paid, gpt-*) with gpt-4.1 falling back to gpt-4.1-mini; ``box`` local."""
    path = daemon_env / "config.toml"
    path.write_text(f'''[http]
listen = "127.0.0.1:0"
[accounting]
baseline_model = "opus"
[gateway]
retries = 0
[gateway.fallbacks]
"gpt-4.1" = ["gpt-4.1-mini"]
[providers.openai]
base_url = "{fakes["paid"].url}/v1"
models = ["gpt-*"]
[providers.box]
base_url = "{fakes["box"].url}/v1"
models = ["llama*"]
local = true
''')
    return path


async def _ask(daemon, model: str) -> None:
    async with openai.AsyncOpenAI(base_url=f"http://{daemon.http_address}/v1", api_key="x",
                                  max_retries=0) as client:
        await client.chat.completions.create(
            model=model, messages=[{"role": "user", "content": "What is the capital of France?"}])


async def test_a_fallback_after_a_failure_saves_nothing(daemon, fakes):
    """gpt-4.1 answers 500, its fallback gpt-4.1-mini answers: the failed attempt cost 0, the
    fallback's row costs mini's price with itself as baseline (it saved 0, not the 80% of gpt-4.1's
    price it would claim against the model the client named)."""
    fakes["paid"].fail(500)
    await _ask(daemon, "gpt-4.1")
    failed, answered = await recorded_calls(daemon)
    assert (failed["model"], failed["cost_usd"], failed["baseline_cost_usd"]) == ("gpt-4.1", 0.0, 0.0)
    mini = costs.price(CATALOGUE, ("openai", "gpt-4.1-mini"), TOKENS)
    assert answered["model"] == "gpt-4.1-mini" and answered["cost_usd"] == pytest.approx(mini)
    assert answered["baseline_cost_usd"] == answered["cost_usd"]
    assert answered["baseline_model"] == "openai/gpt-4.1-mini"
    env = {**os.environ, "ROUTERD_SOCKET": str(daemon.socket_path)}
    report = (await anyio.run_process([sys.executable, "-m", "routerctl.main", "report"], env=env)).stdout.decode()
    assert "saved $0.0000 (0.0%)" in report  # two calls for one request: the table says why
    assert "note: 1 call(s) failed or were cut, each an upstream attempt" in report


async def test_a_named_local_model_saves_nothing(daemon, fakes):
    """box/gpt-4.1 on a local provider, named by the client: free, and saving 0, not 100% of what
    gpt-4.1 costs at OpenAI (a price nobody was going to pay for this call)."""
    await _ask(daemon, "box/gpt-4.1")
    [row] = await recorded_calls(daemon)
    assert (row["cost_usd"], row["baseline_cost_usd"], row["baseline_model"]) == (0.0, 0.0, "box/gpt-4.1")


async def test_auto_still_saves_against_its_baseline(daemon, fakes):
    """auto is routing: its row is compared with accounting.baseline_model (opus)."""
    await _ask(daemon, "auto")
    [row] = await recorded_calls(daemon)
    assert row["baseline_model"] == "anthropic/claude-opus-4-8"
    opus = costs.price(CATALOGUE, ("anthropic", "claude-opus-4-8"), TOKENS)
    assert row["baseline_cost_usd"] == pytest.approx(opus) and opus > row["cost_usd"]
