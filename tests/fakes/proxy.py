"""A fake corporate HTTP proxy on 127.0.0.1: ``CONNECT`` tunnels and absolute-form forwarding, the
way squid and the like serve the official SDKs.

Host names it is asked for are looked up in ``hosts`` (name -> local port on 127.0.0.1), never in
DNS: a provider named ``api.provider.test`` is reachable only through this proxy, as a company's
providers are reachable only through its proxy. With ``auth`` set it answers 407 to requests
without that ``Proxy-Authorization``. ``seen`` records each request line it was sent (for a tunnel,
only the ``CONNECT``: what goes through it is encrypted).
"""

import base64

import anyio
import h11

from tests.fakes.upstream import read_request, serve_each


class FakeProxy:
    def __init__(self, hosts: dict[str, int], auth: tuple[str, str] | None = None) -> None:
        self.hosts = hosts
        self.auth = b"Basic " + base64.b64encode(":".join(auth).encode()) if auth else None
        self.seen: list[tuple[str, str, dict[str, str]]] = []
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def serve(self, *, task_status=anyio.TASK_STATUS_IGNORED) -> None:
        await serve_each(self, self._connection, task_status=task_status)

    async def _connection(self, client) -> None:
        async with client:
            try:
                await self._serve(client)
            except (anyio.BrokenResourceError, anyio.ClosedResourceError, anyio.EndOfStream,
                    h11.ProtocolError, OSError):
                return

    async def _serve(self, client) -> None:
        conn = h11.Connection(h11.SERVER)
        while True:
            request, body = await read_request(conn, client)
            if request is None:
                return
            headers = {k.decode(): v.decode() for k, v in request.headers}
            self.seen.append((request.method.decode(), request.target.decode(), headers))
            if self.auth is not None and headers.get("proxy-authorization", "").encode() != self.auth:
                await client.send(conn.send(h11.Response(status_code=407, headers=[
                    ("proxy-authenticate", 'Basic realm="test"'), ("content-length", "0")]))
                    + conn.send(h11.EndOfMessage()))
                return
            if request.method == b"CONNECT":
                await self._tunnel(conn, client, request.target.decode())
                return
            await self._forward(conn, client, request, body)
            conn.start_next_cycle()

    def _resolve(self, authority: str) -> tuple[str, int]:
        if authority.startswith("["):
            host, _, port = authority[1:].partition("]")
            port = port.lstrip(":")
        else:
            host, _, port = authority.partition(":")
        return "127.0.0.1", self.hosts.get(host, int(port or 80))

    async def _tunnel(self, conn: h11.Connection, client, target: str) -> None:
        upstream = await anyio.connect_tcp(*self._resolve(target))
        await client.send(conn.send(h11.Response(status_code=200, headers=[], reason=b"Connection established")))
        early, _ = conn.trailing_data
        async with upstream, anyio.create_task_group() as tg:
            if early:
                await upstream.send(early)
            tg.start_soon(_pipe, client, upstream, tg.cancel_scope)
            await _pipe(upstream, client, tg.cancel_scope)

    async def _forward(self, conn: h11.Connection, client, request: h11.Request, body: bytes) -> None:
        """Absolute-form: send the request on to the origin in origin form, relay the answer."""
        url = request.target.decode()
        authority, _, path = url.split("://", 1)[1].partition("/")
        headers = [(k, v) for k, v in request.headers if k not in (b"proxy-authorization", b"proxy-connection")]
        async with await anyio.connect_tcp(*self._resolve(authority)) as upstream:
            out = h11.Connection(h11.CLIENT)
            await upstream.send(out.send(h11.Request(method=request.method, target="/" + path, headers=headers))
                                + out.send(h11.Data(data=body)) + out.send(h11.EndOfMessage()))
            while True:
                event = out.next_event()
                if event is h11.NEED_DATA:
                    out.receive_data(await upstream.receive())
                elif isinstance(event, h11.Response):
                    response_headers = [(k, v) for k, v in event.headers if k != b"connection"]
                    await client.send(conn.send(h11.Response(status_code=event.status_code,
                                                             headers=response_headers)))
                elif isinstance(event, h11.Data):
                    await client.send(conn.send(h11.Data(data=event.data)))
                elif isinstance(event, h11.EndOfMessage):
                    await client.send(conn.send(h11.EndOfMessage()))
                    return


async def _pipe(source, sink, scope: anyio.CancelScope) -> None:
    try:
        while True:
            await sink.send(await source.receive())
    except (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError):
        scope.cancel()
