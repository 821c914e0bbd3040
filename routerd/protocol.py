"""The socket's wire contract: requests and replies as msgspec Structs in two tagged unions.

Every message is a JSON object whose ``type`` names its Struct and whose ``v`` is the protocol major
version. New fields always get defaults and unknown fields are ignored, so older and newer clients
keep working. One decoder for requests is built once and used by every connection. A reply is one
frame; a streamed reply is several frames of which only the last has ``final`` true (``final`` is
omitted when true, so stdlib clients read a missing ``final`` as true).

Framing is not here: see ``routerd.framing``.
"""

import re
from typing import Any, Literal, get_args

import msgspec

from routerd.errors import BadRequest, UnknownRequest, UnsupportedVersion
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
    Ping | Status | Stop | Reload | ConfigCheck | Health | BreakerReset
    | Classify | Route | Reroute | Rate | SetProfile
    | Hook | Mcp | Usage | Savings | HookMode | Report | Export | StatusLine | Budget | Dashboard
)
REQUEST_TAGS = frozenset(t.__struct_config__.tag for t in get_args(RequestUnion))


# --- replies -----------------------------------------------------------------------------------


class Reply(msgspec.Struct, tag_field="type", kw_only=True, omit_defaults=True):
    v: int = PROTOCOL_VERSION
    final: bool = True


class Error(Reply, tag="error"):
    code: str
    message: str
    retryable: bool  # no default, so that it is always on the wire


class Pong(Reply, tag="pong"):
    version: str
    pid: int


class Ok(Reply, tag="ok"):
    message: str = ""


class Stopping(Reply, tag="stopping"):
    """``stop``: routerd drains its in-flight requests, for at most ``drain_timeout_s``, then exits;
    ``already``: a stop had been asked before this one (it is draining)."""

    pid: int
    drain_timeout_s: float
    already: bool = False


class ReloadResult(Reply, tag="reload_result"):
    ok: bool
    message: str = ""
    restart_required: list[str] = []


class ConfigCheckResult(Reply, tag="config_check_result"):
    ok: bool
    path: str | None = None
    errors: list[str] = []
    warnings: list[str] = []  # names that may not work yet (an unset api_key_env)


class BreakerRow(msgspec.Struct, kw_only=True, frozen=True):
    target: str                      # a provider, or provider/model
    state: str                       # closed | open | half_open
    consecutive_failures: int
    recent_failure_rate: float
    calls: int
    failures: int
    opened: int
    rejected: int
    retry_in_s: float | None         # open: seconds until its probe may go
    last_failure: str = ""


class CoolingRow(msgspec.Struct, kw_only=True, frozen=True):
    target: str
    reason: str
    category: str
    retry_in_s: float


class KeyRow(msgspec.Struct, kw_only=True, frozen=True):
    provider: str
    label: str                       # where the key came from, never its value
    fingerprint: str
    state: str                       # in rotation | cooling | out
    status: str                      # why it is out, and until when
    chosen: int


class BucketRow(msgspec.Struct, kw_only=True, frozen=True):
    name: str
    metric: str
    limit: float
    used: float
    reserved: float
    resets_in_s: float | None
    refused: int
    learned: bool                    # from the provider's rate-limit headers


class HealthReply(Reply, tag="health"):
    breakers: list[BreakerRow] = []
    cooling: list[CoolingRow] = []
    keys: list[KeyRow] = []
    buckets: list[BucketRow] = []
    in_flight: int = 0
    max_in_flight: int = 0
    refused_overloaded: int = 0
    aliases: dict[str, dict[str, int]] = {}      # alias -> member -> times chosen first
    ttft_ms: dict[str, float] = {}               # target -> moving average of time to first token


class BreakerResetReply(Reply, tag="breaker_reset"):
    target: str | None = None
    changed: list[str] = []


class LastReload(msgspec.Struct, kw_only=True, frozen=True):
    """The last reload's outcome: ``ok`` false means the running runtime is still the one before it
    (``message`` says why); ``restart_required`` names settings that apply at the next restart."""

    ok: bool
    at: float
    message: str
    reason: str | None = None
    restart_required: list[str] = []


