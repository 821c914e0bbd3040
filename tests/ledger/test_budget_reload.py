"""Budgets across a hot reload: a limit the reload adds starts from what the ledger already holds
for today, so its cap holds from the first call after the reload, not from the next resync."""

import time
from pathlib import Path

import openai
import pytest

from tests.e2e.harness import recorded_calls
from tests.fakes.upstream import FakeUpstream

pytestmark = pytest.mark.anyio
PROMPT = [{"role": "user", "content": "What is the capital of France?"}]
PROVIDERS = '''[http]
listen = "127.0.0.1:0"
[providers.openai]
base_url = "{url}/v1"
models = ["gpt-*"]
'''


@pytest.fixture
def config_file(daemon_env: Path, fakes: dict[str, FakeUpstream]) -> Path:
    path = daemon_env / "config.toml"
    path.write_text(PROVIDERS.format(url=fakes["paid"].url))
    return path


async def _reload_with(daemon, config_file: Path, fakes: dict[str, FakeUpstream], budgets: str) -> None:
    config_file.write_text(PROVIDERS.format(url=fakes["paid"].url) + budgets)
    result = await daemon.reload("test")
    assert result.ok, result.message


def _limits(daemon) -> dict[str, dict[str, float]]:
    return {x.name: {"used": x.used, "limit": x.limit} for x in daemon.spending.statistics(daemon.runtime).limits}


async def test_a_limit_added_by_a_reload_counts_todays_spend_at_once(daemon, config_file, fakes):
    """Spend today, then add daily_usd below it by a reload (and then move the limit to a
    provider): each new limit shows the day's spend at once and refuses the next paid call."""
    async with openai.AsyncOpenAI(base_url=f"http://{daemon.http_address}/v1", api_key="x",
                                  max_retries=0) as client:
        for _ in range(2):
            await client.chat.completions.create(model="gpt-4o-mini", messages=PROMPT, max_tokens=10)
        spent = sum(r["cost_usd"] for r in await recorded_calls(daemon))
        assert spent > 0
        await _reload_with(daemon, config_file, fakes, f"[budgets]\ndaily_usd = {spent / 2!r}\n")
        assert _limits(daemon)["daily usd (all)"]["used"] == pytest.approx(spent, abs=1e-6)
        with pytest.raises(openai.APIStatusError) as caught:
            await client.chat.completions.create(model="gpt-4o-mini", messages=PROMPT, max_tokens=10)
        assert caught.value.status_code == 402
        await _reload_with(daemon, config_file, fakes, f"[budgets.providers.openai]\ndaily_usd = {spent / 2!r}\n")
        assert _limits(daemon)["daily usd (provider openai)"]["used"] == pytest.approx(spent, abs=1e-6)
        with pytest.raises(openai.APIStatusError) as caught:
            await client.chat.completions.create(model="gpt-4o-mini", messages=PROMPT, max_tokens=10)
        assert caught.value.status_code == 402
    assert daemon.spending.budgets.share(time.time(), "openai") >= 1.0
