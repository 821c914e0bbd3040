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


# What a coding agent's harness writes into the user's turn, as (opening, closing) pairs, by what
# the block holds (surveyed from the requests Claude Code 2.1.197, Codex 0.169 and Gemini CLI 0.61
# send; tests/scenarios/test_harness_blocks.py reads real ones):
# - context for the model, neither the person's words nor output: cut. Claude Code's
#   `<system-reminder>`s (the date, CLAUDE.md, file-change notices; also appended to tool results),
#   the caveat before local slash commands and the command's name and label, its `<tick>`
#   wake-ups and the IDE's note of the file open in the editor (`<ide_opened_file>`, with or
#   without attributes, as Claude Code's own pattern for it reads it; not seen here: no IDE);
#   Codex's environment, plugin, skill and AGENTS.md blocks, its interrupted-turn notice
#   and internal context (`<codex_internal_context source=...>`); Gemini CLI's `<session_context>`
#   (the date, the OS, the folder tree, before the first ask), `<hook_context>` (what a hook added)
#   and the `<system_note>` an @agent mention adds.
# - the person's words, wrapped: the markup goes, the words stay (a slash command's arguments).
# - output: what a command the person ran printed (Claude Code's `!` bash mode and local slash
#   commands, Codex's `!` shell commands), what a background task or another agent reported when it
#   finished (Claude Code's `<task-notification>`, a teammate's message, Codex's
#   `<subagent_notification>`). Read as a tool's result: counted in `tool_chars`, and a turn of
#   nothing else is an agent step on the task set before, not a new ask.
_CONTEXT, _WORDS, _OUTPUT = "context", "words", "output"
_BLOCKS = {
    _CONTEXT: ("system-reminder", "local-command-caveat", "command-name", "command-message", "tick",
               "environment_context", "user_instructions", "INSTRUCTIONS", "recommended_plugins", "skill",
               "turn_aborted", "session_context", "hook_context", "system_note", "ide_opened_file"),
    _WORDS: ("command-args",),
    _OUTPUT: ("bash-input", "bash-stdout", "bash-stderr", "bash-exit-code", "local-command-stdout",
              "local-command-stderr", "task-notification", "user_shell_command", "subagent_notification"),
}
# Tags that carry attributes: the opening is matched up to the tag's name.
_OPEN_ENDED = {"codex_internal_context": _CONTEXT, "teammate-message": _OUTPUT, "ide_opened_file": _CONTEXT}
_HARNESS_TAGS = tuple((f"<{tag}>", f"</{tag}>", kind) for kind, tags in _BLOCKS.items() for tag in tags) + tuple(
    (f"<{tag} ", f"</{tag}>", kind) for tag, kind in _OPEN_ENDED.items())
# Every opening at once: one scan tells which tags a text holds, so a text with markup of its own
# (HTML, JSX, XML) is not searched once per tag (100 KB of HTML: ~0.3 ms, against ~0.5 ms for a
# `find` per tag; 4 KB of JSX: ~4 against ~30 us).
_OPENINGS = re.compile("|".join(re.escape(opening) for opening, _, _ in _HARNESS_TAGS))
# A text that opens with an output block is the harness's report whole: what follows the block is
# the harness's too (Claude Code's stall notice puts "Last output:", the command's output and its
# advice after `</task-notification>`).
_OUTPUT_OPENINGS = re.compile(r"\s*+(?:" + "|".join(re.escape(o) for o, _, kind in _HARNESS_TAGS if kind == _OUTPUT) + ")")
# Notices Claude Code writes as a text of their own: when the person interrupts a turn, and as the
# assistant's turn after a local slash command (the model was not asked).
_HARNESS_NOTICES = frozenset({"[Request interrupted by user]", "[Request interrupted by user for tool use]",
                              "No response requested."})
_NOTICE_CHARS = 64  # longer texts are not looked at (a notice with some space around it fits)
# The caveat Claude Code puts before a local slash command (`/model opus`, `/usage`): the model is
# not asked, so the command's arguments in that message are no ask of the person's, and a later
# short turn is not their follow-up (it follows the task set before the command).
_LOCAL_COMMAND = "<local-command-caveat>"
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
MAX_HARNESS_BLOCKS = 64  # of each harness tag read from one text


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
    local: bool = False  # a local slash command's message (`_LOCAL_COMMAND`): its words are no ask


