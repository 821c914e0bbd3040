"""Turning a hook's prompt into a stored routing decision, and the decision into a host's model.

The routing core decides and stores, exactly as for a ``route`` request; this module maps the
decided tier to the models each host can switch to by itself: Claude Code's subscription aliases,
Gemini CLI's model names, Codex CLI's.
"""

from routerd.integrations.events import HookEvent
from routerd.integrations.modes import Recommendation
from routerd.protocol.requests import Message
from routerd.routing.core import RoutingCore
from routerd.routing.types import Conversation, RouteDecision, RouteRequest
from routerd.runtime import Runtime

# Per host, the model for each tier (simple, moderate, complex). Codex's are from the model list
# of Codex 0.169: Luna for easier tasks, Sol the workhorse, Astra the frontier model.
HOST_MODELS: dict[str, tuple[str, str, str]] = {
    "claude-code": ("haiku", "sonnet", "opus"),
    "codex": ("gpt-6-luna", "gpt-6.1-sol", "gpt-6-astra"),
    "gemini-cli": ("gemini-2.5-flash-lite", "gemini-2.5-flash", "gemini-2.5-pro"),
}
_TIERS = ("simple", "moderate", "complex")


def host_models(host: str) -> tuple[str, str, str]:
    """The host's models for the simple, moderate and complex tiers (Claude Code's for a host
    routerd has no table for)."""
    return HOST_MODELS.get(host, HOST_MODELS["claude-code"])


def host_model(host: str, tier: str) -> str:
    models = host_models(host)
    return models[_TIERS.index(tier)] if tier in _TIERS else models[1]


async def recommend(routing: RoutingCore, runtime: Runtime, event: HookEvent) -> Recommendation | None:
    """Route the event's prompt through the routing core; None without a prompt."""
    if not event.prompt or not event.prompt.strip():
        return None
    conversation = Conversation([Message(role="user", content=event.prompt)])
    decision = await routing.decide(runtime, RouteRequest(conversation, session_id=event.session_id,
                                                          source=f"hook:{event.host}"))
    return to_recommendation(event.host, decision)


def to_recommendation(host: str, decision: RouteDecision) -> Recommendation:
    """What the hook modes need from a decision. The host is told a model it can switch to
    itself, from the decision's tier: the brain's own pick is a catalogue model on a configured
    provider (gpt-..., say), which Claude Code cannot use."""
    brain = decision.brain
    assert brain is not None, "advice is always the brain's"
    policy = brain.policy
    return Recommendation(
        decision_id=decision.decision_id, tier=policy.tier, task_type=policy.task_type,
        confidence=brain.classification.confidence,
        model=brain.first.id if brain.first is not None else policy.advisory,
        host_model=host_model(host, policy.tier), reason=policy.reasons[-1] if policy.reasons else "")
