"""Turning a hook's prompt into a stored routing decision, and the decision into a host's model.

The routing core decides and stores, exactly as for a ``route`` request; this module maps the
decided tier to the models each host can switch to by itself: Claude Code's subscription aliases,
Gemini CLI's model names, Codex CLI's. While the classifier is still loading, ``fallback`` decides
by the one cheap rule there is, the user's own routing rules, and says it is a fallback.
"""

import hashlib
import time

import msgspec

from routerd.integrations.events import HookEvent
from routerd.integrations.modes import Recommendation
from routerd.policy import RuleHit
from routerd.protocol.requests import Message
from routerd.routing.core import RoutingCore
from routerd.routing.types import Conversation, RouteDecision, RouteRequest
from routerd.runtime import Runtime
from routerd.store.routing import DecisionRow

# Per host, the model for each tier (simple, moderate, complex). Codex's are from the model list
# of Codex 0.169: Luna for easier tasks, Sol the workhorse, Astra the frontier model.
HOST_MODELS: dict[str, tuple[str, str, str]] = {
    "claude-code": ("haiku", "sonnet", "opus"),
    "codex": ("gpt-6-luna", "gpt-6.1-sol", "gpt-6-astra"),
    "gemini-cli": ("gemini-2.5-flash-lite", "gemini-2.5-flash", "gemini-2.5-pro"),
}
_TIERS = ("simple", "moderate", "complex")
UNKNOWN = "unknown"  # a fallback's tier or task type when no rule set it


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


def fallback(host: str, decision_id: str, why: str, hit: RuleHit | None) -> Recommendation:
    """The recommendation made without the classifier: the tier of the user's rule that matched the
    prompt (``hit``), else none, which keeps the turn in the session. ``why``: the classifier's state."""
    if hit is None or hit.tier is None:
        return Recommendation(decision_id=decision_id, tier=UNKNOWN, task_type=UNKNOWN, confidence=0.0,
                              model="", host_model="", reason="no routing rule sets a tier for this prompt",
                              fallback=why)
    model = host_model(host, hit.tier)
    return Recommendation(decision_id=decision_id, tier=hit.tier, task_type=hit.task_type or UNKNOWN,
                          confidence=0.0, model=hit.model or model, host_model=model,
                          reason=f"routing rule {hit.name!r}", fallback=why)


def fallback_row(rec: Recommendation, event: HookEvent, profile: str, store_prompts: bool) -> DecisionRow:
    """The decision row of a fallback: its tier (None without a rule), and ``fallback`` in its
    detail beside the rule, so that ``routerctl`` and the dashboard show what it was."""
    text = event.prompt or ""
    return DecisionRow(
        id=rec.decision_id, ts=time.time(), source=f"hook:{event.host}", session_id=event.session_id,
        prompt_hash=hashlib.sha256(text.encode()).hexdigest(), prompt_len=len(text),
        prompt=text if store_prompts else None, tier=None if rec.tier == UNKNOWN else rec.tier,
        task_type=None if rec.task_type == UNKNOWN else rec.task_type, profile=profile,
        model=rec.host_model or None,
        detail=msgspec.json.encode({"fallback": rec.fallback, "reasons": [rec.reason]}).decode())
