"""The model catalogue as a value: what routerd knows about each model it may route to.

A `Catalogue` is built once (built-in entries, prices from the shipped snapshot, then config
overrides) and never mutated; a config reload builds a new one. Lookups go by `provider/id`, by
bare id, or by alias (`haiku`, `sonnet`, `opus`, ...). `price` also knows models routerd does not
route to but a client may name (an older Claude, any OpenAI id genai-prices lists), from the price
book shipped in `prices.json`, so that what the client asked for can be priced as the baseline.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import Annotated, Literal

import msgspec

from routerd.catalogue.prices import FREE, Rates
from routerd.classify.types import TIERS, Tier

Price = tuple[float, float]  # USD per million input and output tokens
# A dated snapshot id (`claude-fable-5-20260101`, `gpt-5-2025-08-07`) costs what its model costs.
_DATE_SUFFIX = re.compile(r"[-@](\d{8}|\d{4}-\d{2}-\d{2})$")


# A config's model entry is read into ModelInfo: a price is a finite non-negative number (TOML's
# `nan` and `-1` would make every ranking by price ill-defined, and `inf` every cost and saving
# computed from it), a token count a positive one.
USD = Annotated[float, msgspec.Meta(ge=0)]
Tokens = Annotated[int, msgspec.Meta(ge=1)]

# Anthropic's output_config.effort levels, lowest first (platform.claude.com, "Effort").
EFFORT_LEVELS = ("low", "medium", "high", "xhigh", "max")
# Gemini 3's thinkingLevel values, lowest first (ai.google.dev, "Thinking").
THINKING_LEVELS = ("minimal", "low", "medium", "high")
# OpenAI's reasoning_effort / reasoning.effort values, lowest first (the API reference's
# ReasoningEffort; "Not all reasoning models support every value").
REASONING_EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh", "max")


class Older(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What the older model an alias names takes where it differs from its successor's entry
    (None: what the entry says); each field as ``ModelInfo``'s of the same name."""

    max_output_tokens: Tokens | None = None
    thinking_levels: tuple[str, ...] | None = None
    reasoning_efforts: tuple[str, ...] | None = None
    effort: bool | tuple[str, ...] | None = None
    adaptive_thinking: bool | None = None
    budget_thinking: bool | None = None
    forced_tool_thinking: bool | None = None


