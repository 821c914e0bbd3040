"""Budgets hold a request's hosted web searches too: as many as its ``max_uses`` allows (Claude
Code's WebSearch: 8), else ``DEFAULT_MAX_SEARCHES``, at the model's price per search."""

from pathlib import Path

import anthropic
import msgspec
import pytest

from routerd.budgets.budgets import worst_case
from routerd.catalogue.builtin import load_catalogue
from routerd.gateway.spend import DEFAULT_MAX_SEARCHES, max_searches
from tests.fakes.upstream import FakeUpstream
from tests.ledger.test_web_searches import claude_codes_web_search
from tests.scenarios.captures import load

pytestmark = pytest.mark.anyio


def test_the_searches_a_request_may_run_are_its_max_uses_else_the_default():
    """Claude Code's WebSearch says max_uses 8; Codex offers web_search with no cap (the default);
    a conversation that only holds an earlier search's blocks offers none."""
    claude = msgspec.json.encode(load("claude-code-2.1.197-web-search").body)
    codex = msgspec.json.encode(load("codex-0.169-main").body)
    earlier = (b'{"messages": [{"role": "assistant", "content": [{"type": "web_search_tool_result", '
               b'"content": []}]}], "input": [{"type": "web_search_call", "id": "ws_1"}]}')
    assert (max_searches(claude), max_searches(codex), max_searches(earlier)) == (8, DEFAULT_MAX_SEARCHES, 0)
    rates = load_catalogue().rates("anthropic", "claude-haiku-4-5")
    with_searches, without = worst_case(rates, False, 1000, 100, 8)["usd"], worst_case(rates, False, 1000, 100)["usd"]
    assert with_searches - without == pytest.approx(8 * 10 / 1000)


def test_a_worst_case_prices_web_search_preview_searches_at_their_own_rate():
    """Searches a request's ``web_search_preview`` tool may run are held at that tool's price ($25
    per 1,000 on gpt-4o and gpt-4.1-mini), not web_search's $10; on gpt-5 both cost $10."""
    catalogue = load_catalogue()
    for model, per_search in (("gpt-4o", 0.025), ("gpt-4.1-mini", 0.025), ("gpt-5", 0.01)):
        rates = catalogue.rates("openai", model)
        without = worst_case(rates, False, 1000, 100)["usd"]
        assert worst_case(rates, False, 1000, 100, 10, preview_searches=10)["usd"] - without == \
            pytest.approx(10 * per_search), model
        assert worst_case(rates, False, 1000, 100, 10)["usd"] - without == pytest.approx(10 * 0.01), model


@pytest.fixture
def config_file(daemon_env: Path, upstream: FakeUpstream) -> Path:
    """Claude models only, and a $0.05 daily cap: Haiku's tokens fit it (~$0.03 at most), its
    eight searches ($0.08) do not."""
    path = daemon_env / "config.toml"
    path.write_text(f'[http]\nlisten = "127.0.0.1:0"\n[budgets]\ndaily_usd = 0.05\n'
                    f'[providers.anthropic]\nkind = "anthropic"\nbase_url = "{upstream.url}"\napi_key = "sk-x"\n'
                    'models = ["claude-*"]\n')
    return path


async def test_a_web_search_turn_reserves_its_searches(daemon, upstream):
    """Claude Code's WebSearch under a $0.05 cap is refused before any provider hears of it (402),
    the message naming its 8 web searches (reserving tokens alone, Haiku would take it and its
    searches would overshoot the cap by up to $0.08)."""
    async with anthropic.AsyncAnthropic(base_url=f"http://{daemon.http_address}", api_key="unused",
                                        max_retries=0) as client:
        with pytest.raises(anthropic.APIStatusError) as caught:
            await client.messages.create(**claude_codes_web_search())
    assert caught.value.status_code == 402 and not upstream.received
    assert "and 8 web searches" in caught.value.message

