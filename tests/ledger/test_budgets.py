"""Budgets end to end: paid calls under a cap through the real SDKs, 32 at once; the cap refuses
in the client's dialect; a free local model still serves; the pressure reaches the policy, the
hook's context and ``status``."""

import json
import time
from pathlib import Path

import anthropic
import anyio
import httpx
import openai
import pytest
from prometheus_client.parser import text_string_to_metric_families

from routerd.budgets.budgets import worst_case
from routerd.catalogue.builtin import load_catalogue
from routerd.classify.types import PROFILE_BARS
from routerd.integrations import mcp_tools
from routerd.routing.types import Conversation, RouteRequest
from routerd.store.ledger import CallRow, record_call, record_session
from tests.e2e.harness import recorded_calls
from tests.fakes.answers import OUTPUT_TOKENS
from tests.fakes.upstream import FakeUpstream
from tests.ledger.test_reports import routerctl

pytestmark = pytest.mark.anyio
CATALOGUE = load_catalogue()
CAP_USD = 0.0001
MAX_TOKENS = 10
PROMPT = [{"role": "user", "content": "What is the capital of France?"}]


@pytest.fixture
def config_file(daemon_env: Path, fakes: dict[str, FakeUpstream]) -> Path:
    path = daemon_env / "config.toml"
    path.write_text(f'''[http]
listen = "127.0.0.1:0"
[budgets]
daily_usd = {CAP_USD}
[budgets.projects."acme/shop"]
monthly_tokens = 1000
[providers.openai]
base_url = "{fakes["paid"].url}/v1"
models = ["gpt-*"]
[providers.anthropic]
kind = "anthropic"
base_url = "{fakes["paid"].url}"
models = ["claude-*"]
[providers.box]
base_url = "{fakes["box"].url}/v1"
local = true
''')
    return path


async def _ask(client: openai.AsyncOpenAI, model: str, outcomes: list[object]) -> None:
    try:
        await client.chat.completions.create(model=model, messages=PROMPT, max_tokens=MAX_TOKENS)
        outcomes.append("ok")
    except openai.APIStatusError as exc:
        outcomes.append(exc)