def read_harness(text: str) -> tuple[str, list[str]]:
    """`text` less what a harness wrote into it (`_HARNESS_TAGS`, the first `MAX_HARNESS_BLOCKS` of
    each; a `_HARNESS_NOTICES` text whole), and the output blocks it held (their insides, in order;
    all that is left of it too when it opens with one: `_OUTPUT_OPENINGS`).
    One scan for the tags it holds, then one `find` pass per tag held, so a hostile text full of
    unclosed tags costs no more than reading it, and one full of closed ones no more than that many
    blocks."""
    if "</" not in text:
        return ("" if len(text) <= _NOTICE_CHARS and text.strip() in _HARNESS_NOTICES else text), []
    outputs: list[str] = []
    report = _OUTPUT_OPENINGS.match(text) is not None
    present = set(_OPENINGS.findall(text))
    for opening, closing, kind in _HARNESS_TAGS:
        if opening not in present or (start := text.find(opening)) < 0:
            continue
        kept: list[str] = []
        pos = blocks = 0
        while start >= 0 and blocks < MAX_HARNESS_BLOCKS:
            end = text.find(closing, start + len(opening))
            if end < 0:
                break
            kept.append(text[pos:start])
            if kind == _WORDS:
                kept.append(text[start + len(opening):end])
            elif kind == _OUTPUT:
                outputs.append(text[start + len(opening):end])
            pos = end + len(closing)
            blocks += 1
            start = text.find(opening, pos)
        text = "".join(kept) + text[pos:]
    if "# AGENTS.md instructions for " in text:
        text = _AGENTS_HEADING.sub("", text)
    if report and outputs and text.strip():
        outputs.append(text)
        text = ""
    return ("" if text.isspace() else text), outputs


def without_harness(text: str) -> str:
    """`text` less what a harness wrote into it, its output blocks too (`read_harness`)."""
    return read_harness(text)[0]


def _add_text(text: str, into: _Parts, inside_tool: bool) -> None:
    """One text of a message: the words to `texts` (to `tool_texts` inside a tool's result), a
    harness's output blocks to `tool_texts`, each text holding some counted as one tool result."""
    words, outputs = read_harness(text)
    if not inside_tool and _LOCAL_COMMAND in text:
        into.local = True
    (into.tool_texts if inside_tool else into.texts).append(words)
    if outputs:
        into.tool_texts.extend(outputs)
        if not inside_tool:
            into.tool_results += 1


def _flatten_parts(parts: Sequence[Any], into: _Parts, inside_tool: bool = False) -> None:
    for part in parts[:MAX_PARTS]:
        if isinstance(part, str):
            _add_text(part, into, inside_tool)
            continue
        kind = _get(part, "type", "text")
        if kind in _TEXT_PART_TYPES:
            _add_text(str(_get(part, "text", "") or ""), into, inside_tool)
        elif kind in _IMAGE_PART_TYPES:
            into.images += 1
        elif kind in _TOOL_USE_TYPES:
            into.tool_uses += 1
        elif kind in _TOOL_RESULT_TYPES:
            into.tool_results += 1
            inner = _get(part, "content", "") or _get(part, "output", "")
            if isinstance(inner, str):
                _add_text(inner, into, True)
            elif isinstance(inner, Sequence):
                _flatten_parts(inner, into, inside_tool=True)


def to_turn(message: Any) -> Turn:
    """Flatten one message (dict or Struct; string or part-list content) into a `Turn`.

    What a tool returned is not the person's words: it is counted in `tool_chars`, not put in `text`;
    nor is a harness's output block (`read_harness`), which makes the turn carry a tool result.
    """
    role = str(_get(message, "role", "user") or "user")
    content = _get(message, "content", "")
    parts = _Parts([], [])
    if content is None:
        content = ""
    if isinstance(content, str):
        _add_text(content, parts, role in ("tool", "function"))
    elif isinstance(content, Sequence):
        _flatten_parts(content, parts, inside_tool=role in ("tool", "function"))
    else:
        parts.texts.append(str(content))
    uses = parts.tool_uses + len(_get(message, "tool_calls", None) or ())
    results = parts.tool_results + (1 if role in ("tool", "function") else 0)
    text = "" if parts.local else "\n".join(t for t in parts.texts if t)
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
