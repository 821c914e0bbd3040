"""The socket's replies to the control, routing and integration requests: msgspec Structs
tagged by ``type``. A reply is one frame; a streamed reply is several frames of which only the last
has ``final`` true (``final`` is omitted when true, so stdlib clients read a missing ``final`` as
true). New fields always get defaults. The reports' replies are in ``routerd.protocol.reports``.
"""

from typing import Any, Literal

import msgspec

from routerd.version import PROTOCOL_VERSION


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


# The next three replies, like the reports' (``routerd.protocol.reports``), share one wire shape,
# ``{"type": "data", "kind": ..., "data": ...}``, which routerctl, the shims and MCP read; ``kind``
# says which request's result ``data`` holds.


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
    ``tier`` the cheapest whose probability clears ``bar``, the active ``profile``'s bar lowered by
    ``budget_pressure`` (as ``route`` picks it before rules, feedback and floors); ``confidence``
    the probability that ``tier`` does."""

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
    profile: str = "balanced"
    bar: float = 0.5
    budget_pressure: float = 0.0


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
