"""The model catalogue as a value: what routerd knows about each model it may route to.

A `Catalogue` is built once (built-in entries, prices from the shipped snapshot, then config
overrides) and never mutated; a config reload builds a new one. Lookups go by `provider/id`, by
bare id, or by alias (`haiku`, `sonnet`, `opus`, ...).
"""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from routerd.classify.types import TIERS, Tier



class ModelInfo(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One model: identity, tier, capabilities and price per million tokens (None = unknown)."""

    id: str
    provider: str
    tier: Tier
    context_window: int = 128_000
    tools: bool = True
    vision: bool = False
    reasoning: bool = False
    price_in_per_mtok: float | None = None
    price_out_per_mtok: float | None = None
    aliases: tuple[str, ...] = ()
    local: bool = False
    free: bool = False

    @property
    def key(self) -> str:
        """`provider/id`, unique in a catalogue."""
        return f"{self.provider}/{self.id}"

    def cost_per_mtok(self, output_share: float = 0.25) -> float | None:
        """Blended price per million tokens for a typical in/out mix; 0 for free models."""
        if self.free or self.local:
            return 0.0
        if self.price_in_per_mtok is None or self.price_out_per_mtok is None:
            return None
        return self.price_in_per_mtok * (1 - output_share) + self.price_out_per_mtok * output_share


def _cost_rank(model: ModelInfo) -> tuple[int, float]:
    # Free and local first, then by blended price; an unknown price ranks last.
    cost = model.cost_per_mtok()
    return (0 if (model.free or model.local) else 1, cost if cost is not None else float("inf"))


class Catalogue(msgspec.Struct, frozen=True):
    """All known models, with an index by key, id and alias.

    `keys`, `tier_ranks` and `cost_ranks` run parallel to `models`, computed once so that the
    policy (run for every prompt) does no string formatting or price arithmetic.
    """

    models: tuple[ModelInfo, ...]
    index: dict[str, ModelInfo] = {}
    keys: tuple[str, ...] = ()
    tier_ranks: tuple[int, ...] = ()
    cost_ranks: tuple[tuple[int, float], ...] = ()

    @classmethod
    def of(cls, models: Iterable[ModelInfo]) -> Catalogue:
        """Build a catalogue; later entries with the same key replace earlier ones."""
        by_key: dict[str, ModelInfo] = {}
        for model in models:
            by_key[model.key] = model
        index: dict[str, ModelInfo] = {}
        for model in by_key.values():
            index.setdefault(model.id, model)
            for alias in model.aliases:
                index.setdefault(alias, model)
        index.update(by_key)
        models = tuple(by_key.values())
        return cls(models, index, tuple(by_key), tuple(TIERS.index(m.tier) for m in models),
                   tuple(_cost_rank(m) for m in models))

    def get(self, name: str) -> ModelInfo | None:
        """The model named by `provider/id`, id or alias, or None."""
        return self.index.get(name)

    def providers(self) -> frozenset[str]:
        """Every provider that has at least one model in the catalogue."""
        return frozenset(m.provider for m in self.models)
