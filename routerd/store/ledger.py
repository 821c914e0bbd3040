"""The ledger's rows and named queries: calls and sessions written, usage and savings read.

Writes only enqueue (``Store.execute``); reads are plain functions of a connection, run by
``Store.read`` in a worker thread. Every ledger statement lives here.

Reports read the daily rollups (``call_rollup`` per model, provider, tier, outcome and source;
``session_rollup`` per session and project; ``decision_rollup``; see ``routerd.store.rollups``) for
whole local days, and ``calls`` itself only for a window's ragged start (``--since 36h``) and for
rows not rolled up yet, so a year of calls costs a few thousand rows. A call's tier comes from its
decision and its project from its session, both looked up by the writer when the row is inserted;
a session whose project became known later is joined at read time. Days are local days of the
daemon's time zone, as the calendar periods are (``routerd.ledger.periods``).
"""

import contextlib
import math
from datetime import datetime, timedelta
from typing import Any

import apsw
import msgspec

from routerd.store import rollups
from routerd.store.db import transaction
from routerd.store.retention import retained_from


class CallRow(msgspec.Struct, frozen=True, kw_only=True):
    """One call, as the gateway (one row per upstream attempt) or a hook (one per transcript
    message) saw it. Token counts as ``routerd.catalogue.prices.Tokens`` defines them;
    ``cache_read_tokens`` is stored in the ``cached_tokens`` column; ``web_searches`` the hosted web
    searches the provider ran (and billed) for the call."""

    id: str
    ts: float
    provider: str
    model: str
    outcome: str
    source: str = "gateway"
    decision_id: str | None = None
    attempt: int = 1
    status: int | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cache_write_1h_tokens: int = 0
    reasoning_tokens: int = 0
    estimated: bool = False
    latency_ms: float | None = None
    ttft_ms: float | None = None
    cost_usd: float | None = None
    baseline_cost_usd: float | None = None
    baseline_model: str | None = None
    session_id: str | None = None
    response_id: str | None = None
    error: str | None = None
    web_searches: int = 0


# The columns in CallRow's field order (``cached_tokens`` holds the cache reads), so that a row
# binds as ``astuple(row)``; its tier and project are looked up by the writer.
_INSERT_CALL = (
    "INSERT OR REPLACE INTO calls (id, ts, provider, model, outcome, source, decision_id, attempt, status, "
    "input_tokens, output_tokens, cached_tokens, cache_write_tokens, cache_write_1h_tokens, "
    "reasoning_tokens, estimated, latency_ms, ttft_ms, cost_usd, baseline_cost_usd, baseline_model, "
    "session_id, response_id, error, web_searches, tier, project) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, "
    "?21, ?22, ?23, ?24, ?25, (SELECT tier FROM decisions WHERE id = ?7), "
    "(SELECT project FROM sessions WHERE id = ?22))"
)


def record_call(store, row: CallRow) -> None:
    """Insert ``row`` soon (never blocks). The triggers keep it unique and the rollups current."""
    store.execute(_INSERT_CALL, msgspec.structs.astuple(row))


def hook_rows(conn: apsw.Connection) -> int:
    """How many calls rows the hooks made are kept (after the one-call-one-row triggers)."""
    return conn.execute("SELECT count(*) FROM calls WHERE source != 'gateway'").get


_UPSERT_SESSION = (
    "INSERT INTO sessions (id, host, project, ts) VALUES (?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET "
    "project = coalesce(excluded.project, project), ts = excluded.ts"
)


def record_session(store, session_id: str, host: str, project: str | None, ts: float) -> None:
    """Remember which project a coding agent's session works in (calls join it by session)."""
    store.execute(_UPSERT_SESSION, (session_id, host, project, ts))


# --- reports -------------------------------------------------------------------------------------


