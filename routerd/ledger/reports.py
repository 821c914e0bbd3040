"""Usage, savings and the combined report, the status line, and the budget and health summaries:
what ``routerctl usage | savings | report | statusline`` and the MCP tools show, built from the
store's named queries (``routerd.store.ledger``), each run in the store's reader thread.

Every money figure follows one formula (``routerd.ledger.costs``): ``cost_usd`` sums the calls whose
cost is known (``uncosted_calls`` counts the others, never as free; None when no call's is known);
savings are ``baseline_cost_usd - priced_cost_usd`` over the calls whose cost and baseline cost are
both known (``priced_calls``; ``unpriced_calls`` are left out), and are None ("unknown"), not zero,
when there is none. Money keeps the ledger's stored precision, so groups add up to their total.
"""

import contextlib
import functools
import time
from typing import Any

import msgspec

from routerd.budgets.budgets import BudgetStats
from routerd.errors import BadRequest
from routerd.ledger.costs import DIGITS
from routerd.ledger.periods import period_end, period_start, window_end, window_start
from routerd.protocol.reports import (BudgetReport, DecisionCount, FullReport, SavingsReport, StatusLineData,
                                      UsageReport)
from routerd.protocol.requests import DEFAULT_REPORT_LIMIT
from routerd.store import ledger as q
from routerd.store.db import transaction
from routerd.store.store import Store

# Summed per row, beside the calls: every token kind, and the hosted web searches (billed apart).
_TOKENS = ("input_tokens", "cache_read_tokens", "cache_write_tokens", "cache_write_1h_tokens",
           "output_tokens", "reasoning_tokens", "web_searches")


def _check_group(by: str) -> None:
    if by not in q.GROUPS:
        raise BadRequest(f"group_by: expected one of {', '.join(q.GROUPS)}; got {by!r}")


def _money(groups: list[q.UsageGroup]) -> dict[str, Any]:
    """Spend and savings of ``groups`` taken together, at the ledger's stored precision: rounded
    any coarser, the groups' figures no longer add up to their total's."""
    calls = sum(g.calls for g in groups)
    paired = sum(g.paired for g in groups)
    paired_cost = sum(g.paired_cost_usd for g in groups)
    baseline = sum(g.paired_baseline_usd for g in groups)
    saved = baseline - paired_cost if paired else None
    costed = sum(g.costed for g in groups)
    return {
        # None ("unknown") when every call has an unknown price: a sum of none is no $0 spent.
        "cost_usd": round(sum(g.cost_usd for g in groups), DIGITS) if costed or not calls else None,
        "uncosted_calls": calls - costed,
        "priced_calls": paired,
        "unpriced_calls": calls - paired,
        "priced_cost_usd": round(paired_cost, DIGITS) if paired else None,
        "baseline_cost_usd": round(baseline, DIGITS) if paired else None,
        "saved_usd": round(saved, DIGITS) if saved is not None else None,
        "saved_pct": round(100 * saved / baseline, 1) if saved is not None and baseline > 0 else None,
    }


def _row(by: str, groups: list[q.UsageGroup], key: Any) -> dict[str, Any]:
    timed = sum(g.latency_n for g in groups)
    latency = sum(g.latency_ms_sum for g in groups)
    return {by: key, "calls": sum(g.calls for g in groups), "ok": sum(g.ok for g in groups),
            "estimated": sum(g.estimated for g in groups),
            **{name: sum(getattr(g, name) for g in groups) for name in _TOKENS},
            **_money(groups), "avg_latency_ms": round(latency / timed, 1) if timed else None}


DEFAULT_LIMIT = DEFAULT_REPORT_LIMIT


def _listed(by: str, groups: list[q.UsageGroup], limit: int) -> list[dict[str, Any]]:
    """One row per group, at most ``limit`` (0: all) of them: the costliest, or for days the latest;
    the others summed into one ``(N more)`` row, so that a reply stays small whatever the data."""
    if limit <= 0 or len(groups) <= limit:
        return [_row(by, [g], g.key) for g in groups]
    if by == "day":  # date order: keep the latest days, fold the earlier ones first
        folded, kept = groups[:-limit], groups[-limit:]
        return [_row(by, folded, f"({len(folded)} earlier)"), *(_row(by, [g], g.key) for g in kept)]
    kept, folded = groups[:limit], groups[limit:]
    return [*(_row(by, [g], g.key) for g in kept), _row(by, folded, f"({len(folded)} more)")]


async def _grouped(store: Store, start: float, by: str, end: float) -> list[q.UsageGroup]:
    return await store.read(functools.partial(q.usage_groups, start=start, by=by, end=end))


async def _usage_and_decisions(store: Store, start: float, by: str,
                               end: float) -> tuple[list[q.UsageGroup], list[DecisionCount]]:
    """The window's calls per group and its decisions, read at one point in time."""
    groups, counted = await store.read(functools.partial(q.usage_and_decisions, start=start, by=by, end=end))
    return groups, [DecisionCount(tier=d.tier, model=d.model, count=d.count) for d in counted]


def usage_of(period: str | None, since: str | None, start: float, group_by: str, groups: list[q.UsageGroup],
             limit: int, compared_with: str = "") -> UsageReport:
    """The usage report of ``groups`` (``q.usage_groups`` of the window from ``start``);
    ``compared_with``: what the baseline is, in words (``routerd.ledger.costs.compared_with``)."""
    return UsageReport(period=period if not since else None, since=since, start=start, group_by=group_by,
                       groups=_listed(group_by, groups, limit), total=_row(group_by, groups, "total"),
                       compared_with=compared_with)


