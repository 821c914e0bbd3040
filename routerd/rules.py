"""User routing rules: patterns in config that force a tier, a task type or a model.

Rules are evaluated before the policy, in config order; the first rule that matches wins. A rule
matches when its regex `pattern` (case-insensitive) matches the prompt's last user turn, or when
any of its `keywords` occurs in it as a whole word. A `Rule` checks itself when it is made, so a
bad regex is a config error naming the rule; `RuleSet.build` compiles the patterns once per
config, and evaluation is pure and cheap.

    [[routing.rules]]
    name = "migrations-go-big"
    pattern = "\\bmigrat(e|ion)\\b.*\\bprod"
    tier = "complex"

    [[routing.rules]]
    name = "translations-local"
    keywords = ["translate", "traduire"]
    model = "ollama/llama3.1:8b"
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

import msgspec

from routerd.classify.types import TaskType
from routerd.policy import RuleHit


class Rule(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One rule as written in config (`[[routing.rules]]`)."""

    name: str
    pattern: str | None = None
    keywords: list[str] = []
    tier: Literal["simple", "moderate", "complex"] | None = None
    task_type: TaskType | None = None
    model: str | None = None

    def __post_init__(self) -> None:
        # Raised here, a bad rule is a config error naming its key path (msgspec converts it).
        if self.pattern is None and not self.keywords:
            raise ValueError(f"rule {self.name!r} needs a pattern or keywords")
        if self.tier is None and self.task_type is None and self.model is None:
            raise ValueError(f"rule {self.name!r} forces nothing (set tier, task_type or model)")
        if self.pattern is not None:
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise ValueError(f"rule {self.name!r}: bad pattern: {exc}") from None


class CompiledRule(msgspec.Struct, frozen=True):
    rule: Rule
    regex: re.Pattern[str]


class RuleSet(msgspec.Struct, frozen=True):
    """Rules ready to evaluate, in config order."""

    rules: tuple[CompiledRule, ...] = ()

    @classmethod
    def build(cls, rules: Sequence[Rule]) -> RuleSet:
        """Compile every rule (each was validated when its Struct was made)."""
        compiled = []
        for rule in rules:
            parts = []
            if rule.pattern is not None:
                parts.append(f"(?:{rule.pattern})")
            if rule.keywords:
                words = "|".join(re.escape(k) for k in rule.keywords)
                parts.append(rf"\b(?:{words})\b")
            compiled.append(CompiledRule(rule, re.compile("|".join(parts), re.I)))
        return cls(tuple(compiled))

    def evaluate(self, text: str) -> RuleHit | None:
        """The first rule matching `text`, as what it forces, or None."""
        for compiled in self.rules:
            if compiled.regex.search(text):
                rule = compiled.rule
                return RuleHit(name=rule.name, tier=rule.tier, task_type=rule.task_type, model=rule.model)
        return None