class UsageGroup(msgspec.Struct, frozen=True, kw_only=True):
    """Sums over the calls of one group. ``costed``: calls whose cost is known (``cost_usd`` sums
    those); ``paired``: calls whose cost and baseline cost are both known, which savings use."""

    key: str | None
    calls: int
    ok: int
    estimated: int
    input_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    cache_write_1h_tokens: int
    output_tokens: int
    reasoning_tokens: int
    cost_usd: float
    costed: int
    paired_cost_usd: float
    paired_baseline_usd: float
    paired: int
    latency_ms_sum: float
    latency_n: int  # calls whose latency is known (hook rows have none)
    web_searches: int = 0
    # The baseline cost of the calls that cost 0 (a local provider, a model priced 0): the part of
    # the savings that is a free model's. Exact in the groupings read from ``call_rollup`` (one
    # provider and model a row); ``session`` and ``project`` rows mix models, so theirs is a floor.
    free_baseline_usd: float = 0.0


GROUPS = ("model", "provider", "tier", "session", "project", "day", "outcome", "source")
# The groupings whose ``free_baseline_usd`` is exact (see ``UsageGroup``).
FREE_EXACT = frozenset({"model", "provider", "tier", "day", "outcome", "source"})
# Per group: the rollup it reads, its key there (r) and over calls (c); sessions (s) give projects.
_KEYS = {
    "model": ("call_rollup", "r.model", "c.model"),
    "provider": ("call_rollup", "r.provider", "c.provider"),
    "tier": ("call_rollup", "r.tier", "coalesce(c.tier, '')"),
    "outcome": ("call_rollup", "r.outcome", "c.outcome"),
    "source": ("call_rollup", "r.source", "c.source"),
    "day": ("call_rollup", "r.day", "date(c.ts, 'unixepoch', 'localtime')"),
    "session": ("session_rollup", "r.session_id", "coalesce(c.session_id, '')"),
    "project": ("session_rollup", "coalesce(nullif(r.project, ''), s.project, '')",
                "coalesce(c.project, s.project, '')"),
}
_SUMS = ("calls, ok, estimated, input_tokens, cache_read_tokens, cache_write_tokens, "
         "cache_write_1h_tokens, output_tokens, reasoning_tokens, cost_usd, costed, paired_cost_usd, "
         "paired_baseline_usd, paired, latency_ms_sum, latency_n, web_searches, "
         "CASE WHEN cost_usd = 0 AND costed = calls THEN paired_baseline_usd ELSE 0 END")
_RAW = ("1, c.outcome = 'ok', c.estimated != 0, c.input_tokens, c.cached_tokens, c.cache_write_tokens, "
        "c.cache_write_1h_tokens, c.output_tokens, c.reasoning_tokens, coalesce(c.cost_usd, 0), "
        "c.cost_usd IS NOT NULL, "
        "CASE WHEN c.baseline_cost_usd IS NOT NULL THEN coalesce(c.cost_usd, 0) ELSE 0 END, "
        "CASE WHEN c.cost_usd IS NOT NULL THEN coalesce(c.baseline_cost_usd, 0) ELSE 0 END, "
        "c.cost_usd IS NOT NULL AND c.baseline_cost_usd IS NOT NULL, coalesce(c.latency_ms, 0), "
        "c.latency_ms IS NOT NULL, c.web_searches, "
        "CASE WHEN c.cost_usd = 0 THEN coalesce(c.baseline_cost_usd, 0) ELSE 0 END")


def _edge(start: float, retired: float = 0.0) -> tuple[str, float]:
    """The first local midnight at or after ``start``, as a day and a Unix time: rollups from that
    day on, raw calls before it. Everything (``start`` 0) is all rollup; so is a start before
    ``retired`` (the retention's edge), whose day's calls are gone: that whole day counts."""
    if start <= 0:
        return "", 0.0
    midnight = datetime.fromtimestamp(start).replace(hour=0, minute=0, second=0, microsecond=0)
    if midnight.timestamp() < start and start >= retired:
        midnight += timedelta(days=1)
    return midnight.date().isoformat(), midnight.timestamp()


def _end_day(end: float) -> str:
    """The local day ``end`` (a midnight, or inf) falls on: rollup days before it are in a window."""
    return datetime.fromtimestamp(end).date().isoformat() if end != math.inf else "9999-12-31"


