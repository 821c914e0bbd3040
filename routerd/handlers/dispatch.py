"""Decoding a request frame and running its handler: the only place exceptions become replies.

Handlers are ``async def handle_<type>(app, request) -> Reply | AsyncIterator[Reply]``; the table
in ``routerd.handlers.table`` maps each request Struct to its handler. A handler that streams
yields replies with ``final=False`` and ends with one whose ``final`` is true.
"""

import logging
from collections.abc import AsyncIterator

import msgspec

from routerd.errors import (BadRequest, NotImplementedYet, RouterdError, UnknownRequest,
                            UnsupportedVersion)
from routerd.protocol import ENCODER, REQUEST_DECODER, Error, Reply, Request
from routerd.version import PROTOCOL_VERSION

log = logging.getLogger("routerd.handlers")


def decode_request(frame: bytes) -> Request:
    """Decode one frame into a request Struct, or raise a BadRequest that says what is wrong."""
    try:
        request = REQUEST_DECODER.decode(frame)
    except msgspec.ValidationError as exc:
        text = str(exc)
        if text.endswith("at `$.type`") and text.startswith("Invalid value"):
            raise UnknownRequest(f"unknown request type: {text.split(' - ')[0][14:]}") from None
        raise BadRequest(f"invalid request: {text}") from None
    except msgspec.DecodeError as exc:
        raise BadRequest(f"invalid JSON: {exc}") from None
    if request.v != PROTOCOL_VERSION:
        raise UnsupportedVersion(
            f"protocol v{request.v} is not supported; this routerd speaks v{PROTOCOL_VERSION}"
        )
    return request


def error_reply(exc: RouterdError, scrub: frozenset[str] = frozenset()) -> Error:
    message = exc.message
    for secret in scrub:
        message = message.replace(secret, "***")
    return Error(code=exc.code, message=message, retryable=exc.retryable)


async def handle_frame(app, frame: bytes) -> AsyncIterator[bytes]:
    """Yield the encoded reply frames' payloads for one request frame. Never raises RouterdError."""
    from routerd.handlers.table import HANDLERS

    try:
        request = decode_request(frame)
        handler = HANDLERS.get(type(request))
        if handler is None:
            raise NotImplementedYet(f"request type {type(request).__struct_config__.tag!r} "
                                    "is not served by this routerd")
        result = await handler(app, request)
        if isinstance(result, Reply):
            yield ENCODER.encode(result)
            return
        async for reply in result:
            yield ENCODER.encode(reply)
    except RouterdError as exc:
        yield ENCODER.encode(error_reply(exc, app.runtime.secrets))
    except Exception as exc:  # a bug: answer, log, keep serving everyone else
        log.exception("handler failed")
        yield ENCODER.encode(Error(code="internal", message=f"internal error: {type(exc).__name__}"))
