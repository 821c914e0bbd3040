"""The dashboard's own named queries: the latest decisions with what became of them, and recent
call latencies. Everything else the dashboard shows comes from the reports' queries
(``routerd.store.ledger``) and the parts' statistics; nothing here repeats them.

Both reads are bounded whatever the table sizes: the latest ``limit`` rows through the ``ts``
indexes.
"""

from typing import Any

import apsw
import msgspec

from routerd.protocol.reports import DecisionRow


_RECENT = (
    "SELECT d.id, d.ts, d.source, d.tier, d.task_type, d.model, d.provider, "
    "(SELECT f.kind || ':' || f.value FROM feedback f WHERE f.decision_id = d.id ORDER BY f.ts DESC LIMIT 1), "
    "(SELECT c.provider || '/' || c.model FROM calls c WHERE c.decision_id = d.id AND c.outcome = 'ok' "
    " ORDER BY c.ts DESC LIMIT 1), "
    "(SELECT sum(c.cost_usd) FROM calls c WHERE c.decision_id = d.id) "
    "FROM decisions d ORDER BY d.ts DESC LIMIT ?"
)


def recent_decisions(conn: apsw.Connection, limit: int) -> list[DecisionRow]:
    """The latest ``limit`` decisions, newest first, each with its latest feedback and its calls:
    the model that answered and their cost."""
    rows: list[Any] = conn.execute(_RECENT, (limit,)).fetchall()
    return [DecisionRow(id=i, ts=ts, source=src, tier=tier, task_type=task, model=model, provider=provider,
                        feedback=fb, answered_by=answered, cost_usd=cost)
            for i, ts, src, tier, task, model, provider, fb, answered, cost in rows]


class Latencies(msgspec.Struct, frozen=True):
    """Call latency and time to first byte of recent calls (milliseconds, unsorted)."""

    latency_ms: list[float]
    ttft_ms: list[float]


def recent_latencies(conn: apsw.Connection, since: float, limit: int) -> Latencies:
    """Latencies of the latest ``limit`` gateway calls since ``since`` (hook rows have none)."""
    rows: list[Any] = conn.execute(
        "SELECT latency_ms, ttft_ms FROM calls WHERE ts >= ? AND latency_ms IS NOT NULL "
        "ORDER BY ts DESC LIMIT ?", (since, limit)).fetchall()
    return Latencies([r[0] for r in rows], [r[1] for r in rows if r[1] is not None])
