"""Value types of the classifier: the tiers, task types and the frozen `Classification` it returns.

Tiers are ordered (`TIERS`), so policy code can compare them by index; the optional five-level
scale (`LEVELS5`) exists for users coming from five-level routers and is derived from the same score.
"""

from __future__ import annotations

from typing import Literal

import msgspec

Tier = Literal["simple", "moderate", "complex"]
TaskType = Literal["query", "code", "analyze", "generate", "research", "chat", "tools"]
Level5 = Literal["super_easy", "easy", "medium", "hard", "super_hard"]

TIERS: tuple[Tier, ...] = ("simple", "moderate", "complex")
TASK_TYPES: tuple[TaskType, ...] = ("query", "code", "analyze", "generate", "research", "chat", "tools")
LEVELS5: tuple[Level5, ...] = ("super_easy", "easy", "medium", "hard", "super_hard")


def tier_index(tier: str) -> int:
    """Position of `tier` in `TIERS` (0 = simple); unknown names raise ValueError."""
    return TIERS.index(tier)


class Classification(msgspec.Struct, frozen=True, kw_only=True):
    """What the classifier concluded about the prompt, and why.

    `score` is the raw difficulty score the tier was cut from (kept so that feedback and the
    explanation can say how close the call was); `signals` name every rule that fired, in order.
    """

    tier: Tier
    task_type: TaskType
    confidence: float
    signals: tuple[str, ...] = ()
    level5: Level5 = "medium"
    score: float = 0.0
    source: str = "heuristic"