def usage_groups(conn: apsw.Connection, start: float, by: str, end: float = math.inf) -> list[UsageGroup]:
    """Calls from ``start`` to before ``end`` (Unix times) summed per ``by`` (one of ``GROUPS``),
    costliest first (by day: in date order)."""
    rollup, rollup_key, raw_key = _KEYS[by]
    join_r = "LEFT JOIN sessions s ON s.id = r.session_id" if by == "project" else ""
    join_c = "LEFT JOIN sessions s ON s.id = c.session_id" if by == "project" else ""
    order = "k" if by == "day" else "cost DESC, n DESC, k"
    sql = (
        f"SELECT k, sum(calls) AS n, sum(ok), sum(estimated), sum(input_tokens), sum(cache_read_tokens), "
        f"sum(cache_write_tokens), sum(cache_write_1h_tokens), sum(output_tokens), sum(reasoning_tokens), "
        f"sum(cost_usd) AS cost, sum(costed), sum(paired_cost_usd), sum(paired_baseline_usd), sum(paired), "
        f"sum(latency_ms_sum), sum(latency_n), sum(web_searches), sum(free) FROM ("
        f"SELECT {rollup_key} AS k, {_SUMS} AS free FROM {rollup} r {join_r} WHERE r.day >= ?1 AND r.day < ?4 "
        f"UNION ALL SELECT {raw_key} AS k, {_RAW} FROM calls c {join_c} "
        f"WHERE c.ts >= ?2 AND c.ts < ?3 AND c.ts < ?5 "
        f"UNION ALL SELECT {raw_key} AS k, {_RAW} FROM calls c {join_c} "
        f"WHERE c.rowid > {rollups.mark('calls')} AND c.ts >= ?3 AND c.ts < ?5"
        f") GROUP BY k HAVING n > 0 ORDER BY {order}")
    # One snapshot for the edge and the sums: a prune committed in between would leave the
    # window's first day neither in the rows nor in the rollups read for it.
    with transaction(conn) if conn.getautocommit() else contextlib.nullcontext():
        day, edge = _edge(start, retained_from(conn))
        rows: list[Any] = conn.execute(sql, (day, start, edge, _end_day(end), end)).fetchall()
    return [UsageGroup(key=k if k != "" else None, calls=n, ok=ok, estimated=est, input_tokens=i,
                       cache_read_tokens=cr, cache_write_tokens=cw, cache_write_1h_tokens=cw1,
                       output_tokens=o, reasoning_tokens=r, cost_usd=cost, costed=costed,
                       paired_cost_usd=pc, paired_baseline_usd=pb, paired=paired,
                       latency_ms_sum=lat_sum, latency_n=lat_n, web_searches=searches, free_baseline_usd=free)
            for k, n, ok, est, i, cr, cw, cw1, o, r, cost, costed, pc, pb, paired, lat_sum, lat_n, searches, free
            in rows]


class DecisionCount(msgspec.Struct, frozen=True):
    tier: str | None
    model: str | None
    count: int


def decision_counts(conn: apsw.Connection, start: float, end: float = math.inf) -> list[DecisionCount]:
    """Routing decisions from ``start`` to before ``end`` per (tier, model), most frequent first."""
    sql = ("SELECT t, m, sum(n) AS total FROM ("
           "SELECT tier AS t, model AS m, decisions AS n FROM decision_rollup WHERE day >= ?1 AND day < ?4 "
           "UNION ALL SELECT coalesce(tier, ''), coalesce(model, ''), 1 FROM decisions "
           "WHERE ts >= ?2 AND ts < ?3 AND ts < ?5 "
           "UNION ALL SELECT coalesce(tier, ''), coalesce(model, ''), 1 FROM decisions "
           f"WHERE rowid > {rollups.mark('decisions')} AND ts >= ?3 AND ts < ?5"
           ") GROUP BY t, m HAVING total > 0 ORDER BY total DESC, t, m")
    with transaction(conn) if conn.getautocommit() else contextlib.nullcontext():  # see usage_groups
        day, edge = _edge(start, retained_from(conn, "decisions"))
        rows: list[Any] = conn.execute(sql, (day, start, edge, _end_day(end), end)).fetchall()
    return [DecisionCount(t or None, m or None, n) for t, m, n in rows]


def usage_and_decisions(conn: apsw.Connection, start: float, by: str,
                        end: float = math.inf) -> tuple[list[UsageGroup], list[DecisionCount]]:
    """``usage_groups`` and ``decision_counts`` of one window in one snapshot, so that they agree: a
    prune committed between two reads would have the calls of a window starting inside the day it
    retires counted from the window's start and its decisions for the whole day."""
    with transaction(conn) if conn.getautocommit() else contextlib.nullcontext():
        return usage_groups(conn, start, by, end), decision_counts(conn, start, end)