class StatusReply(Reply, tag="status"):
    """What ``routerctl status`` shows; ``parts`` holds each stateful part's ``statistics()``;
    ``config_loaded_at`` is when the running config was built."""

    version: str
    pid: int
    uptime_s: float
    backend: str
    socket: str
    http: str | None
    config_path: str | None
    config_loaded_at: float
    last_reload: LastReload
    state_path: str
    rows: dict[str, int]
    parts: dict[str, Any] = {}
    draining: bool = False


# The replies below share one wire shape, ``{"type": "data", "kind": ..., "data": ...}``, which
# routerctl, the shims and MCP read; ``kind`` says which request's result ``data`` holds.


class FeedbackResult(msgspec.Struct, kw_only=True, frozen=True):
    """What a reroute or a rating recorded, and what it changes for similar prompts."""

    decision_id: str
    kind: str
    value: str
    decided_tier: str | None
    wanted_tier: str | None
    message: str


class FeedbackReply(Reply, tag="data"):
    """``reroute`` and ``rate``."""

    kind: Literal["feedback"]
    data: FeedbackResult


class ProfileState(msgspec.Struct, kw_only=True, frozen=True):
    profile: str
    config_profile: str
    profiles: list[str]


class ProfileReply(Reply, tag="data"):
    """``set_profile``: the active profile (after the switch, when one was asked for)."""

    kind: Literal["profile"]
    data: ProfileState


class HookModeState(msgspec.Struct, kw_only=True, frozen=True):
    mode: str
    config_mode: str
    modes: list[str]


class HookModeReply(Reply, tag="data"):
    """``hook_mode``: the hooks mode (after the switch, when one was asked for)."""

    kind: Literal["hook_mode"]
    data: HookModeState


class DecisionCount(msgspec.Struct, kw_only=True, frozen=True):
    tier: str | None
    model: str | None
    count: int


# A report row: the group's key under the grouping's own name (``"model": "gpt-4o"``, ``"day": ...``),
# then calls, tokens of every kind, cost and savings (``routerd.ledger.reports``). A dict, since the
# name of its key column is the grouping's.
ReportRow = dict[str, Any]


class UsageReport(msgspec.Struct, kw_only=True, frozen=True):
    """Calls, tokens, cost and savings per group over a window, and their total."""

    period: str | None
    since: str | None
    start: float
    group_by: str
    groups: list[ReportRow]
    total: ReportRow


class FullReport(UsageReport, frozen=True):
    """A usage report and the routing decisions behind it."""

    decisions: list[DecisionCount]


class SavingsReport(msgspec.Struct, kw_only=True, frozen=True, omit_defaults=True):
    """Money saved against the baseline over a window (per group with ``group_by``), and the
    decisions by tier and model. Money is None ("unknown") when no call has both prices."""

    period: str | None
    since: str | None
    start: float
    cost_usd: float
    uncosted_calls: int
    priced_calls: int
    unpriced_calls: int
    priced_cost_usd: float | None
    baseline_cost_usd: float | None
    saved_usd: float | None
    saved_pct: float | None
    decisions: list[DecisionCount]
    group_by: str | None = None
    groups: list[ReportRow] | None = None


class StatusLineData(msgspec.Struct, kw_only=True, frozen=True):
    """Today's calls, spend and savings and the last model used, for a one-line status."""

    calls: int
    cost_usd: float
    saved_usd: float | None
    saved_pct: float | None
    last_model: str | None
    last_provider: str | None
    budget: float | None = None


class UsageReply(Reply, tag="data"):
    """``usage``."""

    kind: Literal["usage"]
    data: UsageReport


class SavingsReply(Reply, tag="data"):
    """``savings``."""

    kind: Literal["savings"]
    data: SavingsReport


class ReportReply(Reply, tag="data"):
    """``report``."""

    kind: Literal["report"]
    data: FullReport


