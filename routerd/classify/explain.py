"""What moved the classifier's score, said in words: one describer per feature family.

The model names its features by family (`routerd.classify.features`, `routerd.classify.context`):
the ask's words (`w:`), word pairs (`b:`) and stems (`p:`), a tool output's words (`t:`), cue
families (`cue:`, also at the ask's size, `@short|mid|long`, and counted, `+2`, `+3`), openings
(`open:`), sizes and counts in buckets (`words:`, `questions:`, `numbers`, `sentences>=`,
`separators:`, `lines:`, `items:`), the script, rare words (`rare`), pasted material (`paste`), an
agent step's tool output (`tool_`), the kind of turn and the conversation's length (`kind:`,
`turns:`; each said as what it adds over a new ask opening a conversation, which every such ask
has), tools and images. A describer says the fact of the reading a family stands for; the
features of one fact are one item (`numbers:2`, `numbers>=1`, `numbers>=2`: "2 numbers"; a cue
family at every size and count it was read at), weighed with all of its features the ask has, so
that an item never claims more or less than the model added for it. Cue families and openings say
what `data/cues/en.json` documents them as (its `meanings`), with the ask's words that belong to
them. A turn with no words (an image alone) has its word count and script said as that.

Runs only to explain (`classify`, `route --explain`), never on the routing path: it reads the
model's tables and the cue index again, which a routed request has no use for.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterable
from importlib import resources

import msgspec

from routerd.classify.bag import PAIR, STEM, WORD, Bag, key_of
from routerd.classify.context import TURN_EDGES
from routerd.classify.cues import CUE_DIR, CueSet
from routerd.classify.features import COUNT_EDGES, PASTE_EDGES, STEM_CHARS, TOOL_EDGES, TOOL_WORD, WORD_EDGES
from routerd.classify.model import BASELINE, Model
from routerd.classify.tokens import INLINE_CODE, is_cjk
from routerd.classify.types import TASK_TYPES, Because

GLOSSARY_FILE = f"{CUE_DIR}/en.json"
NEIGHBOURS = "neighbours"
# Every new ask that opens a conversation has these, so they say nothing of one such ask: weights
# of the conversation's shape are said as what they add over them (a follow-up in a long thread),
# as `top_features` ranks them (`BASELINE`, by feature prefix; here by group).
ONE_TURN_ASK = {prefix.rstrip(":"): feature for prefix, feature in BASELINE.items()}
MAX_QUOTED = 3
_NUMBER = re.compile(r"[.,:/-]*0[0.,:/-]*")  # "00", "0.0", "0:00" once digits are folded to 0
_CUE = "cue:"
# The families that read the ask's words: said as what the turn is when it has none.
_READS_WORDS = ("words:", "script:")
# A text's script is the one of its first character outside the Latin ones.
_SCRIPTS = {"ascii": "written in ASCII only", "latin": "written with accented Latin letters",
            "kana": "written in Japanese kana", "hangul": "written in Korean hangul",
            "han": "written in Han characters (Chinese, or Japanese kanji)", "cyrillic": "written in Cyrillic",
            "arabic": "written in Arabic script", "devanagari": "written in Devanagari"}
_KINDS = {"ask": "a new ask", "follow_up": "a follow-up, read with the ask it continues",
          "go_ahead": "a go-ahead, read with the ask and the offer it accepts",
          "paste_only": "a paste, read with the ask before it",
          "tool_result": "an agent step carrying tool output, read as the task it serves",
          "ack": "an acknowledgement", "empty": "an empty turn"}


class Glossary(msgspec.Struct, frozen=True):
    """What each cue family and each kind of opening stands for, as the cue data documents it."""

    families: dict[str, str] = msgspec.field(default_factory=dict)
    openers: dict[str, str] = msgspec.field(default_factory=dict)


def read_glossary(document: dict[str, object]) -> Glossary:
    """The `meanings` of a cue document (families and openers without one are said by name)."""
    return msgspec.convert(document.get("meanings", {}), Glossary)


@functools.cache
def default_glossary() -> Glossary:
    """The shipped glossary, read once per process (package data, not configuration)."""
    text = resources.files("routerd.classify").joinpath(GLOSSARY_FILE).read_text(encoding="utf-8")
    return read_glossary(json.loads(text))


def describe(bag: Bag, contributions: Iterable[tuple[str, float]], neighbours: float, model: Model,
             cues: CueSet, glossary: Glossary) -> tuple[Because, ...]:
    """The `contributions` (the features that moved the score most) said in words, each with the
    weight of every feature of the bag that says the same fact; and what the most similar labelled
    prompts added. Largest first; an item whose features cancel out is left out."""
    reading = _Reading(bag, cues, glossary)
    groups: dict[str, set[str]] = {}
    for other in bag.other:
        groups.setdefault(_group(other), set()).add(other)
    said: dict[str, tuple[float, tuple[str, ...]]] = {}
    done: set[str] = set()
    for name, _ in contributions:
        group = _group(name)
        if group in done:
            continue
        done.add(group)
        members = tuple(sorted(groups.get(group, set()) | {name}))
        says = reading.say(name, members)
        weight, features = said.get(says, (0.0, ()))
        effect = sum(_effect(model, member) for member in members)
        baseline = ONE_TURN_ASK.get(group)
        if baseline is not None:  # what the turn's kind, or the conversation's length, adds over a new ask
            effect -= _effect(model, baseline)
        said[says] = (weight + effect, features + members)
    items = [Because(says, round(weight, 3), features) for says, (weight, features) in said.items()]
    if neighbours:
        items.append(Because("the labels of the most similar training prompts", round(neighbours, 3), (NEIGHBOURS,)))
    return tuple(sorted((item for item in items if round(item.weight, 2)), key=lambda item: -abs(item.weight)))


def _effect(model: Model, name: str) -> float:
    """A feature's mean effect on the two cuts' scores, as `routerd.classify.model.top_features`
    ranks it."""
    kind, key = key_of(name)
    return model.effects(kind, (key,)).get(key, 0.0)


# The features of one fact share a group: a cue family at every size and count, every bucket of
# one count, every feature of the paste, of the tool output, of the conversation's shape.
_GROUPS = (("numbers", "numbers"), ("sentences>=", "sentences"), ("rare", "rare"), ("paste", "paste"),
           ("tool_", "tool"), ("kind:", "kind"), ("turns:", "turns"), ("words:", "words"),
           ("questions:", "questions"), ("separators:", "separators"), ("lines:", "lines"), ("items:", "items"))


def _group(name: str) -> str:
    if name.rpartition("@")[2] in TASK_TYPES:  # a feature's copy for one task type is its own fact
        return name
    if name.startswith(_CUE):
        return _CUE + name[len(_CUE):].partition("@")[0].partition("+")[0]
    if name.startswith((WORD, PAIR, STEM, TOOL_WORD)):
        return name
    return next((group for prefix, group in _GROUPS if name.startswith(prefix)), name)


def _quoted(words: Iterable[str]) -> str:
    """Words as the ask had them, quoted (digits, read as 0, as #); inline code (one word for the
    classifier) said as such."""
    return ", ".join("inline code" if word == INLINE_CODE else
                     '"' + word.replace(INLINE_CODE, "`...`").replace("0", "#") + '"' for word in words)


def _mention(words: str) -> str:
    """A word or a word pair of the ask; a number (its digits read as 0) said as one."""
    parts = words.split(" ")
    if all(_NUMBER.fullmatch(part) for part in parts):
        return "a number" if len(parts) == 1 else "two numbers in a row"
    return f"mentions {_quoted([words])}"


def _span(index: int, edges: tuple[int, ...]) -> str:
    """The values a bucket of `edges` holds: "no", "3-4", "8 or more"."""
    if index <= 0:
        return "no" if edges[0] == 1 else f"under {edges[0]:,}"
    low = edges[index - 1]
    if index >= len(edges):
        return f"{low:,} or more"
    high = edges[index] - 1
    return f"{low:,}" if high == low else f"{low:,}-{high:,}"


def _bucket(name: str) -> int:
    return int(name.rpartition(":")[2])


def _counted(members: Iterable[str], edges: tuple[int, ...], one: str, many: str) -> str:
    """A count as `members` (buckets of one count) say it: "one question mark", "3-4 line breaks";
    two readings (a follow-up with its ask) "2-3 and 7-11 words"."""
    spans = list(dict.fromkeys(_span(_bucket(m), edges) for m in members if m.rpartition(":")[2].isdigit()))
    return f"one {one}" if spans == ["1"] else f"{' and '.join(spans) or 'some'} {many}"


def _in_cjk(entry: str, words: set[str]) -> bool:
    """Whether CJK text read as `words` (character pairs, a lone character as itself) holds `entry`."""
    if len(entry) == 1:
        return any(entry in word for word in words)
    return all(entry[i:i + 2] in words for i in range(len(entry) - 1))


class _Reading:
    """The bag a classification read, and the describers that say its facts."""

    def __init__(self, bag: Bag, cues: CueSet, glossary: Glossary) -> None:
        self.bag, self.cues, self.glossary = bag, cues, glossary
        self.describers: tuple[tuple[str, Callable[[str, tuple[str, ...]], str]], ...] = (
            (WORD, lambda name, _: _mention(name[len(WORD):])), (PAIR, lambda name, _: _mention(name[len(PAIR):])),
            (STEM, self._stem), (TOOL_WORD, lambda name, _: f"the tool output says {_quoted([name[len(TOOL_WORD):]])}"),
            (_CUE, self._cue), ("open:", self._opening), ("numbers", self._numbers),
            ("sentences>=", self._sentences), ("rare", self._rare), ("paste", self._paste), ("tool_", self._tool),
            ("kind:", lambda name, _: _KINDS.get(name.partition(":")[2], name)), ("turns:", self._turns),
            ("words:", self._size),
            ("questions:", lambda _, members: _counted(members, COUNT_EDGES, "question mark", "question marks")),
            ("separators:", lambda _, members: _counted(members, COUNT_EDGES, "comma or semicolon", "commas or semicolons")),
            ("lines:", lambda _, members: _counted(members, COUNT_EDGES, "line break", "line breaks")),
            ("items:", lambda _, members: f"a list of {_counted(members, COUNT_EDGES, 'item', 'items')}"),
            ("script:", lambda name, _: _SCRIPTS.get(name.partition(":")[2], name)),
            ("percent_sign", lambda name, _: "a % sign"), ("tools", lambda name, _: "the client offers tools"),
            ("images", lambda name, _: "images in the turn"),
        )

    def say(self, name: str, members: tuple[str, ...]) -> str:
        """The fact `name` (with the other `members` of its group) stands for, in words."""
        base, _, typed = name.rpartition("@")
        if typed in TASK_TYPES:  # a feature's copy read for one task type
            return f"{self.say(base, tuple(m.rpartition('@')[0] for m in members))}, read for a {typed} ask"
        if not self.bag.words and name.startswith(_READS_WORDS):
            # The count and the script of words that are not there (an image alone reads as "under
            # 2 words, ASCII only"): both say the one fact, and are weighed as one item.
            return "an image with no words" if "images" in self.bag.other else "no words"
        for prefix, describer in self.describers:
            if name.startswith(prefix):
                return describer(name, members)
        return name

    def _stem(self, name: str, members: tuple[str, ...]) -> str:
        stem = name[len(STEM):]
        if _NUMBER.fullmatch(stem):  # a stem is a word's first letters: a long number's first digits
            return "a number" if len(stem) < STEM_CHARS else "a long number"
        words = sorted(word for word in self.bag.words if word.startswith(stem))[:MAX_QUOTED]
        return f"mentions {_quoted(words)}" if words else f'a word starting "{stem}"'

    def _cue(self, name: str, members: tuple[str, ...]) -> str:
        family = name[len(_CUE):].partition("@")[0].partition("+")[0]
        meaning = self.glossary.families.get(family, f"{family.replace('_', ' ')} words")
        found = self._members(family)
        return f"{meaning} ({_quoted(found)})" if found else meaning

    def _members(self, family: str) -> list[str]:
        """The ask's words and phrases of cue `family` (as far as its bag of words and pairs shows
        them), at most `MAX_QUOTED`."""
        cues, words, pairs = self.cues, self.bag.words, self.bag.pairs
        found = {word for word in words & cues.word_keys if family in cues.words[word]}
        for first in words & cues.phrase_keys:
            for phrase, families in cues.phrases[first]:
                parts = phrase.split()
                if family in families and all(pair in pairs for pair in zip(parts, parts[1:])):
                    found.add(" ".join(parts))
        if not all(word.isascii() for word in words):  # stems are matched in texts outside ASCII
            for size, stems in cues.stems.items():
                found.update(word for word in words if len(word) > size and family in stems.get(word[:size], ()))
        if any(map(is_cjk, words)):
            found.update(entry for entry, families in cues.spaceless if family in families and _in_cjk(entry, words))
        return sorted(found)[:MAX_QUOTED]

    def _opening(self, name: str, members: tuple[str, ...]) -> str:
        kind = name.partition(":")[2]
        meaning = self.glossary.openers.get(kind, f"opens like {kind.replace('_', ' ')}")
        found = self._opener(kind)
        return f"{meaning} ({_quoted([found])})" if found else meaning

    def _opener(self, kind: str) -> str | None:
        """The opening of `kind` the ask began with, when its words show only one (the bag keeps no
        order: "yes please" has two go-ahead openings, and no telling which came first)."""
        spaced, spaceless = self.cues.openers.get(kind, ((), ()))
        words, pairs = self.bag.words, self.bag.pairs
        found = [opening for opening in spaced if (parts := opening.split()) and all(part in words for part in parts)
                 and all(pair in pairs for pair in zip(parts, parts[1:]))]
        found += [opening for opening in spaceless if _in_cjk(opening, words)]
        # An opening inside a longer one found ("what" in "what is") is that one.
        found = [opening for opening in found if not any(opening != other and opening in other for other in found)]
        return found[0] if len(found) == 1 else None

    def _numbers(self, name: str, members: tuple[str, ...]) -> str:
        at_least = [int(m.partition(">=")[2]) for m in self.bag.other if m.startswith("numbers>=")]
        count = max(at_least, default=0)
        if count >= 10:
            return "10 or more numbers"
        return "one number" if count == 1 else f"{count or 'no'} numbers"

    def _sentences(self, name: str, members: tuple[str, ...]) -> str:
        breaks = max(int(m.partition(">=")[2]) for m in members)
        return "11 or more sentences" if breaks >= 10 else f"{breaks + 1} sentences"

    def _rare(self, name: str, members: tuple[str, ...]) -> str:
        count = max((int(m.partition(">=")[2]) for m in self.bag.other if m.startswith("rare>=")), default=0)
        if not count:
            return "no rare words"
        read = {word for pair in self.bag.pairs for word in pair} or self.bag.words
        rare = sorted(word for word in read if self.cues.common.rare([word]) == (1, 1))[:MAX_QUOTED]
        many = "6 or more rare words" if count >= 6 else "one rare word" if count == 1 else f"{count} rare words"
        return f"{many} ({_quoted(rare)})" if rare else many

    def _paste(self, name: str, members: tuple[str, ...]) -> str:
        other = self.bag.other
        what = "code" if "paste:code" in other else "text"
        if "paste:error" in other:
            what += " with error output"
        sizes = [f"{_span(_bucket(m), PASTE_EDGES)} characters" for m in other if m.startswith("paste_chars:")]
        fences = [_counted([m], COUNT_EDGES, "fenced block", "fenced blocks") for m in other if m.startswith("paste_fences:")]
        detail = ", ".join(sizes + fences)
        return f"pasted {what} ({detail})" if detail else f"pasted {what}"

    def _tool(self, name: str, members: tuple[str, ...]) -> str:
        sizes = [f"{_span(_bucket(m), TOOL_EDGES)} characters" for m in self.bag.other if m.startswith("tool_chars:")]
        return f"an agent step's tool output ({', '.join(sizes)})" if sizes else "an agent step's tool output"

    def _size(self, name: str, members: tuple[str, ...]) -> str:
        # A continuation is read with the ask it continues: one size each.
        asks = "an ask" if len(members) == 1 else "asks"
        return f"{asks} of {_counted(members, WORD_EDGES, 'word', 'words')}"

    def _turns(self, name: str, members: tuple[str, ...]) -> str:
        turns = _bucket(name)
        return "a one-turn conversation" if turns == 0 else f"a conversation of {_span(turns, TURN_EDGES)} turns"
