"""Value types of the classifier: tiers, task types, the frozen `Classification`, and the rule that
turns tier probabilities into a tier.

Tiers are ordered (`TIERS`), so policy code can compare them by index; the five-level scale
(`LEVELS5`) exists for users coming from five-level routers and is derived from the probabilities.
"""

from __future__ import annotations

from typing import Literal


import msgspec

Tier = Literal["simple", "moderate", "complex"]
TaskType = Literal["query", "code", "analyze", "generate", "research", "chat"]
Level5 = Literal["super_easy", "easy", "medium", "hard", "super_hard"]

TIERS: tuple[Tier, ...] = ("simple", "moderate", "complex")
TASK_TYPES: tuple[TaskType, ...] = ("query", "code", "analyze", "generate", "research", "chat")
LEVELS5: tuple[Level5, ...] = ("super_easy", "easy", "medium", "hard", "super_hard")

# The probability a cheaper tier must have of doing the job before it is chosen, per profile.
# Balanced is the bar with the best tier accuracy on held-out folds of the labelled prompts (see
# docs/brain.md); budget takes the cheaper tier on an even chance or a bit less, premium only when
# it is very likely to be enough.
PROFILE_BARS: dict[str, float] = {"budget": 0.35, "balanced": 0.5, "premium": 0.75}
DEFAULT_BAR = PROFILE_BARS["balanced"]
# Five levels from the two probabilities: sure-simple, simple, moderate, complex, sure-complex.
SURE = 0.85


def tier_index(tier: str) -> int:
    """Position of `tier` in `TIERS` (0 = simple); unknown names raise ValueError."""
    return TIERS.index(tier)


def tier_for(p_simple: float, p_moderate: float, bar: float) -> Tier:
    """The cheapest tier whose probability of doing the job clears `bar` (complex always does)."""
    if p_simple >= bar:
        return "simple"
    if p_moderate >= bar:
        return "moderate"
    return "complex"


def level5_for(p_simple: float, p_moderate: float) -> Level5:
    """The five-level scale from the two probabilities: sure-simple, simple, moderate, complex,
    sure-complex (sure: `SURE` either way)."""
    if p_simple >= SURE:
        return LEVELS5[0]
    if p_simple >= DEFAULT_BAR:
        return LEVELS5[1]
    if p_moderate >= DEFAULT_BAR:
        return LEVELS5[2]
    if p_moderate >= 1 - SURE:
        return LEVELS5[3]
    return LEVELS5[4]


def enough(p_simple: float, p_moderate: float, tier: str) -> float:
    """The probability that `tier` does the job (the top tier always does, as far as tiers go)."""
    return {"simple": p_simple, "moderate": p_moderate}.get(tier, 1.0)


def certainty(c: Classification) -> float:
    """The probability that `c.tier` is exactly the right tier (enough, and the one below is not)."""
    below = {"simple": 0.0, "moderate": c.p_simple, "complex": c.p_moderate}[c.tier]
    return enough(c.p_simple, c.p_moderate, c.tier) - below


class Because(msgspec.Struct, frozen=True):
    """One thing the classifier read that moved its difficulty score, said in words
    (`routerd.classify.explain`): `weight` is how far it moved the score (positive: harder),
    `features` the model's names for it, as `signals` name them."""

    says: str
    weight: float
    features: tuple[str, ...] = ()


class Classification(msgspec.Struct, frozen=True, kw_only=True):
    """What the classifier concluded about the prompt, and why.

    `score` is the continuous difficulty (higher = harder) the probabilities come from;
    `p_simple` / `p_moderate` are the calibrated probabilities that a simple-tier / moderate-tier
    model does the job; `tier` is the cheapest one clearing the balanced bar and `confidence` the
    probability that it is enough. `signals` name the turn's kind and the features that moved the
    score most (`feature:weight`); `explanation` says the same in words, only when asked to explain.
    """

    tier: Tier
    task_type: TaskType
    confidence: float
    signals: tuple[str, ...] = ()
    level5: Level5 = "medium"
    score: float = 0.0
    source: str = "learned"  # learned | model (second opinion) | cache
    p_simple: float = 0.5
    p_moderate: float = 0.5
    task_confidence: float = 0.0
    # The turn's kind (`routerd.classify.context`): ask, follow_up, go_ahead, paste_only,
    # tool_result (an agent step: tool output, no new words from the user), ack or empty.
    kind: str = ""
    explanation: tuple[Because, ...] = ()
