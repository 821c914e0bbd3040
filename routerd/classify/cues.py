"""Families of words that mark a general property of a request, read from per-language data files.

`data/cues/<language>.json` holds, per language, `families` (a hard domain, a kind of deliverable,
a comparison, a symptom, ...) and `openers` (how acknowledgements, go-aheads, follow-ups and
definition questions begin). The learned model gives each family its weight; the files only say
which words belong together, in each language. An entry is a word (`"deadlock"`), a phrase with
spaces (`"race condition"`), a stem ending in `*` (`"доказ*"`, for inflected languages), or text in
a script without spaces (`"証明"`), matched as a substring.

Matching costs one set lookup per word of the ask for whole words; phrases are tested only when
their first word is present; stems and CJK entries only for texts outside ASCII, and a CJK entry
only when the text holds each of its characters.
"""

from __future__ import annotations

import codecs
import functools
import json
import re
from collections.abc import Callable, Iterable
from collections.abc import Set as AbstractSet
from importlib import resources
from itertools import chain
from typing import Any, TypeVar

import msgspec

from routerd.classify.common import CommonWords, default_common
from routerd.classify.tokens import FOLD_DIGITS, is_cjk

CUE_DIR = "data/cues"
_T = TypeVar("_T")
_K = TypeVar("_K")
# A charmap codec (`codecs.charmap_build`) writes each character it maps as one byte, 1 to 255.
_MAPPED = 255
_UNMAPPED = "\ufffe"  # what a decoding table holds for a byte that maps no character
_BYTES = 256
# A `bytes.maketrans(written, zeros)` table holds 0 at each byte written (and at 0, which no entry
# is filed under or holds): deleting its bytes from every byte leaves the bytes held, and this
# reads it as the binary digit 1 where a byte is absent.
_EVERY_BYTE = bytes(range(_BYTES))
_ABSENT = b"0" + b"1" * (_BYTES - 1)
# How far into a CJK text an opener is looked for.
SPACELESS_OPENER_CHARS = 120


