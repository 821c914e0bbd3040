"""The socket's wire contract: requests and replies as msgspec Structs in two tagged unions.

Every message is a JSON object whose ``type`` names its Struct and whose ``v`` is the protocol major
version. New fields always get defaults and unknown fields are ignored, so older and newer clients
keep working. One decoder for requests is built once and used by every connection. A reply is one
frame; a streamed reply is several frames of which only the last has ``final`` true (``final`` is
omitted when true, so stdlib clients read a missing ``final`` as true).

Framing is not here: see ``routerd.framing``.
"""

from typing import Any

import msgspec

from routerd.version import PROTOCOL_VERSION


class Request(msgspec.Struct, tag_field="type", kw_only=True, frozen=True):
    v: int = PROTOCOL_VERSION


class Message(msgspec.Struct, kw_only=True, frozen=True):
    """One conversation turn as clients send it; ``content`` is a string or a list of parts."""

    role: str
    content: Any = ""


# --- control ---------------------------------------------------------------------------------


class Ping(Request, tag="ping"):
    pass


class Status(Request, tag="status"):
    pass


class Stop(Request, tag="stop"):
    pass


class Reload(Request, tag="reload"):
    pass


class ConfigCheck(Request, tag="config_check"):
    """Validate a config file (``path``) or text without touching the running config."""

    path: str | None = None
    text: str | None = None


# --- routing -----------------------------------------------------------------------------------


class Classify(Request, tag="classify"):
    prompt: str | None = None
    messages: list[Message] | None = None
    tools: list[Any] | None = None


class Route(Request, tag="route"):
    prompt: str | None = None
    messages: list[Message] | None = None
    tools: list[Any] | None = None
    model: str | None = None
    session_id: str | None = None
    explain: bool = False
    source: str = "socket"


class Reroute(Request, tag="reroute"):
    decision_id: str
    to: str
    reason: str = ""


class Rate(Request, tag="rate"):
    decision_id: str
    rating: str
    reason: str = ""


class SetProfile(Request, tag="set_profile"):
    profile: str


# --- integrations ------------------------------------------------------------------------------


class Hook(Request, tag="hook"):
    """A host's hook event, passed through as the raw JSON the host wrote to the shim's stdin."""

    host: str
    event: str | None = None
    payload: msgspec.Raw = msgspec.Raw(b"null")


class Mcp(Request, tag="mcp"):
    """One MCP JSON-RPC message relayed from a stdio client."""

    message: msgspec.Raw
    session: str | None = None


# Report groups listed one by one (the costliest, or the latest days); the rest come as one row.
DEFAULT_REPORT_LIMIT = 50


class Usage(Request, tag="usage"):
    """Calls, tokens, cost and savings per group (``group_by``: model, provider, tier, session,
    project, day, outcome, source) over ``period`` (today, week, month, all) or ``since``."""

    since: str | None = None
    group_by: str = "model"
    period: str | None = None
    limit: int = DEFAULT_REPORT_LIMIT  # 0: all


class Savings(Request, tag="savings"):
    since: str | None = None
    period: str | None = None
    group_by: str | None = None
    limit: int = DEFAULT_REPORT_LIMIT


class Report(Request, tag="report"):
    """Usage and savings per group, their total, and the decisions behind them."""

    since: str | None = None
    period: str | None = None
    group_by: str = "model"
    limit: int = DEFAULT_REPORT_LIMIT


class Export(Request, tag="export"):
    """Stream the rows of ``table`` (calls or decisions): a head frame with the columns and the
    row count, frames of rows, and a final frame with the count sent."""

    table: str = "calls"
    since: str | None = None
    period: str | None = None


class StatusLine(Request, tag="statusline"):
    """Today's spend and savings and the last model (of ``session_id`` when given)."""

    session_id: str | None = None


class HookMode(Request, tag="hook_mode"):
    """Read the hooks mode, or set it (persisted; overrides config ``hooks.mode``)."""

    mode: str | None = None


RequestUnion = (
    Ping | Status | Stop | Reload | ConfigCheck
    | Classify | Route | Reroute | Rate | SetProfile
    | Hook | Mcp | Usage | Savings | HookMode | Report | Export | StatusLine
)
REQUEST_TAGS = frozenset(
    t.__struct_config__.tag for t in RequestUnion.__args__  # type: ignore[attr-defined]
)


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


class ReloadResult(Reply, tag="reload_result"):
    ok: bool
    message: str = ""
    restart_required: list[str] = []


class ConfigCheckResult(Reply, tag="config_check_result"):
    ok: bool
    path: str | None = None
    errors: list[str] = []


class StatusReply(Reply, tag="status"):
    """What ``routerctl status`` shows; ``parts`` holds each stateful part's ``statistics()``."""

    version: str
    pid: int
    uptime_s: float
    backend: str
    socket: str
    http: str | None
    config_path: str | None
    config_loaded_at: float
    last_reload: dict[str, Any]
    state_path: str
    rows: dict[str, int]
    parts: dict[str, Any] = {}


class Data(Reply, tag="data"):
    """A typed result whose shape belongs to the request kind (named in ``kind``)."""

    kind: str
    data: Any = None


class HookReply(Reply, tag="hook_reply"):
    """What the shim writes to stdout (``stdout``: raw bytes as text) and its exit code."""

    stdout: str = ""
    stderr: str = ""
    exit_code: int = 0


class McpReply(Reply, tag="mcp_reply"):
    message: msgspec.Raw | None = None


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


REQUEST_DECODER = msgspec.json.Decoder(RequestUnion)
ENCODER = msgspec.json.Encoder()
