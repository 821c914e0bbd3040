"""Hosted web searches in the ledger, end to end: the anthropic SDK sends Claude Code's WebSearch
call through routerd to a fake provider that runs its own search twice (Anthropic reporting
``server_tool_use.web_search_requests: 2``; OpenAI's Responses answering with two
``web_search_call`` items, and Gemini grounding with two queries, both translated back to
Anthropic's blocks). Each call's row counts the two searches and its cost is the tokens plus the
searches at the model's price; the usage report and the export show them."""

import csv
import io
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import anthropic
import anyio
import msgspec
import pytest

from routerd.catalogue.builtin import load_catalogue
from routerd.catalogue.prices import Tokens, search_usd
from routerd.ledger import costs
from tests.e2e.harness import recorded_calls
from tests.fakes.upstream import FakeUpstream
from tests.scenarios.captures import load
from tests.support import connect

pytestmark = pytest.mark.anyio
CATALOGUE = load_catalogue()
# What two searches in one answer cost (prices.json, from genai-prices): Anthropic and OpenAI $10
# per 1,000 searches; Gemini 2.x $35 per 1,000 grounded prompts (once), Gemini 3 $14 per 1,000 queries.
TWO_SEARCHES_USD = {"anthropic": {0.02}, "openai": {0.02}, "gemini": {0.035, 0.028}}


def claude_codes_web_search() -> dict:
    """Claude Code 2.1.197's WebSearch call as the SDK's keyword arguments (max_tokens 4,096: the
    SDK refuses its 64,000 without streaming)."""
    body = {**load("claude-code-2.1.197-web-search").body, "model": "claude-routerd-auto"}
    own = {"model", "messages", "system", "tools", "tool_choice", "metadata", "thinking", "temperature"}
    return {**{k: v for k, v in body.items() if k in own}, "max_tokens": 4096,
            "extra_body": {k: v for k, v in body.items() if k not in own | {"stream", "max_tokens"}}}


@pytest.fixture
async def upstream(anyio_backend: str) -> AsyncIterator[FakeUpstream]:
    """One fake provider whose hosted web search runs two searches per answer."""
    async with anyio.create_task_group() as tg:
        fake = await tg.start(FakeUpstream().serve)
        fake.searches = 2
        yield fake
        tg.cancel_scope.cancel()


@pytest.fixture
def config_file(daemon_env: Path, upstream: FakeUpstream, request: pytest.FixtureRequest) -> Path:
    """The fake as ``anthropic`` (Messages), ``openai`` (Responses) or ``gemini``, by the test's parameter."""
    kind = request.node.callspec.params["kind"]
    section = {
        "anthropic": f'kind = "anthropic"\nbase_url = "{upstream.url}"\nmodels = ["claude-*"]\n',
        "openai": f'kind = "openai"\nbase_url = "{upstream.url}/v1"\nmodels = ["gpt-*"]\nresponses = true\n',
        "gemini": f'kind = "gemini"\nbase_url = "{upstream.url}"\nmodels = ["gemini-*"]\n',
    }[kind]
    section = f'[providers.{kind}]\n{section}api_key = "sk-x"\n'

    path = daemon_env / "config.toml"
    path.write_text(f'[http]\nlisten = "127.0.0.1:0"\n[gateway]\nretry_backoff_s = 0\n{section}')
    return path