class CueSet(msgspec.Struct, frozen=True):
    """Every language's families and openers, indexed for matching."""

    words: dict[str, tuple[str, ...]]  # word -> families
    phrases: dict[str, tuple[tuple[str, tuple[str, ...]], ...]]  # first word -> (" phrase ", families)
    stems: dict[int, dict[str, tuple[str, ...]]]  # stem length -> stem -> families
    spaceless: tuple[tuple[str, tuple[str, ...]], ...]  # CJK entries, matched as substrings
    openers: dict[str, tuple[tuple[str, ...], tuple[str, ...]]]  # kind -> (spaced, CJK) openings, longest first
    families: tuple[str, ...]
    languages: tuple[str, ...]
    word_keys: frozenset[str] = frozenset()  # the keys of `words` and `phrases`, as sets: `&` walks the smaller side
    phrase_keys: frozenset[str] = frozenset()
    # kind -> the spaced openings by their first two characters (one, for a one-letter opening): a
    # text can only begin with the openings filed under its own first characters.
    opener_index: dict[str, dict[str, tuple[str, ...]]] = msgspec.field(default_factory=dict)
    # The languages' everyday words: how many of an ask's words are rare (`routerd.classify.common`).
    common: CommonWords = msgspec.field(default_factory=CommonWords)
    # Every stem's first `stem_head` characters (the shortest stem's length): a word whose start is
    # not among them matches no stem, so most words are passed over with one lookup.
    stem_head: int = 0
    stem_heads: frozenset[str] = frozenset()
    # The CJK entries' characters, by 255 (`_byte_maps`): each a codec that writes the text's
    # characters of its group as bytes, one each. `spaceless_filed` holds, per group and byte, the
    # entries whose first character is that byte of that group (each with its families and its
    # other characters as a bit mask, `_filed`): only entries whose characters the text holds,
    # every one, can occur in it.
    spaceless_maps: tuple[Any, ...] = ()
    spaceless_filed: tuple[tuple[tuple[tuple[str, tuple[str, ...], int], ...], ...], ...] = ()
    # kind -> its CJK openings as one alternation: a search for any of them is one C pass over the
    # head (~1.2 us), where an `in` per opening costs ~3-5 us for the ~20-30 of a kind.
    spaceless_openers: dict[str, re.Pattern[str]] = msgspec.field(default_factory=dict)

    def counts(self, lower: str, words: Iterable[str]) -> dict[str, int]:
        """How many distinct members of each family occur in the text (`lower`, and its `words`)."""
        found: dict[str, int] = {}
        seen: AbstractSet[str] = words if isinstance(words, (set, frozenset)) else set(words)
        for word in seen & self.word_keys:
            for family in self.words[word]:
                found[family] = found.get(family, 0) + 1
        padded = None
        for first in seen & self.phrase_keys:
            if padded is None:
                padded = f" {lower.replace('-', ' ')} "
            for phrase, families in self.phrases[first]:
                if phrase in padded:
                    for family in families:
                        found[family] = found.get(family, 0) + 1
        if not lower.isascii():
            self._non_ascii(lower, seen, found)
        return found

    def _non_ascii(self, lower: str, seen: AbstractSet[str], found: dict[str, int]) -> None:
        head, heads = self.stem_head, self.stem_heads
        matched: set[tuple[int, str]] = set()  # a stem counts once, however many words it starts
        for word in seen:
            if len(word) > head and word[:head] in heads:
                for size, stems in self.stems.items():  # shortest first
                    if len(word) <= size:
                        break
                    if word[:size] in stems:
                        matched.add((size, word[:size]))
        for size, stem in matched:
            for family in self.stems[size][stem]:
                found[family] = found.get(family, 0) + 1
        if is_cjk(lower):
            # The text's characters, as bytes per group, pass over most entries with one bit mask
            # each, where `in` reads the whole text (~0.5 us for 900 characters): of the 33 entries
            # filed under the first characters of bench/_latency.py's Japanese prompt, 7 have all
            # their characters in it, and 4 occur. A codec writes a group's characters in one C pass
            # (and drops the others, with "ignore"); `bytes.maketrans` then marks the bytes written
            # in a 256-byte table (0 where held), read as the bytes held (~40 for
            # bench/_latency.py's Korean prompt) and, as the binary digits of one int, those absent.
            # Sets of the bytes and a subset test per group and entry cost more (~208,000 and
            # ~93,000 instructions for that prompt, against ~53,000 for all of this but the codecs'
            # ~123,000, by callgrind).
            filed: list[Iterable[tuple[str, tuple[str, ...], int]]] = []
            absent = []
            for table, by_byte in zip(self.spaceless_maps, self.spaceless_filed):
                written = _encode(lower, "ignore", table)[0]
                marked = bytes.maketrans(written, bytes(len(written)))
                filed.extend(map(by_byte.__getitem__, _EVERY_BYTE.translate(None, marked)))
                absent.append(marked.translate(_ABSENT))
            missing = int(b"".join(absent), 2)
            for entry, families, others in chain.from_iterable(filed):
                if not others & missing and entry in lower:
                    for family in families:
                        found[family] = found.get(family, 0) + 1

    def opens(self, lower: str, kind: str) -> bool:
        """Whether the text begins with one of the `kind` openers, as whole words."""
        text = lower.lstrip(" \t\n\"'*>-¿¡")
        index = self.opener_index.get(kind, {})
        for opener in index.get(text[:2], ()) + index.get(text[:1], ()):
            if text.startswith(opener):
                rest = text[len(opener) : len(opener) + 1]
                if not rest or not rest.isalnum():
                    return True
        spaceless = self.spaceless_openers.get(kind)
        if spaceless is not None and not lower.isascii():
            # Languages without spaces put the question word after its subject ("Xとは何ですか").
            return spaceless.search(text, 0, SPACELESS_OPENER_CHARS) is not None
        return False


def _spaceless(entry: str) -> bool:
    return is_cjk(entry)


_encode = codecs.charmap_encode


def _byte_maps(alphabet: list[str]) -> tuple[list[Any], dict[str, tuple[int, int]]]:
    """Charmap codecs for `alphabet`, 255 characters each, and each character's group and byte. A
    character no codec maps one to one (NUL, U+FFFE, one outside the BMP) is left out: an entry is
    then filed and compared by its other characters (every entry has a CJK character of the BMP)."""
    chars = [ch for ch in alphabet if ch not in ("\0", _UNMAPPED) and ord(ch) <= 0xFFFF]
    maps: list[Any] = []
    keys: dict[str, tuple[int, int]] = {}
    for start in range(0, len(chars), _MAPPED):
        group = chars[start : start + _MAPPED]
        keys.update((ch, (len(maps), byte)) for byte, ch in enumerate(group, 1))
        maps.append(codecs.charmap_build("\0" + "".join(group) + _UNMAPPED * (_MAPPED - len(group))))
    return maps, keys


