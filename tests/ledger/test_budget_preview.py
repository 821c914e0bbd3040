"""A Responses request offering OpenAI's web_search_preview holds its searches at that tool's price
($25 per 1,000 on gpt-4o), as the call record prices them, not web_search's $10."""

from pathlib import Path

import openai
import pytest

from routerd.gateway.spend import DEFAULT_MAX_SEARCHES
from tests.fakes.upstream import FakeUpstream

pytestmark = pytest.mark.anyio

# Between what DEFAULT_MAX_SEARCHES searches cost at $10 and at $25 per 1,000 (with the tokens).
CAP_USD = DEFAULT_MAX_SEARCHES * 0.0175


@pytest.fixture
def config_file(daemon_env: Path, upstream: FakeUpstream) -> Path:
    path = daemon_env / "config.toml"
    path.write_text(f'[http]\nlisten = "127.0.0.1:0"\n[budgets]\ndaily_usd = {CAP_USD}\n'
                    f'[providers.openai]\nkind = "responses"\nbase_url = "{upstream.url}/v1"\napi_key = "sk-x"\n'
                    'models = ["gpt-*"]\n')
    return path


async def test_preview_searches_are_held_at_their_own_price(daemon, upstream):
    """gpt-4o with web_search_preview: its searches at $0.025 each overshoot the cap, so a 402 before
    any provider hears of it; the same request offering web_search ($0.01 each) is served."""
    async with openai.AsyncOpenAI(base_url=f"http://{daemon.http_address}/v1", api_key="unused",
                                  max_retries=0) as client:
        with pytest.raises(openai.APIStatusError) as caught:
            await client.responses.create(model="gpt-4o", input="news today?", max_output_tokens=16,
                                          tools=[{"type": "web_search_preview"}])
        assert caught.value.status_code == 402 and not upstream.received
        assert f"and {DEFAULT_MAX_SEARCHES} web searches" in caught.value.message
        await client.responses.create(model="gpt-4o", input="news today?", max_output_tokens=16,
                                      tools=[{"type": "web_search"}])
    assert upstream.received
