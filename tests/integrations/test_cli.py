"""``routerctl mode | usage | savings`` against a running daemon, as a user types them."""

import json
import os
import sys

import anyio
import pytest

pytestmark = pytest.mark.anyio


async def routerctl(app, *args: str) -> str:
    env = {**os.environ, "ROUTERD_SOCKET": str(app.socket_path)}
    result = await anyio.run_process([sys.executable, "-m", "routerctl.main", *args], env=env)
    return result.stdout.decode()


async def test_savings_with_no_priced_call_say_unknown(daemon):
    """Calls whose price is unknown are not counted as free: savings are unknown, not zero."""
    daemon.store.record("calls", {"id": "c0", "ts": 2e9, "provider": "openai", "model": "m", "outcome": "ok",
                                  "input_tokens": 100, "output_tokens": 10, "cost_usd": 0.001,
                                  "baseline_cost_usd": None})
    await daemon.store.flush()  # the writer commits in batches: the report must see this row
    data = json.loads(await routerctl(daemon, "savings", "--json"))
    assert data["saved_usd"] is None and data["priced_calls"] == 0 and data["unpriced_calls"] == 1
    assert "saved" in (text := await routerctl(daemon, "savings")) and "unknown" in text


async def test_mode_shows_and_sets_the_hooks_mode(daemon):
    """routerctl mode hard persists; routerctl mode shows it and the config's value."""
    assert (await routerctl(daemon, "mode")).strip() == "hooks mode: advise"
    said = await routerctl(daemon, "mode", "hard")
    assert "hooks mode: hard (config says advise)" in said
    assert "routerctl install --host claude-code --fail-closed" in said  # what blocks while routerd is down
    assert "hard" in await routerctl(daemon, "mode")


async def test_usage_and_savings_report_recorded_calls(daemon):
    """Recorded calls show up grouped by provider, with money saved against the baseline."""
    for n, (provider, cost) in enumerate([("openai", 0.002), ("openai", 0.001), ("groq", 0.0)]):
        daemon.store.record("calls", {"id": f"c{n}", "ts": 2e9, "provider": provider, "model": "m",
                                      "outcome": "ok", "input_tokens": 100, "output_tokens": 10,
                                      "cost_usd": cost, "baseline_cost_usd": 0.01})
    await daemon.store.flush()  # the writer commits in batches: the report must see these rows
    text = await routerctl(daemon, "usage", "--by", "provider")
    assert text.splitlines()[2].split()[:2] == ["openai", "2"] and "total" in text
    data = json.loads(await routerctl(daemon, "savings", "--json"))
    assert data["saved_usd"] == pytest.approx(0.027) and data["priced_calls"] == 3
    daemon.store.record("calls", {"id": "c3", "ts": 2e9, "provider": "openai", "model": "unknown-model",
                                  "outcome": "ok", "input_tokens": 100, "output_tokens": 10,
                                  "cost_usd": None, "baseline_cost_usd": 0.01})
    await daemon.store.flush()
    data = json.loads(await routerctl(daemon, "savings", "--json"))
    assert data["saved_usd"] == pytest.approx(0.027) and data["unpriced_calls"] == 1
    assert "1 left out, price unknown" in await routerctl(daemon, "savings")
    bad = await anyio.run_process([sys.executable, "-m", "routerctl.main", "usage", "--since", "soon"],
                                  env={**os.environ, "ROUTERD_SOCKET": str(daemon.socket_path)},
                                  check=False)
    assert bad.returncode == 1 and b"since" in bad.stderr
