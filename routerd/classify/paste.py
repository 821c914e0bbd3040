"""Cutting a user turn into the *ask* (what the person wants) and the *paste* (code fences, logs,
documents attached to it), because difficulty lives in the ask: a 3 KB build log with "what's the
error here" is an easy request.

Hand-written general facts: a fenced block is pasted; a paragraph that does not read like typed
prose (a log, a config, code) is pasted, and so is prose after it unless it closes the message with
a question; "summarize this" followed by paragraphs of prose is an ask over a pasted document. A
long message is read within bounds (`READ_HEAD_CHARS`, `HEAD_PARAGRAPHS`, `MAX_LINES`, ...), so that
no message costs more than its bounded part; the bounds are above everything the model was trained
on (`routerd.classify.text`).
"""

from __future__ import annotations

import re
import string
from itertools import islice

import msgspec

_PARAGRAPH_SPLIT = re.compile(r"\n[ \t]*\n")
# A line that reads like typed prose: starts with a letter (or a quote/markdown emphasis) and is
# mostly letters and spaces. Logs, configs, diffs and code fail one of the two tests.
_PROSE_START = re.compile(r"^(?:\*\*@?\w+\*\*:?\s*)?[\"'(*_]?[^\W\d_]")
_NON_PROSE_CHAR = re.compile(r"[^\w\s]|\d")
_PROSE_BYTES = bytes(string.ascii_letters + " _\t", "ascii")
_DEICTIC = re.compile(
    r"\b(?:this|these|here|below|following|attached|above)\b|:\s*$", re.I
)

# Paragraphs of pasted prose (a document to summarise or proofread) are told apart from a long ask
# by count: an ask rarely runs past two prose paragraphs after the first one.
_DOCUMENT_MIN_PARAGRAPHS = 3
FENCE_MARK = "\x00fence\x00"
_FENCE_PARAGRAPH = f"\n\n{FENCE_MARK}\n\n"  # what stands for a fenced block in the text
_CLOSING_ASK_MAX_CHARS = 600
_CLOSING_ASK = re.compile(r"\b(?:i want|i need|we need|we want|please|pls|can you|could you|must|constraints?)\b", re.I)
# Substrings that occur in source code far more than in logs, configs or prose. Three or more in
# the pasted material make it code, which is harder to diagnose than a log with the error in it.
_CODE_MARKS = ("return ", "def ", "func ", "fn ", "#include", "const ", "let ", "if (", "for (", "while ",
               "self.", "async ", "await ", "class ", "=> {", "void ", "try:", "except ", ":= ", "defer ",
               "package ", "impl ", "pub fn", "public ", "#!/")
_CODE_MARKS_MIN = 2
# A fence labelled with a programming language holds code, however few marks its head shows.
_CODE_FENCE_TAGS = frozenset(
    "python py go golang rust rs c cpp c++ h java kotlin kt js javascript ts typescript tsx jsx ruby rb php "
    "swift scala cs csharp haskell hs ocaml ml elixir ex zig lua perl dart sh bash zsh".split()
)
_CODE_SAMPLE_CHARS = 480
_PROSE_SAMPLE_CHARS = 200
_DOCUMENT_MIN_CHARS = 600
# What is read of one message, whatever its size (why these bounds: `routerd.classify.text`).
READ_HEAD_CHARS = 16_384  # of a longer message, its head and its tail (the middle: `split_ask`)
READ_TAIL_CHARS = 4_096
MAX_FENCES = 64  # fenced blocks cut out one by one; later ones stay in the text, read as its paragraphs
HEAD_PARAGRAPHS = 48  # of a message with more, the first and the last are read (the others: `split_ask`)
TAIL_PARAGRAPHS = 16
MAX_LINES = 320  # of a paragraph, read to tell prose from pasted material
_ELIDED_MARK = "\x00elided\x00"  # where the middle of a long message was
_SAMPLE_PARAGRAPHS = 8  # of what was not read, at each end: whether it reads as prose
_SAMPLE_CHARS = 4_096


