"""The HTTP front: HTTP/1.1 with keep-alive on anyio streams, answering the gateway endpoints.

Each connection reads one request at a time (``routerd.fronts.http_wire`` parses it), hands it to
its endpoint (``routerd.fronts.http_routes``) and writes the answer: a whole body with
``Content-Length``, or a stream relayed chunk by chunk as it arrives. A connection waiting for its
next request is idle and is closed when the daemon drains. Malformed or oversized requests are
answered in the dialect's error format and the connection is closed, since the byte stream can no
longer be trusted.
"""

import logging
import socket

import anyio
from anyio.abc import ByteStream, SocketListener, TaskStatus

from routerd.app import App
from routerd.config import Config
from routerd.errors import BadRequest, RouterdError
from routerd.fronts.http_routes import dialect_of, handle_request
from routerd.fronts.http_wire import (CONTINUE, MAX_HEAD_BYTES, ChunkedDecoder, HttpError, RequestHead, parse_head,
                                      response_head)
from routerd.fronts.serve import serve_listener
from routerd.gateway.dispatch import error_reply
from routerd.listeners import check_exposure, parse_listen

log = logging.getLogger("routerd.http")

RECEIVE_SIZE = 65536
# Bytes read ahead of what the current request needs (a pipelining client) before reading pauses.
READ_AHEAD_BYTES = 256 * 1024
# A client that started a request must finish sending it within this.
PARTIAL_REQUEST_TIMEOUT_S = 60.0


class Connection:
    """One client connection. A reader task (``read_forever``) owns the receiving side for the
    connection's whole life: it appends to ``buffer`` and, when the client goes away while a call
    is in flight, cancels ``request_scope`` so that the upstream call ends too. One task per
    connection rather than a watcher per request: the per-request watcher's cancellation was the
    daemon's only source of cyclic garbage, and its collections showed up as 10-20 ms pauses."""

    __slots__ = ("stream", "buffer", "app", "closed", "body_pending", "eof", "request_scope",
                 "_event", "_resume")

    def __init__(self, app: App, stream: ByteStream) -> None:
        self.app = app
        self.stream = stream
        self.buffer = bytearray()
        self.closed = False          # answer with "connection: close" and stop after this request
        self.body_pending = False    # the current request's body is still unread
        self.eof = False             # the client closed (or reset) its side
        self.request_scope: anyio.CancelScope | None = None
        self._event: anyio.Event | None = None
        self._resume: anyio.Event | None = None

    async def read_forever(self) -> None:
        """Receive until the client closes; pause while unrequested bytes pile up (pipelining)."""
        while True:
            if len(self.buffer) >= READ_AHEAD_BYTES:
                self._resume = anyio.Event()
                await self._resume.wait()
            try:
                data = await self.stream.receive(RECEIVE_SIZE)
            except (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError):
                data = b""
            if not data:
                self.eof = True
                self._wake()
                if self.request_scope is not None:
                    self.request_scope.cancel()
                return
            self.buffer += data
            self._wake()

    def _wake(self) -> None:
        event, self._event = self._event, None
        if event is not None:
            event.set()

    async def more(self) -> bool:
        """Wait until more bytes arrived (True) or the client closed (False)."""
        if self.eof:
            return False
        resume, self._resume = self._resume, None
        if resume is not None:
            resume.set()
        self._event = event = anyio.Event()
        await event.wait()
        return not self.eof or bool(self.buffer)

    async def send(self, data: bytes) -> None:
        await self.stream.send(data)

    async def read_head(self) -> RequestHead | None:
        """The next request's head, or None when the client is done (or idle past the limit)."""
        if not self.buffer and not await self._more_idle():
            return None
        if (end := self.buffer.find(b"\r\n\r\n")) < 0:  # usually the head came in one piece
            with anyio.fail_after(PARTIAL_REQUEST_TIMEOUT_S):
                while (end := self.buffer.find(b"\r\n\r\n")) < 0:
                    if len(self.buffer) > MAX_HEAD_BYTES:
                        raise HttpError(431, "request head is too large")
                    if not await self.more():
                        return None
        if end > MAX_HEAD_BYTES:
            raise HttpError(431, "request head is too large")
        head = bytes(self.buffer[:end])
        del self.buffer[:end + 4]
        parsed = parse_head(head)
        self.body_pending = parsed.chunked or parsed.content_length > 0
        return parsed

    async def _more_idle(self) -> bool:
        with self.app.idle(self.app.runtime.config.daemon.idle_timeout_s):
            return await self.more()
        return False

    async def read_body(self, head: RequestHead, limit: int) -> bytes:
        """The request body, within ``limit`` bytes (413 otherwise)."""
        self.body_pending = False
        if head.chunked:
            return await self._read_chunked(head, limit)
        length = head.content_length
        if length > limit:
            raise HttpError(413, f"request body is {length} bytes, over the limit of {limit} bytes")
        if len(self.buffer) < length:
            if head.expect_continue:
                await self.send(CONTINUE)
            with anyio.fail_after(PARTIAL_REQUEST_TIMEOUT_S):
                while len(self.buffer) < length:
                    if not await self.more():
                        raise HttpError(400, "connection closed inside the request body")
        body = bytes(self.buffer[:length])
        del self.buffer[:length]
        return body

    async def _read_chunked(self, head: RequestHead, limit: int) -> bytes:
        decoder = ChunkedDecoder(limit)
        if head.expect_continue and not self.buffer:
            await self.send(CONTINUE)
        with anyio.fail_after(PARTIAL_REQUEST_TIMEOUT_S):
            while True:
                data = bytes(self.buffer)
                self.buffer.clear()
                if decoder.feed(data):
                    break
                if not await self.more():
                    raise HttpError(400, "connection closed inside the request body")
        self.buffer[:0] = decoder.rest
        return bytes(decoder.body)


