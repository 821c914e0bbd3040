"""What the HTTP front reads of a proxied request's body before routing it: one decode of the
top-level fields routerd needs (``model``, ``stream``, ``tools``, the output maximum a budget reads),
everything else passed through unread.
"""

import msgspec

from routerd.errors import BadRequest
from routerd.gateway.answers import OutputFields
from routerd.protocol.codec import decode_error

_ABSENT = msgspec.Raw(b"")


class Peek(OutputFields):
    """The fields the gateway reads before deciding, and those a budget reads (its output maximum,
    kept as they came); the rest is passed through."""

    model: str = ""
    stream: bool = False
    tools: msgspec.Raw = _ABSENT  # its hosted tools are read (``markers.offered_hosted``)


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