class Split(msgspec.Struct, frozen=True):
    """A user turn cut into the ask and the attached material."""

    ask: str
    paste_chars: int
    fenced_blocks: int
    paste_head: str = ""  # the start of the pasted material, to tell code from logs on demand


def _is_prose_line(line: str) -> bool:
    # The first couple of hundred characters show whether a line is prose; long lines cost no more.
    head = line[: _PROSE_SAMPLE_CHARS + 8]
    stripped = head.strip()
    if not stripped:
        return True
    if head[:1] in (" ", "\t") and len(head) - len(head.lstrip()) >= 2:
        return False
    # A letter first passes the pattern (its optional parts match nothing); the test costs a tenth of it.
    if not (stripped[0].isalpha() or _PROSE_START.match(stripped)):
        return False
    if stripped.isascii():
        # Deleting letters and spaces in C leaves what is not prose (digits, symbols).
        other = len(stripped.encode().translate(None, _PROSE_BYTES))
    else:
        other = len(_NON_PROSE_CHAR.findall(stripped))
    return other <= 0.28 * len(stripped)


def _lines(text: str) -> list[str]:
    """`text.splitlines()`, without the per-character walk for ASCII text with no line break in it
    (\\n \\r \\x0b \\x0c \\x1c \\x1d \\x1e, where str.splitlines breaks an ASCII text; a one-character `in`
    is a memchr)."""
    # Seven `in` tests: each a memchr, where a generator or a map over them costs ~1,000 instructions
    # a mark (callgrind).
    if text.isascii() and not ("\n" in text or "\r" in text or "\x0b" in text or "\x0c" in text
                               or "\x1c" in text or "\x1d" in text or "\x1e" in text):
        return [text] if text else []
    return text.splitlines()


def _is_prose_paragraph(paragraph: str) -> bool:
    lines = _lines(paragraph)[:MAX_LINES]
    if not lines:
        return True
    prose = sum(map(_is_prose_line, lines))  # True counts 1
    return prose * 3 >= len(lines) * 2


def _has_code_marks(paste: str) -> bool:
    """Whether `paste` shows `_CODE_MARKS_MIN` distinct marks. Each found with `in` (C-speed: a regex
    over a 4 KB paste would cost more than the whole decision), and no further than the last one
    needed: on a code paste the search stops after a few marks (0.26 us against 4.9 us for all 25
    on a 480-character Python head, timeit)."""
    found = filter(paste.__contains__, _CODE_MARKS)
    return next(islice(found, _CODE_MARKS_MIN - 1, None), None) is not None


def _keeps_after_paste(paragraph: str) -> bool:
    """Prose closing a message after pasted material is the ask if it asks something."""
    text = paragraph.strip()
    if len(text) > _CLOSING_ASK_MAX_CHARS:
        return False
    return "?" in text or bool(_CLOSING_ASK.search(text))


def _find_run(text: str, run: str, pos: int) -> int:
    """`text.find(run, pos)` for a fence's three characters, found by searching for the single
    character first.

    A one-character find is a memchr; a three-character one costs ~2.5 us per 4 KB on CPython 3.11.
    Most messages have no backtick or tilde at all, or the first one opens a fence; otherwise (inline
    code first) the three-character search takes over, so the cost never exceeds the plain find's.
    """
    at = text.find(run[0], pos)
    if at >= 0 and not text.startswith(run, at):
        at = text.find(run, at + 1)
    return at


