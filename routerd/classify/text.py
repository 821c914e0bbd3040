"""Turning chat messages into the text the classifier reads.

Messages arrive in several shapes (plain dicts from JSON, msgspec Structs from the wire protocol,
Anthropic-style content part lists with images, `tool_use` and `tool_result` parts). This module
flattens each one into a `Turn`, and splits a user turn into the *ask* (what the person wants) and
the *paste* (code fences, logs, documents they attached), because difficulty lives in the ask:
a 3 KB build log with "what's the error here" is an easy request.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import msgspec

_FENCE = re.compile(r"```[^\n]*\n.*?(?:```|\Z)|~~~[^\n]*\n.*?(?:~~~|\Z)", re.S)
_PARAGRAPH_SPLIT = re.compile(r"\n[ \t]*\n")
_WORD = re.compile(r"\w+")
# A line that reads like typed prose: starts with a letter (or a quote/markdown emphasis) and is
# mostly letters and spaces. Logs, configs, diffs and code fail one of the two tests.
_PROSE_START = re.compile(r"^(?:\*\*@?\w+\*\*:?\s*)?[\"'(*_]?[^\W\d_]")
_NON_PROSE_CHAR = re.compile(r"[^\w\s]|\d")
_CJK = re.compile(r"[\u3040-\u9fff\uac00-\ud7af]")
_DEICTIC = re.compile(
    r"\b(?:this|these|here|below|following|attached|above)\b|:\s*$", re.I
)

_IMAGE_PART_TYPES = frozenset({"image", "image_url", "input_image"})
_TEXT_PART_TYPES = frozenset({"text", "input_text", "output_text"})
_TOOL_USE_TYPES = frozenset({"tool_use", "function_call", "tool_call", "server_tool_use"})
_TOOL_RESULT_TYPES = frozenset({"tool_result", "function_call_output", "tool_response"})

# Paragraphs of pasted prose (a document to summarise or proofread) are told apart from a long ask
# by count: an ask rarely runs past two prose paragraphs after the first one.
_DOCUMENT_MIN_PARAGRAPHS = 3
_PROSE_SAMPLE_CHARS = 200
_DOCUMENT_MIN_CHARS = 600


class Turn(msgspec.Struct, frozen=True):
    """One message reduced to what classification needs."""

    role: str
    text: str
    images: int = 0
    tool_uses: int = 0
    tool_results: int = 0


class Split(msgspec.Struct, frozen=True):
    """A user turn cut into the ask and the attached material."""

    ask: str
    paste_chars: int
    fenced_blocks: int
    paste_lines: int


def _get(obj: Any, key: str, default: Any = None) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(key, default)
    return getattr(obj, key, default)


def _flatten_parts(parts: Sequence[Any]) -> tuple[str, int, int, int]:
    texts: list[str] = []
    images = tool_uses = tool_results = 0
    for part in parts:
        if isinstance(part, str):
            texts.append(part)
            continue
        kind = _get(part, "type", "text")
        if kind in _TEXT_PART_TYPES:
            texts.append(str(_get(part, "text", "") or ""))
        elif kind in _IMAGE_PART_TYPES:
            images += 1
        elif kind in _TOOL_USE_TYPES:
            tool_uses += 1
        elif kind in _TOOL_RESULT_TYPES:
            tool_results += 1
            inner = _get(part, "content", "")
            if isinstance(inner, str):
                texts.append(inner)
            elif isinstance(inner, Sequence):
                sub, sub_images, _, _ = _flatten_parts(inner)
                texts.append(sub)
                images += sub_images
    return "\n".join(t for t in texts if t), images, tool_uses, tool_results


def to_turn(message: Any) -> Turn:
    """Flatten one message (dict or Struct; string or part-list content) into a `Turn`."""
    role = str(_get(message, "role", "user") or "user")
    content = _get(message, "content", "")
    if content is None:
        content = ""
    if isinstance(content, str):
        text, images, uses, results = content, 0, 0, 0
    elif isinstance(content, Sequence):
        text, images, uses, results = _flatten_parts(content)
    else:
        text, images, uses, results = str(content), 0, 0, 0
    uses += len(_get(message, "tool_calls", None) or ())
    if role in ("tool", "function"):
        results += 1
    return Turn(role, text, images, uses, results)


def _is_prose_line(line: str) -> bool:
    stripped = line.strip()
    if not stripped:
        return True
    if line[:1] in (" ", "\t") and len(line) - len(line.lstrip()) >= 2:
        return False
    if not _PROSE_START.match(stripped):
        return False
    # The first couple of hundred characters show whether a line is prose; long lines cost no more.
    head = stripped[:_PROSE_SAMPLE_CHARS]
    return len(_NON_PROSE_CHAR.findall(head)) <= 0.28 * len(head)


def _is_prose_paragraph(paragraph: str) -> bool:
    lines = paragraph.splitlines()
    if not lines:
        return True
    prose = sum(1 for line in lines if _is_prose_line(line))
    return prose * 3 >= len(lines) * 2


def split_ask(text: str) -> Split:
    """Cut a user message into the ask and the pasted material (fences, logs, documents)."""
    fenced_blocks = 0
    paste_chars = 0
    paste_lines = 0
    if "```" in text or "~~~" in text:
        pieces: list[str] = []
        last = 0
        for match in _FENCE.finditer(text):
            fenced_blocks += 1
            pieces.append(text[last : match.start()])
            block = match.group(0)
            paste_chars += len(block)
            paste_lines += block.count("\n")
            last = match.end()
        pieces.append(text[last:])
        text = "\n\n".join(pieces)
    if "\n" not in text:
        return Split(text.strip(), paste_chars, fenced_blocks, paste_lines)
    paragraphs = [p for p in _PARAGRAPH_SPLIT.split(text) if p.strip()]
    prose: list[str] = []
    for paragraph in paragraphs:
        if _is_prose_paragraph(paragraph):
            prose.append(paragraph)
        else:
            paste_chars += len(paragraph)
            paste_lines += paragraph.count("\n") + 1
    if not prose:
        # Everything looks pasted: the ask is the first line, as in "fix this\n<code>".
        first = paragraphs[0].splitlines()[0] if paragraphs else ""
        return Split(first.strip(), paste_chars, fenced_blocks, paste_lines)
    if len(prose) == 1 and "\n" in prose[0]:
        # One paragraph whose first line is prose and the rest code ("how fix\n#!/bin/bash ...").
        lines = prose[0].splitlines()
        if not all(_is_prose_line(line) for line in lines[1:]):
            paste_chars += len(prose[0]) - len(lines[0])
            paste_lines += len(lines) - 1
            prose = [lines[0]]
    rest = prose[1:]
    if (
        len(rest) >= _DOCUMENT_MIN_PARAGRAPHS
        and sum(len(p) for p in rest) >= _DOCUMENT_MIN_CHARS
        and _DEICTIC.search(prose[0])
    ):
        # "summarize this ..." followed by a pasted document: keep a closing question if any.
        tail = rest[-1] if rest[-1].rstrip().endswith("?") and len(rest[-1]) < 300 else ""
        body = rest[:-1] if tail else rest
        paste_chars += sum(len(p) for p in body)
        paste_lines += sum(p.count("\n") + 1 for p in body)
        prose = [prose[0], tail] if tail else [prose[0]]
    return Split("\n\n".join(p.strip() for p in prose), paste_chars, fenced_blocks, paste_lines)


def word_count(text: str) -> int:
    """Number of words; CJK text (no spaces) counts two words per three characters."""
    # Counting separators instead of splitting keeps this O(n) in C with no allocation.
    words = text.count(" ") + text.count("\n") + (1 if text.strip() else 0)
    if text.isascii():
        return words
    return words + len(_CJK.findall(text)) * 2 // 3