class LastCall(msgspec.Struct, frozen=True):
    model: str
    provider: str
    ts: float


def last_call(conn: apsw.Connection, session_id: str | None = None) -> LastCall | None:
    """The most recent successful call, in ``session_id`` when given and it has one."""
    if session_id:
        row = conn.execute("SELECT model, provider, ts FROM calls WHERE session_id = ? AND outcome = 'ok' "
                           "ORDER BY ts DESC LIMIT 1", (session_id,)).fetchone()
        if row is not None:
            return LastCall(*row)
    row = conn.execute("SELECT model, provider, ts FROM calls WHERE outcome = 'ok' "
                       "ORDER BY ts DESC LIMIT 1").fetchone()
    return LastCall(*row) if row is not None else None


def sessionless_gateway_tokens(conn: apsw.Connection, start: float, end: float) -> list[tuple[float, int, int]]:
    """``(ts, input, output)`` of the gateway's calls with tokens and no session between ``start``
    and ``end``: what a hook that cannot name its session (Gemini CLI) matches its calls against."""
    return [(float(ts), int(inp), int(out)) for ts, inp, out in conn.execute(
        "SELECT ts, input_tokens, output_tokens FROM calls WHERE source = 'gateway' AND session_id IS NULL"
        " AND ts BETWEEN ? AND ? AND input_tokens + output_tokens > 0", (start, end))]


class ProviderHealth(msgspec.Struct, frozen=True):
    provider: str
    calls: int
    ok: int
    avg_latency_ms: float | None


def provider_health(conn: apsw.Connection, since: float) -> list[ProviderHealth]:
    """Gateway calls per provider since ``since`` (a recent window: read from ``calls``)."""
    rows: list[Any] = conn.execute("SELECT provider, count(*), sum(outcome = 'ok'), avg(latency_ms) FROM calls "
                        "WHERE ts >= ? AND source = 'gateway' GROUP BY provider", (since,)).fetchall()
    return [ProviderHealth(p, n, ok or 0, lat) for p, n, ok, lat in rows]


# --- export --------------------------------------------------------------------------------------

EXPORT_TABLES = ("calls", "decisions")
_EXPORT_SQL = {
    "calls": ("SELECT c.rowid, c.id, c.ts, c.source, c.session_id, coalesce(c.project, s.project), c.decision_id, "
              "c.tier, c.provider, c.model, c.attempt, c.outcome, c.status, c.input_tokens, "
              "c.cached_tokens, c.cache_write_tokens, c.cache_write_1h_tokens, c.output_tokens, "
              "c.reasoning_tokens, c.estimated, c.latency_ms, c.ttft_ms, c.cost_usd, c.baseline_model, "
              "c.baseline_cost_usd, c.response_id, c.error, 1, c.web_searches FROM calls c "
              "LEFT JOIN sessions s ON s.id = c.session_id WHERE c.ts >= ?1 AND c.ts < ?4 AND c.rowid > ?2 "
              "ORDER BY c.rowid LIMIT ?3"),
    # a decision kept before the retention's edge (it has feedback) is in that day's sums
    "decisions": ("SELECT rowid, id, ts, source, session_id, tier, task_type, confidence, profile, provider, "
                  "model, prompt_hash, prompt_len, prompt, detail, scenario, 1 FROM decisions "
                  "WHERE ts >= max(?1, (SELECT before FROM retention WHERE source = 'decisions')) "
                  "AND ts < ?4 AND rowid > ?2 ORDER BY rowid LIMIT ?3"),
}
EXPORT_COLUMNS = {
    "calls": ("id", "ts", "source", "session_id", "project", "decision_id", "tier", "provider", "model",
              "attempt", "outcome", "status", "input_tokens", "cache_read_tokens", "cache_write_tokens",
              "cache_write_1h_tokens", "output_tokens", "reasoning_tokens", "estimated", "latency_ms",
              "ttft_ms", "cost_usd", "baseline_model", "baseline_cost_usd", "response_id", "error", "calls",
              "web_searches"),
    "decisions": ("id", "ts", "source", "session_id", "tier", "task_type", "confidence", "profile",
                  "provider", "model", "prompt_hash", "prompt_len", "prompt", "detail", "scenario", "decisions"),
}


