"""The routing core's results as wire replies, so that the socket's ``route`` and ``classify`` and
the MCP tools of the same names answer with the same shapes."""

from routerd.classify.types import Classification
from routerd.protocol.replies import Because, ClassificationReply, DecisionReply, ModelVerdict
from routerd.routing.types import Classified, RouteDecision


def classification_reply(classified: Classified) -> ClassificationReply:
    result = classified.classification
    return ClassificationReply(tier=result.tier, task_type=result.task_type, confidence=result.confidence,
                               signals=list(result.signals), level5=result.level5, score=result.score,
                               source=result.source, p_simple=result.p_simple, p_moderate=result.p_moderate,
                               explanation=_explanation(result), profile=classified.profile, bar=classified.bar,
                               budget_pressure=classified.pressure)


def decision_reply(decision: RouteDecision, explain: bool) -> DecisionReply:
    """A brain decision (advice): the first catalogue model, or the advisory one with no provider;
    every catalogue model's verdict when ``explain``."""
    brain = decision.brain
    assert brain is not None, "advice is always the brain's"
    policy, result, first = brain.policy, brain.classification, brain.first
    verdicts = [ModelVerdict(model=v.model, tier=v.tier, kept=v.kept, rank=v.rank, reasons=list(v.reasons))
                for v in policy.verdicts] if explain else []
    return DecisionReply(
        decision_id=decision.decision_id, tier=policy.tier, task_type=policy.task_type,
        confidence=policy.confidence, model=first.id if first else policy.advisory,
        provider=first.provider if first else None, advisory=policy.advisory,
        candidates=list(policy.candidates), profile=policy.profile,
        reason=policy.reasons[-1] if policy.reasons else "", reasons=list(policy.reasons),
        signals=list(result.signals), classification_source=result.source, verdicts=verdicts,
        score=result.score, p_simple=policy.p_simple, p_moderate=policy.p_moderate, bar=policy.bar,
        scenario=decision.scenario, scenario_reasons=list(decision.scenario_reasons),
        explanation=_explanation(result) if explain else [],
    )


def _explanation(result: Classification) -> list[Because]:
    return [Because(says=b.says, weight=b.weight, features=list(b.features)) for b in result.explanation]
