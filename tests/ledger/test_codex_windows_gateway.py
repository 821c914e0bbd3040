"""Codex signed in with ChatGPT, through routerd with its credentials forwarded: the plan's windows
its backend sends (``x-codex-*`` headers, a ``codex.rate_limits`` event) show in ``routerctl
budget`` and ``status`` and press routing as Anthropic's subscription windows do. The real
``openai`` SDK against a fake Codex backend, on asyncio and trio."""

import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import openai
import pytest

from routerd.classify.types import PROFILE_BARS
from routerd.routing.types import Conversation, RouteRequest
from tests.fakes.codex_backend import CodexBackend
from tests.ledger.test_reports import routerctl

pytestmark = pytest.mark.anyio
ACCESS_TOKEN = "eyJhbGciOi.chatgpt-access-token.sig"  # what Codex sends once signed in with ChatGPT
ACCOUNT = {"chatgpt-account-id": "acct-1"}
PLUS = {"x-codex-plan-type": "plus", "x-codex-primary-used-percent": "42", "x-codex-primary-window-minutes": "300",
        "x-codex-primary-reset-after-seconds": "14180", "x-codex-secondary-used-percent": "3",
        "x-codex-secondary-window-minutes": "10080", "x-codex-secondary-reset-after-seconds": "510106"}


@pytest.fixture
async def codex(anyio_backend: str) -> AsyncIterator[CodexBackend]:
    async with anyio.create_task_group() as tg:
        yield await tg.start(CodexBackend(headers=dict(PLUS)).serve)
        tg.cancel_scope.cancel()


@pytest.fixture
def config_file(daemon_env: Path, codex: CodexBackend) -> Path:
    """One provider with no key of its own, at the Codex backend: it gets the client's credentials."""
    path = daemon_env / "config.toml"
    path.write_text(f'[http]\nlisten = "127.0.0.1:0"\n[gateway]\nretries = 0\nretry_backoff_s = 0\n'
                    f'[providers.chatgpt]\nkind = "openai"\nbase_url = "{codex.url}"\nmodels = ["gpt-*"]\n'
                    f'responses = true\n')
    return path


async def _ask(daemon) -> str:
    async with openai.AsyncOpenAI(base_url=f"http://{daemon.http_address}/v1", api_key=ACCESS_TOKEN,
                                  default_headers=ACCOUNT, max_retries=0) as client:
        stream = await client.responses.create(model="gpt-5-codex", input="hi", stream=True)
        return "".join([event.delta async for event in stream if event.type == "response.output_text.delta"])


def _windows(daemon) -> dict[str, float]:
    return {w.name: w.used_share for w in daemon.spending.budgets.windows.statistics(time.time())
            if w.provider == "chatgpt"}


async def test_a_chatgpt_plans_windows_show_in_budget_and_status(daemon, codex):
    """The 5h and 7d windows of the backend's headers are the provider's windows: in
    ``routerctl budget`` (its text and JSON) and ``status``, read from an answer the client got
    whole, with its ChatGPT token forwarded."""
    assert await _ask(daemon) == "Hello from the Codex backend."
    sent = codex.received[-1]
    assert (sent["authorization"], sent.get("chatgpt-account-id")) == (f"Bearer {ACCESS_TOKEN}", "acct-1")
    assert _windows(daemon) == {"5h": pytest.approx(0.42), "7d": pytest.approx(0.03)}
    report = json.loads(await routerctl(daemon, "budget", "--json"))
    assert {(w["provider"], w["name"]) for w in report["windows"]} == {("chatgpt", "5h"), ("chatgpt", "7d")}
    said = await routerctl(daemon, "budget")
    assert "chatgpt 5h window" in said and "42% spent (provider's headers)" in said
    [row] = [line for line in (await routerctl(daemon, "status")).splitlines() if line.startswith("budgets ")]
    assert "windows chatgpt 5h 42%; chatgpt 7d 3%" in row


async def test_codex_reads_its_plans_headers_through_routerd(daemon, codex):
    """Codex CLI shows its plan's usage from the ``x-codex-*`` headers of each answer: routerd
    passes them on to the client as it does the providers' ``x-ratelimit-*`` ones."""
    async with openai.AsyncOpenAI(base_url=f"http://{daemon.http_address}/v1", api_key=ACCESS_TOKEN,
                                  default_headers=ACCOUNT, max_retries=0) as client:
        raw = await client.responses.with_raw_response.create(model="gpt-5-codex", input="hi", stream=True)
        async for _ in raw.parse():
            pass
    assert {k: raw.headers.get(k) for k in PLUS} == PLUS