class BudgetLimit(msgspec.Struct, kw_only=True, frozen=True):
    """One limit of ``[budgets]`` now: ``share`` is (used + reserved) / limit."""

    name: str
    scope: str
    metric: str
    window: str
    limit: float
    used: float
    reserved: float
    share: float
    level: str
    resets_at: float
    refused: int


class BudgetWindow(msgspec.Struct, kw_only=True, frozen=True):
    """A provider's own window from its headers (subscription or rate limit)."""

    provider: str
    name: str
    used_share: float
    resets_at: float | None


class BudgetReport(msgspec.Struct, kw_only=True, frozen=True):
    configured: bool
    pressure: float
    level: str
    spend_usd: dict[str, float]
    limits: list[BudgetLimit]
    windows: list[BudgetWindow]


class BudgetReply(Reply, tag="data"):
    """``budget``."""

    kind: Literal["budget"]
    data: BudgetReport


class StatusLineReply(Reply, tag="data"):
    """``statusline``."""

    kind: Literal["statusline"]
    data: StatusLineData


class Percentiles(msgspec.Struct, kw_only=True, frozen=True):
    """Milliseconds at the 50th, 90th and 99th percentile of ``n`` samples (None: no sample)."""

    n: int
    p50: float | None = None
    p90: float | None = None
    p99: float | None = None


class BreakerState(msgspec.Struct, kw_only=True, frozen=True):
    provider: str
    state: str
    recent_failure_rate: float
    retry_at: float | None


class DecisionRow(msgspec.Struct, kw_only=True, frozen=True):
    """A recent decision as the dashboard lists it (``feedback``: its latest, ``rate:good``)."""

    id: str
    ts: float
    source: str
    tier: str | None
    task_type: str | None
    model: str | None
    provider: str | None
    feedback: str | None
    answered_by: str | None
    cost_usd: float | None


class DashboardData(msgspec.Struct, kw_only=True, frozen=True):
    """``days``, ``models`` and ``tiers`` are usage report rows (``routerctl usage --by ...``);
    ``latency`` and ``ttft`` cover the latest calls of the last day, ``overhead`` the calls since
    the daemon started; ``tiers_to`` are the reroute targets offered."""

    generated_at: float
    period: str
    total: dict[str, Any]
    days: list[dict[str, Any]]
    models: list[dict[str, Any]]
    tiers: list[dict[str, Any]]
    latency: Percentiles
    ttft: Percentiles
    overhead: Percentiles
    breakers: list[BreakerState]
    budget: BudgetReport
    decisions: list[DecisionRow]
    tiers_to: list[str]


class DashboardReply(Reply, tag="data"):
    """``dashboard``."""

    kind: Literal["dashboard"]
    data: DashboardData


class ExportHead(msgspec.Struct, kw_only=True, frozen=True):
    table: str
    columns: list[str]
    total: int


class ExportRows(msgspec.Struct, kw_only=True, frozen=True):
    rows: list[tuple[Any, ...]]


class ExportEnd(msgspec.Struct, kw_only=True, frozen=True):
    rows: int


class ExportHeadReply(Reply, tag="data"):
    """``export``'s first frame (not final): the table, its columns and how many rows follow."""

    kind: Literal["export"]
    data: ExportHead


class ExportRowsReply(Reply, tag="data"):
    """A page of ``export`` rows (not final)."""

    kind: Literal["export_rows"]
    data: ExportRows


class ExportEndReply(Reply, tag="data"):
    """``export``'s final frame: how many rows were sent."""

    kind: Literal["export_end"]
    data: ExportEnd


class HookReply(Reply, tag="hook_reply"):
    """What the shim writes to stdout (``stdout``: raw bytes as text) and its exit code."""

    stdout: str = ""
    stderr: str = ""
    exit_code: int = 0


class McpReply(Reply, tag="mcp_reply"):
    message: msgspec.Raw | None = None


