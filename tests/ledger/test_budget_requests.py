"""Budgets per request: a request whose candidates a limit refuses counts once in that limit's
``refused``, however many candidates it had."""

from pathlib import Path

import openai
import pytest

from tests.fakes.upstream import FakeUpstream

pytestmark = pytest.mark.anyio
PROMPT = [{"role": "user", "content": "What is the capital of France?"}]


@pytest.fixture
def config_file(daemon_env: Path, fakes: dict[str, FakeUpstream]) -> Path:
    path = daemon_env / "config.toml"
    path.write_text(f'''[http]
listen = "127.0.0.1:0"
[budgets]
daily_usd = 0.000001
[gateway]
fallbacks = {{ "gpt-4o-mini" = ["gpt-4.1-mini", "claude-haiku-4-5"] }}
[providers.openai]
base_url = "{fakes["paid"].url}/v1"
models = ["gpt-*"]
[providers.anthropic]
kind = "anthropic"
base_url = "{fakes["paid"].url}"
models = ["claude-*"]
''')
    return path


async def test_a_refused_request_counts_once_however_many_candidates_it_had(daemon, fakes):
    """Three requests, each with three paid candidates too dear for the cap: `refused` is 3, not 9."""
    async with openai.AsyncOpenAI(base_url=f"http://{daemon.http_address}/v1", api_key="x",
                                  max_retries=0) as client:
        for _ in range(3):
            with pytest.raises(openai.APIStatusError) as caught:
                await client.chat.completions.create(model="gpt-4o-mini", messages=PROMPT, max_tokens=10)
            assert caught.value.status_code == 402
    assert not fakes["paid"].received
    [limit] = daemon.spending.statistics(daemon.runtime).limits
    assert limit.refused == 3 and daemon.spending.refused == 3
