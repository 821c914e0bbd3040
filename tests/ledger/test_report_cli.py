"""How ``routerctl usage | report | savings`` print money a user reads: a figure nobody knows is
never shown as $0.0000."""

import os
import sys

import anyio
import pytest

pytestmark = pytest.mark.anyio


async def routerctl(app, *args: str) -> str:
    env = {**os.environ, "ROUTERD_SOCKET": str(app.socket_path)}
    return (await anyio.run_process([sys.executable, "-m", "routerctl.main", *args], env=env)).stdout.decode()


def _cost_column(text: str) -> dict[str, str]:
    """Each row's label and cost cell, from a table whose cost is its last column."""
    head, *rows = [line for line in text.splitlines() if line.split()[:1] not in (["note:"], ["decisions:"])]
    end = head.index(" cost") + len(" cost")  # the cells are right-aligned under the heading
    return {row.split()[0]: row[end - 10:end].strip() for row in rows}


async def test_a_group_of_unpriced_calls_reads_unknown_not_zero(daemon):
    """A model with tokens and no known price is "unknown", not $0.0000; a group or total that
    leaves some calls out is marked * and the note says so."""
    for n, (model, cost) in enumerate([("gpt-4.1", 0.002), ("gpt-4.1", None), ("mystery-9", None)]):
        daemon.store.record("calls", {"id": f"c{n}", "ts": 2e9, "provider": "openai", "model": model,
                                      "outcome": "ok", "input_tokens": 100, "output_tokens": 10,
                                      "cost_usd": cost, "baseline_cost_usd": 0.01 if cost else None})
    await daemon.store.flush()
    usage = await routerctl(daemon, "usage")
    assert _cost_column(usage.split("\n", 1)[1]) == {"gpt-4.1": "$0.0020*", "mystery-9": "unknown",
                                                     "total": "$0.0020*"}
    assert "note: 2 call(s) with an unknown price left out of the cost (*)" in usage
    head, report = (await routerctl(daemon, "report", "--by", "provider")).split("\n\n", 1)
    assert _cost_column(report) == {"openai": "$0.0020*", "total": "$0.0020*"}
    assert "3 call(s), spent $0.0020*, saved" in head
    savings = (await routerctl(daemon, "savings", "--by", "model")).split("\n\n", 1)[1]
    assert _cost_column(savings)["total"] == "$0.0020*" and _cost_column(savings)["mystery-9"] == "unknown"


async def test_savings_over_a_window_with_no_calls_spent_nothing(daemon):
    """No calls in the window: nothing was spent ($0.0000, as usage says), not an unknown sum."""
    text = await routerctl(daemon, "savings", "--period", "today")
    assert "spent      $0.0000: no calls recorded" in text and "saved      unknown" in text


async def test_decisions_without_a_tier_say_they_were_not_classified(daemon):
    """A request that named its model has no tier: savings and report list it as
    'gpt-4.1 (unclassified) 1', beside 'simple->claude-haiku-4-5 1', not as '?->gpt-4.1'."""
    for n, tier, model in [(1, None, "gpt-4.1"), (2, "simple", "claude-haiku-4-5")]:
        daemon.store.record("decisions", {"id": f"d{n}", "ts": 2e9, "tier": tier, "model": model, "source": "http"})
    await daemon.store.flush()
    for text in (await routerctl(daemon, "savings"), await routerctl(daemon, "report")):
        assert "gpt-4.1 (unclassified) 1" in text and "simple->claude-haiku-4-5 1" in text and "?->" not in text


async def test_a_name_from_outside_cannot_drive_the_terminal(daemon):
    """A session id (a hook payload's) or a project (a directory's name) holding ESC is printed
    with its control characters escaped, never raw to the terminal."""
    daemon.store.record("calls", {"id": "c1", "ts": 2e9, "provider": "openai", "model": "gpt-4.1", "outcome": "ok",
                                  "session_id": "s\x1b]0;owned\x07\x1b[31m", "input_tokens": 1, "cost_usd": 0.001})
    await daemon.store.flush()
    text = await routerctl(daemon, "usage", "--by", "session")
    assert "\x1b" not in text and "\x07" not in text
    assert "s\\x1b]0;owned\\x07\\x1b[31m" in text
