"""Words of an ask, as every part of the classifier reads them.

One tokenising pass per text: lowercase, punctuation to spaces (`str.translate`, ~3x faster than a
regex), `+ # ' - _ .` kept inside words so that "c++", "c#", "x86-64", "what's" and
"asyncio.gather" survive. CJK text has no spaces, so a run of CJK characters is cut into character
bigrams (the unit most CJK words are made of), and a Latin word glued to CJK text ("typescriptで")
is cut free. Long texts are read at the head and the tail: the request sentences sit there, and
everything the model counts in the middle (size, separators) saturates long before.
"""

from __future__ import annotations

import re
from operator import add

HEAD_CHARS = 700
TAIL_CHARS = 200
_PUNCT = "!\"$%&()*,/:;<=>?@[\\]^`{|}~“”‘«»„，。？！：；（）、…—–「」『』【】《》·"
_ASCII_PUNCT = "".join(ch for ch in _PUNCT if ch.isascii()).encode()
_ASCII_TO_SPACE = bytes.maketrans(_ASCII_PUNCT, b" " * len(_ASCII_PUNCT))
_OTHER_PUNCT = re.compile("[" + re.escape("".join(ch for ch in _PUNCT if not ch.isascii())) + "]")
_CJK_CLASS = "\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\uf900-\ufaff"
_CJK_RUN = re.compile(f"[{_CJK_CLASS}]+")
_SCRIPT_BOUNDARY = re.compile(rf"(?<=[a-z0-9])(?=[{_CJK_CLASS}])|(?<=[{_CJK_CLASS}])(?=[a-z0-9])")
_INLINE_CODE = re.compile(r"`[^`\n]{1,200}`")
INLINE_CODE = "inlinecode"
# Digits read as 0: "p95" and "p99", "3 retries" and "5 retries" are the same feature.
FOLD_DIGITS = str.maketrans("123456789", "000000000")
# The same as bytes: `bytes.translate` is a table lookup per byte, where `str.translate` with a
# mapping costs ~13 instructions per character (callgrind), and outside ASCII ~40 ns per character.
# Both byte tables map ASCII bytes only, which UTF-8 never uses inside a multi-byte character, so
# they serve any text ("surrogatepass": a lone surrogate from hostile JSON goes through unchanged).
_FOLD_DIGIT_BYTES = bytes.maketrans(b"123456789", b"000000000")


def _bytewise(text: str, table: bytes) -> str:
    return text.encode("utf-8", "surrogatepass").translate(table).decode("utf-8", "surrogatepass")


def clip(text: str) -> str:
    """The head and tail of a long text, joined by a newline."""
    if len(text) > HEAD_CHARS + TAIL_CHARS:
        return text[:HEAD_CHARS] + "\n" + text[-TAIL_CHARS:]
    return text


def lower_text(text: str) -> str:
    """The clipped, lowercased text words and phrases are read from: inline code is one placeholder
    word, digits are folded to 0, and quotes and a sentence's final dot are cut from the words."""
    text = clip(text)
    if "`" in text:
        # Inline code is an object of the request, not words of it: `latest` is a tag, not a date.
        text = _INLINE_CODE.sub(f" {INLINE_CODE} ", text)
    # Each replace is one C-level pass; cutting the same characters word by word costs 5x more.
    low = text.lower()
    low = _bytewise(low, _FOLD_DIGIT_BYTES)
    if "’" in low:
        low = low.replace("’", "'")
    if "'" in low:
        low = low.replace(" '", " ").replace("' ", " ")
    if "." in low:
        low = low.replace(". ", " ").replace(".\n", "\n")
    return low[:-1] if low.endswith(".") else low


def _spaced(lower: str) -> str:
    """Punctuation to spaces: two C passes (a `str.translate` mapping costs ~40 ns per character
    outside ASCII, ten times these). `lower_text` has already turned ’ into '."""
    return _OTHER_PUNCT.sub(" ", _bytewise(lower, _ASCII_TO_SPACE))


def words_of(lower: str) -> list[str]:
    """The words of a `lower_text`; CJK runs become character bigrams (a lone character stays one)."""
    if lower.isascii():
        return _bytewise(lower, _ASCII_TO_SPACE).split()
    if _CJK_RUN.search(lower) is None:
        # Accents, Cyrillic, Arabic, ...: no per-word regex.
        return [word.strip("'.-") or word for word in _spaced(lower).split()]
    out: list[str] = []
    for word in _spaced(_SCRIPT_BOUNDARY.sub(" ", lower)).split():
        if _CJK_RUN.search(word) is None:
            out.append(word.strip("'.-") or word)
            continue
        for piece in _CJK_RUN.split(word):
            if piece.strip("'.-"):
                out.append(piece.strip("'.-"))
        for run in _CJK_RUN.findall(word):
            if len(run) == 1:
                out.append(run)
            else:
                out.extend(map(add, run, run[1:]))  # each character with the next (C-level)
    return out


def is_cjk(lower: str) -> bool:
    """Whether the text has CJK characters."""
    return not lower.isascii() and _CJK_RUN.search(lower) is not None
