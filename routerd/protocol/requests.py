"""The socket's requests: msgspec Structs in one tagged union (``RequestUnion``), each with the
``type`` tag that names it and ``v``, the protocol major version.

New fields always get defaults and unknown fields are ignored, so older and newer clients keep
working. The decoder is in ``routerd.protocol.codec``; the replies in ``routerd.protocol.replies``
and ``routerd.protocol.reports``.
"""

from typing import Any, get_args

import msgspec

from routerd.version import PROTOCOL_VERSION


class Request(msgspec.Struct, tag_field="type", kw_only=True, frozen=True):
    v: int = PROTOCOL_VERSION


class Message(msgspec.Struct, kw_only=True, frozen=True):
    """One conversation turn as clients send it; ``content`` is a string or a list of parts."""

    role: str
    content: Any = ""


# --- control ---------------------------------------------------------------------------------


class Ping(Request, tag="ping", frozen=True):
    pass


class Status(Request, tag="status", frozen=True):
    pass


class Stop(Request, tag="stop", frozen=True):
    pass


class Reload(Request, tag="reload", frozen=True):
    pass


class ConfigCheck(Request, tag="config_check", frozen=True):
    """Validate a config file (``path``) or text without touching the running config."""

    path: str | None = None
    text: str | None = None


class Health(Request, tag="health", frozen=True):
    """Every breaker, cool-down, key and bucket (``routerctl health``)."""


class Prune(Request, tag="prune", frozen=True):
    """Prune the calls and decisions past ``state.retain_days`` now; their sums stay (``routerctl prune``).
    ``vacuum``: then give the free pages back to the file system (``routerctl prune --vacuum``)."""

    vacuum: bool = False


class BreakerReset(Request, tag="breaker_reset", frozen=True):
    """Close breakers, end cool-downs and bring keys back: of ``target`` (a provider or
    ``provider/model``), or all."""

    target: str | None = None


# --- routing -----------------------------------------------------------------------------------


class Classify(Request, tag="classify", frozen=True):
    prompt: str | None = None
    messages: list[Message] | None = None
    tools: list[Any] | None = None


class Route(Request, tag="route", frozen=True):
    prompt: str | None = None
    messages: list[Message] | None = None
    tools: list[Any] | None = None
    model: str | None = None
    session_id: str | None = None
    explain: bool = False
    source: str = "socket"


class Reroute(Request, tag="reroute", frozen=True):
    decision_id: str
    to: str
    reason: str = ""


class Rate(Request, tag="rate", frozen=True):
    decision_id: str
    rating: str
    reason: str = ""


class SetProfile(Request, tag="set_profile", frozen=True):
    profile: str


# --- integrations ------------------------------------------------------------------------------


class Hook(Request, tag="hook", frozen=True):
    """A host's hook event, passed through as the raw JSON the host wrote to the shim's stdin."""

    host: str
    event: str | None = None
    payload: msgspec.Raw = msgspec.Raw(b"null")


class Mcp(Request, tag="mcp", frozen=True):
    """One MCP JSON-RPC message relayed from a stdio client."""

    message: msgspec.Raw
    session: str | None = None


# Report groups listed one by one (the costliest, or the latest days); the rest come as one row.
DEFAULT_REPORT_LIMIT = 50


class Usage(Request, tag="usage", frozen=True):
    """Calls, tokens, cost and savings per group (``group_by``: model, provider, tier, session,
    project, day, outcome, source) over ``period`` (today, week, month, all) or ``since``."""

    since: str | None = None
    group_by: str = "model"
    period: str | None = None
    limit: int = DEFAULT_REPORT_LIMIT  # 0: all


class Savings(Request, tag="savings", frozen=True):
    since: str | None = None
    period: str | None = None
    group_by: str | None = None
    limit: int = DEFAULT_REPORT_LIMIT


class Report(Request, tag="report", frozen=True):
    """Usage and savings per group, their total, and the decisions behind them."""

    since: str | None = None
    period: str | None = None
    group_by: str = "model"
    limit: int = DEFAULT_REPORT_LIMIT


class Export(Request, tag="export", frozen=True):
    """Stream the rows of ``table`` (calls or decisions): a head frame with the columns and the
    row count, frames of rows, and a final frame with the count sent."""

    table: str = "calls"
    since: str | None = None
    period: str | None = None


class StatusLine(Request, tag="statusline", frozen=True):
    """Today's spend and savings and the last model (of ``session_id`` when given)."""

    session_id: str | None = None


class Budget(Request, tag="budget", frozen=True):
    """The budgets: each limit's use, the providers' windows, the pressure, and the paid spend of
    ``period`` (today, week or month; None: all three)."""

    period: str | None = None


class Dashboard(Request, tag="dashboard", frozen=True):
    """What ``/dashboard`` shows: spend against the baseline per day of ``period``, models and
    tiers, latency and overhead percentiles, breakers, budgets and the latest ``decisions``."""

    period: str = "month"
    decisions: int = 20


class HookMode(Request, tag="hook_mode", frozen=True):
    """Read the hooks mode, or set it (persisted; overrides config ``hooks.mode``)."""

    mode: str | None = None


RequestUnion = (
    Ping | Status | Stop | Reload | ConfigCheck | Health | BreakerReset | Prune
    | Classify | Route | Reroute | Rate | SetProfile
    | Hook | Mcp | Usage | Savings | HookMode | Report | Export | StatusLine | Budget | Dashboard
)
REQUEST_TAGS = frozenset(t.__struct_config__.tag for t in get_args(RequestUnion))
