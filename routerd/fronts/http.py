"""The HTTP front: HTTP/1.1 with keep-alive on anyio streams, answering the gateway endpoints.

Each connection reads one request at a time (``routerd.fronts.http_wire`` parses it with llhttp), hands
it to its endpoint (``routerd.fronts.http_routes``) and writes the answer: a whole body with
``Content-Length``, or a stream relayed chunk by chunk as it arrives. A connection waiting for its
next request is idle and is closed when the daemon drains; while it drains, requests in flight
finish (their answers say ``connection: close``) and a new one gets a retryable 503. Malformed,
oversized or too slow requests are answered with their 4xx in the dialect's error format and the
connection is closed, since the byte stream can no longer be trusted. Whatever goes wrong inside one connection ends that connection
only (logged), never the daemon.
"""

import logging

import anyio
from anyio.abc import ByteStream, SocketAttribute, SocketListener, TaskStatus

from routerd.app import App
from routerd.errors import BadRequest, RouterdError
from routerd.fronts.http_routes import answer_draining, dialect_of, handle_request
from routerd.fronts.http_wire import CLOSED, CONTINUE, END, NEED_DATA, HttpError, RequestHead, ServerWire
from routerd.fronts.serve import serve_listener
from routerd.gateway.dispatch import error_reply

log = logging.getLogger("routerd.http")

RECEIVE_SIZE = 65536
# Bytes read ahead of what the current request needs (a pipelining client) before reading pauses.
READ_AHEAD_BYTES = 256 * 1024
# A client that started a request must send its head, and then its body, each within this (408).
PARTIAL_REQUEST_TIMEOUT_S = 60.0


class Connection:
    """One client connection. A reader task (``read_forever``) owns the receiving side for the
    connection's whole life: it appends to ``buffer`` and, when the client goes away while a call
    is in flight, cancels ``request_scope`` so that the upstream call ends too. One task per
    connection rather than a watcher per request: the per-request watcher's cancellation was the
    daemon's only source of cyclic garbage, and its collections showed up as 10-20 ms pauses.
    Received bytes go to the parser (``wire``) only when it asks for more."""

    __slots__ = ("stream", "buffer", "app", "wire", "_closed", "eof", "request_scope", "_event",
                 "_resume")

    def __init__(self, app: App, stream: ByteStream) -> None:
        self.app = app
        self.stream = stream
        self.wire = ServerWire(app.runtime.config.http.max_body_bytes)
        self.buffer = bytearray()
        self._closed = False
        self.eof = False             # the client closed (or reset) its side
        self.request_scope: anyio.CancelScope | None = None
        self._event: anyio.Event | None = None
        self._resume: anyio.Event | None = None

    @property
    def closed(self) -> bool:
        """Answer with ``connection: close`` and stop after this request: asked for, or the daemon
        drains (a client must not send its next request on a connection about to close)."""
        return self._closed or self.app.draining

    @closed.setter
    def closed(self, value: bool) -> None:
        self._closed = value

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
        self._event = event = anyio.Event()
        await event.wait()
        return not self.eof or bool(self.buffer)

    async def send(self, data: bytes) -> None:
        await self.stream.send(data)

    def local_host(self) -> str | None:
        """The address this connection arrived on (one of the listener's names)."""
        try:
            return self.stream.extra(SocketAttribute.local_address)[0]
        except (anyio.TypedAttributeLookupError, OSError, IndexError, TypeError):
            return None

    def _poll(self):
        """The parser's next event from the bytes already received, or NEED_DATA."""
        wire = self.wire
        while (event := wire.next_event()) is NEED_DATA:
            if self.buffer:
                data = bytes(self.buffer)
                self.buffer.clear()
                resume, self._resume = self._resume, None
                if resume is not None:
                    resume.set()
                wire.feed(data)
            elif self.eof:
                wire.feed(b"")
            else:
                return NEED_DATA
        return event

    async def next_event(self):
        """The parser's next event (a head, body bytes, END or CLOSED), waiting for bytes as needed."""
        while (event := self._poll()) is NEED_DATA:
            await self.more()
        return event

    async def read_head(self) -> RequestHead | None:
        """The next request's head, or None when the client is done (or idle past the limit)."""
        self.wire.body_limit = self.app.runtime.config.http.max_body_bytes
        if (event := self._poll()) is NEED_DATA:
            if not await self._more_idle():
                return None
            if (event := self._poll()) is NEED_DATA:  # usually the whole head came at once
                event = await self._timed(self.next_event, "head")
        return None if event is CLOSED else event

    async def _more_idle(self) -> bool:
        with self.app.idle(self.app.runtime.config.daemon.idle_timeout_s):
            return await self.more()
        return False

    async def read_body(self, head: RequestHead) -> bytes:
        """The request body, within ``http.max_body_bytes`` (413) and the partial-request time (408)."""
        if self.wire.request_done:
            return b""
        self.wire.check_declared(head)
        if self.wire.waiting_for_continue and not self.buffer:
            await self.send(CONTINUE)
        parts: list[bytes] = []
        while (event := self._poll()) is not NEED_DATA:  # usually the body is here already
            if event is END:
                return parts[0] if len(parts) == 1 else b"".join(parts)
            parts.append(event)

        async def rest() -> bytes:
            while (event := await self.next_event()) is not END:
                parts.append(event)
            return b"".join(parts)

        return await self._timed(rest, "body")

    async def _timed(self, read, what: str):
        """``await read()``, or 408 after PARTIAL_REQUEST_TIMEOUT_S. Only a request that is still
        arriving gets here: a deadline costs a timer, which a whole request need not pay."""
        with anyio.move_on_after(PARTIAL_REQUEST_TIMEOUT_S):
            return await read()
        raise HttpError(408, f"the request {what} did not arrive within {PARTIAL_REQUEST_TIMEOUT_S:g} s")


