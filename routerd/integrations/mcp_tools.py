"""The MCP tools and the ``status`` resource. Arguments are checked against a Struct per tool; a bad
argument or a failed call is an ``isError`` result naming the problem, never a protocol error.

Tools that have a socket request (route, classify, reroute, rate, set_profile) run that request's
handler from the daemon's table (the routing brain's), so MCP and ``routerctl`` give the same answers
and decisions are stored the same way.
"""

from collections.abc import Awaitable, Callable
from typing import Any, Literal

import msgspec

from routerd.errors import RouterdError
from routerd.handlers.usage import providers_report
from routerd.ledger import reports
from routerd.ledger.periods import PERIODS
from routerd.store.ledger import GROUPS

STATUS_URI = "routerd://status"
RESOURCES = [{"uri": STATUS_URI, "name": "status", "title": "routerd status",
              "description": "Daemon version, uptime, hooks mode and each part's statistics.",
              "mimeType": "application/json"}]


class _Args(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    pass


class PromptArgs(_Args):
    prompt: str
    explain: bool = False


class AskArgs(_Args):
    prompt: str
    task_type: Literal["query", "code", "analyze", "generate", "research", "chat", "tools"] | None = None
    complexity: Literal["simple", "moderate", "complex"] | None = None
    model: str | None = None
    max_tokens: int = 2048


class RerouteArgs(_Args):
    decision_id: str
    to: str
    reason: str = ""


class RateArgs(_Args):
    decision_id: str
    rating: Literal["good", "bad"]
    reason: str = ""


Group = Literal[GROUPS]  # type: ignore[valid-type]
Period = Literal[PERIODS]  # type: ignore[valid-type]


class UsageArgs(_Args):
    period: Period | None = None
    since: str | None = None
    group_by: Group = "model"
    limit: int = reports.DEFAULT_LIMIT


class SavingsArgs(_Args):
    period: Period | None = None
    since: str | None = None
    group_by: Group | None = None
    limit: int = reports.DEFAULT_LIMIT


class NoArgs(_Args):
    pass


class ProfileArgs(_Args):
    profile: Literal["budget", "balanced", "premium"]


async def _route(app, a: PromptArgs) -> Any:
    from routerd.protocol import Message, Route

    return await _via_table(app, Route(messages=[Message(role="user", content=a.prompt)],
                                       explain=a.explain, source="mcp"))


async def _classify(app, a: PromptArgs) -> Any:
    from routerd.protocol import Classify

    return await _via_table(app, Classify(prompt=a.prompt))


async def _ask(app, a: AskArgs) -> Any:
    from routerd.integrations.ask import ask_external

    answer = await ask_external(app, a.prompt, model=a.model, task_type=a.task_type,
                                complexity=a.complexity, max_tokens=a.max_tokens)
    return msgspec.to_builtins(answer)


async def _reroute(app, a: RerouteArgs) -> Any:
    from routerd.protocol import Reroute

    return await _via_table(app, Reroute(decision_id=a.decision_id, to=a.to, reason=a.reason))


async def _rate(app, a: RateArgs) -> Any:
    from routerd.protocol import Rate

    return await _via_table(app, Rate(decision_id=a.decision_id, rating=a.rating, reason=a.reason))


async def _set_profile(app, a: ProfileArgs) -> Any:
    from routerd.protocol import SetProfile

    return await _via_table(app, SetProfile(profile=a.profile))


async def _usage(app, a: UsageArgs) -> Any:
    return await reports.usage_report(app, a.since, a.group_by, a.period, a.limit)


async def _savings(app, a: SavingsArgs) -> Any:
    return await reports.savings_report(app, a.since, a.period, a.group_by, a.limit)


async def _budget(app, a: NoArgs) -> Any:
    return await reports.budget_report(app)


async def _health(app, a: NoArgs) -> Any:
    return await reports.health_report(app)


async def _providers(app, a: NoArgs) -> Any:
    return providers_report(app)


Call = Callable[[Any, Any], Awaitable[Any]]
CALLS: dict[str, tuple[type[_Args], Call, str]] = {
    "route": (PromptArgs, _route, "Recommend the cheapest model that will do this prompt well; "
              "stores the decision and returns its id."),
    "classify": (PromptArgs, _classify, "Classify a prompt: tier, task type, confidence, signals."),
    "ask": (AskArgs, _ask, "Answer a prompt through the routed external model (task_type and "
            "complexity hints optional; model pins one)."),
    "reroute": (RerouteArgs, _reroute, "Say a decision should have gone to another model."),
    "rate": (RateArgs, _rate, "Rate a routing decision good or bad."),
    "usage": (UsageArgs, _usage, "Calls, tokens (cache reads and writes, reasoning), cost and savings "
              "for a period (today, week, month, all), grouped by model, provider, tier, session, "
              "project, day, outcome or source."),
    "savings": (SavingsArgs, _savings, "Money saved against the baseline model (same tokens, same "
                "cache treatment) for a period, optionally per group, and decisions by tier."),
    "budget": (NoArgs, _budget, "Spend today, this week and this month, and the limits."),
    "health": (NoArgs, _health, "Daemon and provider health: recent error rates, breakers."),
    "providers": (NoArgs, _providers, "Configured providers (never their keys)."),
    "set_profile": (ProfileArgs, _set_profile, "Switch the routing profile: budget, balanced, premium."),
}
TOOLS = [{"name": name, "description": doc, "inputSchema": _schema}
         for name, (args, _, doc) in CALLS.items()
         for _schema in [msgspec.json.schema(args)]]


def _inline(schema: dict[str, Any]) -> dict[str, Any]:
    """msgspec puts the Struct under $defs; MCP clients want the object schema at the root."""
    defs = schema.get("$defs", {})
    root = defs[schema["$ref"].split("/")[-1]] if "$ref" in schema else schema
    return {"type": "object", "properties": root.get("properties", {}),
            "required": root.get("required", []), "additionalProperties": False}


for _tool in TOOLS:
    _tool["inputSchema"] = _inline(_tool["inputSchema"])


async def call_tool(app, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    args_type, fn, _ = CALLS[name]
    try:
        args = msgspec.convert(arguments, args_type)
    except msgspec.ValidationError as exc:
        return _error(f"{name}: invalid arguments: {exc}")
    try:
        data = await fn(app, args)
    except RouterdError as exc:
        return _error(f"{name}: {exc.code}: {exc.message}")
    text = msgspec.json.encode(data).decode()
    result: dict[str, Any] = {"content": [{"type": "text", "text": text}], "isError": False}
    if isinstance(data, dict):
        result["structuredContent"] = data
    return result


def _error(message: str) -> dict[str, Any]:
    return {"content": [{"type": "text", "text": message}], "isError": True}


async def read_status(app) -> dict[str, Any]:
    from routerd.handlers.control import handle_status
    from routerd.protocol import Status

    reply = await handle_status(app, Status())
    text = msgspec.json.encode(reply).decode()
    return {"contents": [{"uri": STATUS_URI, "mimeType": "application/json", "text": text}]}


async def _via_table(app, request) -> Any:
    """Run ``request``'s handler from the daemon's table and return its reply's data."""
    from routerd.handlers.table import HANDLERS

    reply = await HANDLERS[type(request)](app, request)
    data = msgspec.to_builtins(reply)
    if isinstance(data, dict) and data.get("type") == "data":
        return data.get("data")
    if isinstance(data, dict):
        data.pop("v", None)
    return data