async def serve_http(app: App, listener: SocketListener, *,
                     task_status: TaskStatus[anyio.CancelScope] = anyio.TASK_STATUS_IGNORED) -> None:
    """Serve ``listener`` until the cancel scope handed to ``task_status`` is cancelled."""
    await serve_listener(app, listener, serve_connection, task_status=task_status)


async def serve_connection(app: App, stream: ByteStream) -> None:
    conn = Connection(app, stream)
    async with stream, anyio.create_task_group() as tg:
        tg.start_soon(conn.read_forever)
        try:
            await _serve_requests(app, conn)
        finally:
            tg.cancel_scope.cancel()


async def _serve_requests(app: App, conn: Connection) -> None:
    while not app.draining and not conn.closed:
        head = None
        try:
            head = await conn.read_head()
            if head is None:
                return
            with app.inflight:
                await handle_request(conn, head)
        except TimeoutError:  # a partial request the client stopped sending
            return
        except (anyio.BrokenResourceError, anyio.ClosedResourceError):
            return
        except Exception as exc:
            if not await _answer_failure(conn, head, exc):
                return
            continue
        if not head.keep_alive:
            return


class _Unreadable(BadRequest):
    """A request the parser refused, answered with the status it chose (400, 413, 431, ...)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.http_status = status


async def _answer_failure(conn: Connection, head: RequestHead | None, exc: Exception) -> bool:
    """The one place where an exception on the HTTP front becomes an answer, in the dialect's error
    shape: a request that could not be read gets its 4xx and the connection closes (the byte stream
    can no longer be trusted); routerd's errors get their status (the connection closes too when the
    request's body was left unread); anything else is a bug: logged, a 500, the connection closed,
    the daemon serving everyone else. Whether the connection may take another request."""
    if isinstance(exc, HttpError):
        conn.closed = True
        error: RouterdError = _Unreadable(exc.status, exc.message)
    elif isinstance(exc, RouterdError):
        error = exc
    else:
        log.exception("gateway request failed", exc_info=exc)
        conn.closed = True
        error = RouterdError(f"internal error: {type(exc).__name__}")
    if conn.body_pending:  # answered before its body was read: the stream cannot be reused
        conn.closed = True
    reply = error_reply(dialect_of(head).name, error)
    keep_alive = head is not None and head.keep_alive and not conn.closed
    try:
        await conn.send(response_head(reply.status, reply.headers, length=len(reply.body),
                                      keep_alive=keep_alive) + reply.body)
    except (anyio.BrokenResourceError, anyio.ClosedResourceError):
        return False
    return keep_alive


def bind_http(config: Config, env, activated: dict[str, socket.socket]) -> socket.socket:
    """The gateway's listening socket: one handed over by socket activation (an AF_INET/AF_INET6
    socket), or bound from ``http.listen``. Refuses a non-loopback address without a gateway key."""
    sock = next((s for s in activated.values() if s.family in (socket.AF_INET, socket.AF_INET6)), None)
    if sock is not None:
        host = sock.getsockname()[0]
    else:
        host, port = parse_listen(config.http.listen)
    check_exposure(host, config.http.gateway_key_env, env)
    if sock is None:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            sock.close()
            raise
        sock.listen(1024)
    sock.setblocking(False)
    return sock


def address_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
