"""Turning chat messages into the text the classifier reads.

Messages arrive in several shapes (plain dicts from JSON, msgspec Structs from the wire protocol,
Anthropic-style content part lists with images, `tool_use` and `tool_result` parts). This module
flattens each one into a `Turn`: the person's words apart from what tools returned and from the
context a coding agent's harness writes in. `routerd.classify.paste` then splits a user turn into
the ask and what was pasted with it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import msgspec

_CJK_RUN = re.compile(r"[\u3040-\u9fff\uac00-\ud7af]+")
_IMAGE_PART_TYPES = frozenset({"image", "image_url", "input_image"})
_TEXT_PART_TYPES = frozenset({"text", "input_text", "output_text"})
_TOOL_USE_TYPES = frozenset({"tool_use", "function_call", "tool_call", "server_tool_use"})
_TOOL_RESULT_TYPES = frozenset({"tool_result", "function_call_output", "tool_response"})


# Context a coding agent's harness writes into the user's turn: Claude Code's `<system-reminder>`s
# (the date, CLAUDE.md, file-change notices; also appended to tool results), Codex's environment,
# plugin and AGENTS.md blocks, and Gemini CLI's `<session_context>` (the date, the OS, the folder
# tree, before the first ask) and `<hook_context>` (what a hook added). They are not the person's
# words, so neither ask nor tool output.
_HARNESS_TAGS = tuple((f"<{tag}>", f"</{tag}>") for tag in (
    "system-reminder", "environment_context", "user_instructions", "INSTRUCTIONS", "recommended_plugins",
    "session_context", "hook_context"))
_AGENTS_HEADING = re.compile(r"^# AGENTS\.md instructions for [^\n]*\n?", re.M)
# What of a tool's output is kept for reading (slices, so a 100 KB file costs no more than a line).
TOOL_HEAD = 700
TOOL_TAIL = 300
# How much of one conversation is read, whatever its size (a request body may hold 32 MB; what is
# read of one message: `routerd.classify.paste`): well past all the model was trained on (at most
# 34 messages, 13 KB in a message, 36 paragraphs in it, 281 lines in a paragraph, 17 fenced
# blocks), so nothing it saw reads differently, and past them the classifier's Python work stops
# growing with the request (a megabyte of one-character lines held the daemon's event loop for
# 0.7 s; bench/bench_bounds.py).
MAX_MESSAGES = 1_000  # the last ones (`routerd.classify.context.read`)
MAX_PARTS = 1_000  # of one message's content list
MAX_HARNESS_BLOCKS = 64  # of each harness tag cut from one text


class Turn(msgspec.Struct, frozen=True):
    """One message reduced to what classification needs."""

    role: str
    text: str
    images: int = 0
    tool_uses: int = 0
    tool_results: int = 0
    tool_chars: int = 0  # what tool results carried (file contents, command output)
    # The first and the last tool result, as the message holds them (references, not copies: only
    # the routed turn's are read, through `tool_window`).
    tool_first: str = ""
    tool_last: str = ""

    def tool_window(self) -> str:
        """What of the turn's tool output is read: the start of the first result and the end of
        the last (`TOOL_HEAD`, `TOOL_TAIL`)."""
        return self.tool_first[:TOOL_HEAD] + "\n" + self.tool_last[-TOOL_TAIL:]


def _get(obj: Any, key: str, default: Any = None) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(key, default)
    return getattr(obj, key, default)


class _Parts(msgspec.Struct):
    texts: list[str]
    tool_texts: list[str]
    images: int = 0
    tool_uses: int = 0
    tool_results: int = 0


def without_harness(text: str) -> str:
    """`text` less the harness's context blocks (`_HARNESS_TAGS`, the first `MAX_HARNESS_BLOCKS` of
    each). One `find` pass per tag, so a hostile text full of unclosed tags costs no more than
    reading it, and one full of closed ones no more than that many blocks."""
    if "</" not in text:
        return text
    for opening, closing in _HARNESS_TAGS:
        start = text.find(opening)
        if start < 0:
            continue
        kept: list[str] = []
        pos = 0
        while start >= 0 and len(kept) < MAX_HARNESS_BLOCKS:
            end = text.find(closing, start + len(opening))
            if end < 0:
                break
            kept.append(text[pos:start])
            pos = end + len(closing)
            start = text.find(opening, pos)
        text = "".join(kept) + text[pos:]
    if "# AGENTS.md instructions for " in text:
        text = _AGENTS_HEADING.sub("", text)
    return "" if text.isspace() else text


def _flatten_parts(parts: Sequence[Any], into: _Parts, inside_tool: bool = False) -> None:
    for part in parts[:MAX_PARTS]:
        if isinstance(part, str):
            (into.tool_texts if inside_tool else into.texts).append(without_harness(part))
            continue
        kind = _get(part, "type", "text")
        if kind in _TEXT_PART_TYPES:
            text = without_harness(str(_get(part, "text", "") or ""))
            (into.tool_texts if inside_tool else into.texts).append(text)
        elif kind in _IMAGE_PART_TYPES:
            into.images += 1
        elif kind in _TOOL_USE_TYPES:
            into.tool_uses += 1
        elif kind in _TOOL_RESULT_TYPES:
            into.tool_results += 1
            inner = _get(part, "content", "") or _get(part, "output", "")
            if isinstance(inner, str):
                into.tool_texts.append(without_harness(inner))
            elif isinstance(inner, Sequence):
                _flatten_parts(inner, into, inside_tool=True)


def to_turn(message: Any) -> Turn:
    """Flatten one message (dict or Struct; string or part-list content) into a `Turn`.

    What a tool returned is not the person's words: it is counted in `tool_chars`, not put in `text`.
    """
    role = str(_get(message, "role", "user") or "user")
    content = _get(message, "content", "")
    parts = _Parts([], [])
    if content is None:
        content = ""
    if isinstance(content, str):
        (parts.tool_texts if role in ("tool", "function") else parts.texts).append(without_harness(content))
    elif isinstance(content, Sequence):
        _flatten_parts(content, parts, inside_tool=role in ("tool", "function"))
    else:
        parts.texts.append(str(content))
    uses = parts.tool_uses + len(_get(message, "tool_calls", None) or ())
    results = parts.tool_results + (1 if role in ("tool", "function") else 0)
    text = "\n".join(t for t in parts.texts if t)
    tools = parts.tool_texts
    if not tools:
        return Turn(role, text, parts.images, uses, results)
    return Turn(role, text, parts.images, uses, results, sum(len(t) for t in tools), tools[0], tools[-1])


def word_count(text: str) -> int:
    """Number of words; CJK text (no spaces) counts two words per three characters."""
    # Counting separators instead of splitting keeps this O(n) in C with no allocation.
    words = text.count(" ") + text.count("\n") + (1 if text.strip() else 0)
    if text.isascii():
        return words
    # The runs' lengths: one match per run, not a string per character (4 against 19 us for 400).
    return words + sum(map(len, _CJK_RUN.findall(text))) * 2 // 3
