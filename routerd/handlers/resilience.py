"""Handlers for the resilience requests: health (every breaker, cool-down, key and bucket) and
breaker reset."""

import time

from routerd.app import App
from routerd.errors import BadRequest
from routerd.protocol.replies import BreakerResetReply, BreakerRow, BucketRow, CoolingRow, HealthReply, KeyRow
from routerd.protocol.requests import BreakerReset, Health
from routerd.resilience.breaker import BreakerStats


async def handle_health(app: App, request: Health) -> HealthReply:
    now = time.time()
    stats = app.resilience.statistics(now)
    health = stats.breakers
    breakers = [_breaker(target, b, now) for table in (health.providers, health.models)
                for target, b in sorted(table.items())]
    cooling = [CoolingRow(target=t, reason=c.reason, category=c.category, retry_in_s=round(c.until - now, 1))
               for t, c in sorted(health.cooling.items())]
    keys = [KeyRow(provider=provider, label=k.label, fingerprint=k.fingerprint, state=k.state, status=k.status,
                   chosen=k.chosen) for provider, rows in sorted(stats.keys.items()) for k in rows]
    buckets = [BucketRow(name=b.name, metric=b.metric, limit=b.limit, used=b.used, reserved=b.reserved,
                         resets_in_s=None if b.window_end is None else round(b.window_end - now, 1),
                         refused=b.refused, learned=b.learned) for b in stats.buckets]
    flight = stats.in_flight
    return HealthReply(breakers=breakers, cooling=cooling, keys=keys, buckets=buckets, in_flight=flight.requests,
                       max_in_flight=flight.max_total, refused_overloaded=flight.refused, aliases=stats.aliases,
                       ttft_ms=stats.ttft_ms)


def _breaker(target: str, b: BreakerStats, now: float) -> BreakerRow:
    retry = round(b.retry_at - now, 1) if b.state == "open" and b.retry_at is not None else None
    return BreakerRow(target=target, state=b.state, consecutive_failures=b.consecutive_failures,
                      recent_failure_rate=b.recent_failure_rate, calls=b.calls, failures=b.failures,
                      opened=b.opened, rejected=b.rejected, retry_in_s=retry, last_failure=b.last_failure)


async def handle_breaker_reset(app: App, request: BreakerReset) -> BreakerResetReply:
    """Reset every breaker, or ``target``'s (a configured provider, or ``provider/model``); a
    target naming no provider is refused with the ones there are, not "nothing was open"."""
    target, providers = request.target, app.runtime.providers
    if target is not None and target.partition("/")[0] not in providers:
        raise BadRequest(f"unknown breaker target {target!r}: no provider {target.partition('/')[0]!r} is "
                         f"configured; reset one of: {', '.join(sorted(providers)) or '(none)'} "
                         f"(or provider/model), or all with no target")
    return BreakerResetReply(target=target, changed=app.reset_breakers(target))