async def serve_http(app: App, listener: SocketListener, *,
                     task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
    """Serve ``listener`` until cancelled."""
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
    """Answer the connection's requests in turn. One that arrives while the daemon drains is
    answered with a 503 and not counted in flight, so that a client retrying in a loop cannot
    hold the drain up."""
    while True:
        head = None
        try:
            head = await conn.read_head()
            if head is None:
                return
            if app.draining:
                await answer_draining(conn, head)
            else:
                with app.inflight:
                    await handle_request(conn, head)
        except (anyio.BrokenResourceError, anyio.ClosedResourceError):
            return
        except Exception as exc:
            await _answer_failure(conn, head, exc)
        if conn.closed or not conn.wire.reusable:
            return
        conn.wire.next_cycle()


class _Unreadable(BadRequest):
    """A request the parser refused, answered with the status it chose (400, 408, 413, 431, ...)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.http_status = status


async def _answer_failure(conn: Connection, head: RequestHead | None, exc: Exception) -> None:
    """The one place where an exception on the HTTP front becomes an answer, in the dialect's error
    shape: a request that could not be read gets its 4xx and the connection closes (the byte stream
    can no longer be trusted); routerd's errors get their status (the connection closes too when the
    request was not read to its end); anything else is a bug: logged, a 500, the connection closed,
    the daemon serving everyone else. When an answer had already begun, nothing more can be said:
    the connection closes."""
    if isinstance(exc, HttpError):
        conn.closed = True
        error: RouterdError = _Unreadable(exc.status, exc.message)
    elif isinstance(exc, RecursionError):  # msgspec's answer to JSON nested past the interpreter's stack
        error = BadRequest("request body is nested too deeply")
    elif isinstance(exc, RouterdError):
        error = exc
    else:
        log.exception("gateway request failed", exc_info=exc)
        conn.closed = True
        error = RouterdError(f"internal error: {type(exc).__name__}")
    if conn.wire.responded:
        conn.closed = True
        return
    reply = error_reply(dialect_of(head).name, error)
    close = conn.closed or not conn.wire.message_complete
    try:
        await conn.send(conn.wire.response(reply.status, reply.headers, reply.body, close=close))
    except (anyio.BrokenResourceError, anyio.ClosedResourceError):
        conn.closed = True