def export_count(conn: apsw.Connection, table: str, start: float, end: float = math.inf) -> int:
    """How many rows of ``table`` an export from ``start`` to before ``end`` will send (for a
    progress bar), the pruned days' rows included."""
    retired = retained_from(conn, table)
    count: int = conn.execute(f"SELECT count(*) FROM {table} WHERE ts >= max(?, ?) AND ts < ?",
                              (start, retired, end)).get
    count += conn.execute(f"SELECT count(*) FROM {_ROLLUP[table]} WHERE {_RETIRED_DAYS}",
                          _retired_days(conn, table, start, end)).get
    return count


# A pruned day's rows, one per rollup key, in the export's columns: for calls (source, provider,
# model, tier, outcome) sums where a call has a count and the mean latency; for decisions (source,
# tier, model); the last column the calls or decisions the row stands for, the day's local
# midnight as ``ts``, no id, session or project (they are gone).
_RETIRED_DAYS = "day >= ?1 AND day < ?2 AND day < ?3"
_ROLLUP = {"calls": "call_rollup", "decisions": "decision_rollup"}
_EXPORT_RETIRED = {
    "calls": (
        "SELECT NULL, CAST(strftime('%s', day, 'utc') AS REAL), source, NULL, NULL, NULL, nullif(tier, ''), "
        "provider, model, NULL, outcome, NULL, input_tokens, cache_read_tokens, cache_write_tokens, "
        "cache_write_1h_tokens, output_tokens, reasoning_tokens, estimated, "
        "CASE WHEN latency_n > 0 THEN latency_ms_sum / latency_n END, NULL, "
        "CASE WHEN costed > 0 THEN cost_usd END, NULL, CASE WHEN paired > 0 THEN paired_baseline_usd END, "
        f"NULL, NULL, calls, web_searches FROM call_rollup WHERE {_RETIRED_DAYS} "
        "ORDER BY day, source, provider, model, tier, outcome LIMIT ?4 OFFSET ?5"),
    "decisions": (
        "SELECT NULL, CAST(strftime('%s', day, 'utc') AS REAL), source, NULL, nullif(tier, ''), NULL, NULL, "
        "NULL, NULL, nullif(model, ''), NULL, NULL, NULL, NULL, NULL, decisions FROM decision_rollup "
        f"WHERE {_RETIRED_DAYS} ORDER BY day, source, tier, model LIMIT ?4 OFFSET ?5"),
}


def _retired_days(conn: apsw.Connection, table: str, start: float, end: float) -> tuple[str, str, str]:
    """The days of a window the retention pruned: from ``start``'s day to before the edge's."""
    retired = retained_from(conn, table)
    first = datetime.fromtimestamp(start).date().isoformat() if start > 0 else ""
    last = datetime.fromtimestamp(retired).date().isoformat() if retired > 0 else ""
    return first, last, _end_day(end)


def export_retired(conn: apsw.Connection, table: str, start: float, end: float, offset: int,
                   limit: int) -> list[tuple[Any, ...]]:
    """The export's rows of ``table``'s pruned days from ``start`` to before ``end``, ``limit`` of
    them from ``offset`` (a few thousand a year: paging by offset is cheap)."""
    rows: list[Any] = conn.execute(_EXPORT_RETIRED[table],
                                   (*_retired_days(conn, table, start, end), limit, offset)).fetchall()
    return [tuple(row) for row in rows]


def export_page(conn: apsw.Connection, table: str, start: float, after: int,
                limit: int, end: float = math.inf) -> tuple[int, list[tuple[Any, ...]]]:
    """The next ``limit`` rows of ``table`` from ``start`` to before ``end``, after row ``after`` (keyset
    paging: each
    page is one short read, so an export of millions holds one page in memory), and the last
    row's position to continue from."""
    rows: list[Any] = conn.execute(_EXPORT_SQL[table], (start, after, limit, end)).fetchall()
    return (rows[-1][0] if rows else after), [row[1:] for row in rows]
