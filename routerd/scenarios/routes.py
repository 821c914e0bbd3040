"""From a detected scenario to the route it takes, and the context-window rules every route obeys.

- ``route_for``: the configured route of the request's scenario, else a built-in (``background``:
  tier ``simple``, the cheapest capable models), else None (the brain decides).
- ``fits`` / ``split_by_window``: a model is only ever tried when the request's upper token count
  for that model's family stays below its window minus ``window_headroom``. Models whose window the
  catalogue does not know are kept (nothing can be judged) and said so.
- ``SessionWindows``: once a conversation has crossed the long-context threshold it is kept on the
  model it moved to for as long as that model's window holds it (moving discards the provider's
  prompt cache), and when it must move it goes to a window with room to grow: it moves once, not
  back and forth.
- ``check_routes``: every name in ``[routing.scenarios]`` must name something routerd can reach.

Pure: values in, values out; ``SessionWindows`` is a bounded table owned by the routing core.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

import msgspec

from routerd.catalogue.models import Catalogue, ModelInfo
from routerd.classify.types import TIERS
from routerd.scenarios.names import parse_model_name
from routerd.scenarios.settings import ScenarioRoute, ScenariosConfig
from routerd.scenarios.tokens import TokenCount, family_of

BUILTIN_BACKGROUND = ScenarioRoute(tier="simple")
# A conversation moving to a bigger window looks for one that holds twice its size: room to grow.
GROWTH_FACTOR = 2.0
DEFAULT_SESSIONS = 4096


class RouteChoice(msgspec.Struct, frozen=True):
    """The steps a scenario's requests take (models, aliases or tiers, in order) and why."""

    scenario: str
    steps: tuple[str, ...]
    source: str  # "config" | "builtin"
    reason: str


def route_for(scenario: str, config: ScenariosConfig) -> RouteChoice | None:
    """The route of ``scenario``: configured, built-in, or None for the brain."""
    route = config.route(scenario)
    if route is not None:
        return RouteChoice(scenario, route.steps(), "config", f"[routing.scenarios] {scenario}")
    if scenario == "background":
        return RouteChoice(scenario, BUILTIN_BACKGROUND.steps(), "builtin",
                           "background: the cheapest capable model (tier simple)")
    return None


def is_tier(step: str) -> bool:
    return step in TIERS


def model_info(name: str, catalogue: Catalogue, aliases: Mapping[str, object]) -> ModelInfo | None:
    """The catalogue entry a route step names (through a ``[gateway.aliases]`` name with one target,
    and catalogue aliases; ``provider/model`` by its key, else by its model id), or None."""
    target = aliases.get(name, name)
    name = parse_model_name(target if isinstance(target, str) else name).name
    info = catalogue.get(name)
    if info is None and "/" in name:
        info = catalogue.get(name.partition("/")[2])
    return info


def window_budget(info: ModelInfo, headroom: float) -> int:
    """The input tokens a model takes with ``headroom`` of its window kept free."""
    return int(info.context_window * (1.0 - headroom))


def fits(info: ModelInfo, count: TokenCount, headroom: float) -> bool:
    """Whether the request, counted for ``info``'s tokenizer family, fits its window with headroom."""
    return count.upper(family_of(info.provider, info.id)) <= window_budget(info, headroom)


def split_by_window(candidates: Sequence[tuple[str, ModelInfo | None]], count: TokenCount, headroom: float,
                    ) -> tuple[list[str], list[str]]:
    """(candidates kept in order, reasons for those dropped because the request does not fit)."""
    kept, dropped = [], []
    for name, info in candidates:
        if info is None or fits(info, count, headroom):
            kept.append(name)
        else:
            need = count.upper(family_of(info.provider, info.id))
            dropped.append(f"{name}: ~{need:,} tokens do not fit its {info.context_window:,}-token window "
                           f"with {headroom:.0%} headroom")
    return kept, dropped


def with_room(candidates: Sequence[tuple[str, ModelInfo | None]], count: TokenCount,
              headroom: float) -> list[str]:
    """Fitting candidates, those whose window holds ``GROWTH_FACTOR`` times the request first."""
    roomy: list[str] = []
    tight: list[str] = []
    for name, info in candidates:
        if info is None or not fits(info, count, headroom):
            continue
        need = count.upper(family_of(info.provider, info.id))
        (roomy if need * GROWTH_FACTOR <= window_budget(info, headroom) else tight).append(name)
    return roomy + tight


class Stay(msgspec.Struct, frozen=True):
    """A session's long-context model and the tokens it had when it moved there."""

    model: str
    tokens: int
    moves: int = 1


class SessionWindows:
    """Which model each long conversation lives on (bounded; the oldest sessions are forgotten)."""

    def __init__(self, max_sessions: int = DEFAULT_SESSIONS) -> None:
        self._stays: dict[str, Stay] = {}
        self._max = max_sessions
        self.moves = 0

    def get(self, session: str) -> Stay | None:
        return self._stays.get(session)

    def choose(self, session: str | None, candidates: Sequence[tuple[str, ModelInfo | None]],
               count: TokenCount, headroom: float, long: bool) -> tuple[str | None, str]:
        """The model this request should go to first, and why (None: no opinion).

        A session already moved keeps its model while it fits, whatever the count does; a long
        request without a stay (or whose stay no longer fits) moves to a candidate with room to
        grow, and that is remembered."""
        stay = self._stays.get(session) if session else None
        infos = dict(candidates)
        if stay is not None and stay.model in infos:
            info = infos[stay.model]
            if info is None or fits(info, count, headroom):
                return stay.model, f"the session stays on {stay.model} (its window holds it; moving " \
                                   "would discard the prompt cache)"
        if not long and stay is None:
            return None, ""
        roomy = with_room(candidates, count, headroom)
        if not roomy:
            return None, ""
        moves = stay.moves + 1 if stay is not None else 1
        if session:
            self._remember(session, Stay(roomy[0], count.base, moves))
        self.moves += 1
        why = "it outgrew " + stay.model if stay is not None else "it crossed the long-context threshold"
        return roomy[0], f"the session moves to {roomy[0]}: {why}"

    def _remember(self, session: str, stay: Stay) -> None:
        self._stays.pop(session, None)
        if len(self._stays) >= self._max:
            del self._stays[next(iter(self._stays))]
        self._stays[session] = stay

    def statistics(self) -> dict[str, int]:
        return {"sessions": len(self._stays), "moves": self.moves}


def check_routes(config: ScenariosConfig, catalogue: Catalogue, aliases: Mapping[str, object],
                 providers: Collection[str]) -> list[str]:
    """Problems with the names in ``[routing.scenarios]`` (empty when every name is reachable):
    each step must be a tier, a catalogue model or alias, a ``[gateway.aliases]`` name, or
    ``provider/model`` with a configured provider."""
    problems = []
    for scenario in ("long_context", "subagent", "background", "web_search", "image", "think", "default"):
        route = config.route(scenario)
        for step in route.steps() if route is not None else ():
            if is_tier(step) or step in aliases or catalogue.get(parse_model_name(step).name) is not None:
                continue
            head, sep, _ = step.partition("/")
            if sep and head in providers:
                continue
            problems.append(f"routing.scenarios.{scenario}: {step!r} is not a tier, a known model or alias, "
                            "a [gateway.aliases] name, or provider/model with a configured provider")
    auto = {*config.anthropic_names, *config.openai_names}
    for name in sorted(auto & set(aliases)):
        problems.append(f"routing.scenarios: auto name {name!r} is also a [gateway.aliases] name")
    return problems
