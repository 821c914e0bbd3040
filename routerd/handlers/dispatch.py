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
from routerd.handlers.table import HANDLERS
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
    except RecursionError:  # msgspec's answer to JSON nested past the interpreter's stack
        raise BadRequest("invalid JSON: nested too deeply") from None
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


async def handle_frame(app, frame: bytes) -> bytes | AsyncIterator[bytes]:
    """Run the request in ``frame``: the encoded reply, or for a stream an async iterator of
    encoded replies (run it under ``aclosing``). Never raises RouterdError."""
    try:
        request = decode_request(frame)
        handler = HANDLERS.get(type(request))
        if handler is None:
            raise NotImplementedYet(f"request type {type(request).__struct_config__.tag!r} "
                                    "is not served by this routerd")
        result = await handler(app, request)
    except RouterdError as exc:
        return ENCODER.encode(error_reply(exc, app.runtime.secrets))
    except Exception as exc:  # a bug: answer, log, keep serving everyone else
        return _internal_error(exc)
    if isinstance(result, Reply):
        return ENCODER.encode(result)
    return _encode_stream(app, result)


async def _encode_stream(app, replies: AsyncIterator[Reply]) -> AsyncIterator[bytes]:
    """Encode a handler's streamed replies; an exception mid-stream ends it with a final error."""
    try:
        async for reply in replies:
            yield ENCODER.encode(reply)
    except RouterdError as exc:
        yield ENCODER.encode(error_reply(exc, app.runtime.secrets))
    except Exception as exc:
        yield _internal_error(exc)
    finally:
        aclose = getattr(replies, "aclose", None)
        if aclose is not None:
            await aclose()


def _internal_error(exc: Exception) -> bytes:
    log.error("handler failed", exc_info=exc)
    return ENCODER.encode(Error(code="internal", message=f"internal error: {type(exc).__name__}",
                                retryable=False))
