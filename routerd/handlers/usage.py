"""The ledger's socket requests: ``usage``, ``savings``, ``report``, ``export``, ``statusline``,
``budget`` and ``dashboard`` (``routerctl usage | savings | report | export | statusline | budget``,
``GET /dashboard/data``). Thin: reports are built by
``routerd.ledger.reports`` from the store's named queries.
"""

import functools
import time
from collections.abc import AsyncGenerator

from routerd.app import App
from routerd.errors import BadRequest
from routerd.ledger import costs, reports
from routerd.ledger.dashboard import dashboard_data
from routerd.ledger.periods import window_end, window_start
from routerd.protocol.replies import Reply
from routerd.protocol.reports import (BudgetReply, DashboardReply, ExportEnd, ExportEndReply, ExportHead,
                                      ExportHeadReply, ExportRows, ExportRowsReply, ReportReply, SavingsReply,
                                      StatusLineReply, UsageReply)
from routerd.protocol.requests import Budget, Dashboard, Export, Report, Savings, StatusLine, Usage
from routerd.store import ledger as q
from routerd.store.store import Store

# Rows per export frame: a page is one short read and well under the 8 MiB frame limit.
EXPORT_PAGE_ROWS = 2000


def _compared_with(app: App) -> str:
    runtime = app.runtime
    return costs.compared_with(runtime.catalogue, runtime.config.accounting.baseline_model)


async def handle_usage(app: App, request: Usage) -> UsageReply:
    return UsageReply(kind="usage", data=await reports.usage_report(
        app.store, request.since, request.group_by, request.period, request.limit, _compared_with(app)))


async def handle_savings(app: App, request: Savings) -> SavingsReply:
    return SavingsReply(kind="savings", data=await reports.savings_report(
        app.store, request.since, request.period, request.group_by, request.limit, _compared_with(app)))


async def handle_report(app: App, request: Report) -> ReportReply:
    return ReportReply(kind="report", data=await reports.full_report(
        app.store, request.since, request.group_by, request.period, request.limit, _compared_with(app)))


async def handle_statusline(app: App, request: StatusLine) -> StatusLineReply:
    budget = app.spending.budget_share(app.runtime, request.session_id)
    return StatusLineReply(kind="statusline", data=await reports.statusline(app.store, request.session_id, budget))


async def handle_budget(app: App, request: Budget) -> BudgetReply:
    if request.period is not None and request.period not in ("today", "week", "month"):
        raise BadRequest(f"period: expected today, week or month; got {request.period!r}")
    return BudgetReply(kind="budget", data=await reports.budget_report(
        app.store, app.spending.statistics(app.runtime), request.period))


async def handle_dashboard(app: App, request: Dashboard) -> DashboardReply:
    breakers = app.resilience.health.statistics(time.time()).providers
    return DashboardReply(kind="dashboard", data=await dashboard_data(
        app.store, request.period, request.decisions, app.spending.statistics(app.runtime), breakers,
        app.gateway.metrics, _compared_with(app)))


async def handle_export(app: App, request: Export) -> AsyncGenerator[Reply, None]:
    """Stream a table page by page, so that an export of millions of rows never sits in memory."""
    if request.table not in q.EXPORT_TABLES:
        raise BadRequest(f"table: expected one of {', '.join(q.EXPORT_TABLES)}; got {request.table!r}")
    now = time.time()
    start, end = window_start(request.period, request.since, now), window_end(request.period, request.since, now)
    return _pages(app.store, request.table, start, end)


async def _pages(store: Store, table: str, start: float, end: float) -> AsyncGenerator[Reply, None]:
    # Every page reads one snapshot, taken before the count: a prune committed in between pages
    # (an hourly one, routerctl prune, a reload that shortens state.retain_days) would otherwise
    # delete rows not yet sent after the pruned days' sums were passed over, and a row rewritten
    # meanwhile would come again under a new rowid.
    async with store.open_snapshot() as snapshot:
        total = await snapshot.read(functools.partial(q.export_count, table=table, start=start, end=end))
        yield ExportHeadReply(kind="export", final=False,
                              data=ExportHead(table=table, columns=list(q.EXPORT_COLUMNS[table]), total=total))
        after, sent = 0, 0
        while True:  # first the days the retention pruned, summed (routerd.store.retention)
            rows = await snapshot.read(functools.partial(q.export_retired, table=table, start=start, end=end,
                                                         offset=sent, limit=EXPORT_PAGE_ROWS))
            if not rows:
                break
            sent += len(rows)
            yield ExportRowsReply(kind="export_rows", final=False, data=ExportRows(rows=rows))
        while True:
            after, rows = await snapshot.read(functools.partial(
                q.export_page, table=table, start=start, after=after, limit=EXPORT_PAGE_ROWS, end=end))
            if not rows:
                break
            sent += len(rows)
            yield ExportRowsReply(kind="export_rows", final=False, data=ExportRows(rows=rows))
    yield ExportEndReply(kind="export_end", data=ExportEnd(rows=sent))
