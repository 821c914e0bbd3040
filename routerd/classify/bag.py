"""The binary features of one reading, kept by kind so that the model can weigh them without names.

A feature is a name (`w:retry`, `b:why does`, `p:conne`, `cue:perf`), and the trainer and the model
file speak in names. Building those names costs more than weighing them: a string per word, pair
and stem for every ask. So a `Bag` keeps the three text kinds as the words themselves (`words`),
word pairs as tuples (`pairs`) and stems (`stems`); everything else is a name in `other`.
`names()` gives the same set of names the model file uses; `routerd.classify.model` keeps its
weights in tables keyed the same way, and looks the bag up directly.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import msgspec

WORD = "w:"
PAIR = "b:"
STEM = "p:"
KINDS = ("words", "pairs", "stems", "other")


class Bag(msgspec.Struct, frozen=True):
    """A set of features. Words hold no spaces (they come from `str.split`), so each kind's names
    map one to one onto its keys, and the union of two bags is the union of their names."""

    words: set[str] = msgspec.field(default_factory=set)
    pairs: set[tuple[str, str]] = msgspec.field(default_factory=set)
    stems: set[str] = msgspec.field(default_factory=set)
    other: set[str] = msgspec.field(default_factory=set)

    def add(self, name: str) -> None:
        """Add a feature that is not a word, pair or stem."""
        self.other.add(name)

    def __or__(self, bag: Bag) -> Bag:
        return Bag(self.words | bag.words, self.pairs | bag.pairs, self.stems | bag.stems, self.other | bag.other)

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        kind, key = name[:2], name[2:]
        if kind == WORD:
            return key in self.words
        if kind == STEM:
            return key in self.stems
        if kind == PAIR:
            first, _, second = key.partition(" ")
            return (first, second) in self.pairs
        return name in self.other

    def names(self) -> set[str]:
        """The features as the model file names them."""
        return set(self.iter_names())

    def iter_names(self) -> Iterator[str]:
        for kind in KINDS:
            yield from (name_of(kind, key) for key in getattr(self, kind))


Key = str | tuple[str, str]


def name_of(kind: str, key: Key) -> str:
    """The name of the feature `key` in a `Bag`'s table `kind`."""
    if isinstance(key, tuple):
        return f"{PAIR}{key[0]} {key[1]}"
    if kind == "words":
        return WORD + key
    if kind == "stems":
        return STEM + key
    return key


def key_of(name: str) -> tuple[str, Key]:
    """Which table of a `Bag` a feature name belongs to (`words`, `pairs`, `stems`, `other`), and its
    key there."""
    kind, key = name[:2], name[2:]
    if kind == WORD:
        return "words", key
    if kind == STEM:
        return "stems", key
    if kind == PAIR:
        first, space, second = key.partition(" ")
        if not space or " " in second:
            raise ValueError(f"model file: a word pair is two words: {name!r}")
        return "pairs", (first, second)
    return "other", name


TYPED = "@"  # a feature's copy for one task type: `words:6@generate`


def typed_copies(other: set[str], prefixes: tuple[str, ...], task_type: str) -> list[str]:
    """The copies, for `task_type`, of the features in `other` named by one of `prefixes` (a size, a
    sentence count, a paste: `words:6` becomes `words:6@generate`), so that the model can weigh them
    per task type; not of a feature's size or count variants (`cue:proof@short`, `cue:proof+2`)."""
    suffix = TYPED + task_type
    return [name + suffix for name in other if name.startswith(prefixes) and TYPED not in name and "+" not in name]


def shared_keys_of(names: Iterable[str], shared: dict[Any, Any]) -> Iterator[tuple[str, Key]]:
    """`key_of` of each of `names`, with each word and each word pair one object however many
    tables key by it (`shared`: the words and pairs read so far; a model's weight tables and
    neighbour index share most of their keys). One frame for all: a model file has ~115,000 names,
    and a call or two per name was a sixth of loading it; words and stems are cut here, pairs
    (and their check) by `key_of`."""
    one = shared.setdefault
    for name in names:
        prefix = name[:2]
        if prefix == WORD:
            yield "words", one(word := name[2:], word)
        elif prefix == STEM:
            yield "stems", one(stem := name[2:], stem)
        else:
            kind, key = key_of(name)
            if isinstance(key, tuple):
                pair = (one(key[0], key[0]), one(key[1], key[1]))
                key = one(pair, pair)
            yield kind, key
