"""Aliases: named groups of targets usable wherever a model name is (a client's ``model``, a
fallback chain, a rule), each with a balancing strategy.

``[gateway.aliases]`` maps a name to one target (``fast = "openai/gpt-4o-mini"``) or to a group
(``[gateway.aliases.pool] targets = [...], strategy = "weighted", weights = [...]``). A group's
``match`` globs make other names mean it too: Claude Code's own model names
(``claude-sonnet-*``), or whatever ``ANTHROPIC_DEFAULT_SONNET_MODEL`` is set to. A member is a
``provider/model``, a model id some provider serves (possibly several), or another alias.

``AliasTable.expand`` turns an alias into concrete targets in the order to try them: its balancer
orders its members by their signals (a member that is itself an alias or a model served by several
providers is judged by its best concrete target), and each member expands in place. A reload keeps
the balancer (its turn and smooth weights) of every alias whose definition did not change. Pure:
the caller says how a member resolves and what signals a concrete target has.
"""

import fnmatch
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from routerd.resilience.balance import Balancer, Signals, Strategy
from routerd.resilience.settings import AliasConfig

T = TypeVar("T", bound=Hashable)


@dataclass(frozen=True, slots=True)
class Alias:
    name: str
    targets: tuple[str, ...]
    strategy: Strategy = "ordered"
    weights: tuple[float, ...] = ()
    match: tuple[str, ...] = ()


def build_aliases(configured: Mapping[str, str | AliasConfig]) -> dict[str, Alias]:
    """``[gateway.aliases]`` values (a string, or an ``AliasConfig``) as ``Alias``es."""
    aliases = {}
    for name, value in configured.items():
        if isinstance(value, str):
            aliases[name] = Alias(name, (value,), weights=(1.0,))
        else:
            aliases[name] = Alias(name, tuple(value.targets), value.strategy, tuple(value.weight_list()),
                                  tuple(value.match))
    return aliases


class AliasTable:
    def __init__(self, aliases: Mapping[str, Alias], previous: "AliasTable | None" = None) -> None:
        self.aliases = dict(aliases)
        self._globbed = [a for a in self.aliases.values() if a.match]
        self.balancers: dict[str, Balancer] = {}
        for name, alias in self.aliases.items():
            if previous is not None and previous.aliases.get(name) == alias:
                self.balancers[name] = previous.balancers[name]
            else:
                self.balancers[name] = Balancer(alias.strategy, alias.weights or (1.0,) * len(alias.targets))

    def lookup(self, model: str) -> Alias | None:
        """The alias ``model`` names: by its name, else the first whose ``match`` globs take it."""
        alias = self.aliases.get(model)
        if alias is not None:
            return alias
        return next((a for a in self._globbed if any(fnmatch.fnmatchcase(model, g) for g in a.match)), None)

    def expand(self, name: str, resolve: Callable[[str], list[T]],
               signals_for: Callable[[T], Signals]) -> list[T]:
        """The concrete targets of alias ``name``, in the order to try them, each once."""
        ordered: list[T] = []
        for target in self._expand(name, resolve, signals_for, (name,)):
            if target not in ordered:
                ordered.append(target)
        return ordered

    def _expand(self, name: str, resolve: Callable[[str], list[T]], signals_for: Callable[[T], Signals],
                path: tuple[str, ...]) -> list[T]:
        alias = self.aliases[name]
        members = []
        for member in alias.targets:
            if member in self.aliases and member not in path:   # config check refuses circles
                members.append(self._expand(member, resolve, signals_for, (*path, member)))
            else:
                members.append(resolve(member))
        signals = [signals_for(found[0]) if found else Signals(health=0.0) for found in members]
        order = self.balancers[name].order(signals)
        return [target for index in order for target in members[index]]

    def statistics(self) -> dict[str, dict[str, int]]:
        """Per alias, how often each member was its first choice."""
        return {name: dict(zip(self.aliases[name].targets, balancer.picks))
                for name, balancer in self.balancers.items()}
