"""The MCP tools and the ``status`` resource. Arguments are checked against a Struct per tool; a bad
argument or a failed call is an ``isError`` result naming the problem, never a protocol error.

Tools that have a socket request (route, classify, reroute, rate, set_profile) call the routing core
and answer with the same reply shapes as the socket (``routerd.routing.replies``), so MCP and
``routerctl`` give the same answers and decisions are stored the same way.
"""

import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import msgspec

from routerd.classify.types import TaskType
from routerd.errors import BadRequest
from routerd.integrations.ask import Answer, Asker
from routerd.ledger import costs, reports
from routerd.ledger.periods import PERIODS
from routerd.protocol.replies import ClassificationReply, DecisionReply, StatusReply
from routerd.protocol.requests import Message
from routerd.redact import redact_url
from routerd.routing.core import RoutingCore
from routerd.routing.replies import classification_reply, decision_reply
from routerd.routing.types import Conversation, RouteRequest
from routerd.ledger.spending import Spending
from routerd.runtime import Runtime
from routerd.store.ledger import GROUPS
from routerd.store.store import Store

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
PeriodName = Literal[PERIODS]  # type: ignore[valid-type]  # the names in PERIODS, as msgspec reads them
Period = Annotated[PeriodName | None, _doc("today (since local midnight), week (since Monday), month "
                                           "(since the 1st), or all (the default).")]
Limit = Annotated[int, _doc("Groups listed one by one (the costliest, or the latest days); the rest are "
                            "summed in one row; 0 lists all.", ge=0)]


class PromptArgs(_Args, frozen=True):
    prompt: Prompt
    explain: Annotated[bool, _doc("Also list every catalogue model and why it was kept, skipped or "
                                  "ranked, and say in words what moved the difficulty score (route "
                                  "only; classify always says it).")] = False


class AskArgs(_Args, frozen=True):
    prompt: Annotated[str, _doc("What to ask the external model.", min_length=1)]
    task_type: Annotated[TaskType | None,
                         _doc("Hint for the router: the kind of task.")] = None
    complexity: Annotated[Literal["simple", "moderate", "complex"] | None,
                          _doc("Hint for the router: how hard the task is.")] = None
    model: Annotated[str | None, _doc("Pin a model (an id, alias or provider/model) instead of "
                                      "letting the router pick.")] = None
    max_tokens: Annotated[int, _doc("Most tokens the answer may have.", ge=1)] = 2048


class RerouteArgs(_Args, frozen=True):
    decision_id: DecisionId
    to: Annotated[str, _doc("The tier (simple, moderate, complex) or model it should have gone to.")]
    reason: Reason = ""


class RateArgs(_Args, frozen=True):
    decision_id: DecisionId
    rating: Annotated[Literal["good", "bad"], _doc("good, or bad (similar prompts then go one tier up).")]
    reason: Reason = ""


class UsageArgs(_Args, frozen=True):
    period: Period = None
    since: Since = None
    group_by: Annotated[Literal[GROUPS], _doc("How to group the calls.")] = "model"  # type: ignore[valid-type]  # the names in GROUPS
    limit: Limit = reports.DEFAULT_LIMIT


class SavingsArgs(_Args, frozen=True):
    period: Period = None
    since: Since = None
    group_by: Annotated[Literal[GROUPS] | None, _doc("Also break savings down by this.")] = None  # type: ignore[valid-type]  # the names in GROUPS
    limit: Limit = reports.DEFAULT_LIMIT


class NoArgs(_Args, frozen=True):
    pass


class ProfileArgs(_Args, frozen=True):
    profile: Annotated[Literal["budget", "balanced", "premium"],
                       _doc("budget favours cheap models, premium strong ones, balanced is between.")]


class Tools:
    """What the tools call: the routing core, the asker, the store's reports, and the app's status."""

    def __init__(self, routing: RoutingCore, asker: Asker, store: Store,
                 status: Callable[[], Awaitable[StatusReply]], spending: Spending) -> None:
        self.routing = routing
        self.spending = spending
        self.asker = asker
        self.store = store
        self.status = status


async def _route(t: Tools, runtime: Runtime, a: PromptArgs) -> Any:
    conversation = Conversation([Message(role="user", content=a.prompt)])
    decision = await t.routing.decide(runtime, RouteRequest(conversation, explain=a.explain, source="mcp"))
    return _builtins(decision_reply(decision, a.explain))


async def _classify(t: Tools, runtime: Runtime, a: PromptArgs) -> Any:
    conversation = Conversation([Message(role="user", content=a.prompt)])
    return _builtins(classification_reply(await t.routing.classify(runtime, conversation)))


