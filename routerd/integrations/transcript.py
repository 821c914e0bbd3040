"""The token usage of a coding agent's last turn, read from its transcript (Claude Code's JSONL).

Only numbers and model names are taken; no text leaves the file. Claude Code writes one line per
content block, repeating the message's usage, so lines are de-duplicated by message id. The turn
starts at a user line that carries the user's own words (not a tool result). Only the file's tail
is read: a turn's lines are at the end, and transcripts grow without bound.
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


class MessageUsage(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    model: str
    input_tokens: int
    output_tokens: int
    cached_tokens: int


def recent_messages(data: bytes, turns: int = 2) -> list[MessageUsage]:
    """The assistant messages of the last ``turns`` turns in ``data``, one per message id.

    Two turns, because the host may write a turn's last lines after its Stop hook ran: the next
    Stop (or SessionEnd) then still sees them. Callers skip the ids they already counted."""
    starts: list[int] = []
    entries: list[tuple[str, _Message]] = []
    for line in data.splitlines():
        try:
            entry = _DECODE(line)
        except (msgspec.DecodeError, msgspec.ValidationError):
            continue  # a partial first line of the tail, or an entry of another shape
        message = entry.message
        if message is None:
            continue
        if entry.type == "user" and _is_prompt(message.content):
            starts.append(len(entries))
        elif entry.type == "assistant" and message.usage and message.model and message.id:
            if not message.model.startswith("<"):  # "<synthetic>": Claude Code's own error turns
                entries.append((message.id, message))
    first = starts[-turns] if len(starts) >= turns else 0
    unique = {mid: m for mid, m in entries[first:]}
    return [MessageUsage(id=mid, model=m.model, output_tokens=m.usage.output_tokens,
                         input_tokens=m.usage.input_tokens + m.usage.cache_creation_input_tokens,
                         cached_tokens=m.usage.cache_read_input_tokens)
            for mid, m in unique.items()]


def totals(messages: list[MessageUsage]) -> list[TurnUsage]:
    """Per model, the sum of ``messages``."""
    out: dict[str, TurnUsage] = {}
    for m in messages:
        old = out.get(m.model) or TurnUsage(model=m.model, messages=0)
        out[m.model] = TurnUsage(model=m.model, messages=old.messages + 1,
                                 input_tokens=old.input_tokens + m.input_tokens,
                                 output_tokens=old.output_tokens + m.output_tokens,
                                 cached_tokens=old.cached_tokens + m.cached_tokens)
    return list(out.values())


def _is_prompt(content: msgspec.Raw) -> bool:
    raw = bytes(content)
    if raw.startswith(b'"'):
        return True
    return raw.startswith(b"[") and b'"tool_result"' not in raw
