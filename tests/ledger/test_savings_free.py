"""Savings made by calls that cost nothing (a local provider, a model priced 0) are stated as
what they are: ``routerctl savings`` says how much of the figure is theirs (the whole baseline of
those calls: 100% of it, however cheap the baseline was), whatever the grouping asked for."""

import json
import os
import sys

import anyio
import pytest

pytestmark = pytest.mark.anyio


async def routerctl(app, *args: str) -> str:
    env = {**os.environ, "ROUTERD_SOCKET": str(app.socket_path)}
    return (await anyio.run_process([sys.executable, "-m", "routerctl.main", *args], env=env)).stdout.decode()


async def test_the_part_saved_on_free_calls_is_said(daemon):
    """auto sent one call to a local model (free, $0.01 on the baseline) and one to a paid one
    ($0.002 of $0.01), in one session, beside a failed attempt (0 and 0): $0.018 saved, $0.01 of it
    on the free call, in the text and in --json, and by session too (a session's sums mix models)."""
    for n, (provider, cost, baseline, outcome) in enumerate([("box", 0.0, 0.01, "ok"), ("openai", 0.002, 0.01, "ok"),
                                                             ("openai", 0.0, 0.0, "upstream_unavailable")]):
        daemon.store.record("calls", {"id": f"c{n}", "ts": 2e9, "provider": provider, "model": "m", "outcome": outcome,
                                      "session_id": "s1", "input_tokens": 100 if baseline else 0,
                                      "cost_usd": cost, "baseline_cost_usd": baseline})
    await daemon.store.flush()
    text = await routerctl(daemon, "savings")
    assert "saved      $0.0180 (90.0%); $0.0100 of it on calls that cost 0 (local or free models)" in text
    for by in ("source", "session", "project", "provider"):
        data = json.loads(await routerctl(daemon, "savings", "--by", by, "--json"))
        assert (data["saved_usd"], data["free_saved_usd"]) == (pytest.approx(0.018), pytest.approx(0.01)), by


async def test_no_free_calls_no_words(daemon):
    """Only paid calls: the saved line says nothing of free ones."""
    daemon.store.record("calls", {"id": "c1", "ts": 2e9, "provider": "openai", "model": "m", "outcome": "ok",
                                  "input_tokens": 100, "cost_usd": 0.002, "baseline_cost_usd": 0.01})
    await daemon.store.flush()
    text = await routerctl(daemon, "savings")
    assert "saved      $0.0080 (80.0%)\n" in text
    assert json.loads(await routerctl(daemon, "savings", "--json"))["free_saved_usd"] == 0.0


def test_the_free_part_holds_once_the_rows_are_rolled_up(tmp_path):
    """Rolled up, a session's day sums free and paid calls together: the savings read takes the
    free part from a grouping by provider and model, so by session it is still $0.01, not 0."""
    from routerd.ledger.reports import _savings_read
    from routerd.store import db
    from routerd.store.rollups import ROLL

    conn = db.connect(tmp_path / "r.db")
    db.migrate(conn)
    insert = ("INSERT INTO calls (id, ts, provider, model, outcome, session_id, input_tokens, cost_usd, "
              "baseline_cost_usd) VALUES (?, 1e9, ?, 'm', 'ok', 's1', 100, ?, 0.01)")
    conn.execute(insert, ("a", "box", 0.0))
    conn.execute(insert, ("b", "openai", 0.002))
    for statement in ROLL:  # what the store's writer does about once a second
        conn.execute(statement)
    assert conn.execute("SELECT count(*) FROM session_rollup").get == 1
    for by in ("session", "project", "source", "provider"):
        groups, _, free = _savings_read(conn, 0.0, by, float("inf"))
        assert free == pytest.approx(0.01) and sum(g.paired_baseline_usd for g in groups) == pytest.approx(0.02), by
