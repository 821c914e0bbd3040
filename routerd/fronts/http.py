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
from anyio.abc import ByteStream, Listener, TaskStatus

from routerd.config import Config
from routerd.errors import ConfigError
from routerd.fronts.http_wire import (CONTINUE, MAX_HEAD_BYTES, ChunkedDecoder, HttpError,
                                      RequestHead, parse_head, response_head)

log = logging.getLogger("routerd.http")

RECEIVE_SIZE = 65536
# A client that started a request must finish sending it within this.
PARTIAL_REQUEST_TIMEOUT_S = 60.0


class Connection:
    """One client connection: its stream and the bytes read past the current request."""

    __slots__ = ("stream", "buffer", "app", "closed", "body_pending")

    def __init__(self, app, stream: ByteStream) -> None:
        self.app = app
        self.stream = stream
        self.buffer = b""
        self.closed = False          # answer with "connection: close" and stop after this request
        self.body_pending = False    # the current request's body is still unread

    async def receive(self) -> bytes:
        """More bytes from the client; b"" when it closed or reset the connection."""
        try:
            return await self.stream.receive(RECEIVE_SIZE)
        except (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError):
            return b""

    async def send(self, data: bytes) -> None:
        await self.stream.send(data)

    async def read_head(self) -> RequestHead | None:
        """The next request's head, or None when the client is done (or idle past the limit)."""
        while (end := self.buffer.find(b"\r\n\r\n")) < 0:
            if len(self.buffer) > MAX_HEAD_BYTES:
                raise HttpError(431, "request head is too large")
            data = await self._receive_idle() if not self.buffer else await self.receive()
            if not data:
                return None
            self.buffer += data
        head, self.buffer = self.buffer[:end], self.buffer[end + 4:]
        if len(head) > MAX_HEAD_BYTES:
            raise HttpError(431, "request head is too large")
        parsed = parse_head(head)
        self.body_pending = parsed.chunked or parsed.content_length > 0
        return parsed

    async def _receive_idle(self) -> bytes:
        timeout = self.app.runtime.config.daemon.idle_timeout_s
        with anyio.move_on_after(timeout) as scope:
            self.app.idle_scopes.add(scope)
            try:
                return await self.receive()
            finally:
                self.app.idle_scopes.discard(scope)
        return b""

    async def read_body(self, head: RequestHead, limit: int) -> bytes:
        """The request body, within ``limit`` bytes (413 otherwise)."""
        self.body_pending = False
        if head.chunked:
            decoder = ChunkedDecoder(limit)
            data, self.buffer = self.buffer, b""
            if head.expect_continue and not data:
                await self.send(CONTINUE)
            while not decoder.feed(data):
                data = await self.receive()
                if not data:
                    raise HttpError(400, "connection closed inside the request body")
            self.buffer = decoder.rest
            return bytes(decoder.body)
        length = head.content_length
        if length > limit:
            raise HttpError(413, f"request body is {length} bytes, over the limit of {limit} bytes")
        if len(self.buffer) < length and head.expect_continue:
            await self.send(CONTINUE)
        with anyio.fail_after(PARTIAL_REQUEST_TIMEOUT_S):
            while len(self.buffer) < length:
                data = await self.receive()
                if not data:
                    raise HttpError(400, "connection closed inside the request body")
                self.buffer += data
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return body


async def serve_http(app, listener: Listener[ByteStream], *,
                     task_status: TaskStatus[anyio.CancelScope] = anyio.TASK_STATUS_IGNORED) -> None:
    """Serve ``listener`` until the returned cancel scope is cancelled, then let open connections
    finish their current request (idle ones are closed by ``app.begin_drain``)."""
    async with anyio.create_task_group() as connections:
        with anyio.CancelScope() as accepting:
            task_status.started(accepting)
            async with listener:
                while True:
                    stream = await listener.accept()
                    connections.start_soon(serve_connection, app, stream)


async def serve_connection(app, stream: ByteStream) -> None:
    from routerd.fronts.http_routes import answer_error, handle_request

    conn = Connection(app, stream)
    async with stream:
        while not app.draining and not conn.closed:
            head = None
            try:
                head = await conn.read_head()
                if head is None:
                    return
                with app.inflight:
                    await handle_request(conn, head)
            except HttpError as exc:
                await answer_error(conn, head, exc.status, exc.message)
                return
            except TimeoutError:
                return
            except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                return
            if not head.keep_alive:
                return


def parse_listen(listen: str) -> tuple[str, int]:
    """``host:port`` or ``[v6]:port`` as (host, port)."""
    host, sep, port = listen.rpartition(":")
    if not sep or not port.isdigit():
        raise ConfigError(f"http.listen: expected host:port, got {listen!r}")
    return host.strip("[]") or "127.0.0.1", int(port)


def is_loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bind_http(config: Config, env, activated: dict[str, socket.socket]) -> socket.socket:
    """The gateway's listening socket: one handed over by socket activation (an AF_INET/AF_INET6
    socket), or bound from ``http.listen``. Refuses a non-loopback address without a gateway key."""
    sock = next((s for s in activated.values() if s.family in (socket.AF_INET, socket.AF_INET6)), None)
    if sock is not None:
        host = sock.getsockname()[0]
    else:
        host, port = parse_listen(config.http.listen)
    key_env = config.http.gateway_key_env
    if not is_loopback(host) and not (key_env and env.get(key_env)):
        raise ConfigError(f"http.listen: {host} is beyond loopback; set http.gateway_key_env to a "
                          "variable holding a gateway key (and export it) before listening there")
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
