"""The MCP tools and the ``status`` resource. Arguments are checked against a Struct per tool; a bad
argument or a failed call is an ``isError`` result naming the problem, never a protocol error.

Tools that have a socket request (route, classify, reroute, rate, set_profile) run that request's
handler from the daemon's table (the routing brain's), so MCP and ``routerctl`` give the same answers
and decisions are stored the same way.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import msgspec

from routerd.errors import RouterdError
from routerd.handlers.usage import providers_report
from routerd.integrations.ask import Answer
from routerd.ledger import reports
from routerd.ledger.periods import PERIODS
from routerd.protocol import ClassificationReply, DecisionReply
from routerd.store.ledger import GROUPS

STATUS_URI = "routerd://status"
RESOURCES = [{"uri": STATUS_URI, "name": "status", "title": "routerd status",
              "description": "Daemon version, uptime, hooks mode and each part's statistics.",
              "mimeType": "application/json"}]


class _Args(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    pass


def _doc(description: str, **meta: Any) -> msgspec.Meta:
    return msgspec.Meta(description=description, **meta)


Prompt = Annotated[str, _doc("The prompt (a user's turn) to route or classify.", min_length=1)]
DecisionId = Annotated[str, _doc("A decision id, as returned by route (or shown by routerctl route).")]
Reason = Annotated[str, _doc("Why, in a few words (kept with the feedback).")]
Since = Annotated[str | None, _doc("Only calls since then: a span such as 24h, 7d or 30m, or an ISO "
                                   "date; wins over period.")]
PeriodName = Literal[PERIODS]  # type: ignore[valid-type]
Period = Annotated[PeriodName | None, _doc("today (since local midnight), week (since Monday), month "
                                           "(since the 1st), or all (the default).")]
Limit = Annotated[int, _doc("Groups listed one by one (the costliest, or the latest days); the rest are "
                            "summed in one row; 0 lists all.", ge=0)]


class PromptArgs(_Args):
    prompt: Prompt
    explain: Annotated[bool, _doc("Also list every catalogue model and why it was kept, skipped or "
                                  "ranked (route only).")] = False


class AskArgs(_Args):
    prompt: Annotated[str, _doc("What to ask the external model.", min_length=1)]
    task_type: Annotated[Literal["query", "code", "analyze", "generate", "research", "chat", "tools"] | None,
                         _doc("Hint for the router: the kind of task.")] = None
    complexity: Annotated[Literal["simple", "moderate", "complex"] | None,
                          _doc("Hint for the router: how hard the task is.")] = None
    model: Annotated[str | None, _doc("Pin a model (an id, alias or provider/model) instead of "
                                      "letting the router pick.")] = None
    max_tokens: Annotated[int, _doc("Most tokens the answer may have.", ge=1)] = 2048


class RerouteArgs(_Args):
    decision_id: DecisionId
    to: Annotated[str, _doc("The tier (simple, moderate, complex) or model it should have gone to.")]
    reason: Reason = ""


class RateArgs(_Args):
    decision_id: DecisionId
    rating: Annotated[Literal["good", "bad"], _doc("good, or bad (similar prompts then go one tier up).")]
    reason: Reason = ""


class UsageArgs(_Args):
    period: Period = None
    since: Since = None
    group_by: Annotated[Literal[GROUPS], _doc("How to group the calls.")] = "model"  # type: ignore[valid-type]
    limit: Limit = reports.DEFAULT_LIMIT


class SavingsArgs(_Args):
    period: Period = None
    since: Since = None
    group_by: Annotated[Literal[GROUPS] | None, _doc("Also break savings down by this.")] = None  # type: ignore[valid-type]
    limit: Limit = reports.DEFAULT_LIMIT


class NoArgs(_Args):
    pass


class ProfileArgs(_Args):
    profile: Annotated[Literal["budget", "balanced", "premium"],
                       _doc("budget favours cheap models, premium strong ones, balanced is between.")]


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


@dataclass(frozen=True)
class ToolSpec:
    """One tool: its arguments, its call, and what clients are told about it. ``read_only``:
    it changes nothing (clients may auto-approve it); ``open_world``: it reaches an external model."""

    args: type[_Args]
    call: Call
    title: str
    description: str
    output: dict[str, Any]
    read_only: bool = True
    idempotent: bool = True
    open_world: bool = False

    def listing(self, name: str) -> dict[str, Any]:
        return {"name": name, "title": self.title, "description": self.description,
                "inputSchema": _input_schema(self.args), "outputSchema": self.output,
                "annotations": {"title": self.title, "readOnlyHint": self.read_only,
                                "destructiveHint": False, "idempotentHint": self.idempotent,
                                "openWorldHint": self.open_world}}


def _struct_output(struct: type) -> dict[str, Any]:
    """The output schema of a reply Struct: its properties as msgspec describes them (nested
    definitions kept), with nothing required, so that defaults left out still validate."""
    schema = msgspec.json.schema(struct)
    defs = schema.get("$defs", {})
    root = defs.pop(schema["$ref"].split("/")[-1]) if "$ref" in schema else schema
    out: dict[str, Any] = {"type": "object", "properties": root.get("properties", {})}
    if defs:
        out["$defs"] = defs
    return out


def _fields(**described: str) -> dict[str, Any]:
    """An output schema naming the object's fields (types left open: report rows vary)."""
    return {"type": "object", "properties": {k: {"description": v} for k, v in described.items()}}


