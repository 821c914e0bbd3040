"""Claude Code 2.1.197 through routerd's gateway with routerd's hooks installed too: the call is
recorded once, with the cache reads and writes the API reported, priced as the published prices
say, and filed under the project of the working directory's git remote."""

import json
import os
import sys
from pathlib import Path

import anyio
import pytest

from routerd.app import App
from tests.e2e import clis
from tests.e2e.harness import CLAUDE_DEFAULT_MODEL, http_url, recorded_calls
from tests.e2e.upstream import Turn, Upstream

pytestmark = pytest.mark.anyio
ANSWER = "Cached PONG 41c2"
# The usage block Anthropic returns for a Claude Code turn whose prompt (system, tools, history)
# is mostly cached: fields, nesting and the 5m/1h split as the Messages API reports them.
USAGE = {"input_tokens": 4, "cache_creation_input_tokens": 2_380, "cache_read_input_tokens": 14_506,
         "cache_creation": {"ephemeral_5m_input_tokens": 1_380, "ephemeral_1h_input_tokens": 1_000},
         "output_tokens": 245, "service_tier": "standard"}
# claude-opus-4-8 on anthropic.com/pricing: $5 input, $6.25 5-minute cache writes, $10 1-hour
# cache writes, $0.50 cache reads, $25 output, per million tokens.
HAND_COST = (4 * 5 + 1_380 * 6.25 + 1_000 * 10 + 14_506 * 0.50 + 245 * 25) / 1e6


async def _install(home: Path, app: App) -> None:
    env = {**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
           "ROUTERD_SOCKET": str(app.socket_path)}
    await anyio.run_process([sys.executable, "-m", "routerctl.main", "install", "--host", "claude-code",
                             "--http-url", http_url(app)], env=env)


def _git_repo(workdir: Path, remote: str) -> None:
    (workdir / ".git").mkdir(parents=True)
    (workdir / ".git" / "config").write_text(f'[core]\n\tbare = false\n[remote "origin"]\n\turl = {remote}\n')


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_one_claude_code_call_seen_by_gateway_and_hooks_is_one_priced_row(
        claude_cli: Path, home: Path, fake_anthropic: Upstream, daemon: App) -> None:
    """Gateway and Stop hook both see the turn; one row stays, cache-priced, with its project."""
    fake_anthropic.script[:] = [Turn(text=ANSWER, usage=USAGE)]
    await _install(home, daemon)
    _git_repo(home / "work", "https://user:secret-token@github.com/acme/widgets.git")
    env = clis.claude_env(home, http_url(daemon)) | {"ROUTERD_SOCKET": str(daemon.socket_path)}
    done = await clis.run_cli([claude_cli, "-p", "Say pong"], env, home / "work")
    assert done.returncode == 0 and done.stdout.strip() == ANSWER, done.describe()
    hooks = daemon.hooks.statistics()
    assert hooks.by_event.get("Stop") == 1 and hooks.turns_recorded >= 1  # the hook read the turn too
    [row] = await recorded_calls(daemon)
    assert (row["source"], row["provider"], row["model"]) == ("gateway", "anthropic", CLAUDE_DEFAULT_MODEL)
    assert (row["input_tokens"], row["cached_tokens"], row["cache_write_tokens"],
            row["cache_write_1h_tokens"], row["output_tokens"]) == (16_890, 14_506, 2_380, 1_000, 245)
    assert row["cost_usd"] == pytest.approx(HAND_COST, rel=1e-9)
    assert row["project"] == "acme/widgets" and "secret" not in json.dumps(row)
    assert row["response_id"] == "msg_e2e_1" and row["session_id"]


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.parametrize("through", ["hooks", "gateway"])
async def test_a_claude_code_session_is_one_priced_row_per_api_call(
        claude_cli: Path, home: Path, fake_anthropic: Upstream, daemon: App, through: str) -> None:
    """An agent session of three API calls (two Read round trips, then the answer), straight to the
    provider with the Stop hook reading it or through the gateway too: three rows, each call once,
    cache-priced, summing to the cost Claude Code itself reports."""
    note = home / "work" / "note.txt"
    note.parent.mkdir(parents=True)
    note.write_text("the note says 5150\n")
    fake_anthropic.script[:] = [Turn(tool="Read", args={"file_path": str(note)}, call_id="toolu_e2e_1"),
                                Turn(tool="Read", args={"file_path": str(note)}, call_id="toolu_e2e_2"),
                                Turn(text=ANSWER, usage=USAGE)]
    await _install(home, daemon)
    base_url = fake_anthropic.url if through == "hooks" else http_url(daemon)
    env = clis.claude_env(home, base_url) | {"ROUTERD_SOCKET": str(daemon.socket_path)}
    done = await clis.run_cli([claude_cli, "-p", "Read note.txt twice, then say pong", "--output-format", "json"],
                              env, home / "work")
    assert done.returncode == 0, done.describe()
    result = json.loads(done.stdout)
    assert (result["result"], result["num_turns"]) == (ANSWER, 3), result
    rows = await recorded_calls(daemon)
    source = "hook:claude-code" if through == "hooks" else "gateway"
    assert [(r["source"], r["response_id"]) for r in rows] == \
        [(source, "msg_e2e_1"), (source, "msg_e2e_2"), (source, "msg_e2e_3")], rows
    assert rows[-1]["cost_usd"] == pytest.approx(HAND_COST, rel=1e-9)
    assert sum(r["cost_usd"] for r in rows) == pytest.approx(result["total_cost_usd"], rel=1e-9)
