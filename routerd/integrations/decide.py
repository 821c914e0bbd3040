"""Turning a hook's prompt into a stored routing decision, and the decision into a host's model.

The routing brain decides and stores; this module asks it (through the daemon's handler table, so
a hook decision is made and persisted exactly like a ``route`` request) and maps the chosen tier to
the models each host can switch to by itself: Claude Code's subscription aliases, Gemini CLI's
model names, Codex CLI's.
"""

from typing import Any

import msgspec

from routerd.integrations.events import HookEvent
from routerd.integrations.modes import Recommendation

# Per host, the model for each tier (simple, moderate, complex). Codex's are from the model list
# of Codex 0.169: Luna for easier tasks, Sol the workhorse, Astra the frontier model.
HOST_MODELS: dict[str, tuple[str, str, str]] = {
    "claude-code": ("haiku", "sonnet", "opus"),
    "codex": ("gpt-6-luna", "gpt-6.1-sol", "gpt-6-astra"),
    "gemini-cli": ("gemini-2.5-flash-lite", "gemini-2.5-flash", "gemini-2.5-pro"),
}
_TIERS = ("simple", "moderate", "complex")


def host_model(host: str, tier: str) -> str:
    models = HOST_MODELS.get(host, HOST_MODELS["claude-code"])
    return models[_TIERS.index(tier)] if tier in _TIERS else models[1]


async def recommend(app, event: HookEvent) -> Recommendation | None:
    """Route the event's prompt through the brain's ``route`` handler; None without a prompt."""
    from routerd.handlers.table import HANDLERS
    from routerd.protocol import Message, Route

    if not event.prompt or not event.prompt.strip():
        return None
    messages = [Message(role="user", content=event.prompt)]
    request = Route(messages=messages, session_id=event.session_id, source=f"hook:{event.host}")
    reply = await HANDLERS[Route](app, request)
    return to_recommendation(event.host, _as_dict(reply))


def _as_dict(reply: Any) -> dict[str, Any]:
    data = msgspec.to_builtins(reply)
    inner = data.get("data") if isinstance(data, dict) else None
    return inner if isinstance(inner, dict) else data


def to_recommendation(host: str, decision: dict[str, Any]) -> Recommendation:
    """Read the brain's decision (its ``route`` reply) into what the hook modes need."""
    classification = decision.get("classification") or {}
    tier = decision.get("tier") or classification.get("tier") or "moderate"
    task_type = decision.get("task_type") or classification.get("task_type") or "query"
    confidence = decision.get("confidence", classification.get("confidence", 0.5))
    model = decision.get("model") or ""
    # The host is told a model it can switch to itself, from the decision's tier: the brain's own
    # pick is a catalogue model on a configured provider (gpt-..., say), which Claude Code cannot use.
    return Recommendation(
        decision_id=str(decision.get("decision_id") or decision.get("id") or ""),
        tier=tier, task_type=task_type, confidence=float(confidence or 0.0),
        model=model, host_model=host_model(host, tier),
        reason=str(decision.get("reason") or ""),
    )