def _cut_fences(text: str, fenced: list[str]) -> str:
    """Replace each fenced block with a marker paragraph, appending the blocks to `fenced` (the
    first `MAX_FENCES`: the text after them is left as it is, to be read as pasted material).

    str.find instead of a regex: a lazy DOTALL pattern costs ~100 us on a 4 KB message.
    """
    out: list[str] = []
    pos = 0
    # The next run of each kind, searched for again only once a fence has passed it (none found: none
    # further on).
    tick = _find_run(text, "```", 0) if "`" in text else -1
    tilde = _find_run(text, "~~~", 0) if "~" in text else -1
    while len(fenced) < MAX_FENCES and (tick >= 0 or tilde >= 0):
        start = tick if tilde < 0 or 0 <= tick < tilde else tilde
        run = text[start : start + 3]
        body_at = text.find("\n", start)
        end = _find_run(text, run, body_at + 1) if body_at >= 0 else -1
        stop = len(text) if end < 0 else end + 3
        out += (text[pos:start], _FENCE_PARAGRAPH)
        fenced.append(text[start:stop])
        pos = stop
        if 0 <= tick < pos:
            tick = _find_run(text, "```", pos)
        if 0 <= tilde < pos:
            tilde = _find_run(text, "~~~", pos)
    out.append(text[pos:])
    return "".join(out)


def split_ask(text: str) -> Split:
    """Cut a user message into the ask and the pasted material (fences, logs, documents).

    A long message is read within bounds (`READ_HEAD_CHARS`, `HEAD_PARAGRAPHS`, `MAX_LINES`, ...):
    what is not read stands where it was as one marker paragraph, which goes where the paragraphs
    around it would: pasted material if its ends read as pasted, else more of the prose (left out
    of the ask's text, whose middle nothing reads, or pasted with it, as a pasted document is)."""
    fenced: list[str] = []
    if "`" in text or "~" in text:  # one-character tests are memchr; _cut_fences finds the runs
        text = _cut_fences(text, fenced)
    pasted: list[str] = list(fenced)
    unread: list[str] = []
    if len(text) > READ_HEAD_CHARS + READ_TAIL_CHARS:
        unread.append(text[READ_HEAD_CHARS:-READ_TAIL_CHARS])
        text = f"{text[:READ_HEAD_CHARS]}\n\n{_ELIDED_MARK}\n\n{text[-READ_TAIL_CHARS:]}"
    if "\n" not in text:
        return _split(text.strip(), pasted, len(fenced))
    paragraphs = [p for p in _PARAGRAPH_SPLIT.split(text) if p.strip()]
    if len(paragraphs) > HEAD_PARAGRAPHS + TAIL_PARAGRAPHS:
        unread.extend(p for p in paragraphs[HEAD_PARAGRAPHS:-TAIL_PARAGRAPHS] if p.strip() != _ELIDED_MARK)
        paragraphs = paragraphs[:HEAD_PARAGRAPHS] + [_ELIDED_MARK] + paragraphs[-TAIL_PARAGRAPHS:]
    unread_prose = bool(unread) and _reads_as_prose(unread)
    prose: list[str] = []
    seen_paste = False
    last = len(paragraphs) - 1
    for index, paragraph in enumerate(paragraphs):
        marker = paragraph.strip()
        if marker == FENCE_MARK:
            seen_paste = True
        elif marker == _ELIDED_MARK:
            seen_paste = seen_paste or not unread_prose
            (pasted if seen_paste else prose).append(_ELIDED_MARK)
        elif not _is_prose_paragraph(paragraph):
            seen_paste = True
            pasted.append(paragraph)
        elif not seen_paste or (index == last and _keeps_after_paste(paragraph)):
            prose.append(paragraph)
        else:
            pasted.append(paragraph)
    if not prose:
        # Everything looks pasted: the ask is the first line, as in "fix this\n<code>".
        first = next((p.splitlines()[0] for p in paragraphs if p.strip() != _ELIDED_MARK), "")
        return _split(first.strip(), pasted, len(fenced), unread)
    if "\n" in prose[0]:
        # A paragraph whose first line is prose and the rest code ("how fix\n#!/bin/bash ...").
        lines = prose[0].splitlines()
        read = lines[1:MAX_LINES]
        if sum(1 for line in read if not _is_prose_line(line)) * 2 >= len(read):
            pasted.append("\n".join(lines[1:]))
            prose[0] = lines[0]
    rest = prose[1:]
    if (
        len(rest) >= _DOCUMENT_MIN_PARAGRAPHS
        and sum(len(p) for p in rest) + (_ELIDED_MARK in rest) * sum(map(len, unread)) >= _DOCUMENT_MIN_CHARS
        and _DEICTIC.search(prose[0])
    ):
        # "summarize this ..." followed by a pasted document: keep a closing question if any.
        tail = rest[-1] if rest[-1].rstrip().endswith("?") and len(rest[-1]) < 300 else ""
        pasted.extend(rest[:-1] if tail else rest)
        prose = [prose[0], tail] if tail else [prose[0]]
    ask = "\n\n".join(p.strip() for p in prose if p != _ELIDED_MARK)
    return _split(ask, pasted, len(fenced), unread)