_FEEDBACK = _fields(message="What the feedback changes from now on.", decided_tier="The tier decided.")
SPECS: dict[str, ToolSpec] = {
    "route": ToolSpec(PromptArgs, _route, "Route a prompt", "Recommend the cheapest model that will do "
                      "this prompt well; stores the decision and returns its id.",
                      _struct_output(DecisionReply), read_only=False, idempotent=False),
    "classify": ToolSpec(PromptArgs, _classify, "Classify a prompt",
                         "Classify a prompt: tier, task type, confidence, signals.",
                         _struct_output(ClassificationReply)),
    "ask": ToolSpec(AskArgs, _ask, "Ask an external model", "Answer a prompt through the routed "
                    "external model (task_type and complexity hints optional; model pins one).",
                    _struct_output(Answer), read_only=False, idempotent=False, open_world=True),
    "reroute": ToolSpec(RerouteArgs, _reroute, "Reroute a decision",
                        "Say a decision should have gone to another model.", _FEEDBACK,
                        read_only=False, idempotent=False),
    "rate": ToolSpec(RateArgs, _rate, "Rate a decision", "Rate a routing decision good or bad.",
                     _FEEDBACK, read_only=False, idempotent=False),
    "usage": ToolSpec(UsageArgs, _usage, "Usage", "Calls, tokens (cache reads and writes, reasoning), "
                      "cost and savings for a period, grouped by model, provider, tier, session, project, "
                      "day, outcome or source.",
                      _fields(period="The period.", since="The window.", start="Its start (Unix time).",
                              group_by="The grouping.", groups="One row per group.", total="All groups.")),
    "savings": ToolSpec(SavingsArgs, _savings, "Savings", "Money saved against the baseline model (the "
                        "same tokens, same cache treatment), optionally per group, and decisions by tier.",
                        _fields(saved_usd="Saved, or null when no call is priced.",
                                saved_pct="Saved, as a share of the baseline cost.",
                                priced_calls="Calls whose cost and baseline are both known.",
                                unpriced_calls="Calls left out: a price unknown.",
                                decisions="Routing decisions per tier and model.")),
    "budget": ToolSpec(NoArgs, _budget, "Budget", "Spend today, this week and this month, and the "
                       "limits.", _fields(spend_usd="Spend per period.")),
    "health": ToolSpec(NoArgs, _health, "Health", "Daemon and provider health: recent error rates, "
                       "breakers.", _fields(ok="Serving (not draining).", uptime_s="Seconds up.")),
    "providers": ToolSpec(NoArgs, _providers, "Providers", "Configured providers (never their keys).",
                          _fields(providers="Each provider: kind, base URL, models.",
                                  detected_env="Provider variables found in the environment.")),
    "set_profile": ToolSpec(ProfileArgs, _set_profile, "Set the routing profile",
                            "Switch the routing profile: budget, balanced, premium.",
                            _fields(profile="The profile now.", config_profile="The config's profile."),
                            read_only=False),
}


def _input_schema(args: type[_Args]) -> dict[str, Any]:
    """msgspec puts the Struct under $defs; MCP clients want the object schema at the root."""
    schema = msgspec.json.schema(args)
    defs = schema.get("$defs", {})
    root = defs[schema["$ref"].split("/")[-1]] if "$ref" in schema else schema
    return {"type": "object", "properties": root.get("properties", {}),
            "required": root.get("required", []), "additionalProperties": False}


TOOLS = [spec.listing(name) for name, spec in SPECS.items()]


async def call_tool(app, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    spec = SPECS[name]
    args_type, fn = spec.args, spec.call
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