class ModelInfo(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One model: identity, tier, capabilities and price per million tokens (None = unknown)."""

    id: str
    provider: str
    tier: Tier
    context_window: Tokens = 128_000
    tools: bool = True
    vision: bool = False
    reasoning: bool = False
    price_in_per_mtok: USD | None = None
    price_out_per_mtok: USD | None = None
    aliases: tuple[str, ...] = ()
    local: bool = False
    free: bool = False
    max_output_tokens: Tokens | None = None  # the most a request's max_tokens may ask for (None: unknown)
    # Anthropic's output_config.effort: the levels the model takes (true: all of EFFORT_LEVELS,
    # false: none; Sonnet 4.6 takes max but not xhigh).
    effort: bool | tuple[str, ...] = False
    adaptive_thinking: bool = False       # takes Anthropic's thinking {"type": "adaptive"}
    budget_thinking: bool = True          # takes {"type": "enabled", "budget_tokens": n} (not Opus 4.7 on)
    forced_tool_thinking: bool = False    # takes adaptive thinking beside a tool_choice forcing a tool (Opus 4.8 on)
    # The sampling settings (temperature, top_p, top_k) the model takes: "any"; "one" of
    # temperature and top_p, not both (Claude 4.5 and 4.6); "fixed", none but the defaults (Claude
    # Opus 4.7 on). None: "fixed" for a model with OpenAI's reasoning rules (``openai_reasoning``),
    # else "any" (``routerd.dialects.fit``).
    sampling: Literal["any", "one", "fixed"] | None = None
    # Thinking as Gemini takes it (ai.google.dev, "Thinking"): the least and most tokens of a
    # thinkingBudget (2.5 Pro 128..32,768, Flash 1..24,576, Flash-Lite 512..24,576; None: any);
    # whether a budget of 0 turns thinking off (not 2.5 Pro: "Budget 0 is invalid. This model only
    # works in thinking mode."); the thinkingLevel values a Gemini 3 model takes instead of a
    # budget, lowest first (none: it takes budgets, and refuses a level).
    thinking_budget: tuple[int, int] | None = None
    thinking_off: bool = True
    thinking_levels: tuple[str, ...] = ()
    # The OpenAI reasoning_effort values the model takes, lowest first (none: any; o3 and o4-mini
    # low to high, gpt-5.1 none but not minimal: the API reference's ReasoningEffort).
    reasoning_efforts: tuple[str, ...] = ()
    # OpenAI's reasoning models' rules (o-series, gpt-5 on): max_completion_tokens in place of
    # max_tokens, and only the default sampling. None: a reasoning model of provider ``openai``
    # (DeepSeek's reasoner, say, takes max_tokens).
    openai_reasoning: bool | None = None
    logprobs: bool = True                 # takes logprobs / top_logprobs (not DeepSeek's reasoner)
    # Takes Anthropic's structured outputs (``output_config.format`` json_schema: Haiku 4.5, Sonnet
    # 4.5 on, Opus 4.1 on); other Claude models get a forced tool instead (``dialects.structured``).
    json_output: bool = False
    # Aliases naming an older model that does not take it (Claude 3.5 Haiku, 3.7 Sonnet, Sonnet 4,
    # Opus 4): a request naming one reaches that model, which refuses output_config.format.
    aliases_without_json_output: tuple[str, ...] = ()
    # Aliases naming an older model that takes other reasoning settings, with what it takes
    # (gemini-3-pro-preview, an alias of 3.1 Pro: thinkingLevel low and high only; gpt-5 and gpt-5.1,
    # aliases of gpt-5.5: their own reasoning efforts; claude-opus-4-5, an alias of Opus 4.8: a
    # thinking budget, not adaptive thinking, and effort low to high). A request naming
    # one reaches that model; the catalogue looks the alias up as this entry with those facts.
    older: dict[str, Older] = {}

    def __post_init__(self) -> None:
        for name in ("price_in_per_mtok", "price_out_per_mtok"):
            if getattr(self, name) == math.inf:  # the `ge=0` constraint has refused nan and below 0
                raise ValueError(f"{name}: Expected a finite price, got inf")
        for effort in (self.effort, *(o.effort for o in self.older.values())):
            if isinstance(effort, tuple) and (unknown := set(effort) - set(EFFORT_LEVELS)):
                raise ValueError(f"unknown effort level {sorted(unknown)[0]!r}: the levels are "
                                 f"{', '.join(EFFORT_LEVELS)}")
        if stray := set(self.aliases_without_json_output) - set(self.aliases):
            raise ValueError(f"aliases_without_json_output names {sorted(stray)[0]!r}, not an alias of {self.id}")
        if stray := set(self.older) - set(self.aliases):
            raise ValueError(f"older names {sorted(stray)[0]!r}, not an alias of {self.id}")
        for levels in (self.thinking_levels, *(o.thinking_levels or () for o in self.older.values())):
            if unknown := set(levels) - set(THINKING_LEVELS):
                raise ValueError(f"unknown thinking level {sorted(unknown)[0]!r}: the levels are "
                                 f"{', '.join(THINKING_LEVELS)}")
        for efforts in (self.reasoning_efforts, *(o.reasoning_efforts or () for o in self.older.values())):
            if unknown := set(efforts) - set(REASONING_EFFORTS):
                raise ValueError(f"unknown reasoning effort {sorted(unknown)[0]!r}: the efforts are "
                                 f"{', '.join(REASONING_EFFORTS)}")

    def named(self, name: str) -> ModelInfo:
        """The facts of the model ``name`` (this entry's id or one of its aliases) reaches: this
        entry, or, for an alias naming an older model (``older``), this entry with its facts."""
        facts = self.older.get(name)
        if facts is None:
            return self
        changes = {field: value for field in facts.__struct_fields__ if (value := getattr(facts, field)) is not None}
        return msgspec.structs.replace(self, **changes)

    def takes_json_output(self, name: str) -> bool:
        """Whether the model ``name`` (this entry's id or one of its aliases) takes Anthropic's
        ``output_config.format``."""
        return self.json_output and name not in self.aliases_without_json_output

    @property
    def takes_openai_reasoning(self) -> bool:
        """Whether OpenAI's reasoning-model rules apply (``openai_reasoning``, else its default)."""
        if self.openai_reasoning is not None:
            return self.openai_reasoning
        return self.reasoning and self.provider == "openai"

    @property
    def effort_levels(self) -> tuple[str, ...]:
        """The ``output_config.effort`` levels this model takes, lowest first."""
        if self.effort is True:
            return EFFORT_LEVELS
        if self.effort is False:
            return ()
        return tuple(level for level in EFFORT_LEVELS if level in self.effort)

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


def own_rates(model: ModelInfo) -> Rates | None:
    """The rates a model carries itself: zero when free or local, its configured input and output
    prices (cache tokens then cost input), or None when it has none of its own."""
    if model.free or model.local:
        return FREE
    if model.price_in_per_mtok is None or model.price_out_per_mtok is None:
        return None
    return Rates(input=model.price_in_per_mtok, output=model.price_out_per_mtok)


def _cost_rank(model: ModelInfo) -> tuple[int, float]:
    # Free and local first, then by blended price; an unknown price ranks last.
    cost = model.cost_per_mtok()
    return (0 if (model.free or model.local) else 1, cost if cost is not None else float("inf"))


def _tier_order(ranks: tuple[int, ...], costs: tuple[tuple[int, float], ...],
                target: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The policy's order of model indices for the tier ranked `target`: those at or above it
    (nearest tier first, within a tier free and local first, then by blended price), and those
    below it (strongest first). Sorting is stable, so any subset keeps this order."""
    at_or_above = sorted((i for i, rank in enumerate(ranks) if rank >= target), key=lambda i: (ranks[i], costs[i]))
    below = sorted((i for i, rank in enumerate(ranks) if rank < target), key=lambda i: (-ranks[i], costs[i]))
    return tuple(at_or_above), tuple(below)


class PriceBook(msgspec.Struct, frozen=True):
    """Rates by `provider/id` for every model the snapshot knows, with the names it goes by.

    `names` maps other exact names (`provider/name`: dated snapshots, dotted spellings) to a priced
    `provider/id`; `prefixes` holds (provider, name prefix, `provider/id`), longest prefix first, as
    genai-prices matches them. `providers` is the order a bare id is tried in when its provider is
    not one the book knows (a proxy, a fake upstream): first-party providers first.
    """

    rows: dict[str, Rates] = {}
    names: dict[str, str] = {}
    prefixes: tuple[tuple[str, str, str], ...] = ()
    providers: tuple[str, ...] = ()

    def lookup(self, provider: str, model_id: str) -> Rates | None:
        """The rates of `model_id` as served by `provider`, or None when the book lacks it."""
        providers = (provider,) if provider in self.providers else self.providers
        undated = _DATE_SUFFIX.sub("", model_id)
        for name in (model_id, undated) if undated != model_id else (model_id,):
            for known in providers:
                key = f"{known}/{name}"
                row = self.rows.get(key) or self.rows.get(self.names.get(key, ""))
                if row is not None:
                    return row
            for known, prefix, target in self.prefixes:
                if name.startswith(prefix) and known in providers:
                    return self.rows.get(target)
        return None


# Rate lookups a catalogue remembers (per catalogue, so a reload starts afresh): a client naming a
# model the book lacks would otherwise walk every prefix on each call.
RATES_CACHE_SIZE = 4096


class Catalogue(msgspec.Struct, frozen=True):
    """All known models, with an index by key, id and alias.

    `keys`, `tier_ranks` and `cost_ranks` run parallel to `models`, computed once so that the
    policy (run for every prompt) does no string formatting or price arithmetic; `tier_orders`,
    by target tier rank, holds the policy's order of the models (`_tier_order`), so that it only
    filters out the unusable ones and never sorts. `own` holds the rates of models that carry
    their own (free, local, or priced in the config) by key.
    """

    models: tuple[ModelInfo, ...]
    index: dict[str, ModelInfo] = {}
    keys: tuple[str, ...] = ()
    tier_ranks: tuple[int, ...] = ()
    cost_ranks: tuple[tuple[int, float], ...] = ()
    tier_orders: tuple[tuple[tuple[int, ...], tuple[int, ...]], ...] = ()
    book: PriceBook = PriceBook()
    own: dict[str, Rates] = {}
    memo: dict[tuple[str, str], Rates | None] = {}

    @classmethod
    def of(cls, models: Iterable[ModelInfo], book: PriceBook | None = None,
           own: dict[str, Rates] | None = None) -> Catalogue:
        """Build a catalogue; later entries with the same key replace earlier ones. `own`: rates
        models carry themselves (default: from each model's own fields)."""
        by_key: dict[str, ModelInfo] = {}
        for model in models:
            by_key[model.key] = model
        index: dict[str, ModelInfo] = {}
        for model in by_key.values():
            index.setdefault(model.id, model)
            for alias in model.aliases:
                index.setdefault(alias, model.named(alias))
        index.update(by_key)
        models = tuple(by_key.values())
        if own is None:
            own = {m.key: r for m in models if (r := own_rates(m)) is not None}
        ranks = tuple(TIERS.index(m.tier) for m in models)
        costs = tuple(_cost_rank(m) for m in models)
        orders = tuple(_tier_order(ranks, costs, target) for target in range(len(TIERS)))
        return cls(models, index, tuple(by_key), ranks, costs, orders,
                   book if book is not None else PriceBook(), own, {})

    def get(self, name: str) -> ModelInfo | None:
        """The model named by `provider/id`, id or alias, or None. An alias that names an older
        model (`ModelInfo.older`) gives its entry with that model's facts."""
        return self.index.get(name)

    def rates(self, provider: str, model_id: str) -> Rates | None:
        """What `model_id` costs on `provider` per kind of token, or None when unknown.

        A catalogue model of that exact `provider/id` that carries its own rates (free, local, or
        priced by the config) comes first, then the price book (every model genai-prices knows, by
        its exact name: older and unrouted models too), then a catalogue id or alias: an alias
        stands for a newer model, whose price is only a last resort.
        """
        key = (provider, model_id)
        try:
            return self.memo[key]
        except KeyError:
            pass
        rates = self.own.get(f"{provider}/{model_id}")
        if rates is None:
            rates = self.book.lookup(provider, model_id)
        if rates is None and (info := self.index.get(model_id)) is not None:
            rates = self.own.get(info.key) or self.book.lookup(info.provider, info.id)
        if len(self.memo) >= RATES_CACHE_SIZE:
            self.memo.clear()
        self.memo[key] = rates
        return rates

    def price(self, provider: str, model_id: str) -> Price | None:
        """(input, output) USD per Mtok of `model_id` on `provider` below any tier, or None."""
        rates = self.rates(provider, model_id)
        return rates.base if rates is not None else None

    def providers(self) -> frozenset[str]:
        """Every provider that has at least one model in the catalogue."""
        return frozenset(m.provider for m in self.models)
