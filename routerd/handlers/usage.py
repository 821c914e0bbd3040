"""The ledger's socket requests: ``usage``, ``savings``, ``report``, ``export`` and ``statusline``
(``routerctl usage | savings | report | export | statusline``), and the providers summary the MCP
tool shows. Thin: reports are built by ``routerd.ledger.reports`` from the store's named queries.
"""

import functools
import os
import time
from collections.abc import AsyncIterator
from typing import Any

from routerd.errors import BadRequest
from routerd.ledger import reports
from routerd.ledger.periods import window_start
from routerd.protocol import Data, Export, Report, Savings, StatusLine, Usage
from routerd.store import ledger as q

# Rows per export frame: a page is one short read and well under the 8 MiB frame limit.
EXPORT_PAGE_ROWS = 2000


def providers_report(app) -> dict[str, Any]:
    """Configured providers (never their keys: only whether one is set)."""
    out = []
    for name, pc in app.runtime.config.providers.items():
        has_key = bool(pc.api_key or (pc.api_key_env and os.environ.get(pc.api_key_env)))
        out.append({"name": name, "kind": pc.kind, "base_url": pc.base_url, "key_set": has_key,
                    "local": pc.local, "models": list(getattr(pc, "models", []) or [])})
    detected = [v for v in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "OLLAMA_BASE_URL")
                if os.environ.get(v)]
    return {"providers": out, "detected_env": detected}


async def handle_usage(app, request: Usage) -> Data:
    return Data(kind="usage", data=await reports.usage_report(app, request.since, request.group_by,
                                                              request.period, request.limit))


async def handle_savings(app, request: Savings) -> Data:
    return Data(kind="savings", data=await reports.savings_report(app, request.since, request.period,
                                                                  request.group_by, request.limit))


async def handle_report(app, request: Report) -> Data:
    return Data(kind="report", data=await reports.full_report(app, request.since, request.group_by,
                                                              request.period, request.limit))


async def handle_statusline(app, request: StatusLine) -> Data:
    return Data(kind="statusline", data=await reports.statusline(app, request.session_id))


async def handle_export(app, request: Export) -> AsyncIterator[Data]:
    """Stream a table page by page, so that an export of millions of rows never sits in memory."""
    if request.table not in q.EXPORT_TABLES:
        raise BadRequest(f"table: expected one of {', '.join(q.EXPORT_TABLES)}; got {request.table!r}")
    start = window_start(request.period, request.since, time.time())
    total = await app.store.read(functools.partial(q.export_count, table=request.table, start=start))
    return _pages(app, request.table, start, total)


async def _pages(app, table: str, start: float, total: int) -> AsyncIterator[Data]:
    yield Data(kind="export", final=False,
               data={"table": table, "columns": list(q.EXPORT_COLUMNS[table]), "total": total})
    after, sent = 0, 0
    while True:
        after, rows = await app.store.read(functools.partial(
            q.export_page, table=table, start=start, after=after, limit=EXPORT_PAGE_ROWS))
        if not rows:
            break
        sent += len(rows)
        yield Data(kind="export_rows", final=False, data={"rows": rows})
    yield Data(kind="export_end", data={"rows": sent})
