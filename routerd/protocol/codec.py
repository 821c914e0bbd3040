"""The socket's one request decoder, built once and used by every connection, and the encoder
of replies. Framing is not here: see ``routerd.framing``.
"""

import re

import msgspec

from routerd.errors import BadRequest, UnknownRequest, UnsupportedVersion
from routerd.protocol.requests import Request, RequestUnion
from routerd.version import PROTOCOL_VERSION


REQUEST_DECODER = msgspec.json.Decoder(RequestUnion)
ENCODER = msgspec.json.Encoder()


# A \\u escape of half a UTF-16 surrogate pair without its other half.
_LONE_SURROGATE = re.compile(rb"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})"
                             rb"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}")


def decode_error(exc: msgspec.DecodeError, data: bytes) -> str:
    """msgspec's complaint about ``data``, said right: it calls a lone surrogate escape at the end
    of a string (``"\\ud800"``) "Input data was truncated", which sends a client looking for a
    framing bug."""
    text = str(exc)
    if text.startswith("Input data was truncated") and (found := _LONE_SURROGATE.search(data)):
        return (f"a lone UTF-16 surrogate escape {found.group().decode()} at byte {found.start()}: "
                "JSON strings must hold Unicode characters (RFC 8259 8.2)")
    return text


def decode_request(frame: bytes) -> Request:
    """Decode one frame into a request Struct, or raise a BadRequest that says what is wrong."""
    try:
        request: Request = REQUEST_DECODER.decode(frame)
    except msgspec.ValidationError as exc:
        text = str(exc)
        if text.endswith("at `$.type`") and text.startswith("Invalid value"):
            raise UnknownRequest(f"unknown request type: {text.split(' - ')[0][14:]}") from None
        raise BadRequest(f"invalid request: {text}") from None
    except msgspec.DecodeError as exc:
        raise BadRequest(f"invalid JSON: {decode_error(exc, frame)}") from None
    except RecursionError:  # msgspec's answer to JSON nested past the interpreter's stack
        raise BadRequest("invalid JSON: nested too deeply") from None
    if request.v != PROTOCOL_VERSION:
        raise UnsupportedVersion(
            f"protocol v{request.v} is not supported; this routerd speaks v{PROTOCOL_VERSION}"
        )
    return request
