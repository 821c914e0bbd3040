"""What a hook does in each mode: a pure function of the event, the recommendation, the session's
pending route and the clock. The result is a host-neutral ``Verdict`` that ``render`` turns into
the JSON a host expects.

Modes (config ``hooks.mode``, ``routerctl mode``), matching what users know from other routers:

- ``advise``: the prompt gets context naming the recommended model and how to delegate to it.
- ``soft``: as advise, and a work tool used instead of delegating is logged, never blocked.
- ``smart``: as soft, but Q&A turns (query, research, analyze, generate, chat) that should have been
  delegated have their work tools denied until the turn is delegated; code turns are let through.
- ``hard``: every work tool is denied until the turn is delegated; a shim installed for hard mode
  also blocks when the daemon is unreachable, saying why.
- ``off``: no context, no enforcement (SessionStart still says routerd is off; Stop still counts).
- ``zero_claude``: a prompt is answered through an external model and blocked from Claude, unless
  it starts with ``claude:``; with no external model configured it is blocked with the reason.

Delegating means calling Claude Code's Agent (before, Task) tool, or any routerd MCP tool. Reading tools
(Read, Grep, Glob, ...) are always allowed: context gathering is not a violation.
"""

from typing import Literal

import msgspec

from routerd.integrations.events import HookEvent

MODES = ("advise", "smart", "hard", "soft", "off", "zero_claude")
CLAUDE_PREFIX = "claude:"
# A route not delegated within this long is stale: the user has moved on.
PENDING_TTL_S = 300.0
QA_TASKS = frozenset({"query", "research", "analyze", "generate", "chat"})
DELEGATION_TOOLS = frozenset({"Task", "Agent"})
# Claude Code 2.1.197 offers its subagents as the Agent tool (its request's tool list); older
# versions called it Task, so the advice names both.
DELEGATE_WITH = "the Agent tool (Task in older Claude Code)"
READ_TOOLS = frozenset({
    "Read", "Glob", "Grep", "LS", "NotebookRead", "TodoRead", "TodoWrite", "WebSearch", "WebFetch",
    "ListMcpResourcesTool", "ReadMcpResourceTool", "read_file", "read_many_files", "glob",
    "search_file_content", "list_directory", "google_web_search", "web_fetch",
})
# Claude Code's subscription models, from cheapest; the recommendation names one of them.
CLAUDE_MODELS = ("haiku", "sonnet", "opus")


class Recommendation(msgspec.Struct, frozen=True, kw_only=True):
    """The routing decision a hook acts on (made and stored by the routing brain). ``fallback``
    says why the brain was not asked (the decision is ``decide.fallback``'s rule), empty when it was."""

    decision_id: str
    tier: str
    task_type: str
    confidence: float
    model: str
    host_model: str
    reason: str = ""
    fallback: str = ""


class Pending(msgspec.Struct, frozen=True, kw_only=True):
    """A route the session was told to take and has not taken yet."""

    decision_id: str
    host_model: str
    task_type: str
    issued_at: float


class Verdict(msgspec.Struct, frozen=True, kw_only=True):
    """What to tell the host. ``action``: nothing, add ``context``, ``block`` the prompt, ``deny`` a
    tool, ``warn`` the user, ``answer`` the prompt (block it with ``text`` as the answer), or
    ``switch`` the model to ``model``."""

    action: Literal["none", "context", "block", "deny", "warn", "answer", "switch"] = "none"
    text: str = ""
    model: str | None = None
    pending: Pending | None = None
    clear_pending: bool = False
    violation: bool = False
    honored: bool = False


NOTHING = Verdict()


def session_summary(mode: str, profile: str, providers: int, models: tuple[str, str, str]) -> str:
    """SessionStart's one-line policy summary. ``models`` are the host's own for the simple,
    moderate and complex tiers; only Claude Code's are reached through a subagent (Codex and Gemini
    CLI sessions have no Agent tool, and would otherwise be told of models they cannot use)."""
    if mode == "off":
        return "routerd: hooks are off (routerctl mode advise turns routing advice back on)."
    where = f"{providers} external provider(s)" if providers else "no external providers (advice only)"
    simple, moderate, complex_ = models
    head = f"routerd: mode {mode}, profile {profile}, {where}. Simple turns go to {simple}, moderate to {moderate}"
    if models == CLAUDE_MODELS:
        return f"{head}, complex stay on {complex_}; delegate with {DELEGATE_WITH} and its model field."
    return f"{head}, complex to {complex_}."