async def _ask(t: Tools, runtime: Runtime, a: AskArgs) -> Any:
    return msgspec.to_builtins(await t.asker.ask(runtime, a.prompt, model=a.model, max_tokens=a.max_tokens))


async def _reroute(t: Tools, runtime: Runtime, a: RerouteArgs) -> Any:
    return msgspec.to_builtins(await t.routing.reroute(runtime, a.decision_id, a.to, a.reason))


async def _rate(t: Tools, runtime: Runtime, a: RateArgs) -> Any:
    return msgspec.to_builtins(await t.routing.rate(runtime, a.decision_id, a.rating, a.reason))


async def _set_profile(t: Tools, runtime: Runtime, a: ProfileArgs) -> Any:
    return msgspec.to_builtins(await t.routing.set_profile(runtime, a.profile))


async def _usage(t: Tools, runtime: Runtime, a: UsageArgs) -> Any:
    against = costs.compared_with(runtime.catalogue, runtime.config.accounting.baseline_model)
    return msgspec.to_builtins(await reports.usage_report(t.store, a.since, a.group_by, a.period, a.limit, against))


async def _savings(t: Tools, runtime: Runtime, a: SavingsArgs) -> Any:
    against = costs.compared_with(runtime.catalogue, runtime.config.accounting.baseline_model)
    return msgspec.to_builtins(await reports.savings_report(t.store, a.since, a.period, a.group_by, a.limit, against))


async def _budget(t: Tools, runtime: Runtime, a: NoArgs) -> Any:
    return msgspec.to_builtins(await reports.budget_report(t.store, t.spending.statistics(runtime)))


async def _health(t: Tools, runtime: Runtime, a: NoArgs) -> Any:
    status = await t.status()
    return await reports.health_report(t.store, status.parts, status.uptime_s, not status.draining)


async def _providers(t: Tools, runtime: Runtime, a: NoArgs) -> Any:
    """The providers the daemon enabled, from the config or the environment (never their keys:
    only whether one is set)."""
    out = []
    for name, provider in runtime.providers.items():
        pc = provider.config  # its URL as written, redacted: credentials in it show as ***
        out.append({"name": name, "kind": pc.kind, "base_url": pc.base_url and redact_url(pc.base_url),
                    "key_set": bool(provider.keys), "local": provider.local, "models": list(provider.models)})
    detected = [v for v in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "OLLAMA_BASE_URL")
                if os.environ.get(v)]
    return {"providers": out, "detected_env": detected}


def _builtins(reply: msgspec.Struct) -> Any:
    """A reply's fields as the tool's structured result (without the wire's version field)."""
    data = msgspec.to_builtins(reply)
    data.pop("v", None)
    return data


Call = Callable[[Tools, Runtime, Any], Awaitable[Any]]


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
                         "Classify a prompt: tier (at the active profile's bar, as route picks it), task "
                         "type, confidence, and what made it harder or easier, in words (explanation) and "
                         "as the model's feature names (signals).",
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
                                decisions="Routing decisions per tier and model.",
                                compared_with="What the baseline is, in words.")),
    "budget": ToolSpec(NoArgs, _budget, "Budget", "Spend today, this week and this month, and the "
                       "limits.", _fields(spend_usd="Spend per period.")),
    "health": ToolSpec(NoArgs, _health, "Health", "Daemon and provider health: recent error rates, "
                       "breakers.", _fields(ok="Serving (not draining).", uptime_s="Seconds up.")),
    "providers": ToolSpec(NoArgs, _providers, "Providers", "Enabled providers, configured or from the environment (never their keys).",
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


async def call_tool(tools: Tools, runtime: Runtime, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """Run tool ``name``. Raises ``BadRequest`` for arguments that do not fit it, and whatever the
    call raises; ``routerd.integrations.mcp`` turns both into an ``isError`` result."""
    spec = SPECS[name]
    try:
        args = msgspec.convert(arguments, spec.args)
    except msgspec.ValidationError as exc:
        raise BadRequest(f"invalid arguments: {exc}") from None
    data = await spec.call(tools, runtime, args)
    text = msgspec.json.encode(data).decode()
    result: dict[str, Any] = {"content": [{"type": "text", "text": text}], "isError": False}
    if isinstance(data, dict):
        result["structuredContent"] = data
    return result


async def read_status(tools: Tools) -> dict[str, Any]:
    text = msgspec.json.encode(await tools.status()).decode()
    return {"contents": [{"uri": STATUS_URI, "mimeType": "application/json", "text": text}]}
