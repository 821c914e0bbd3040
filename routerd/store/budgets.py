"""The budgets' one query: paid use per provider and project in the current day and month.

``budget_spend`` reads ``calls`` from the start of the month (a month of rows, through the ``ts``
index) and sums cost and tokens of every call that was not free (cost above zero, or unknown),
with the project from the call or its session. Run through ``Store.read``.
"""

import math
from typing import Any

import apsw

from routerd.budgets.budgets import Spend

_SPEND = (
    "SELECT c.provider, coalesce(c.project, s.project), "
    "sum(CASE WHEN c.ts >= ?2 AND c.ts < ?4 THEN coalesce(c.cost_usd, 0) ELSE 0 END), "
    "sum(coalesce(c.cost_usd, 0)), "
    "sum(CASE WHEN c.ts >= ?2 AND c.ts < ?4 THEN c.input_tokens + c.output_tokens ELSE 0 END), "
    "sum(c.input_tokens + c.output_tokens) "
    "FROM calls c LEFT JOIN sessions s ON s.id = c.session_id "
    "WHERE c.ts >= ?1 AND c.ts < ?3 AND (c.cost_usd IS NULL OR c.cost_usd > 0) GROUP BY 1, 2"
)


def budget_spend(conn: apsw.Connection, month_start: float, day_start: float,
                 month_end: float = math.inf, day_end: float = math.inf) -> list[Spend]:
    """Paid use in the month and the day (from each start to before its end, Unix times), per
    provider and project: a call stamped in the future counts in its own day, not today."""
    rows: list[Any] = conn.execute(_SPEND, (month_start, day_start, month_end, day_end)).fetchall()
    found = []
    for provider, project, day_usd, month_usd, day_tokens, month_tokens in rows:
        found.append(Spend(provider, project, "day", day_usd or 0.0, float(day_tokens or 0)))
        found.append(Spend(provider, project, "month", month_usd or 0.0, float(month_tokens or 0)))
    return found


def session_projects(conn: apsw.Connection, limit: int) -> dict[str, str]:
    """The project of each of the ``limit`` sessions noted last (those with one), from the
    ``sessions`` table the hooks write: session id -> project."""
    rows: list[Any] = conn.execute("SELECT id, project FROM sessions WHERE project IS NOT NULL "
                                   "ORDER BY ts DESC LIMIT ?", (limit,)).fetchall()
    return dict(rows)