class Because(msgspec.Struct, kw_only=True, frozen=True):
    """One thing the brain read that moved its difficulty score, in words (``classify``, ``route
    --explain``): ``weight`` is how far it moved the score (positive: harder), ``features`` the
    model's names for it, as ``signals`` name them."""

    says: str
    weight: float
    features: list[str] = []


class ClassificationReply(Reply, tag="classification"):
    """``classify``: what the brain concluded about a prompt (``source``: learned, model (a second
    opinion) or cache). ``score`` is the continuous difficulty (higher = harder); ``p_simple`` / ``p_moderate``
    the calibrated probabilities that a simple-tier / moderate-tier model does the job;
    ``confidence`` the probability that ``tier`` does."""

    tier: str
    task_type: str
    confidence: float
    signals: list[str] = []
    level5: str = "medium"
    score: float = 0.0
    source: str = "learned"
    p_simple: float = 0.5
    p_moderate: float = 0.5
    explanation: list[Because] = []  # the signals' features in words, largest first


class ModelVerdict(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One catalogue model's place in a decision, with the reasons (``route --explain``)."""

    model: str
    tier: str
    kept: bool
    rank: int | None = None
    reasons: list[str] = []


class DecisionReply(Reply, tag="decision"):
    """``route``: a stored decision. ``model`` is the first candidate's id, or with no provider
    enabled the advisory model (haiku / sonnet / opus); ``verdicts`` only when ``explain`` was set."""

    decision_id: str
    tier: str
    task_type: str
    confidence: float
    model: str
    provider: str | None = None
    advisory: str = ""
    candidates: list[str] = []
    profile: str = "balanced"
    reason: str = ""
    reasons: list[str] = []
    signals: list[str] = []
    classification_source: str = "learned"
    verdicts: list[ModelVerdict] = []
    score: float = 0.0
    p_simple: float = 0.5  # after feedback on similar prompts
    p_moderate: float = 0.5
    bar: float = 0.5  # the profile's bar, after budget pressure
    scenario: str | None = None  # the request's scenario (routerd/scenarios); None with detection off
    scenario_reasons: list[str] = []
    explanation: list[Because] = []  # with ``explain``: the signals' features in words, largest first


REQUEST_DECODER = msgspec.json.Decoder(RequestUnion)
ENCODER = msgspec.json.Encoder()


# A \\u escape of half a UTF-16 surrogate pair without its other half.
_LONE_SURROGATE = re.compile(rb"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})"
                             rb"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}")


def decode_error(exc: msgspec.DecodeError, data: bytes) -> str:
    """msgspec's complaint about ``data``, said right: it calls a lone surrogate escape at the end
    of a string (``"\\ud800"``) "Input data was truncated", which sends a client looking for a
    framing bug."""
    text = str(exc)
    if text.startswith("Input data was truncated") and (found := _LONE_SURROGATE.search(data)):
        return (f"a lone UTF-16 surrogate escape {found.group().decode()} at byte {found.start()}: "
                "JSON strings must hold Unicode characters (RFC 8259 8.2)")
    return text


def decode_request(frame: bytes) -> Request:
    """Decode one frame into a request Struct, or raise a BadRequest that says what is wrong."""
    try:
        request: Request = REQUEST_DECODER.decode(frame)
    except msgspec.ValidationError as exc:
        text = str(exc)
        if text.endswith("at `$.type`") and text.startswith("Invalid value"):
            raise UnknownRequest(f"unknown request type: {text.split(' - ')[0][14:]}") from None
        raise BadRequest(f"invalid request: {text}") from None
    except msgspec.DecodeError as exc:
        raise BadRequest(f"invalid JSON: {decode_error(exc, frame)}") from None
    except RecursionError:  # msgspec's answer to JSON nested past the interpreter's stack
        raise BadRequest("invalid JSON: nested too deeply") from None
    if request.v != PROTOCOL_VERSION:
        raise UnsupportedVersion(
            f"protocol v{request.v} is not supported; this routerd speaks v{PROTOCOL_VERSION}"
        )
    return request