def _filed(entries: Iterable[tuple[str, tuple[str, ...]]], keys: dict[str, tuple[int, int]], groups: int) \
        -> tuple[tuple[tuple[tuple[str, tuple[str, ...], int], ...], ...], ...]:
    """`CueSet.spaceless_filed` of the CJK `entries` (with their families), by `_byte_maps`'s
    `keys`: each filed under its first character that has a byte, with its other characters' bit
    mask: the groups' 256-byte tables, joined, are read as the binary digits of one int, so a
    character at `_BYTES * group + byte` is the bit that many places from the top one."""
    slots = _BYTES * groups
    filed: list[list[tuple[str, tuple[str, ...], int]]] = [[] for _ in range(slots)]
    for entry, families in entries:
        (group, byte), *rest = [keys[ch] for ch in entry if ch in keys]
        others = 0
        for other_group, other_byte in rest:
            others |= 1 << slots - 1 - (_BYTES * other_group + other_byte)
        filed[_BYTES * group + byte].append((entry, families, others))
    return tuple(tuple(map(tuple, filed[start : start + _BYTES])) for start in range(0, slots, _BYTES))


def _grouped(items: Iterable[_T], key: Callable[[_T], _K]) -> dict[_K, tuple[_T, ...]]:
    """`items` filed under `key(item)`, in their order."""
    index: dict[_K, list[_T]] = {}
    for item in items:
        index.setdefault(key(item), []).append(item)
    return {start: tuple(group) for start, group in index.items()}


def build(documents: Iterable[dict[str, Any]], common: CommonWords | None = None) -> CueSet:
    """Index the families and openers of every language document (`common`: the everyday words)."""
    words: dict[str, set[str]] = {}
    phrases: dict[str, dict[str, set[str]]] = {}
    stems: dict[int, dict[str, set[str]]] = {}
    spaceless: dict[str, set[str]] = {}
    openers: dict[str, set[str]] = {}
    families: set[str] = set()
    languages = []
    for doc in documents:
        languages.append(doc["language"])
        for family, entries in doc.get("families", {}).items():
            families.add(family)
            for raw in entries:
                raw = raw.lower().translate(FOLD_DIGITS)  # as the text they are matched against
                entry = raw.replace("-", " ") if " " in raw else raw
                if _spaceless(entry):
                    spaceless.setdefault(entry, set()).add(family)
                elif entry.endswith("*"):
                    stem = entry[:-1]
                    stems.setdefault(len(stem), {}).setdefault(stem, set()).add(family)
                elif " " in entry.strip():
                    phrase = entry.strip()
                    phrases.setdefault(phrase.split()[0], {}).setdefault(f" {phrase} ", set()).add(family)
                else:
                    words.setdefault(entry.strip(), set()).add(family)
        for kind, entries in doc.get("openers", {}).items():
            openers.setdefault(kind, set()).update(e.lower() for e in entries)
    head = min(stems, default=0)
    spaceless_entries = tuple((e, tuple(sorted(f))) for e, f in sorted(spaceless.items()))
    maps, keys = _byte_maps(sorted({ch for entry in spaceless for ch in entry}))
    ordered = {k: (tuple(sorted((o for o in v if not is_cjk(o)), key=lambda o: (-len(o), o))),
                   tuple(sorted(o for o in v if is_cjk(o)))) for k, v in openers.items()}
    return CueSet(
        words={w: tuple(sorted(f)) for w, f in words.items()},
        phrases={first: tuple((p, tuple(sorted(f))) for p, f in sorted(group.items()))
                 for first, group in phrases.items()},
        stems={size: {s: tuple(sorted(f)) for s, f in group.items()} for size, group in sorted(stems.items())},
        spaceless=spaceless_entries,
        openers=ordered,
        opener_index={kind: _grouped(spaced, lambda opening: opening[:2]) for kind, (spaced, _) in ordered.items()},
        families=tuple(sorted(families)),
        languages=tuple(languages),
        word_keys=frozenset(words),
        phrase_keys=frozenset(phrases),
        common=common or CommonWords(),
        stem_head=head,
        stem_heads=frozenset(stem[:head] for group in stems.values() for stem in group),
        spaceless_maps=tuple(maps),
        spaceless_filed=_filed(spaceless_entries, keys, len(maps)),
        spaceless_openers={kind: re.compile("|".join(map(re.escape, cjk))) for kind, (_, cjk) in ordered.items() if cjk},
    )


def read_documents() -> list[dict[str, Any]]:
    """The per-language cue documents shipped in the package, English first."""
    folder = resources.files("routerd.classify").joinpath(CUE_DIR)
    names = sorted((p.name for p in folder.iterdir() if p.name.endswith(".json")),
                   key=lambda n: (n != "en.json", n))
    return [json.loads(folder.joinpath(name).read_text(encoding="utf-8")) for name in names]


@functools.cache
def default_cues() -> CueSet:
    """The shipped cue set, read once per process (package data, not configuration)."""
    return build(read_documents(), default_common())
