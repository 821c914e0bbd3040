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
import sys
from collections.abc import Iterable, Iterator
from itertools import repeat
from operator import add, getitem

HEAD_CHARS = 700
TAIL_CHARS = 200
ALL = sys.maxsize  # a `window` as long as any text: every word
_PUNCT = "!\"$%&()*,/:;<=>?@[\\]^`{|}~“”‘«»„，。？！：；（）、…—–「」『』【】《》·"
_ASCII_PUNCT = "".join(ch for ch in _PUNCT if ch.isascii()).encode()
_ASCII_TO_SPACE = bytes.maketrans(_ASCII_PUNCT, b" " * len(_ASCII_PUNCT))
_NOT_ASCII_PUNCT = bytes(sorted(set(range(128)) - set(_ASCII_PUNCT)))
_WIDE_PUNCT = "".join(ch for ch in _PUNCT if not ch.isascii())
_CJK_CLASS = "\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\uf900-\ufaff"
_CJK_RUN = re.compile(f"[{_CJK_CLASS}]+")
_CJK_SPLIT = re.compile(f"([{_CJK_CLASS}]+)").split
# A text of ASCII and CJK characters alone (`_parts`): a possessive run of one class costs half
# of a search for a character outside it (28,900 against 54,200 instructions for
# bench/_latency.py's Korean prompt, by callgrind), and stops where the search would.
_PLAIN = re.compile(f"[\\x00-\\x7f{_CJK_CLASS}]*+")
_LATIN_OR_DIGIT = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")
# A plain word's bytes (`_plain_parts`) with every ASCII character but a Latin letter, a digit and
# the "?" that stands for a CJK character as "-": a mark beside a run is then "?-" or "-?".
_MARKS_AS_DASH = bytes(byte if byte in b"abcdefghijklmnopqrstuvwxyz0123456789?" else ord("-") for byte in range(256))
_INLINE_CODE = re.compile(r"`[^`\n]{1,200}`")
INLINE_CODE = "inlinecode"
# The slice of each character pair of a run up to `_LONGEST_SLICED` characters (`_cut`): a CJK run
# between two marks is rarely longer (the slices take 8 KB).
_PAIR_SLICES = tuple(slice(start, start + 2) for start in range(127))
_LONGEST_SLICED = len(_PAIR_SLICES) + 1
# Digits read as 0: "p95" and "p99", "3 retries" and "5 retries" are the same feature.
FOLD_DIGITS = str.maketrans("123456789", "000000000")
# The same as bytes: `bytes.translate` is a table lookup per byte, where `str.translate` with a
# mapping costs ~13 instructions per character (callgrind), and outside ASCII ~40 ns per character.
_FOLD_DIGIT_BYTES = bytes.maketrans(b"123456789", b"000000000")


def _bytewise(ascii_text: str, table: bytes) -> str:
    """An ASCII text through a byte table: one lookup per character."""
    return ascii_text.encode().translate(table).decode()


def _replaced(text: str, characters: str, by: str) -> str:
    """`text` with each of `characters` replaced by `by`: a text outside ASCII is not run through
    a byte table (its UTF-8 encoding and decoding cost ~50 instructions a character, 140,000 for
    bench/_latency.py's Japanese prompt), but tested for each character (a memchr of the text, or
    nothing when the character is wider than any of the text's) and replaced where it holds it."""
    for character in characters:
        if character in text:
            text = text.replace(character, by)
    return text


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
    low = _bytewise(low, _FOLD_DIGIT_BYTES) if low.isascii() else _replaced(low, "123456789", "0")
    if "’" in low:
        low = low.replace("’", "'")
    if "'" in low:
        low = low.replace(" '", " ").replace("' ", " ")
    if "." in low:
        low = low.replace(". ", " ").replace(".\n", "\n")
    return low[:-1] if low.endswith(".") else low


def _spaced(lower: str) -> str:
    """Punctuation to spaces, in a text outside ASCII (`lower_text` has already turned ’ into ').
    The ASCII marks present are read from the text's ASCII characters alone (`encode` with
    "ignore" drops the others in one C pass, `bytes.translate` keeps the marks): an `in` per
    mark over the whole text is a memchr of its low byte, which in CJK text stops at nearly every
    character (kana are U+30xx: 0x30 is "0", their low bytes run over "A-z" and "[\\]^_`{|}~";
    ~80,000 instructions for bench/_latency.py's Japanese prompt, by callgrind). The marks outside
    ASCII are tested and replaced one by one (`_replaced`): their low bytes are rare in any text. A
    regex substitution of the marks costs more (~8 us on that prompt, which has 38 of them: a match
    object each), and `str.translate` with a mapping ~40 ns per character."""
    marks = lower.encode("ascii", "ignore").translate(None, _NOT_ASCII_PUNCT)
    for mark in set(marks.decode()):  # each replaces its own characters: any order is the same text
        lower = lower.replace(mark, " ")
    return _replaced(lower, _WIDE_PUNCT, " ")