def should_delegate(rec: Recommendation) -> bool:
    """A turn is worth delegating when a cheaper Claude model than opus will do."""
    return rec.host_model in CLAUDE_MODELS[:-1]


def advice(rec: Recommendation, mode: str) -> str:
    """The additionalContext line for a prompt."""
    if rec.fallback:
        return _fallback_advice(rec)
    head = (f"routerd [{rec.decision_id}]: {rec.tier} {rec.task_type} turn "
            f"(confidence {rec.confidence:.2f}); recommended model: {rec.host_model}.")
    if not should_delegate(rec):
        return f"{head} Handle it in this session."
    how = _how(rec)
    if mode == "hard" or (mode == "smart" and rec.task_type in QA_TASKS):
        return f"{head}{how} Work tools are blocked until you do."
    return head + how


def _how(rec: Recommendation) -> str:
    return (f' Delegate it with {DELEGATE_WITH}: subagent_type "general-purpose", model "{rec.host_model}",'
            " and relay the result.")


def _fallback_advice(rec: Recommendation) -> str:
    """A fallback's line: said to be one, with its rule; never enforced (``on_prompt``)."""
    head = f"routerd [{rec.decision_id}]: fallback decision ({rec.fallback}); {rec.reason}"
    if not should_delegate(rec):
        return f"{head}. Handle it in this session."
    return f"{head}: {rec.tier} turn; recommended model: {rec.host_model}.{_how(rec)}"


def on_prompt(mode: str, event: HookEvent, rec: Recommendation | None, now: float) -> Verdict:
    """UserPromptSubmit / BeforeAgent. ``rec`` is None when the prompt was not routed."""
    if mode == "off" or rec is None:
        return NOTHING
    pending = None  # a fallback is advice only: no work tool is held up for a guess
    if mode in ("soft", "smart", "hard") and should_delegate(rec) and not rec.fallback:
        pending = Pending(decision_id=rec.decision_id, host_model=rec.host_model,
                          task_type=rec.task_type, issued_at=now)
    return Verdict(action="context", text=advice(rec, mode), pending=pending, clear_pending=True)


def on_pre_tool(mode: str, event: HookEvent, pending: Pending | None, now: float) -> Verdict:
    """PreToolUse / BeforeTool: enforce a pending route."""
    if pending is None or mode not in ("soft", "smart", "hard"):
        return NOTHING
    if now - pending.issued_at > PENDING_TTL_S:
        return Verdict(clear_pending=True)
    tool = event.tool_name or ""
    if tool in DELEGATION_TOOLS or tool.startswith("mcp__routerd__"):
        return Verdict(clear_pending=True, honored=True)
    if tool in READ_TOOLS:
        return NOTHING
    reason = (f"routerd ({mode} mode): this turn was routed to {pending.host_model} "
              f"[{pending.decision_id}]. Delegate it with {DELEGATE_WITH}, "
              f'model "{pending.host_model}", before using {tool or "this tool"}, '
              "or the user can run `routerctl mode advise`.")
    if mode == "hard" or (mode == "smart" and pending.task_type in QA_TASKS):
        return Verdict(action="deny", text=reason, violation=True)
    return Verdict(action="warn", text=f"routerd: {tool} used without delegating to "
                   f"{pending.host_model} [{pending.decision_id}]", violation=True)


def wants_claude(prompt: str | None) -> bool:
    return (prompt or "").lstrip().lower().startswith(CLAUDE_PREFIX)


def zero_claude_blocked(reason: str) -> Verdict:
    return Verdict(action="block", text=(
        f"routerd (zero_claude): {reason}. Start the prompt with `claude:` to send it to Claude."))
