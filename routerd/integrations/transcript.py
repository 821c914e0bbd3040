"""The token usage of a coding agent's last turns, read from its transcript (Claude Code's JSONL,
Codex's rollout JSONL: ``recent_codex_calls``, or Gemini CLI's session JSONL: ``recent_gemini_calls``).

Only numbers, ids, times and model names are taken; no text leaves the file. Claude Code writes
one line per content block, repeating the message's usage (the API's own usage block: cache reads,
cache writes with their 5-minute / 1-hour split), so lines are de-duplicated by message id, which
is the id the API answered with (the gateway records it too, so a call it saw is counted once).
The turn starts at a user line that carries the user's own words (not a tool result). Only the
file's tail is read: a turn's lines are at the end, and transcripts grow without bound.
"""

from datetime import datetime
from pathlib import Path

import msgspec

from routerd.catalogue.prices import Tokens
from routerd.dialects.anthropic.usage import Usage

TAIL_BYTES = 1024 * 1024


class _Message(msgspec.Struct):
    id: str | None = None
    model: str | None = None
    usage: Usage | None = None  # the API's own usage object, as the answer carried it
    content: msgspec.Raw = msgspec.Raw(b"null")


class _Line(msgspec.Struct):
    type: str = ""
    message: _Message | None = None
    timestamp: str | None = None
    isSidechain: bool = False


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
    """One assistant message: the API's answer id, its model, tokens, when it was written, and
    whether a subagent (Agent tool) rather than the main conversation produced it."""

    id: str
    model: str
    tokens: Tokens
    ts: float | None = None
    sidechain: bool = False


def recent_messages(data: bytes, turns: int = 2) -> list[MessageUsage]:
    """The assistant messages of the last ``turns`` turns in ``data``, one per message id.

    Two turns, because the host may write a turn's last lines after its Stop hook ran: the next
    Stop (or SessionEnd) then still sees them. Callers skip the ids they already counted."""
    starts: list[int] = []
    entries: list[tuple[str, _Line]] = []
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
                entries.append((message.id, entry))
    first = starts[-turns] if len(starts) >= turns else 0
    unique = {mid: line for mid, line in entries[first:]}
    return [MessageUsage(id=mid, model=message.model or "", tokens=message.usage.tokens(),
                         ts=_time(line.timestamp), sidechain=line.isSidechain)
            for mid, line in unique.items()
            if (message := line.message) is not None and message.usage is not None]


def _time(stamp: str | None) -> float | None:
    try:
        return datetime.fromisoformat(stamp).timestamp() if stamp else None
    except ValueError:
        return None


def _is_prompt(content: msgspec.Raw) -> bool:
    raw = bytes(content)
    if raw.startswith(b'"'):
        return True
    return raw.startswith(b"[") and b'"tool_result"' not in raw


# Codex 0.169's rollout file (the ``transcript_path`` its hooks get): a ``turn_context`` line names
# each turn's model, and a ``token_usage_record`` line follows every model call with the id of the
# response and the API's usage in OpenAI's terms (input includes the cached tokens, output the
# reasoning), so that each call is read as one message, as Claude Code's are.
class _CodexUsage(msgspec.Struct):
    input_tokens: int = 0
    cached_input_tokens: int = 0
    cache_write_input_tokens: int = 0
    output_tokens: int = 0
    reasoning_output_tokens: int = 0


class _CodexPayload(msgspec.Struct):
    turn_id: str | None = None
    model: str | None = None
    response_id: str | None = None
    usage: _CodexUsage | None = None


class _CodexLine(msgspec.Struct):
    type: str = ""
    timestamp: str | None = None
    payload: _CodexPayload | None = None


_DECODE_CODEX = msgspec.json.Decoder(_CodexLine).decode