@pytest.mark.parametrize("kind", ["anthropic", "openai", "gemini"])
async def test_a_web_search_turn_records_its_searches_and_pays_for_them(daemon, upstream, kind):
    """Whole and streamed, each row counts 2 searches and costs its tokens plus 2 searches at the
    served model's price (they used to be dropped: the turn was priced as tokens alone); the usage
    report sums them and the export's last column has them."""
    async with anthropic.AsyncAnthropic(base_url=f"http://{daemon.http_address}", api_key="unused",
                                        max_retries=0) as client:
        message = await client.messages.create(**claude_codes_web_search())
        async with client.messages.stream(**claude_codes_web_search()) as stream:
            streamed = await stream.get_final_message()
    assert message.usage.server_tool_use.web_search_requests == 2
    assert streamed.usage.server_tool_use.web_search_requests == 2
    paths = {"anthropic": "/v1/messages", "openai": "/v1/responses", "gemini": "/models/gemini-"}
    assert len(upstream.received) == 2 and all(paths[kind] in r.path for r in upstream.received)
    rows = await recorded_calls(daemon)
    assert [(r["provider"], r["outcome"], r["web_searches"]) for r in rows] == [(kind, "ok", 2)] * 2
    for row in rows:
        served = (row["provider"], row["model"])
        words = Tokens(input=row["input_tokens"], output=row["output_tokens"])
        rates = CATALOGUE.rates(*served)
        assert rates is not None and round(search_usd(rates, 2), 6) in TWO_SEARCHES_USD[kind]
        assert row["cost_usd"] == pytest.approx(costs.price(CATALOGUE, served, words) + search_usd(rates, 2))
    async with connect(daemon.socket_path) as client:
        report = (await client.call({"type": "usage", "group_by": "provider"}))["data"]
    [group] = report["groups"]
    assert (group["provider"], group["calls"], group["web_searches"]) == (kind, 2, 4)
    assert group["cost_usd"] == pytest.approx(sum(r["cost_usd"] for r in rows), abs=1e-6)  # reports round to 6
    head, *lines = csv.reader(io.StringIO(await routerctl(daemon, "export", "calls", "--format", "csv")))
    assert head[-1] == "web_searches" and [line[-1] for line in lines] == ["2", "2"]
    table = (await routerctl(daemon, "usage", "--by", "provider")).splitlines()
    assert table[1].split()[-2] == "searches" and table[-1].split()[-2:] == ["4", f"${group['cost_usd']:.4f}"]


@pytest.mark.parametrize("kind", ["anthropic", "openai"])
@pytest.mark.filterwarnings("ignore:Async generator:ResourceWarning")  # the SDK's, see test_sdk_clients
async def test_a_stream_cut_after_its_searches_still_counts_them(daemon, upstream, kind):
    """A stream cut after both searches ran, before the final event that reports them: the row
    says stream_cut and counts the 2 searches its events showed finished, marked estimated (it
    used to record 0: the count was read only from the final event)."""
    upstream.cut(after=14)   # both searches' items are done, the answer's text has begun
    async with anthropic.AsyncAnthropic(base_url=f"http://{daemon.http_address}", api_key="unused",
                                        max_retries=0) as client:
        with pytest.raises(anthropic.APIError, match="upstream stream interrupted"):
            async with client.messages.stream(**claude_codes_web_search()) as stream:
                await stream.get_final_message()
    [row] = await recorded_calls(daemon)
    assert (row["provider"], row["outcome"], row["web_searches"], row["estimated"]) == (kind, "stream_cut", 2, 1)


def test_a_claude_code_transcripts_searches_are_read_with_its_tokens():
    """A transcript's assistant message carries the API's usage, server_tool_use included: its
    searches reach the hook row (and its price) as the gateway's do."""
    from routerd.integrations.transcript import recent_messages

    lines = [{"type": "user", "message": {"role": "user", "content": "what's new in python 3.14?"}},
             {"type": "assistant", "timestamp": "2026-12-07T09:00:00Z", "message": {
                 "id": "msg_1", "model": "claude-sonnet-4-6", "content": [],
                 "usage": {"input_tokens": 900, "output_tokens": 120,
                           "server_tool_use": {"web_search_requests": 3, "web_fetch_requests": 0}}}}]
    [message] = recent_messages(b"\n".join(msgspec.json.encode(line) for line in lines))
    assert (message.tokens.input, message.tokens.output, message.tokens.web_searches) == (900, 120, 3)


async def routerctl(daemon, *args: str) -> str:
    env = {**os.environ, "ROUTERD_SOCKET": str(daemon.socket_path)}
    return (await anyio.run_process([sys.executable, "-m", "routerctl.main", *args], env=env)).stdout.decode()
