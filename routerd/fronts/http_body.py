"""What the HTTP front reads of a proxied request's body before routing it: one decode of the
top-level fields routerd needs (``model``, ``stream``, ``tools``, the output maximum a budget reads,
and whether the conversation has anything in it), everything else passed through unread.

A request whose conversation is missing, ``null`` or empty (chat completions' and Messages'
``messages``, Responses' ``input``, Gemini's ``contents``) is refused here with a 400 in the client's
dialect, as its upstream would refuse it: routing it would spend a decision, and a fallback walk,
on a request no provider can answer.
"""

import msgspec

from routerd.errors import BadRequest
from routerd.gateway.answers import OutputFields
from routerd.protocol.codec import decode_error

_ABSENT = msgspec.Raw(b"")
# Each dialect's conversation field, which its upstream requires to hold at least one item.
CONVERSATION = {"openai_chat": "messages", "anthropic": "messages", "responses": "input", "gemini": "contents"}
# A Responses request may leave ``input`` out when one of these supplies or continues the
# conversation (a stored prompt, an earlier response, a conversation object).
_RESPONSES_CONTEXT = ("prompt", "previous_response_id", "conversation")
_EMPTY = frozenset({b"", b"null", b'""'})


class Peek(OutputFields):
    """The fields the gateway reads before deciding, and those a budget reads (its output maximum,
    kept as they came); the conversation and the rest are passed through."""

    model: str = ""
    stream: bool = False
    tools: msgspec.Raw = _ABSENT  # its hosted tools are read (``markers.offered_hosted``)
    messages: msgspec.Raw = _ABSENT
    input: msgspec.Raw = _ABSENT
    contents: msgspec.Raw = _ABSENT
    prompt: msgspec.Raw = _ABSENT
    previous_response_id: msgspec.Raw = _ABSENT
    conversation: msgspec.Raw = _ABSENT


_PEEK = msgspec.json.Decoder(Peek)


def peek(body: bytes) -> Peek:
    """The top-level fields of a request's body that routerd reads; BadRequest for a body that is
    not a JSON object or has one of them in the wrong type."""
    try:
        return _PEEK.decode(body)
    except msgspec.ValidationError as exc:
        raise BadRequest(f"invalid request body: {exc}") from None
    except msgspec.DecodeError as exc:
        raise BadRequest(f"request body is not valid JSON: {decode_error(exc, body)}") from None
    except RecursionError:
        raise BadRequest("request body is nested too deeply") from None


def check_conversation(dialect: str, main: bool, fields: Peek) -> None:
    """BadRequest when a request to a dialect's main endpoint (``main``: not a token count) has no
    conversation: its field missing, ``null``, an empty list or an empty string."""
    name = CONVERSATION.get(dialect)
    if name is None or not main:
        return
    raw = bytes(getattr(fields, name))
    if raw not in _EMPTY and not (raw[:1] == b"[" and not raw[1:-1].strip()):
        return
    if dialect == "responses" and any(bytes(getattr(fields, other)) not in _EMPTY for other in _RESPONSES_CONTEXT):
        return
    what = "missing" if not raw else "null" if raw == b"null" else "empty"
    raise BadRequest(f"{name} is {what}: the request needs at least one {_ITEM[name]}")


_ITEM = {"messages": "message", "input": "input item", "contents": "content"}