def words_of(lower: str) -> list[str]:
    """The words of a `lower_text`; CJK runs become character bigrams (a lone character stays one)."""
    return window(lower, ALL, 0)[0]


def window(lower: str, head: int, tail: int, counted: int = ALL) -> tuple[list[str], int]:
    """The words of a `lower_text` as `words_of` reads them, only the first `head` and the last
    `tail` of them (in that order) when there are more than `head + tail`; and how many there are,
    or, past `counted` of them, some number past `counted` (for a caller to whom more are all alike).

    The classifier reads a long ask's head and tail words and only counts the rest. A CJK
    character pair is a new string (~90 ns each): a clipped ask of 900 Japanese characters has ~670
    of them, where its 150 read words need only those in the window, and its words between the
    window's ends are read only as far as `counted`."""
    words, cjk, plain = _split(lower)
    if cjk:
        return _cjk_window(words, plain, head, tail, max(counted, head + tail))
    n = len(words)
    return (words if n <= head + tail else words[:head] + words[n - tail :]), n


def first_words(lower: str, head: int) -> Iterable[str]:
    """The first `head` words of a `lower_text` (`window(lower, head, 0)`'s words). A CJK text's
    come one at a time, each cut only when it is read, so a reader that needs fewer stops early:
    there a word costs ~0.25 us (its pairs and its cuts between scripts), elsewhere ~0.05 us."""
    if head <= 0:
        return []
    words, cjk, plain = _split(lower)
    return _first_cjk(words, plain, head) if cjk else words[:head]


def _split(lower: str) -> tuple[list[str], bool, bool]:
    """A `lower_text`'s space-separated words, whether they are CJK text's, still to be cut into
    parts (`_parts`; every other text's are its words), and whether that text has only ASCII and
    CJK characters (`_parts` then tells a word that is one CJK run without a regex)."""
    if lower.isascii():
        return _bytewise(lower, _ASCII_TO_SPACE).split(), False, False
    spaced = _spaced(lower)
    words = spaced.split()
    if _CJK_RUN.search(lower) is None:
        # Accents, Cyrillic, Arabic, ...: no per-word regex.
        return [word.strip("'.-") or word for word in words], False, False
    # One scan of the spaced text, whose words are read: Chinese and Japanese marks ("。", "、") are
    # spaces there, so their texts are plain too.
    return words, True, _PLAIN.fullmatch(spaced) is not None


def _first_cjk(words: list[str], plain: bool, head: int) -> Iterator[str]:
    """`first_words` of a CJK text's space-separated `words`, read as far as they are consumed."""
    parts: list[str] = []
    counts: list[int] = []
    left = head
    for word in words:
        parts.clear()
        counts.clear()
        _parts((word,), plain, parts, counts, ALL)
        for part, count in zip(parts, counts):
            read = [part] if count == 1 else _cut(part)
            if len(read) >= left:
                yield from read[:left]
                return
            yield from read
            left -= len(read)


def _cjk_window(words: list[str], plain: bool, head: int, tail: int, counted: int) -> tuple[list[str], int]:
    """`window` for a CJK text's space-separated `words`: read from the start until they stand for
    more than `head` words (`_parts`), and on until more than `counted` unless the words left are
    more than that already (each stands for one or more); then, if some are left, from the end until
    the last ones stand for `tail`. Only the parts the window reads are cut into character pairs, and
    only the words it reads are cut into parts: a Korean ask's words between its 120th and 180th
    (~30 words, ~65,000 instructions for bench/_latency.py's Korean prompt, callgrind) are counted
    by the words left."""
    parts: list[str] = []
    counts: list[int] = []
    n, start = _parts(words, plain, parts, counts, head)
    left = len(words) - start
    if left and n + left <= counted:  # the count must be exact this far: read on
        more, read = _parts(words[start:], plain, parts, counts, counted - n)
        n += more
        start += read
        left -= read
    if n <= head + tail and not left:
        return _first(parts, counts, n), n
    end_parts: list[str] = []
    end_counts: list[int] = []
    last = 0
    for word in reversed(words[start:]):
        if last >= tail:
            break
        more_parts: list[str] = []
        more_counts: list[int] = []
        last += _parts((word,), plain, more_parts, more_counts, ALL)[0]
        left -= 1
        end_parts[:0] = more_parts
        end_counts[:0] = more_counts
    if last < tail:  # every word was read: the window's end reaches into the first ones
        parts += end_parts
        counts += end_counts
        end_parts, end_counts = parts, counts
    # The words left unread between the ends stand for one or more each.
    return _first(parts, counts, head) + _last(end_parts, end_counts, tail), n + last + left