async def test_a_codex_rate_limits_event_in_the_stream_updates_the_window(daemon, codex):
    """The stream's ``codex.rate_limits`` event, newer than the headers, sets the window; the
    client still reads its answer."""
    codex.event = {"allowed": True, "limit_reached": False,
                   "primary": {"used_percent": 61, "window_minutes": 300, "reset_after_seconds": 14000}}
    assert await _ask(daemon) == "Hello from the Codex backend."
    assert _windows(daemon)["5h"] == pytest.approx(0.61)


async def test_a_used_up_plan_window_presses_routing_as_a_rejected_subscription(daemon, codex):
    """The backend's 429 with its window at 100 %: the client gets the rate limit, and the window is
    spent, so the budget pressure is 1.0 and the policy's bar drops, as for Anthropic's ``status:
    rejected``."""
    codex.limited = True
    codex.headers["x-codex-primary-used-percent"] = "100"
    with pytest.raises(openai.RateLimitError):
        await _ask(daemon)
    assert _windows(daemon)["5h"] == 1.0
    assert daemon.spending.pressure(daemon.runtime, None) == 1.0
    decision = await daemon.routing.decide(daemon.runtime, RouteRequest(Conversation([{"role": "user",
                                                                                        "content": "hi"}])))
    assert decision.brain is not None and decision.brain.policy.bar < PROFILE_BARS["balanced"]
    assert any("budget pressure" in reason for reason in decision.brain.policy.reasons)
    note = daemon.spending.note(daemon.runtime, None)  # no limit of routerd's refuses anything
    assert note == ("routerd budget: 100% spent (capped): routing strongly prefers cheaper models "
                    "(a provider's plan window is used up).")


async def test_a_plan_with_credits_left_is_not_used_up_at_100_percent(daemon, codex):
    """The 5h window at 100 % with credits left (``x-codex-credits-*``): Codex is still served, from
    the credits, so routing strongly prefers cheaper models but the provider is not used up; the
    window shows the credits in ``routerctl budget`` and ``status``."""
    codex.headers.update({"x-codex-primary-used-percent": "100", "x-codex-credits-has-credits": "true",
                          "x-codex-credits-unlimited": "false", "x-codex-credits-balance": "12.50"})
    assert await _ask(daemon) == "Hello from the Codex backend."
    assert _windows(daemon)["5h"] == 1.0
    assert 0.5 < daemon.spending.pressure(daemon.runtime, None) < 1.0
    assert daemon.spending.note(daemon.runtime, None).startswith("routerd budget: 95% spent (high)")
    said = await routerctl(daemon, "budget")
    assert "chatgpt 5h window" in said and "100% spent (provider's headers; credits left (12.50))" in said
    [row] = [line for line in (await routerctl(daemon, "status")).splitlines() if line.startswith("budgets ")]
    assert "chatgpt 5h 100% (credits left (12.50))" in row


async def test_a_refusal_naming_the_limit_it_reached_uses_the_plan_up(daemon, codex):
    """A 429 whose ``x-codex-rate-limit-reached-type`` says the workspace's credits are spent: used
    up though its windows are at 42 % and 3 %, shown as the plan's window (a served answer clears
    it: test_codex_plan_core)."""
    codex.limited = True
    codex.headers["x-codex-rate-limit-reached-type"] = "workspace_member_credits_depleted"
    with pytest.raises(openai.RateLimitError):
        await _ask(daemon)
    assert _windows(daemon)["plan"] == 1.0 and daemon.spending.pressure(daemon.runtime, None) == 1.0
    assert "limit reached: workspace_member_credits_depleted" in await routerctl(daemon, "budget")


async def test_the_streams_event_says_the_credits_too(daemon, codex):
    """A ``codex.rate_limits`` event whose window is at 100 % with ``limit_reached`` but credits
    left: served from the credits, not used up."""
    codex.event = {"allowed": True, "limit_reached": True,
                   "primary": {"used_percent": 100, "window_minutes": 300, "reset_after_seconds": 14000}}
    codex.credits = {"has_credits": True, "unlimited": False, "balance": "3.10"}
    assert await _ask(daemon) == "Hello from the Codex backend."
    assert _windows(daemon)["5h"] == 1.0 and "plan" not in _windows(daemon)
    assert 0.5 < daemon.spending.pressure(daemon.runtime, None) < 1.0
    assert "credits left (3.10)" in await routerctl(daemon, "budget")
