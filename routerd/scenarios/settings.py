"""``[routing.scenarios]``: where each scenario's requests go, as frozen config values.

Each scenario takes a route: a model (an id, ``provider/model``, a catalogue alias such as
``haiku``, or a ``[gateway.aliases]`` name) or a tier (``simple | moderate | complex``: the brain
picks the model at that tier), each with ``fallbacks`` tried in order after it. The short form is a
plain string (a model, an alias or a tier)::

    [routing.scenarios]
    long_context_threshold = 60000
    background = "haiku"
    subagent = { tier = "moderate", fallbacks = ["gpt-6.1-sol"] }
    long_context = { model = "gemini-2.5-pro", fallbacks = ["claude-sonnet-4-6"] }

A scenario without a route goes to the brain, with two built-ins: ``background`` goes to the
cheapest capable model (tier ``simple``), and every request, ``long_context`` above all, only ever
goes to a model whose window holds it with ``window_headroom`` to spare. Shapes are checked here
(``__post_init__`` errors carry the key path and line); names are checked against the catalogue and
the providers when the runtime is built (``routes.check_routes``).
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from routerd.classify.types import TIERS, Tier
from routerd.scenarios.names import DEFAULT_ANTHROPIC_NAMES, DEFAULT_OPENAI_NAMES

ThinkLevel = Literal["none", "minimal", "low", "medium", "high", "xhigh", "max"]
THINK_LEVELS: tuple[ThinkLevel, ...] = ("none", "minimal", "low", "medium", "high", "xhigh", "max")
DEFAULT_LONG_CONTEXT_THRESHOLD = 60_000
DEFAULT_THINK_LEVEL: ThinkLevel = "high"
# Of a model's context window, this share stays free for the answer and for counting error.
DEFAULT_WINDOW_HEADROOM = 0.15


class ScenarioRoute(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """A model (or alias) or a tier, then fallbacks (models, aliases or tiers) in order."""

    model: str | None = None
    tier: Tier | None = None
    fallbacks: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if (self.model is None) == (self.tier is None):
            raise ValueError("give exactly one of `model` or `tier`")
        if self.model is not None and not self.model.strip():
            raise ValueError("`model` is empty")
        if any(not f.strip() for f in self.fallbacks):
            raise ValueError("`fallbacks` has an empty name")

    def steps(self) -> tuple[str, ...]:
        """The route in order: its model or tier, then the fallbacks."""
        return ((self.model or self.tier or ""), *self.fallbacks)


Route = str | ScenarioRoute


def as_route(value: Route) -> ScenarioRoute:
    """The long form of a route (a bare string is a tier when it names one, else a model)."""
    if isinstance(value, ScenarioRoute):
        return value
    return ScenarioRoute(tier=value) if value in TIERS else ScenarioRoute(model=value)


class ScenariosConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Scenario detection settings and one optional route per scenario (see the module doc)."""

    enabled: bool = True
    long_context_threshold: Annotated[int, msgspec.Meta(gt=0)] = DEFAULT_LONG_CONTEXT_THRESHOLD
    window_headroom: Annotated[float, msgspec.Meta(ge=0.0, lt=0.9)] = DEFAULT_WINDOW_HEADROOM
    think_level: ThinkLevel = DEFAULT_THINK_LEVEL
    anthropic_names: tuple[str, ...] = DEFAULT_ANTHROPIC_NAMES
    openai_names: tuple[str, ...] = DEFAULT_OPENAI_NAMES
    long_context: Route | None = None
    subagent: Route | None = None
    background: Route | None = None
    web_search: Route | None = None
    image: Route | None = None
    think: Route | None = None
    default: Route | None = None

    def __post_init__(self) -> None:
        if self.think_level == "none":
            raise ValueError("`think_level` must be a level that asks for reasoning (minimal .. max)")
        names = [*self.anthropic_names, *self.openai_names]
        if any(not n.strip() or n != n.strip() or "/" in n for n in names):
            raise ValueError("auto names must be non-empty, without spaces around them or '/'")
        if len(set(names)) != len(names):
            raise ValueError("an auto name is listed twice")

    def route(self, scenario: str) -> ScenarioRoute | None:
        """The configured route of ``scenario`` in its long form, or None."""
        value = getattr(self, scenario, None) if scenario in _ROUTED else None
        return as_route(value) if value is not None else None


_ROUTED = frozenset({"long_context", "subagent", "background", "web_search", "image", "think", "default"})
