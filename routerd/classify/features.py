"""The features of one ask: what the learned model reads.

Pure and cheap (one tokenising pass, set lookups). Every feature is binary, a member of a
`routerd.classify.bag.Bag` (a set of names, with words, pairs and stems kept unnamed); three kinds:

- text: the ask's words (`w:`), word pairs at its start (`b:`), word stems (`p:`, the first
  letters of longer words, so "implement", "implementation" and "implementa" meet), CJK
  character pairs (as words);
- cues: whether members of each family in `data/cues/` occur (`cue:family`, `+2` and `+3` for two
  and three or more; `cue:family@short|mid|long` by the ask's size), and how the ask opens
  (`open:`: a definition question, an acknowledgement, a go-ahead, a follow-up);
- rare words: how many of the ask's first words are not everyday words in any cue language
  (`rare>=k`, `rare_share:`; `routerd.classify.common`);
- structure: the ask's size, questions, numbers, separators and lists, the script it is written
  in, and what was pasted beside it (size, code or log, error output, fences);
- an agent step's tool output (`tool_features`): its size, and its first words as `t:` names.

Conversation-level features (a follow-up, a go-ahead, tools, images) are added by
`routerd.classify.context`; the pasted material itself is never read as words.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from operator import itemgetter

from routerd.classify.bag import Bag
from routerd.classify.cues import CueSet
from routerd.classify.paste import Split, paste_has_error, paste_is_code
from routerd.classify.tokens import clip, lower_text, window, words_of

# Words read as features: the opening and the close of a long ask carry the request.
HEAD_WORDS = 120
TAIL_WORDS = 30
BIGRAM_WORDS = 60
STEM_CHARS = 5
_STEM = itemgetter(slice(STEM_CHARS))
# Bucket edges: a linear model needs the size of things as steps, not as one slope.
WORD_EDGES = (2, 4, 7, 12, 20, 35, 60, 100, 180)
PASTE_EDGES = (300, 1000, 3000, 10000, 40000)
COUNT_EDGES = (1, 2, 3, 5, 8)
TOOL_EDGES = (100, 300, 1000, 3000, 10000)
TOOL_WORD = "t:"
MAX_TOOL_WORDS = 60
_TOOL_WORD_CHARS = 24
MAX_COUNTED = 10
_AT_LEAST_NUMBERS = tuple(f"numbers>={k}" for k in range(1, MAX_COUNTED + 1))
_AT_LEAST_SENTENCES = tuple(f"sentences>={k}" for k in range(1, MAX_COUNTED + 1))
# Rare words (not everyday words of any cue language) among the ask's first words, as cumulative
# indicators, and their share in fifths.
MAX_RARE = 6
_AT_LEAST_RARE = tuple(f"rare>={k}" for k in range(1, MAX_RARE + 1))
# Scripts by character range; one regex search finds the first character of any of them.
_SCRIPTS = (("kana", "\u3040-\u30ff"), ("hangul", "\uac00-\ud7af"), ("han", "\u4e00-\u9fff"),
            ("cyrillic", "\u0400-\u04ff"), ("arabic", "\u0600-\u06ff"), ("devanagari", "\u0900-\u097f"))
_SCRIPT_CHAR = re.compile("[" + "".join(chars for _, chars in _SCRIPTS) + "]")
_SCRIPT_RANGES = tuple((ord(chars[0]), ord(chars[-1]), name) for name, chars in _SCRIPTS)
# The size an ask's cue families are read at: "proof" in five words is another ask than in a page.
_SEPARATORS = (",", ";", "，", "、")
_SIZE_EDGES = (12, 60)
_SIZES = ("short", "mid", "long")


def _names(prefix: str, edges: tuple[int, ...]) -> tuple[str, ...]:
    """The names of the buckets `edges` cut, built once: a value's bucket is the index of the first
    edge above it, `bisect_right(edges, value)` (a bisection in C; a loop and an f-string per
    feature cost ~3,000 instructions: callgrind)."""
    return tuple(f"{prefix}:{index}" for index in range(len(edges) + 1))


_WORDS = _names("words", WORD_EDGES)
_QUESTIONS = _names("questions", COUNT_EDGES)
_NUMBERS = _names("numbers", COUNT_EDGES)
_SEPARATOR_NAMES = _names("separators", COUNT_EDGES)
_LINES = _names("lines", COUNT_EDGES)
_ITEMS = _names("items", COUNT_EDGES)
_PASTE_CHARS = _names("paste_chars", PASTE_EDGES)
_PASTE_FENCES = _names("paste_fences", COUNT_EDGES)
_TOOL_CHARS = _names("tool_chars", TOOL_EDGES)


def _script(lower: str) -> str:
    """The script of the text's first character outside the Latin ones ("ascii", "latin" if none)."""
    if lower.isascii():
        return "ascii"
    found = _SCRIPT_CHAR.search(lower)
    if found is None:
        return "latin"
    code = ord(found.group())
    return next(name for first, last, name in _SCRIPT_RANGES if first <= code <= last)


