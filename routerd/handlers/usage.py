"""Usage, savings, budget, health and providers: read-only queries over ``calls`` and ``decisions``.

Served on the socket as ``usage`` and ``savings`` (``routerctl usage|savings``) and used by the MCP
tools of the same names. Every query runs in the store's reader thread. Costs are what the gateway
recorded (NULL when a price was unknown); savings are ``baseline_cost_usd - cost_usd`` over calls
that recorded both, and say how many calls were left out.
"""

import re
import time
from datetime import datetime, timezone
from typing import Any

from routerd.errors import BadRequest
from routerd.protocol import Data, Savings, Usage

GROUPS = {"model": "model", "provider": "provider", "outcome": "outcome",
          "day": "strftime('%Y-%m-%d', ts, 'unixepoch')"}
_SPAN = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhdw])$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_since(since: str | None, now: float) -> float:
    """``"24h"``, ``"7d"``, ``"30m"``, an ISO date/time, or None (everything) -> a Unix time."""
    if not since:
        return 0.0
    match = _SPAN.match(since.strip().lower())
    if match:
        return now - float(match.group(1)) * _UNIT_S[match.group(2)]
    try:
        moment = datetime.fromisoformat(since.strip())
    except ValueError:
        raise BadRequest(f"since: expected a span like 24h or 7d, or an ISO date; got {since!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


async def usage_report(app, since: str | None = None, group_by: str = "model") -> dict[str, Any]:
    if group_by not in GROUPS:
        raise BadRequest(f"group_by: expected one of {', '.join(GROUPS)}; got {group_by!r}")
    start = parse_since(since, time.time())
    key = GROUPS[group_by]
    sql = (f"SELECT {key} AS k, count(*), sum(outcome = 'ok'), sum(input_tokens), "
           "sum(output_tokens), sum(cached_tokens), sum(cost_usd), avg(latency_ms) "
           f"FROM calls WHERE ts >= ? GROUP BY k ORDER BY count(*) DESC")
    rows = await app.store.read(lambda c: c.execute(sql, (start,)).fetchall())
    groups = [{group_by: k, "calls": n, "ok": ok or 0, "input_tokens": i or 0,
               "output_tokens": o or 0, "cached_tokens": ca or 0,
               "cost_usd": round(cost or 0.0, 6), "avg_latency_ms": round(lat, 1) if lat else None}
              for k, n, ok, i, o, ca, cost, lat in rows]
    total = {name: sum(g[name] for g in groups) for name in
             ("calls", "ok", "input_tokens", "output_tokens", "cached_tokens")}
    total["cost_usd"] = round(sum(g["cost_usd"] for g in groups), 6)
    return {"since": since, "group_by": group_by, "groups": groups, "total": total}


async def savings_report(app, since: str | None = None) -> dict[str, Any]:
    """Money saved against the baseline over the calls whose cost and baseline cost are both known.

    A call with either price unknown (NULL: a model the price snapshot lacks) is left out of the
    sums rather than counted as free, and ``unpriced_calls`` says how many were; with no priced call
    the money fields are None ("unknown"), not zero.
    """
    start = parse_since(since, time.time())

    def query(conn):
        money = conn.execute(
            "SELECT count(*), sum(cost_usd IS NOT NULL AND baseline_cost_usd IS NOT NULL), "
            "sum(CASE WHEN baseline_cost_usd IS NOT NULL THEN cost_usd END), "
            "sum(CASE WHEN cost_usd IS NOT NULL THEN baseline_cost_usd END) "
            "FROM calls WHERE ts >= ?", (start,)).fetchone()
        tiers = conn.execute("SELECT coalesce(tier, '?'), coalesce(model, '?'), count(*) FROM decisions "
                             "WHERE ts >= ? GROUP BY 1, 2 ORDER BY 3 DESC", (start,)).fetchall()
        return money, tiers

    (calls, priced, cost, baseline), tiers = await app.store.read(query)
    priced = priced or 0
    known = priced > 0
    return {
        "since": since, "priced_calls": priced, "unpriced_calls": calls - priced,
        "cost_usd": round(cost or 0.0, 6) if known else None,
        "baseline_cost_usd": round(baseline or 0.0, 6) if known else None,
        "saved_usd": round((baseline or 0.0) - (cost or 0.0), 6) if known else None,
        "saved_pct": round(100 * (baseline - cost) / baseline, 1) if known and baseline else None,
        "decisions": [{"tier": t, "model": m, "count": n} for t, m, n in tiers],
    }


async def budget_report(app) -> dict[str, Any]:
    """Spend today, this week and this month (UTC), with the configured limits when there are any."""
    now = datetime.now(timezone.utc)
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    starts = {"today": day.timestamp(), "last_7d": time.time() - 7 * 86400,
              "month": day.replace(day=1).timestamp()}

    def query(conn):
        return {name: conn.execute("SELECT coalesce(sum(cost_usd), 0) FROM calls WHERE ts >= ?",
                                   (start,)).fetchone()[0] for name, start in starts.items()}

    spend = await app.store.read(query)
    limits = getattr(app.runtime.config, "budget", None)
    return {"spend_usd": {k: round(v, 6) for k, v in spend.items()},
            "limits": _builtins(limits) if limits is not None else None}


async def health_report(app) -> dict[str, Any]:
    """The daemon, each provider's recent error rate (last 15 minutes) and the parts' statistics."""
    since = time.time() - 900
    rows = await app.store.read(lambda c: c.execute(
        "SELECT provider, count(*), sum(outcome = 'ok'), avg(latency_ms) FROM calls WHERE ts >= ? "
        "GROUP BY provider", (since,)).fetchall())
    providers = {p: {"calls_15m": n, "ok_15m": ok or 0, "error_rate_15m": round(1 - (ok or 0) / n, 3),
                     "avg_latency_ms": round(lat, 1) if lat else None} for p, n, ok, lat in rows}
    parts = {name: _builtins(part.statistics()) for name, part in app.parts.items()}
    return {"ok": not app.draining, "uptime_s": round(time.time() - app.started_at, 1),
            "providers": providers, "parts": parts}


def providers_report(app) -> dict[str, Any]:
    """Configured providers (never their keys: only whether one is set)."""
    import os

    from routerd.redact import redact_url

    out = []
    for name, pc in app.runtime.config.providers.items():
        has_key = bool(pc.api_key or (pc.api_key_env and os.environ.get(pc.api_key_env)))
        out.append({"name": name, "kind": pc.kind, "base_url": pc.base_url and redact_url(pc.base_url), "key_set": has_key,
                    "models": list(getattr(pc, "models", []) or [])})
    detected = [v for v in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "OLLAMA_BASE_URL")
                if os.environ.get(v)]
    return {"providers": out, "detected_env": detected}


def _builtins(value: Any) -> Any:
    import msgspec

    return msgspec.to_builtins(value)


async def handle_usage(app, request: Usage) -> Data:
    return Data(kind="usage", data=await usage_report(app, request.since, request.group_by))


async def handle_savings(app, request: Savings) -> Data:
    return Data(kind="savings", data=await savings_report(app, request.since))