async def test_a_cap_under_32_concurrent_calls_is_overshot_by_at_most_one_reservation(daemon, fakes):
    """Rounds of 32 concurrent paid calls until the cap refuses them all: what was spent stays
    within the cap plus one call's worst case; refusals are 402 budget_exceeded in OpenAI's shape."""
    outcomes: list[object] = []
    async with openai.AsyncOpenAI(base_url=f"http://{daemon.http_address}/v1", api_key="x",
                                  max_retries=0) as client:
        for _ in range(10):
            async with anyio.create_task_group() as tg:
                for _ in range(32):
                    tg.start_soon(_ask, client, "gpt-4o-mini", outcomes)
            if outcomes[-32:] and all(o != "ok" for o in outcomes[-32:]):
                break
    spent = sum(r["cost_usd"] for r in await recorded_calls(daemon))
    body = len(fakes["paid"].received[-1].body)  # the body the gateway saw (passed through)
    worst = worst_case(CATALOGUE.rates("openai", "gpt-4o-mini"), False, body // 3, MAX_TOKENS)["usd"]
    refused = [o for o in outcomes if o != "ok"]
    assert refused and outcomes.count("ok") > 1
    assert spent <= CAP_USD + worst
    assert all(isinstance(o, openai.APIStatusError) and o.status_code == 402 for o in refused)
    error = refused[0]
    assert isinstance(error, openai.APIStatusError)
    assert error.body["code"] == "budget_exceeded" and "daily usd (all)" in error.body["message"]
    async with openai.AsyncOpenAI(base_url=f"http://{daemon.http_address}/v1", api_key="x",
                                  max_retries=0) as client:
        free = await client.chat.completions.create(model="box/llama3", messages=PROMPT)
    assert free.choices[0].message.content == "Hello from box."
    status = await daemon.status()
    budgets = status.parts["budgets"]
    assert budgets["level"] == "capped" and budgets["pressure"] == 1.0
    [limit] = [x for x in budgets["limits"] if x["scope"] == "all"]
    assert limit["refused"] >= len(refused) and limit["reserved"] == 0


async def test_a_projects_cap_holds_for_a_session_noted_before_the_start(daemon, fakes):
    """A session whose project a hook noted before routerd (re)started is still that project's:
    once the project's tokens are spent, the session's gateway calls are refused from the first
    one, not only after a hook of the session names its cwd again."""
    session = "cc-session-before-restart"
    record_session(daemon.store, session, "claude-code", "acme/shop", time.time() - 60)
    record_call(daemon.store, CallRow(id="h1", ts=time.time() - 30, source="hook:claude-code", provider="anthropic",
                                      model="claude-haiku-4-5", outcome="ok", input_tokens=900, output_tokens=200,
                                      cost_usd=1e-6, session_id=session, response_id="msg_h1"))
    await daemon.spending.sync()  # what the start's sync reads: this run's hooks never saw the session
    assert session not in daemon.ledger.sessions
    async with openai.AsyncOpenAI(base_url=f"http://{daemon.http_address}/v1", api_key="x", max_retries=0,
                                  default_headers={"X-Claude-Code-Session-Id": session}) as client:
        with pytest.raises(openai.APIStatusError) as caught:
            await client.chat.completions.create(model="gpt-4o-mini", messages=PROMPT, max_tokens=MAX_TOKENS)
    assert caught.value.status_code == 402 and "monthly tokens (project acme/shop)" in caught.value.body["message"]


async def test_the_anthropic_sdk_gets_a_billing_error_once_capped(daemon, fakes):
    """With the cap spent, a Messages call is refused as Anthropic's own 402 billing error."""
    async with anthropic.AsyncAnthropic(base_url=f"http://{daemon.http_address}", api_key="x",
                                        max_retries=0) as client:
        with pytest.raises(anthropic.APIStatusError) as caught:
            for _ in range(200):
                await client.messages.create(model="claude-haiku-4-5", max_tokens=MAX_TOKENS, messages=PROMPT)
    assert caught.value.status_code == 402
    assert caught.value.body["error"]["type"] == "billing_error"
    assert "routerd budget" in caught.value.body["error"]["message"]


async def test_pressure_lowers_the_policys_bar_and_shows_in_the_hook_context(daemon, fakes):
    """Past half the cap the policy's bar drops below the profile's and the hook's context says so."""
    async with openai.AsyncOpenAI(base_url=f"http://{daemon.http_address}/v1", api_key="x",
                                  max_retries=0) as client:
        while daemon.spending.budgets.share(time.time()) < 0.5:
            await client.chat.completions.create(model="gpt-4o-mini", messages=PROMPT, max_tokens=MAX_TOKENS)
    decision = await daemon.routing.decide(daemon.runtime, RouteRequest(Conversation(PROMPT)))
    assert decision.brain is not None
    assert decision.brain.policy.bar < PROFILE_BARS["balanced"]
    assert any("budget pressure" in r for r in decision.brain.policy.reasons)
    note = daemon.spending.note(daemon.runtime, None)
    assert note is not None and "routerd budget" in note


async def test_routerctl_budget_statusline_and_the_mcp_tool_show_the_limits(daemon, fakes):
    """`routerctl budget` lists each limit's use, `status` names each with its share and level, the
    statusline carries the budget slot, and the MCP budget tool answers the real limits."""
    async with openai.AsyncOpenAI(base_url=f"http://{daemon.http_address}/v1", api_key="x",
                                  max_retries=0) as client:
        await client.chat.completions.create(model="gpt-4o-mini", messages=PROMPT, max_tokens=MAX_TOKENS)
    await recorded_calls(daemon)
    report = json.loads(await routerctl(daemon, "budget", "--period", "today", "--json"))
    [overall] = [x for x in report["limits"] if x["name"] == "daily usd (all)"]
    assert overall["limit"] == CAP_USD and overall["used"] > 0 and list(report["spend_usd"]) == ["today"]
    said = await routerctl(daemon, "budget")
    assert "daily usd (all)" in said
    # the headline's pressure leaves the project's limit out: it says whose it is
    assert said.startswith(f"budget pressure {report['pressure']:.2f} ({report['level']}) for a request of no project; ")
    line = await routerctl(daemon, "statusline", stdin=b"{}")
    assert f"budget {overall['share']:.0%}" in line
    [row] = [line for line in (await routerctl(daemon, "status")).splitlines() if line.startswith("budgets ")]
    assert f"limits daily usd (all) {overall['share']:.0%} {overall['level']}; monthly tokens (project acme/shop) " in row
    assert "{" not in row and "windows -" in row  # each limit in words, not its record as Python prints it
    tools = daemon.mcp.tools
    answer = await mcp_tools.SPECS["budget"].call(tools, daemon.runtime, mcp_tools.NoArgs())
    assert {x["name"] for x in answer["limits"]} >= {"daily usd (all)", "monthly tokens (project acme/shop)"}


async def test_metrics_are_prometheus_text_with_calls_latency_cost_pressure_and_breakers(daemon, fakes):
    """GET /metrics parses as Prometheus text and counts the calls made, their cost and tokens,
    the overhead histogram, the budget pressure and each provider's breaker state."""
    async with openai.AsyncOpenAI(base_url=f"http://{daemon.http_address}/v1", api_key="x",
                                  max_retries=0) as client:
        for _ in range(3):
            await client.chat.completions.create(model="gpt-4o-mini", messages=PROMPT, max_tokens=MAX_TOKENS)
    await recorded_calls(daemon)
    async with httpx.AsyncClient() as http:
        answer = await http.get(f"http://{daemon.http_address}/metrics")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in text_string_to_metric_families(answer.text) for s in family.samples}
    assert samples[("routerd_calls_total", (("outcome", "ok"), ("provider", "openai")))] == 3
    assert samples[("routerd_overhead_seconds_count", ())] == 3
    assert samples[("routerd_tokens_total", (("kind", "output"), ("provider", "openai")))] == 3 * OUTPUT_TOKENS
    assert samples[("routerd_cost_usd_total", (("provider", "openai"),))] > 0
    assert 0.0 <= samples[("routerd_budget_pressure", ())] <= 1.0
    assert samples[("routerd_breaker_state", (("provider", "openai"), ("state", "closed")))] == 1.0
    assert samples[("routerd_requests_total", ())] == 3
    assert samples[("routerd_request_errors_total", ())] == 0


async def test_requests_refused_before_any_provider_is_tried_are_counted(daemon, fakes):
    """A body that is not JSON, a model name that is no name (400) and a JSON content type missing (415) are
    requests answered with an error: /metrics counts them (it counted only requests that reached a
    provider, so an outage of "no route" left the error rate at zero)."""
    base = f"http://{daemon.http_address}/v1/chat/completions"
    async with httpx.AsyncClient() as http:
        statuses = [(await http.post(base, content=b"{not json", headers={"content-type": "application/json"})).status_code,
                    (await http.post(base, json={"model": "gpt 4.1", "messages": PROMPT})).status_code,
                    (await http.post(base, content=b"{}", headers={"content-type": "text/plain"})).status_code]
        text = (await http.get(f"http://{daemon.http_address}/metrics")).text
    assert statuses == [400, 400, 415]
    samples = {s.name: s.value for family in text_string_to_metric_families(text) for s in family.samples
               if not s.labels}
    assert (samples["routerd_requests_total"], samples["routerd_request_errors_total"]) == (3, 3)