def tool_features(tool_text: str, tool_chars: int, out: Bag) -> None:
    """What an agent step's tool output shows: its size, and its first words (`t:`, up to
    `MAX_TOOL_WORDS` of 3 to 24 letters, from the head of the first result and the tail of the last:
    `routerd.classify.text.Turn.tool_window`). They are kept apart from the ask's words, and
    out of the neighbour index: a traceback's or a test run's words say what the next step faces
    (a race detector's report, a deadlock, one failing assertion, all green), not what was asked."""
    out.other.add(_TOOL_CHARS[bisect_right(TOOL_EDGES, tool_chars)])
    kept = [word for word in dict.fromkeys(words_of(lower_text(tool_text)))
            if 3 <= len(word) <= _TOOL_WORD_CHARS and not word.isdigit()]
    out.other.update([TOOL_WORD + word for word in kept[:MAX_TOOL_WORDS]])


def ask_features(split: Split, cues: CueSet, out: Bag, lower: str | None = None) -> None:
    """Add the features of `split`'s ask and its paste to `out` (`lower`: the ask's `lower_text`,
    when the caller has it)."""
    ask = split.ask
    if lower is None:
        lower = lower_text(ask)
    # All the words when there are few; counted only as far as the largest size told apart.
    words, n = window(lower, HEAD_WORDS, TAIL_WORDS, WORD_EDGES[-1])
    read = set(words)
    # Words, pairs and stems go in as they are (no names built: see routerd.classify.bag), each
    # with one C-level pass.
    out.words.update(read)
    pairs = words[: BIGRAM_WORDS + 1]
    out.pairs.update(zip(pairs, pairs[1:]))
    rare, seen = cues.common.rare(set(pairs))
    if seen:
        out.other.update(_AT_LEAST_RARE[: min(rare, MAX_RARE)])
        out.other.add(f"rare_share:{min(rare * 5 // seen, 4)}")
    # A short word is its own stem: no length test per word (it would cost more than the feature).
    out.stems.update(map(_STEM, read))
    add = out.other.add
    size = _SIZES[bisect_right(_SIZE_EDGES, n)]
    for family, count in cues.counts(lower, read).items():
        # Counts as cumulative indicators (one, two, three or more members): every feature is binary.
        add("cue:" + family)
        add(f"cue:{family}@{size}")
        if count > 1:
            add(f"cue:{family}+2")
            if count > 2:
                add(f"cue:{family}+3")
    for kind in ("definition", "ack", "affirm", "follow_up"):
        if cues.opens(lower, kind):
            add("open:" + kind)
    # Counts saturate long before the end of a long ask: read them in the same window as the words,
    # so a 4 KB paste of prose costs no more than its first kilobyte.
    _structure(clip(ask), lower, n, out)
    if split.paste_chars:
        _paste(split, out)


def _structure(ask: str, lower: str, n: int, out: Bag) -> None:
    add = out.other.add  # not `out.add`: a Python call per feature costs more than the set's add
    add(_WORDS[bisect_right(WORD_EDGES, n)])
    # A two-character count walks the whole text (~1 us per kilobyte); a one-character `in` is a
    # memchr, so each count runs only when its rarer character occurs (else it is 0 anyway).
    questions = ask.count("?") + ask.count("？") if "?" in ask or "？" in ask else 0
    add(_QUESTIONS[bisect_right(COUNT_EDGES, questions)])
    # Digits are folded to 0 (tokens.FOLD_DIGITS): a number is a 0 after a space, a bracket or a sign
    # (counted in C; a pass over the words costs ten times more).
    numbers = 0
    if "0" in lower:
        numbers = lower.count(" 0") + lower.startswith("0")
        if "(" in lower:
            numbers += lower.count("(0")
        if "$" in lower:
            numbers += lower.count("$0")
    if numbers:
        add(_NUMBERS[bisect_right(COUNT_EDGES, numbers)])
        # Each quantity in a word problem is usually one more operation: cumulative indicators let a
        # linear model give every extra quantity its own weight, up to where it stops mattering.
        out.other.update(_AT_LEAST_NUMBERS[: min(numbers, MAX_COUNTED)])
    sentences = ask.count(". ") + ask.count(".\n") if "." in ask else 0
    if questions:
        sentences += ask.count("? ")
    if "!" in ask:
        sentences += ask.count("! ")
    if "。" in ask:
        sentences += ask.count("。")
    if sentences:
        out.other.update(_AT_LEAST_SENTENCES[: min(sentences, MAX_COUNTED)])
    if "%" in ask:
        add("percent_sign")
    # Each count runs only where its mark is (a count of a CJK text's ~900 characters ~6,000
    # instructions, the memchr of `in` a few hundred: callgrind).
    separators = sum(map(lower.count, filter(lower.__contains__, _SEPARATORS)))
    if separators:
        add(_SEPARATOR_NAMES[bisect_right(COUNT_EDGES, separators)])
    lines = ask.count("\n") if "\n" in ask else 0
    if lines:
        items = sum(1 for line in ask.splitlines() if line.lstrip()[:2] in ("- ", "* ", "1.", "2.", "3.", "4."))
        add(_LINES[bisect_right(COUNT_EDGES, lines)])
        if items:
            add(_ITEMS[bisect_right(COUNT_EDGES, items)])
    add("script:" + _script(lower))


def _paste(split: Split, out: Bag) -> None:
    add = out.other.add
    add("paste")
    add(_PASTE_CHARS[bisect_right(PASTE_EDGES, split.paste_chars)])
    if paste_is_code(split):
        add("paste:code")
    if paste_has_error(split):
        add("paste:error")
    if split.fenced_blocks:
        add(_PASTE_FENCES[bisect_right(COUNT_EDGES, split.fenced_blocks)])