def _reads_as_prose(unread: list[str]) -> bool:
    """Whether what was not read is more prose (a long document, a long ask) rather than pasted
    material, judged by the paragraphs at its two ends (`_SAMPLE_PARAGRAPHS` each, within
    `_SAMPLE_CHARS` of a long piece)."""
    sample: list[str] = []
    for piece in unread[:_SAMPLE_PARAGRAPHS] + unread[-_SAMPLE_PARAGRAPHS:]:
        if len(piece) > 2 * _SAMPLE_CHARS:
            head = [p for p in _PARAGRAPH_SPLIT.split(piece[:_SAMPLE_CHARS]) if p.strip()]
            tail = [p for p in _PARAGRAPH_SPLIT.split(piece[-_SAMPLE_CHARS:]) if p.strip()]
            sample += head[:_SAMPLE_PARAGRAPHS] + tail[-_SAMPLE_PARAGRAPHS:]
        else:
            sample.append(piece)
    return all(_is_prose_paragraph(p) for p in sample if p.strip())


def _split(ask: str, pasted: list[str], fenced_blocks: int, unread: list[str] | None = None) -> Split:
    if _ELIDED_MARK in pasted:  # the first marker stands for all that was not read
        at = pasted.index(_ELIDED_MARK)
        pasted = [p for p in pasted[:at] + (unread or []) + pasted[at + 1 :] if p != _ELIDED_MARK]
    # The head only: joining a long paste in full to keep its first 480 characters would copy it all.
    head = "\n".join([p[:_CODE_SAMPLE_CHARS] for p in pasted])[:_CODE_SAMPLE_CHARS] if pasted else ""
    return Split(ask, sum(map(len, pasted)), fenced_blocks, head)


def paste_is_code(split: Split) -> bool:
    """Whether the pasted material is source code (harder to diagnose than a log with the error in it).

    The head of the paste shows what it is; searching all of a long paste would cost more.
    """
    head = split.paste_head
    if head.startswith(("```", "~~~")):
        tag = head[3:head.find("\n")].strip().lower()
        if tag in _CODE_FENCE_TAGS:
            return True
    return bool(head) and _has_code_marks(head)


# Marks of error output (a log or a trace): the answer is often in the line that carries them.
_ERROR_MARKS = ("ERROR", "Error", "Exception", "Traceback", "FAILED", "FATAL", "panic", "[error]")
# By their first character: a mark is searched for only where that character is (a one-character `in`
# is a memchr; a longer one walks the head at ~4 instructions a character: callgrind).
_ERROR_MARKS_BY_FIRST = tuple(
    (first, tuple(mark for mark in _ERROR_MARKS if mark[0] == first)) for first in dict.fromkeys(m[0] for m in _ERROR_MARKS)
)


def paste_has_error(split: Split) -> bool:
    """Whether the head of the pasted material shows error output (a trace, a failed step)."""
    head = split.paste_head
    for first, marks in _ERROR_MARKS_BY_FIRST:
        if first in head and any(mark in head for mark in marks):
            return True
    return False