def _parts(words: Iterable[str], plain: bool, parts: list[str], counts: list[int], counted: int) -> tuple[int, int]:
    """Add the space-separated words of a CJK text to `parts`, in reading order, and how many words
    each part stands for to `counts`, until they stand for more than `counted`: a CJK run of three
    or more characters is one word per character pair (`_cut`); anything else is itself. Returns
    how many words they stand for and how many of `words` were read. `plain`: the text has only
    ASCII and CJK characters (`_split`).

    Most words of a text with spaces (Korean) are one CJK run or have none. A word without ASCII
    characters in a `plain` text is one run; `encode` with "ignore" keeps a word's ASCII (none: the
    empty bytes, no new object) for ~50 ns, where a regex split costs ~130 ns and the Python
    reading its segments twice that (~60 us for bench/_latency.py's Korean prompt, by timeit).
    The same holds for a word whose ASCII characters (what `encode` kept) are its start, the rest
    one run, as Korean particles follow a Latin word. Other words are split (`_other_parts`)."""
    n = read = 0
    append_part, append_count = parts.append, counts.append
    for word in words:
        if n > counted:
            break
        read += 1
        if word.isascii():
            append_part(word.strip("'.-") or word)
            append_count(1)
            n += 1
        elif not plain:
            n += _other_parts(word, parts, counts)
        elif not (kept := word.encode("ascii", "ignore")):  # one run
            count = len(word) - 1 or 1
            append_part(word)
            append_count(count)
            n += count
        elif (front := word[: len(kept)]).isascii():  # ASCII, then one run: "postgresql과", "redis에서"
            # As `_mixed_parts` reads it: the ASCII, stripped, is a word if anything is left of it.
            if stripped := front.strip("'.-"):
                append_part(stripped)
                append_count(1)
                n += 1
            run = word[len(kept) :]
            count = len(run) - 1 or 1
            append_part(run)
            append_count(count)
            n += count
        else:  # runs and ASCII by turns: "我们在postgres和redis上运行"
            n += _plain_parts(word, parts, counts)
    return n, read


def _plain_parts(word: str, parts: list[str], counts: list[int]) -> int:
    """`_parts` of a word of a plain text with CJK runs and ASCII by turns, without a regex (a split
    costs ~7,000 instructions a call, by callgrind, ~9,500 with `_mixed_parts` reading its result for
    a word of bench/_latency.py's Chinese prompt): `encode` with "replace" writes each CJK character
    as "?" (the text has no "?" of its own: `_spaced` made it a space), so the word's bytes hold its
    ASCII texts, in order, between the runs; each is then cut from the word with `partition`, the
    run before it with it. A mark beside a run ("c++で", "日本-") is left to `_other_parts`; where
    Latin letters and digits alone meet the runs, each run and each text is a part, the texts
    stripped of their marks at the word's ends ("'postgres日本"), as `_mixed_parts` reads them."""
    coded = word.encode("ascii", "replace")
    marked = coded.translate(_MARKS_AS_DASH)
    # `find`, not `in`: `in` first reads its operand as a byte's value, and raising and clearing
    # that TypeError costs ~2,000 instructions (callgrind).
    if marked.find(b"?-") >= 0 or marked.find(b"-?") >= 0:
        return _other_parts(word, parts, counts)
    n = 0
    rest = word
    for latin in coded.replace(b"?", b" ").split():
        text = latin.decode()
        run, _, rest = rest.partition(text)
        if run:
            parts.append(run)
            counts.append(len(run) - 1 or 1)  # `_words_in`, inline: a call costs more than the count
            n += counts[-1]
        parts.append(text.strip("'.-"))  # never empty: a Latin letter or digit meets a run
        counts.append(1)
        n += 1
    if rest:
        parts.append(rest)
        counts.append(len(rest) - 1 or 1)
        n += counts[-1]
    return n


def _other_parts(word: str, parts: list[str], counts: list[int]) -> int:
    """`_parts` of a word of any other kind: one regex pass tells a word without CJK, one run and
    a mix apart (a match costs ~1,500 instructions, more than the Python that reads its result).
    Returns how many words it stands for."""
    segments = _CJK_SPLIT(word)  # text outside runs (perhaps empty) and runs, by turns
    if len(segments) == 1:  # no CJK
        parts.append(word.strip("'.-") or word)
        counts.append(1)
        return 1
    if len(segments) == 3 and not segments[0] and not segments[2]:  # one run
        parts.append(word)
        counts.append(_words_in(word))
        return counts[-1]
    before = len(counts)
    _mixed_parts(segments, parts, counts)
    return sum(counts[before:])