def recent_codex_calls(data: bytes, turns: int = 2) -> list[MessageUsage]:
    """The model calls of the last ``turns`` turns of a Codex rollout, one per response id, with the
    model of their turn (calls of a turn whose model the tail does not show are left out)."""
    models: dict[str, str] = {}
    calls: list[tuple[str, str, _CodexUsage, str | None]] = []
    for line in data.splitlines():
        if b'"turn_context"' not in line and b'"token_usage_record"' not in line:
            continue  # most lines are messages and events: not decoded
        try:
            entry = _DECODE_CODEX(line)
        except (msgspec.DecodeError, msgspec.ValidationError):
            continue
        payload = entry.payload
        if payload is None or not payload.turn_id:
            continue
        if entry.type == "turn_context" and payload.model:
            models[payload.turn_id] = payload.model
        elif entry.type == "token_usage_record" and payload.response_id and payload.usage:
            calls.append((payload.turn_id, payload.response_id, payload.usage, entry.timestamp))
    last = list(dict.fromkeys(turn for turn, *_ in calls))[-turns:]
    unique = {rid: (turn, usage, stamp) for turn, rid, usage, stamp in calls if turn in last and turn in models}
    return [MessageUsage(id=rid, model=models[turn], ts=_time(stamp), tokens=Tokens(
                input=u.input_tokens, output=u.output_tokens, cache_read=u.cached_input_tokens,
                cache_write=u.cache_write_input_tokens, reasoning=u.reasoning_output_tokens))
            for rid, (turn, u, stamp) in unique.items()]


# Gemini CLI 0.61's session file (``~/.gemini/tmp/<project>/chats/session-*.jsonl``, the
# ``transcript_path`` of its hooks): one line per message record, a record written again whole when
# it changes (a model message once with its text, again with its tool calls), and ``$set`` lines
# that update the header or, with ``messages``, replace the list. A ``gemini`` record is one model
# call, with Gemini's usage as the CLI copied it (``input`` is promptTokenCount, cache reads
# included; ``output`` leaves out ``thoughts``). Its id is the CLI's own, not the API's answer id.
class _GeminiTokens(msgspec.Struct):
    input: int = 0
    output: int = 0
    cached: int = 0
    thoughts: int = 0


class _GeminiRecord(msgspec.Struct):
    id: str | None = None
    type: str = ""
    timestamp: str | None = None
    model: str | None = None
    tokens: _GeminiTokens | None = None
    content: msgspec.Raw = msgspec.Raw(b"null")


class _GeminiSet(msgspec.Struct):
    messages: list[_GeminiRecord] | None = None


class _GeminiLine(_GeminiRecord):
    set: _GeminiSet | None = msgspec.field(default=None, name="$set")


_DECODE_GEMINI = msgspec.json.Decoder(_GeminiLine).decode


def recent_gemini_calls(data: bytes, turns: int = 2) -> list[MessageUsage]:
    """The model calls of the last ``turns`` turns of a Gemini CLI session file, one per record id
    (a turn starts at a user record with the user's words, not a tool's answer)."""
    records: dict[str, _GeminiRecord] = {}  # by id, in first-written order, last version kept
    for line in data.splitlines():
        try:
            entry = _DECODE_GEMINI(line)
        except (msgspec.DecodeError, msgspec.ValidationError):
            continue
        batch: list[_GeminiRecord] = [entry]
        if entry.set is not None:
            batch = entry.set.messages or []
            if entry.set.messages is not None:
                records = {}  # the list replaced (a resumed or compressed chat)
        for record in batch:
            if record.id and record.type:
                records[record.id] = record  # a record written again keeps its place
    ordered = list(records.values())
    starts = [n for n, r in enumerate(ordered) if r.type == "user" and _is_gemini_prompt(r.content)]
    first = starts[-turns] if len(starts) >= turns else 0
    return [MessageUsage(id=r.id or "", model=r.model, ts=_time(r.timestamp), tokens=Tokens(
                input=t.input, output=t.output + t.thoughts, cache_read=t.cached, reasoning=t.thoughts))
            for r in ordered[first:]
            if r.type == "gemini" and r.model and (t := r.tokens) is not None and (t.input or t.output)]


def _is_gemini_prompt(content: msgspec.Raw) -> bool:
    raw = bytes(content)
    return raw.startswith(b'"') or (raw.startswith(b"[") and b'"functionResponse"' not in raw)
