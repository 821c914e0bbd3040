"""Codex CLI 0.169.0 through routerd to a ChatGPT plan's Codex backend (a fake, ``tests.fakes.codex_backend``),
its own credentials forwarded: what the plan's answers say beyond its two windows (credits, the limit a
refusal reached) reaches ``routerctl budget`` and the routing pressure, and Codex itself still reads it."""

import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest

from routerd.app import App
from tests.e2e import clis
from tests.e2e.harness import http_url
from tests.fakes.codex_backend import CodexBackend
from tests.ledger.test_reports import routerctl

pytestmark = pytest.mark.anyio

PLAN = {"x-codex-plan-type": "plus", "x-codex-active-limit": "codex",
        "x-codex-primary-used-percent": "100", "x-codex-primary-window-minutes": "300",
        "x-codex-primary-reset-after-seconds": "14180", "x-codex-secondary-used-percent": "31",
        "x-codex-secondary-window-minutes": "10080", "x-codex-secondary-reset-after-seconds": "510106",
        "x-codex-credits-has-credits": "true", "x-codex-credits-unlimited": "false",
        "x-codex-credits-balance": "12.50"}


@pytest.fixture
async def codex_backend(config_file: Path) -> AsyncIterator[CodexBackend]:
    """The fake Codex backend as provider ``chatgpt`` with no key of its own (the client's is forwarded)."""
    async with anyio.create_task_group() as tg:
        backend = await tg.start(CodexBackend(headers=dict(PLAN)).serve)
        config_file.write_text(config_file.read_text() + f'\n[providers.chatgpt]\nkind = "openai"\n'
                               f'base_url = "{backend.url}"\nmodels = ["gpt-*"]\nresponses = true\n')
        yield backend
        tg.cancel_scope.cancel()


def _codex_saw(home: Path) -> dict:
    """The plan as Codex itself last recorded it (the ``rate_limits`` of its rollout's last
    ``token_count`` event), read from the headers routerd passed on."""
    found = [json.loads(line)["payload"]["rate_limits"] for path in (home / "codex").rglob("*.jsonl")
             for line in path.read_text().splitlines() if '"token_count"' in line and '"rate_limits"' in line]
    return found[-1]


def _windows(daemon: App) -> dict[str, tuple[float, str]]:
    return {w.name: (w.used_share, w.note) for w in daemon.spending.budgets.windows.statistics(time.time())
            if w.provider == "chatgpt"}


async def test_codex_on_a_plan_with_credits_left_is_served_and_not_used_up(
        codex_cli: Path, home: Path, codex_backend: CodexBackend, daemon: App) -> None:
    """The 5h window at 100 % with credits left: Codex is answered (from the credits) and reads the
    credits through routerd; routerd shows them on the window and presses routing as a high limit,
    not as a used-up plan."""
    done = await clis.run_codex(codex_cli, http_url(daemon), "Say pong", home=home, model="gpt-5-codex")
    assert done.returncode == 0 and done.stdout.strip() == "Hello from the Codex backend.", done.describe()
    assert codex_backend.received[-1]["authorization"] == "Bearer dummy"
    saw = _codex_saw(home)
    assert saw["credits"] == {"has_credits": True, "unlimited": False, "balance": "12.50"}
    assert saw["primary"]["used_percent"] == 100.0
    assert _windows(daemon) == {"5h": (1.0, "credits left (12.50)"), "7d": (0.31, "credits left (12.50)")}
    assert 0.5 < daemon.spending.pressure(daemon.runtime, None) < 1.0
    assert "100% spent (provider's headers; credits left (12.50))" in await routerctl(daemon, "budget")


async def test_codex_refused_for_a_reached_limit_uses_the_plan_up(
        codex_cli: Path, home: Path, codex_backend: CodexBackend, daemon: App) -> None:
    """The backend refuses with 429 ``usage_limit_reached`` and the limit it reached (a workspace's
    credits spent, its windows not full): Codex says so and stops; routerd counts the plan as used up."""
    codex_backend.limited = True
    codex_backend.headers.update({"x-codex-primary-used-percent": "64",
                                  "x-codex-rate-limit-reached-type": "workspace_member_credits_depleted"})
    done = await clis.run_codex(codex_cli, http_url(daemon), "Say pong", home=home, model="gpt-5-codex")
    assert done.returncode != 0 and "usage limit" in (done.stdout + done.stderr).lower(), done.describe()
    assert _windows(daemon)["plan"] == (1.0, "limit reached: workspace_member_credits_depleted")
    assert daemon.spending.pressure(daemon.runtime, None) == 1.0
