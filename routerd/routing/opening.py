"""The conversation a request without a session continues, known by its opening.

Claude Code and Codex name their session in a header, and a decision keeps a session's model
under it (``core._sticky_key``). Gemini CLI and a plain OpenAI, Anthropic or Gemini SDK user send
no session: every request of a conversation carries its whole history instead, and the start of
that history never changes. ``opening_of`` hashes it into a key: the dialect, the system prompt and
the first user turn (every user message before the first assistant one). Two requests of one
conversation share the key; another system prompt or another first ask makes another.

Bounded: of each text only the head and the tail are hashed (``HEAD_CHARS``, ``TAIL_CHARS``) with
its length, and at most ``MAX_PARTS`` parts, so a long system prompt or an inline image costs no
more than a short one. Pure: the canonical request in, the key out; ``said_kept`` words what the
key did for a decision's explanation.
"""

import msgspec

from routerd.catalogue.models import ModelInfo
from routerd.dialects.canonical import ChatRequest, ImagePart, TextPart, ToolCallPart, ToolResultPart
from routerd.policy import Decision, Sticky
from routerd.routing.types import RouteRequest

# Of each text, this many characters from its start and from its end. A system prompt's head names
# the app and its role; a first user turn may open with context the client adds to every
# conversation (Gemini CLI's <session_context> lists up to 200 files of the folder) and end with
# the user's own words, so both ends count. Hashing 2 x 4 KB takes ~1.5 us.
HEAD_CHARS = 4096
TAIL_CHARS = 4096
# Parts of the first user turn hashed: more is a pasted batch, which its first parts tell apart.
MAX_PARTS = 64


class Opening(msgspec.Struct, frozen=True):
    """A sessionless request's conversation key, and whether the request continues it (an assistant
    turn follows the opening: an earlier answer came back) or starts it."""

    key: str
    continues: bool


def opening_of(request: RouteRequest) -> Opening | None:
    """The conversation ``request`` belongs to by its opening; None when it names a session, does
    not parse, or has no user turn."""
    if request.session_id is not None:
        return None
    req = request.conversation.request()
    if req is None:
        return None
    return _opening(request.dialect or "messages", req)


def _opening(dialect: str, req: ChatRequest) -> Opening | None:
    """The key of the system prompt and the user messages before the first assistant one."""
    pieces = [dialect, _bounded(req.system or "")]
    parts = 0
    continues = False
    for message in req.messages:
        if message.role == "assistant":
            continues = True
            break
        room = MAX_PARTS - parts
        pieces += [_part_text(p) for p in message.content[:room]]
        pieces.append("\x1e")  # a message ends: [a, b] is not [a], [b]
        parts += min(len(message.content), room)
    if not parts:
        return None
    # Python's own str hash (SipHash, keyed per process): 5x blake2b's speed, and the keys live only
    # in this process's memory. 64 bits: that two of the 10,000 remembered conversations share a
    # key has a chance of ~3e-12 (and would only share a model).
    return Opening(f"{hash(tuple(pieces)) & 0xFFFF_FFFF_FFFF_FFFF:016x}", continues)


def _part_text(part: object) -> str:
    """What a user part says, bounded (a tag first, so that a text and an image URL never collide)."""
    if isinstance(part, TextPart):
        return "t" + _bounded(part.text)
    if isinstance(part, ImagePart):
        return "i" + _bounded(part.url or part.data or "")
    if isinstance(part, ToolResultPart):
        return "r" + part.tool_call_id + "".join(_part_text(p) for p in part.content[:MAX_PARTS])
    if isinstance(part, ToolCallPart):
        return "c" + part.name + _bounded(part.arguments)
    return type(part).__name__


def _bounded(text: str) -> str:
    """``text``, or its head, length and tail when it is longer than both together."""
    if len(text) <= HEAD_CHARS + TAIL_CHARS:
        return text
    return f"{text[:HEAD_CHARS]}\x1d{len(text)}\x1d{text[-TAIL_CHARS:]}"


def said_kept(decision: Decision, key: str | None, sticky: Sticky, first: ModelInfo | None) -> Decision:
    """``decision`` with a reason saying that a sessionless conversation's model was read by its
    opening, and whether it was kept (the policy's own reasons say why, in a session's words)."""
    fate = "kept" if first is not None and first.key == sticky.model else "not kept"
    return msgspec.structs.replace(decision, reasons=(*decision.reasons, (
        f"no session id: conversation {(key or '')[:8]} (same dialect, system prompt and first user turn) "
        f"{fate} its model {sticky.model} (tier {sticky.tier})")))