async def usage_report(store: Store, since: str | None = None, group_by: str = "model",
                       period: str | None = None, limit: int = DEFAULT_LIMIT, compared_with: str = "") -> UsageReport:
    """Calls, tokens of every kind, cost and savings per group, and their total."""
    _check_group(group_by)
    now = time.time()
    start = window_start(period, since, now)
    groups = await _grouped(store, start, group_by, window_end(period, since, now))
    return usage_of(period, since, start, group_by, groups, limit, compared_with)


async def savings_report(store: Store, since: str | None = None, period: str | None = None,
                         group_by: str | None = None, limit: int = DEFAULT_LIMIT,
                         compared_with: str = "") -> SavingsReport:
    """Money saved against the baseline (``compared_with`` says what it is, in words), overall (and
    per group with ``group_by``), and the routing decisions by tier and model."""
    by = group_by or "source"
    _check_group(by)
    now = time.time()
    start = window_start(period, since, now)
    groups, counted, free = await store.read(functools.partial(_savings_read, start=start, by=by,
                                                               end=window_end(period, since, now)))
    money = _money(groups)
    return SavingsReport(period=period if not since else None, since=since, start=start, **money,
                         free_saved_usd=round(free, DIGITS) if money["priced_calls"] else None,
                         decisions=[DecisionCount(tier=d.tier, model=d.model, count=d.count) for d in counted],
                         group_by=group_by, groups=_listed(group_by, groups, limit) if group_by else None,
                         compared_with=compared_with)


def _savings_read(conn: Any, start: float, by: str,
                  end: float) -> tuple[list[q.UsageGroup], list[q.DecisionCount], float]:
    """The window's calls per ``by``, its decisions and the baseline cost of its free calls (the
    savings of a local or zero-priced model), read in one snapshot; the free sum from a grouping
    that has it exact (``q.FREE_EXACT``)."""
    with transaction(conn) if conn.getautocommit() else contextlib.nullcontext():
        groups, counted = q.usage_and_decisions(conn, start, by, end)
        exact = groups if by in q.FREE_EXACT else q.usage_groups(conn, start, "source", end)
    return groups, counted, sum(g.free_baseline_usd for g in exact)


async def full_report(store: Store, since: str | None = None, group_by: str = "model",
                      period: str | None = None, limit: int = DEFAULT_LIMIT, compared_with: str = "") -> FullReport:
    """Usage and savings per group with their total, and the decisions behind them."""
    _check_group(group_by)
    now = time.time()
    start = window_start(period, since, now)
    groups, decisions = await _usage_and_decisions(store, start, group_by, window_end(period, since, now))
    usage = usage_of(period, since, start, group_by, groups, limit, compared_with)
    return FullReport(**msgspec.structs.asdict(usage), decisions=decisions)


async def statusline(store: Store, session_id: str | None = None, budget: float | None = None) -> StatusLineData:
    """Today's spend and savings and the last model used (in ``session_id`` when given), for a
    one-line status; ``budget``: the most spent share of the budgets (None: no budget known)."""
    now = time.time()
    start, end = period_start("today", now), period_end("today", now)

    def read(conn: Any) -> tuple[list[q.UsageGroup], Any]:
        return q.usage_groups(conn, start, "source", end), q.last_call(conn, session_id)

    groups, last = await store.read(read)
    money = _money(groups)
    return StatusLineData(calls=sum(g.calls for g in groups), cost_usd=money["cost_usd"],
                          uncosted_calls=money["uncosted_calls"],
                          saved_usd=money["saved_usd"], saved_pct=money["saved_pct"],
                          last_model=last.model if last else None,
                          last_provider=last.provider if last else None, budget=budget)


async def budget_report(store: Store, stats: BudgetStats, period: str | None = None) -> BudgetReport:
    """The budgets' state (``stats``) with the spend of ``period`` (local calendar; None: today,
    this week and this month)."""
    now = time.time()
    return budget_of(stats, await store.read(functools.partial(budget_spend, period=period, now=now)))


def budget_spend(conn: Any, period: str | None, now: float) -> dict[str, float]:
    """The spend of ``period`` (None: today, this week and this month), read in one transaction."""
    with transaction(conn) if conn.getautocommit() else contextlib.nullcontext():
        return {name: round(sum(g.cost_usd for g in q.usage_groups(conn, period_start(name, now), "source",
                                                                      period_end(name, now))), 6)
                for name in ((period,) if period else ("today", "week", "month"))}


def budget_of(stats: BudgetStats, spend: dict[str, float]) -> BudgetReport:
    """The budgets' state with ``spend`` (``budget_spend``)."""
    return BudgetReport(configured=stats.configured, pressure=stats.pressure, level=stats.level, spend_usd=spend,
                        limits=stats.limits, windows=stats.windows)


async def health_report(store: Store, parts: dict[str, Any], uptime_s: float, serving: bool) -> dict[str, Any]:
    """The daemon, each provider's recent error rate (last 15 minutes) and the parts' statistics."""
    rows = await store.read(functools.partial(q.provider_health, since=time.time() - 900))
    providers = {r.provider: {"calls_15m": r.calls, "ok_15m": r.ok,
                              "error_rate_15m": round(1 - r.ok / r.calls, 3),
                              "avg_latency_ms": round(r.avg_latency_ms, 1) if r.avg_latency_ms else None}
                 for r in rows}
    return {"ok": serving, "uptime_s": round(uptime_s, 1), "providers": providers, "parts": parts}
