"""``routerctl savings | report``, their ``--json``, the MCP tools' and the dashboard's data say
in words what the baseline is: the configured ``accounting.baseline_model`` by its full name, or
the rule that picks one, so a saved figure never stands without what it was compared with."""

import json
import os
import sys
from pathlib import Path

import anyio
import pytest

from routerd.catalogue.builtin import load_catalogue
from routerd.ledger import costs

pytestmark = pytest.mark.anyio
CATALOGUE = load_catalogue()


async def routerctl(app, *args: str) -> str:
    env = {**os.environ, "ROUTERD_SOCKET": str(app.socket_path)}
    return (await anyio.run_process([sys.executable, "-m", "routerctl.main", *args], env=env)).stdout.decode()


def test_the_words_name_the_configured_baseline_or_the_rule():
    """An alias is named as the model it stands for; with none configured, the rule is said."""
    configured = costs.compared_with(CATALOGUE, "opus")
    assert "subagent turns and Gemini CLI turns: anthropic/claude-opus-4-8 (accounting.baseline_model)" in configured
    assert "the model the client named, which saves 0" in configured
    rule = costs.compared_with(CATALOGUE, None)
    assert "auto: the priciest model the brain would have accepted" in rule
    assert "subagent turns and Gemini CLI turns: the session's main model" in rule


@pytest.fixture
def config_file(daemon_env: Path) -> Path:
    path = daemon_env / "config.toml"
    path.write_text('[http]\nlisten = "127.0.0.1:0"\n[accounting]\nbaseline_model = "opus"\n')
    return path


async def test_every_report_says_what_the_baseline_is(daemon):
    """savings (text: an 'against' line; --json: compared_with), report, usage --json and the
    dashboard's data all carry the configured baseline's words."""
    daemon.store.record("calls", {"id": "c1", "ts": 2e9, "provider": "anthropic", "model": "claude-haiku-4-5",
                                  "outcome": "ok", "input_tokens": 100, "output_tokens": 10,
                                  "cost_usd": 0.00015, "baseline_cost_usd": 0.00075})
    await daemon.store.flush()
    words = costs.compared_with(CATALOGUE, "opus")
    text = await routerctl(daemon, "savings")
    assert f"against    {words}" in text.splitlines()
    assert json.loads(await routerctl(daemon, "savings", "--json"))["compared_with"] == words
    assert f"baseline: {words}" in (await routerctl(daemon, "report")).splitlines()
    assert json.loads(await routerctl(daemon, "usage", "--json"))["compared_with"] == words
    assert json.loads(await routerctl(daemon, "dashboard", "--json"))["compared_with"] == words
