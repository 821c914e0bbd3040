"""The dispatch table: which handler serves which request type. Types missing here are answered
with a ``not_implemented`` error. A handler answers with one reply, or for a stream an async
generator of replies of which only the last is final."""

from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any

from routerd.app import App
from routerd.handlers import control, hooks, mcp, resilience, routing, usage
from routerd.protocol.replies import Reply
from routerd.protocol.requests import (BreakerReset, Budget, Classify, ConfigCheck, Dashboard, Export, Health,
                                       Hook, HookMode, Mcp, Ping, Prune, Rate, Reload, Report, Request, Reroute,
                                       Route, Savings, SetProfile, Status, StatusLine, Stop, Usage)

Handler = Callable[[App, Any], Awaitable[Reply | AsyncGenerator[Reply, None]]]

HANDLERS: dict[type[Request], Handler] = {
    Ping: control.handle_ping,
    Status: control.handle_status,
    Stop: control.handle_stop,
    Reload: control.handle_reload,
    ConfigCheck: control.handle_config_check,
    Prune: control.handle_prune,
    Health: resilience.handle_health,
    BreakerReset: resilience.handle_breaker_reset,
    Hook: hooks.handle_hook,
    HookMode: hooks.handle_hook_mode,
    Mcp: mcp.handle_mcp,
    Usage: usage.handle_usage,
    Savings: usage.handle_savings,
    Report: usage.handle_report,
    Export: usage.handle_export,
    StatusLine: usage.handle_statusline,
    Budget: usage.handle_budget,
    Dashboard: usage.handle_dashboard,
    Classify: routing.handle_classify,
    Route: routing.handle_route,
    Reroute: routing.handle_reroute,
    Rate: routing.handle_rate,
    SetProfile: routing.handle_set_profile,
}