def _mixed_parts(segments: list[str], parts: list[str], counts: list[int]) -> None:
    """`_parts` of a word with CJK runs and other characters, split into its `segments`: a
    Latin letter or digit beside a run starts a new word ("typescriptで" is two; found from the
    runs' neighbours, as a regex with lookarounds costs ~1.7 us per word); in each such word, the
    other characters glued to its runs ("é日本", "_設定") go first, then the runs."""
    if all(other[0] in _LATIN_OR_DIGIT and other[-1] in _LATIN_OR_DIGIT for other in segments[::2] if other):
        # Every run and every text between them is a word of its own ("postgresとredisで", "p99レイテンシ",
        # nearly all of them), and the text needs no stripping: each segment is a part.
        for index, segment in enumerate(segments):
            if segment:
                parts.append(segment)
                counts.append(_words_in(segment) if index % 2 else 1)
        return
    pieces: list[str] = []  # the current word's text outside its runs
    runs: list[str] = []
    for index, segment in enumerate(segments):
        if not segment:
            continue
        if index % 2:  # a run: a new word if a Latin letter or digit is just before it
            if segments[index - 1][-1:] in _LATIN_OR_DIGIT:
                _flush(pieces, runs, parts, counts)
            runs.append(segment)
        else:  # other text: a new word if it follows a run and starts with a Latin letter or digit
            if index and segment[0] in _LATIN_OR_DIGIT:
                _flush(pieces, runs, parts, counts)
            pieces.append(segment)
    _flush(pieces, runs, parts, counts)


def _flush(pieces: list[str], runs: list[str], parts: list[str], counts: list[int]) -> None:
    """One word of `_mixed_parts` into `parts`: its other characters, then its runs."""
    if not runs:
        for piece in pieces:  # one piece: a word without CJK
            parts.append(piece.strip("'.-") or piece)
            counts.append(1)
    else:
        for piece in pieces:
            if piece.strip("'.-"):
                parts.append(piece.strip("'.-"))
                counts.append(1)
        for run in runs:
            parts.append(run)
            counts.append(_words_in(run))
    pieces.clear()
    runs.clear()


def _words_in(run: str) -> int:
    """How many words a CJK run stands for: its character pairs, or the lone character."""
    return len(run) - 1 or 1


def _cut(run: str) -> list[str]:
    """Each character of a CJK run with the next (C-level): slices of the run by stored slices
    (`_PAIR_SLICES`) make one string per pair, where `add` over its characters makes three (a
    1-character string outside Latin-1 is a new object): ~20% fewer instructions (callgrind)."""
    if 1 < len(run) <= _LONGEST_SLICED:
        return list(map(getitem, repeat(run), _PAIR_SLICES[: len(run) - 1]))
    return list(map(add, run, run[1:]))


def _first(parts: list[str], counts: list[int], head: int) -> list[str]:
    """The first `head` words the parts stand for: of the last run read, only the pairs needed are
    cut (a pair costs ~900 instructions; by callgrind, ~20,000 were cut past the 120th word of
    bench/_latency.py's Japanese prompt and thrown away). A run of three or four characters (most
    Korean words) is cut by slicing it in place: `_cut`'s call and map cost twice its slices."""
    words: list[str] = []
    append = words.append
    for part, count in zip(parts, counts):
        left = head - len(words)
        if left <= 0:
            break
        if count == 1:
            append(part)
        elif count > left:
            words.extend(_cut(part[: left + 1]))
        elif count == 2:
            append(part[:2])
            append(part[1:])
        elif count == 3:
            append(part[:2])
            append(part[1:3])
            append(part[2:])
        else:
            words.extend(_cut(part))
    return words


def _last(parts: list[str], counts: list[int], tail: int) -> list[str]:
    """The last `tail` words the parts stand for (gathered from the end, as `_first` cuts them)."""
    ends: list[str] = []  # from the last word back
    append = ends.append
    need = tail
    for part, count in zip(reversed(parts), reversed(counts)):
        if need <= 0:
            break
        if count == 1:
            append(part)
        elif count > need:
            ends.extend(reversed(_cut(part[-need - 1 :])))
        elif count == 2:
            append(part[1:])
            append(part[:2])
        elif count == 3:
            append(part[2:])
            append(part[1:3])
            append(part[:2])
        else:
            ends.extend(reversed(_cut(part)))
        need -= count
    ends.reverse()
    return ends


def is_cjk(lower: str) -> bool:
    """Whether the text has CJK characters."""
    return not lower.isascii() and _CJK_RUN.search(lower) is not None
