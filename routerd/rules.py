"""User routing rules: patterns in config that force a tier, a task type or a model.

Rules are evaluated before the policy, in config order; the first rule that matches wins. A rule
matches when its regex `pattern` (case-insensitive) matches the prompt's last user turn, or when
any of its `keywords` occurs in it as a whole word. `RuleSet.build` compiles every pattern once,
when a config is loaded, so a bad regex is a config error and evaluation is pure and cheap.

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

from routerd.errors import ConfigError
from routerd.policy import RuleHit


class Rule(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One rule as written in config (`[[routing.rules]]`)."""

    name: str
    pattern: str | None = None
    keywords: list[str] = []
    tier: Literal["simple", "moderate", "complex"] | None = None
    task_type: Literal["query", "code", "analyze", "generate", "research", "chat", "tools"] | None = None
    model: str | None = None


class CompiledRule(msgspec.Struct, frozen=True):
    rule: Rule
    regex: re.Pattern[str]


class RuleSet(msgspec.Struct, frozen=True):
    """Rules ready to evaluate, in config order."""

    rules: tuple[CompiledRule, ...] = ()

    @classmethod
    def build(cls, rules: Sequence[Rule]) -> RuleSet:
        """Compile every rule; raise ConfigError naming the rule that is invalid."""
        compiled = []
        for rule in rules:
            if rule.pattern is None and not rule.keywords:
                raise ConfigError(f"routing.rules: rule {rule.name!r} needs a pattern or keywords")
            if rule.tier is None and rule.task_type is None and rule.model is None:
                raise ConfigError(f"routing.rules: rule {rule.name!r} forces nothing (set tier, task_type or model)")
            parts = []
            if rule.pattern is not None:
                try:
                    re.compile(rule.pattern)
                except re.error as exc:
                    raise ConfigError(f"routing.rules: rule {rule.name!r}: bad pattern: {exc}") from None
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
