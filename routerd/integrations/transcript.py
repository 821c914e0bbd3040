"""The token usage of a coding agent's last turn, read from its transcript (Claude Code's JSONL).

Only numbers and model names are taken; no text leaves the file. Claude Code writes one line per
content block, repeating the message's usage, so lines are de-duplicated by message id. The turn
starts after the last user line that carries the user's own words (not a tool result). Only the
file's tail is read: a turn's lines are at the end, and transcripts grow without bound.
"""

from pathlib import Path

import msgspec

TAIL_BYTES = 1024 * 1024


class TurnUsage(msgspec.Struct, frozen=True, kw_only=True):
    model: str
    messages: int
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0


class _Usage(msgspec.Struct):
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_input_tokens: int = 0
    cache_creation_input_tokens: int = 0


class _Message(msgspec.Struct):
    id: str | None = None
    model: str | None = None
    usage: _Usage | None = None
    content: msgspec.Raw = msgspec.Raw(b"null")


class _Line(msgspec.Struct):
    type: str = ""
    message: _Message | None = None


_DECODE = msgspec.json.Decoder(_Line).decode


def read_tail(path: str) -> bytes:
    """The last ``TAIL_BYTES`` of a ``.jsonl`` regular file, or b"" (blocking: run in a thread)."""
    file = Path(path)
    if file.suffix != ".jsonl" or not file.is_file():
        return b""
    with file.open("rb") as handle:
        size = handle.seek(0, 2)
        handle.seek(max(0, size - TAIL_BYTES))
        return handle.read()


def last_turn_usage(data: bytes) -> list[TurnUsage]:
    """Per model, the usage of the assistant messages after the last prompt in ``data``."""
    turn: dict[str, _Message] = {}
    for line in data.splitlines():
        try:
            entry = _DECODE(line)
        except (msgspec.DecodeError, msgspec.ValidationError):
            continue  # a partial first line of the tail, or an entry of another shape
        message = entry.message
        if entry.type == "user" and message is not None and _is_prompt(message.content):
            turn.clear()
        elif entry.type == "assistant" and message is not None and message.usage and message.model:
            turn[message.id or str(len(turn))] = message
    totals: dict[str, TurnUsage] = {}
    for message in turn.values():
        usage, model = message.usage, message.model
        old = totals.get(model) or TurnUsage(model=model, messages=0)
        totals[model] = TurnUsage(
            model=model, messages=old.messages + 1,
            input_tokens=old.input_tokens + usage.input_tokens + usage.cache_creation_input_tokens,
            output_tokens=old.output_tokens + usage.output_tokens,
            cached_tokens=old.cached_tokens + usage.cache_read_input_tokens,
        )
    return list(totals.values())


def _is_prompt(content: msgspec.Raw) -> bool:
    raw = bytes(content)
    if raw.startswith(b'"'):
        return True
    return raw.startswith(b"[") and b'"tool_result"' not in raw
