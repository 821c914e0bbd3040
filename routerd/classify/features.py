"""The features of one ask: what the learned model reads.

Pure and cheap (one tokenising pass, set lookups). Three kinds, all named strings with a value:

- text: the ask's words (`w:`), word pairs at its start (`b:`), word stems (`p:`, the first
  letters of longer words, so "implement", "implementation" and "implementa" meet), CJK
  character pairs (as words);
- cues: how many members of each family in `data/cues/` occur (`cue:`), and how the ask opens
  (`open:`: a definition question, an acknowledgement, a go-ahead, a follow-up);
- structure: the ask's size, questions, numbers, separators and lists, the script it is written
  in, and what was pasted beside it (size, code or log, error output, fences).

Conversation-level features (a follow-up, a go-ahead, tools, images) are added by
`routerd.classify.context`; the pasted material itself is never read as words.
"""

from __future__ import annotations

from routerd.classify.cues import CueSet
from routerd.classify.text import Split, paste_has_error, paste_is_code
from routerd.classify.tokens import lower_text, words_of

# Words read as features: the opening and the close of a long ask carry the request.
HEAD_WORDS = 160
TAIL_WORDS = 40
BIGRAM_WORDS = 60
STEM_CHARS = 5
CUE_CAP = 3
_DIGITS = str.maketrans("0123456789", "0000000000")
# Bucket edges: a linear model needs the size of things as steps, not as one slope.
_WORD_EDGES = (2, 4, 7, 12, 20, 35, 60, 100, 180)
_PASTE_EDGES = (300, 1000, 3000, 10000, 40000)
_COUNT_EDGES = (1, 2, 3, 5, 8)


def _bucket(value: int, edges: tuple[int, ...]) -> int:
    for index, edge in enumerate(edges):
        if value < edge:
            return index
    return len(edges)


def _script(lower: str) -> str:
    if lower.isascii():
        return "ascii"
    for ch in lower:
        code = ord(ch)
        if 0x3040 <= code <= 0x30FF:
            return "kana"
        if 0xAC00 <= code <= 0xD7AF:
            return "hangul"
        if 0x4E00 <= code <= 0x9FFF:
            return "han"
        if 0x0400 <= code <= 0x04FF:
            return "cyrillic"
        if 0x0600 <= code <= 0x06FF:
            return "arabic"
        if 0x0900 <= code <= 0x097F:
            return "devanagari"
    return "latin"


def ask_features(split: Split, cues: CueSet, out: dict[str, float]) -> None:
    """Add the features of `split`'s ask and its paste to `out`."""
    ask = split.ask
    lower = lower_text(ask)
    words = [w if w.isalpha() else w.translate(_DIGITS) for w in words_of(lower)]
    n = len(words)
    read = words if n <= HEAD_WORDS + TAIL_WORDS else words[:HEAD_WORDS] + words[-TAIL_WORDS:]
    out.update(dict.fromkeys(["w:" + w for w in read], 1.0))
    pairs = words[: BIGRAM_WORDS + 1]
    out.update(dict.fromkeys([f"b:{a} {b}" for a, b in zip(pairs, pairs[1:])], 1.0))
    out.update(dict.fromkeys(["p:" + w[:STEM_CHARS] for w in read if len(w) > STEM_CHARS + 1], 1.0))
    for family, count in cues.counts(lower, read).items():
        out["cue:" + family] = float(min(count, CUE_CAP))
    for kind in ("definition", "ack", "affirm", "follow_up"):
        if cues.opens(lower, kind):
            out["open:" + kind] = 1.0
    _structure(ask, lower, words, out)
    if split.paste_chars:
        _paste(split, out)


def _structure(ask: str, lower: str, words: list[str], out: dict[str, float]) -> None:
    out[f"words:{_bucket(len(words), _WORD_EDGES)}"] = 1.0
    questions = ask.count("?") + ask.count("？")
    out[f"questions:{_bucket(questions, _COUNT_EDGES)}"] = 1.0
    numbers = sum(1 for w in words if w[:1] == "0")
    if numbers:
        out[f"numbers:{_bucket(numbers, _COUNT_EDGES)}"] = 1.0
    separators = lower.count(",") + lower.count(";") + lower.count("，") + lower.count("、")
    if separators:
        out[f"separators:{_bucket(separators, _COUNT_EDGES)}"] = 1.0
    lines = ask.count("\n")
    if lines:
        items = sum(1 for line in ask.splitlines() if line.lstrip()[:2] in ("- ", "* ", "1.", "2.", "3.", "4."))
        out[f"lines:{_bucket(lines, _COUNT_EDGES)}"] = 1.0
        if items:
            out[f"items:{_bucket(items, _COUNT_EDGES)}"] = 1.0
    out["script:" + _script(lower)] = 1.0


def _paste(split: Split, out: dict[str, float]) -> None:
    out["paste"] = 1.0
    out[f"paste_chars:{_bucket(split.paste_chars, _PASTE_EDGES)}"] = 1.0
    if paste_is_code(split):
        out["paste:code"] = 1.0
    if paste_has_error(split):
        out["paste:error"] = 1.0
    if split.fenced_blocks:
        out[f"paste_fences:{_bucket(split.fenced_blocks, _COUNT_EDGES)}"] = 1.0
