"""The Unix-socket front: accepts connections and turns frames into handler calls, and is the one
place where an exception on the socket becomes an error reply.

Each connection is served in order, one request at a time (clients pipeline by opening more
connections). Bad input never crashes the daemon: a frame whose JSON or schema is wrong gets an
error reply and the connection stays usable; a length prefix over the limit or a truncated frame
gets an error reply and the connection is closed, since the byte stream cannot be resynchronised.
A connection waiting for its next request is "idle" and is closed when the daemon drains. While it
drains, the socket still accepts: ``status`` and ``stop`` are answered (``routerctl status`` shows
the drain, a second ``routerctl stop`` waits for the exit), every other request gets a retryable
``shutting_down`` error, so that ``routerctl ping`` says routerd is stopping rather than that it is
not running; each connection closes after that one answer. A request the end of the drain cuts
short gets a ``shutting_down`` error as its final reply.
"""

import logging
from collections.abc import AsyncGenerator
from contextlib import aclosing

import anyio
from anyio.abc import ByteStream, SocketListener, TaskStatus

from routerd.app import App
from routerd.errors import NotImplementedYet, RouterdError, ShuttingDown
from routerd.framing import FrameReader, FrameTooLarge, encode_frame
from routerd.fronts.serve import serve_listener
from routerd.handlers.table import HANDLERS
from routerd.protocol.codec import ENCODER, decode_request
from routerd.protocol.replies import Error, Reply
from routerd.protocol.requests import Request, Status, Stop

log = logging.getLogger("routerd.socket")

RECEIVE_SIZE = 65536
# A client that has started a frame must finish it within this; an idle one may wait longer
# (daemon.idle_timeout_s).
PARTIAL_FRAME_TIMEOUT_S = 30.0
# A client that takes none of a streamed reply's frames for this long is gone (routerctl gives up
# on a daemon silent as long): the stream ends and the connection closes, so that what the stream
# held is let go: an export's snapshot keeps the WAL from being checkpointed past it.
STREAM_SEND_TIMEOUT_S = 60.0
STOPPING = "routerd is stopping (draining in-flight requests); start it again once it has stopped"
CUT = "routerd stopped before this request was done (its drain ended first)"
# What the socket still answers while the daemon drains: a look at it, and a stop asked again.
SERVED_WHILE_DRAINING: frozenset[type[Request]] = frozenset({Status, Stop})


async def serve_socket(app: App, listener: SocketListener, *,
                       task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
    """Serve ``listener`` until cancelled."""
    await serve_listener(app, listener, serve_connection, task_status=task_status)


async def serve_connection(app: App, stream: ByteStream) -> None:
    async with stream:
        try:
            await _serve_frames(app, stream)
        except (anyio.BrokenResourceError, anyio.ClosedResourceError):
            pass  # the client went away; its request was handled, its reply had nowhere to go


async def _serve_frames(app: App, stream: ByteStream) -> None:
    """Answer the connection's frames in turn, until it closes or, once the daemon drains, after
    the answer in hand."""
    reader = FrameReader()
    while True:
        try:
            frame = reader.next_frame()
        except FrameTooLarge as exc:
            await _send_error(stream, "bad_frame", str(exc))
            return
        if frame is None:
            data = await _receive(app, stream, reader.pending)
            if data is None:
                return
            if not data:
                if reader.pending:
                    await _send_error(stream, "bad_frame",
                                      f"truncated frame: connection closed after {reader.pending} bytes")
                return
            reader.feed(data)
            continue
        with app.inflight:
            with app.cuttable() as work:
                result = await _answer(app, frame)
                if isinstance(result, bytes):
                    await stream.send(encode_frame(result))
                else:
                    async with aclosing(result) as payloads:
                        async for payload in payloads:
                            with anyio.move_on_after(STREAM_SEND_TIMEOUT_S) as sending:
                                await stream.send(encode_frame(payload))
                            if sending.cancelled_caught:
                                log.warning("a client read nothing of its streamed reply for %.0f s: "
                                            "closing its connection", STREAM_SEND_TIMEOUT_S)
                                return
            if work.cancelled_caught:  # the drain ended first: say so, as the final reply
                await _send_error(stream, ShuttingDown.code, CUT, retryable=ShuttingDown.retryable)
                return
        if app.draining:
            return


async def _receive(app: App, stream: ByteStream, pending: int) -> bytes | None:
    """The next bytes from the client, b"" at EOF, or None when the connection should close
    (drain, idle timeout, reset)."""
    timeout = PARTIAL_FRAME_TIMEOUT_S if pending else app.runtime.config.daemon.idle_timeout_s
    with anyio.move_on_after(timeout) if pending else app.idle(timeout):
        try:
            return await stream.receive(RECEIVE_SIZE)
        except (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError):
            return b""
    if pending:
        await _send_error(stream, "bad_frame", f"truncated frame: no data for {timeout:.0f} s")
    return None


async def _send_error(stream: ByteStream, code: str, message: str, *, retryable: bool = False) -> None:
    try:
        await stream.send(encode_frame(ENCODER.encode(Error(code=code, message=message, retryable=retryable))))
    except (anyio.BrokenResourceError, anyio.ClosedResourceError):
        pass


async def _answer(app: App, frame: bytes) -> bytes | AsyncGenerator[bytes, None]:
    """The encoded reply to the request in ``frame``, or for a handler that streams, an async
    generator of encoded replies (run it under ``aclosing``). Never raises: an exception becomes
    the (final) error reply, in ``_failed``."""
    try:
        request = decode_request(frame)
        if app.draining and type(request) not in SERVED_WHILE_DRAINING:
            raise ShuttingDown(STOPPING)
        handler = HANDLERS.get(type(request))
        if handler is None:
            raise NotImplementedYet(f"request type {type(request).__struct_config__.tag!r} "
                                    "is not served by this routerd")
        result = await handler(app, request)
    except Exception as exc:
        return _failed(app, exc)
    if isinstance(result, Reply):
        return ENCODER.encode(result)
    return _stream(app, result)


async def _stream(app: App, replies: AsyncGenerator[Reply, None]) -> AsyncGenerator[bytes, None]:
    """A handler's streamed replies, encoded; an exception mid-stream ends it with an error."""
    try:
        async for reply in replies:
            yield ENCODER.encode(reply)
    except Exception as exc:
        yield _failed(app, exc)
    finally:
        await replies.aclose()


def _failed(app: App, exc: Exception) -> bytes:
    """The error reply for ``exc``: routerd's errors by their code (secrets scrubbed), anything
    else as ``internal`` (a bug: logged, and everyone else keeps being served)."""
    if isinstance(exc, RouterdError):
        return ENCODER.encode(error_reply(exc, app.runtime.secrets))
    log.error("handler failed", exc_info=exc)
    return ENCODER.encode(Error(code="internal", message=f"internal error: {type(exc).__name__}",
                                retryable=False))


def error_reply(exc: RouterdError, scrub: frozenset[str] = frozenset()) -> Error:
    message = exc.message
    for secret in scrub:
        message = message.replace(secret, "***")
    return Error(code=exc.code, message=message, retryable=exc.retryable)
