"""Verdicts rendered as the exact JSON each host reads from a hook. Pure.

Claude Code and Codex CLI read ``hookSpecificOutput`` (``additionalContext``, ``permissionDecision``)
and ``decision: "block"`` with a ``reason``; Gemini CLI reads ``decision: "deny"``, its own
``hookSpecificOutput`` and, for ``BeforeModel``, an ``llm_request`` override that switches the model.
Everything is expressed in JSON on stdout with exit code 0, so the same bytes serve command hooks
and Claude Code's HTTP hooks (which have no exit code). Nothing to say is an empty stdout.
"""

import msgspec

from routerd.integrations.events import HookEvent
from routerd.integrations.modes import Verdict

_ENCODE = msgspec.json.encode


class HookOutcome(msgspec.Struct, frozen=True, kw_only=True):
    stdout: str = ""
    stderr: str = ""
    exit_code: int = 0


SILENT = HookOutcome()


def render(event: HookEvent, verdict: Verdict) -> HookOutcome:
    """The host's JSON for ``verdict`` on ``event``."""
    if verdict.action == "none":
        return SILENT
    body = (_gemini(event, verdict) if event.host == "gemini-cli" else _claude(event, verdict))
    return HookOutcome(stdout=_ENCODE(body).decode()) if body else SILENT


def _claude(event: HookEvent, verdict: Verdict) -> dict | None:
    """Claude Code and Codex CLI (Codex adopted Claude Code's hook schema)."""
    action, text = verdict.action, verdict.text
    if action == "context" and event.kind in ("prompt", "session_start"):
        return {"hookSpecificOutput": {"hookEventName": event.name, "additionalContext": text}}
    if action in ("block", "answer") and event.kind == "prompt":
        return {"decision": "block", "reason": text}
    if action == "deny" and event.kind == "pre_tool":
        return {"hookSpecificOutput": {"hookEventName": event.name, "permissionDecision": "deny",
                                       "permissionDecisionReason": text}}
    if action == "warn":
        return {"systemMessage": text}
    return None


def _gemini(event: HookEvent, verdict: Verdict) -> dict | None:
    action, text = verdict.action, verdict.text
    if action == "context" and event.kind in ("prompt", "session_start"):
        return {"hookSpecificOutput": {"hookEventName": event.name, "additionalContext": text}}
    if action in ("block", "answer", "deny"):
        return {"decision": "deny", "reason": text}
    if action == "switch" and verdict.model:
        return {"hookSpecificOutput": {"hookEventName": event.name,
                                       "llm_request": {"model": verdict.model}}}
    if action == "warn":
        return {"systemMessage": text}
    return None
