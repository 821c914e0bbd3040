"""The upstream HTTP/1.1 client against raw servers, TLS servers and a proxy: framing however the
bytes are split, 1xx skipped, never a silent second send, TLS trust and client certificates,
proxies, IPv6 hosts."""

import ssl
from functools import partial

import anyio
import pytest
from anyio.abc import SocketAttribute

from routerd.gateway.h1client import H1Pool, UpstreamIOError
from routerd.gateway.transport import route_for, tls_context
from tests.fakes.proxy import FakeProxy
from tests.fakes.tls import make_ca
from tests.fakes.upstream import FakeUpstream


def _pool(port: int, tls=None, host: str = "127.0.0.1", proxy: str | None = None) -> H1Pool:
    scheme = "https" if tls is not None else "http"
    return H1Pool(route_for(f"{scheme}://{host}:{port}", proxy, tls), max_connections=4, max_keepalive=4,
                  keepalive_s=30, connect_timeout_s=5)

pytestmark = pytest.mark.anyio

CHUNKED = (b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\nx-a: 1\r\n\r\n"
           b"5;ext=1\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\ntrailer: x\r\n\r\n")
LENGTH = b"HTTP/1.1 404 Not Found\r\ncontent-length: 4\r\n\r\nnope"


async def _serve(answers: list[bytes], step: int, task_status=anyio.TASK_STATUS_IGNORED) -> None:
    """Answer each request on one connection with the next answer, ``step`` bytes per send."""
    multi = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
    listener = multi.listeners[0]
    task_status.started(listener.extra(SocketAttribute.local_port))
    async with listener:
        stream = await listener.accept()
        async with stream:
            for answer in answers:
                request = b""
                while b"\r\n\r\n" not in request:
                    request += await stream.receive()
                try:
                    for i in range(0, len(answer), step):
                        await stream.send(answer[i:i + step])
                except anyio.BrokenResourceError:
                    return  # the client gave up on a broken answer
            if not answers:
                await stream.receive()


async def _body(response) -> bytes:
    out = b""
    while data := await response.next_chunk():
        out += data
    return out


@pytest.mark.parametrize("step", [1, 3, 1000])
async def test_chunked_and_length_bodies_on_one_kept_alive_connection(step):
    """Chunk extensions and trailers are handled; the connection is reused for the next request."""
    async with anyio.create_task_group() as tg:
        port = await tg.start(_serve, [CHUNKED, LENGTH], step)
        pool = _pool(port)
        first = await pool.request(b"GET", b"/", [], b"")
        assert (first.status, dict(first.headers)[b"x-a"]) == (200, b"1")
        assert await _body(first) == b"hello world"
        second = await pool.request(b"GET", b"/", [], b"")
        assert (second.status, await _body(second)) == (404, b"nope")
        assert pool.opened == 1
        await pool.aclose()


async def test_connection_closed_without_answer_is_an_io_error():
    """A server that closes without answering raises UpstreamIOError (mapped by the caller)."""
    async with anyio.create_task_group() as tg:
        port = await tg.start(_serve, [b""], 1)
        pool = _pool(port)
        with pytest.raises(UpstreamIOError, match="without answering"):
            await pool.request(b"GET", b"/", [], b"")
        await pool.aclose()


async def _serve_requests(answers: list[bytes], task_status=anyio.TASK_STATUS_IGNORED) -> None:
    """Like ``_serve``, but answering each request on its own connection (``b""``: close after
    reading the request, without answering); the requests received are handed back."""
    multi = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
    listener = multi.listeners[0]
    received: list[bytes] = []
    task_status.started((listener.extra(SocketAttribute.local_port), received))
    async with listener:
        for answer in answers:
            async with await listener.accept() as stream:
                request = b""
                while b"\r\n\r\n" not in request:
                    request += await stream.receive()
                received.append(request)
                if answer:
                    await stream.send(answer)
                    request = b""
                    while b"\r\n\r\n" not in request:  # a kept-alive second request
                        try:
                            request += await stream.receive()
                        except anyio.EndOfStream:
                            break
                    if request:
                        received.append(request)  # read, never answered: the connection closes


async def test_early_hints_and_continue_are_not_the_answer():
    """``103 Early Hints`` and ``100 Continue`` are skipped; the final answer is the response."""
    answer = (b"HTTP/1.1 103 Early Hints\r\nlink: </a.css>\r\n\r\nHTTP/1.1 100 Continue\r\n\r\n"
              + LENGTH)
    async with anyio.create_task_group() as tg:
        port = await tg.start(_serve, [answer], 7)
        pool = _pool(port)
        response = await pool.request(b"GET", b"/", [], b"")
        assert (response.status, await _body(response)) == (404, b"nope")
        await pool.aclose()


async def test_bytes_after_the_answer_keep_the_connection_out_of_the_pool():
    """A server that sends more than its answer cannot be trusted with the next request."""
    async with anyio.create_task_group() as tg:
        port = await tg.start(_serve, [LENGTH + b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"], 1000)
        pool = _pool(port)
        response = await pool.request(b"GET", b"/", [], b"")
        assert await _body(response) == b"nope"
        assert pool.statistics().idle == 0
        await pool.aclose()


async def test_a_request_the_server_read_is_never_sent_again():
    """A kept-alive connection that the server closes after reading the request fails the call:
    the pool does not send the request again on a new connection (that could bill it twice)."""
    async with anyio.create_task_group() as tg:
        port, received = await tg.start(_serve_requests, [LENGTH, LENGTH])
        pool = _pool(port)
        first = await pool.request(b"POST", b"/v1/x", [], b"{}")
        assert await _body(first) == b"nope" and pool.statistics().idle == 1
        with pytest.raises(UpstreamIOError, match="without answering"):
            await pool.request(b"POST", b"/v1/x", [], b"{}")
        assert len(received) == 2 and pool.opened == 1
        assert pool.statistics().in_use == 0
        tg.cancel_scope.cancel()


@pytest.mark.parametrize("answer, match", [
    (b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n-40\r\n", "broke HTTP"),
    (b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n1" + b"0" * 70_000, "over"),
    (b"HTTP/1.1 200 OK\r\nx-a: " + b"a" * 70_000, "head is over"),
    (b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nshort", "closed the connection inside"),
])
async def test_broken_answers_are_io_errors(answer, match):
    """Negative chunk sizes, endless framing lines, oversized heads, short bodies: refused."""
    async with anyio.create_task_group() as tg:
        port = await tg.start(_serve, [answer], 4096)
        pool = _pool(port)
        with pytest.raises(UpstreamIOError, match=match):
            response = await pool.request(b"GET", b"/", [], b"")
            await _body(response)
        assert pool.statistics().in_use == 0
        await pool.aclose()


@pytest.mark.parametrize("header", [(b"x-a", b"1\r\nx-b: 2"), (b"x-a", b"a\x00b"), (b"bad name", b"1")])
async def test_nothing_with_control_characters_is_sent(header):
    """A header value with CR, LF or NUL (or a name that is not a token) never leaves routerd."""
    pool = _pool(9)  # nothing listens there: the request is refused before any connection
    with pytest.raises(UpstreamIOError, match="refusing to send"):
        await pool.request(b"GET", b"/", [header], b"")
    with pytest.raises(UpstreamIOError, match="refusing to send"):
        await pool.request(b"GET", b"/a b", [], b"")
    assert pool.opened == 0


async def test_https_upstream_with_ca_file(tmp_path):
    """Providers are HTTPS: the pool speaks TLS (SNI and certificate checked against a ``ca_file``)
    and reuses the connection."""
    ca = make_ca(tmp_path)
    fake = FakeUpstream("secure")
    async with anyio.create_task_group() as tg:
        await tg.start(partial(fake.serve, tls=ca.server_context("localhost")))
        pool = _pool(fake.port, tls_context(str(ca.pem), None, None, "test"), "localhost")
        for _ in range(2):
            response = await pool.request(b"POST", b"/v1/chat/completions", [], b'{"model": "m"}')
            assert response.status == 200 and b"secure" in await _body(response)
        assert pool.opened == 1
        await pool.aclose()
        tg.cancel_scope.cancel()


async def test_ssl_cert_file_is_honoured_and_trust_is_not_skipped(tmp_path, monkeypatch):
    """Without ``ca_file`` the system's trust applies, which ``SSL_CERT_FILE`` sets; a certificate
    nothing vouches for is refused."""
    ca = make_ca(tmp_path)
    fake = FakeUpstream("trusted by the environment")
    async with anyio.create_task_group() as tg:
        await tg.start(partial(fake.serve, tls=ca.server_context("localhost")))
        untrusted = _pool(fake.port, tls_context(None, None, None, "test"), "localhost")
        with pytest.raises(UpstreamIOError, match="TLS failed"):
            await untrusted.request(b"GET", b"/", [], b"")
        monkeypatch.setenv("SSL_CERT_FILE", str(ca.pem))
        trusted = _pool(fake.port, tls_context(None, None, None, "test"), "localhost")
        response = await trusted.request(b"POST", b"/v1/chat/completions", [], b'{"model": "m"}')
        assert response.status == 200
        await response.aclose()
        await trusted.aclose()
        tg.cancel_scope.cancel()


async def test_client_certificate_for_mutual_tls(tmp_path):
    """A provider that requires a client certificate accepts routerd's ``client_cert`` and refuses
    a connection without one."""
    ca = make_ca(tmp_path)
    fake = FakeUpstream("mutual")
    cert, key = ca.issue("routerd", client=True)
    async with anyio.create_task_group() as tg:
        await tg.start(partial(fake.serve, tls=ca.server_context("localhost", require_client_cert=True)))
        without = _pool(fake.port, tls_context(str(ca.pem), None, None, "test"), "localhost")
        with pytest.raises(UpstreamIOError):
            response = await without.request(b"POST", b"/v1/chat/completions", [], b"{}")
            await _body(response)
        with_cert = _pool(fake.port, tls_context(str(ca.pem), str(cert), str(key), "test"), "localhost")
        response = await with_cert.request(b"POST", b"/v1/chat/completions", [], b'{"model": "m"}')
        assert response.status == 200 and b"mutual" in await _body(response)
        assert len(fake.received) == 1
        await with_cert.aclose()
        tg.cancel_scope.cancel()


async def test_proxy_refusal_is_reported_without_credentials():
    """A proxy that refuses the tunnel (407) fails the call with the proxy's answer, and the
    credentials in the proxy URL appear nowhere in the error."""
    async with anyio.create_task_group() as tg:
        proxy = await tg.start(FakeProxy({}, auth=("alice", "right-password")).serve)
        pool = _pool(443, ssl.create_default_context(), "api.provider.test",
                     proxy=f"http://alice:wrong-password@127.0.0.1:{proxy.port}")
        with pytest.raises(UpstreamIOError) as info:
            await pool.request(b"GET", b"/", [], b"")
        assert "HTTP 407" in str(info.value) and "password" not in str(info.value)
        assert proxy.seen[0][:2] == ("CONNECT", "api.provider.test:443")
        tg.cancel_scope.cancel()


async def test_ipv6_host_is_bracketed():
    """An IPv6 literal is connected to as such and written in brackets in the Host header."""
    fake = FakeUpstream("over IPv6")
    async with anyio.create_task_group() as tg:
        await tg.start(partial(fake.serve, host="::1"))
        pool = H1Pool(route_for(f"http://[::1]:{fake.port}/v1", None, None), max_connections=1,
                      max_keepalive=1, keepalive_s=30, connect_timeout_s=5)
        response = await pool.request(b"POST", b"/v1/chat/completions", [], b'{"model": "m"}')
        assert response.status == 200 and b"over IPv6" in await _body(response)
        assert fake.received[0].headers["host"] == f"[::1]:{fake.port}"
        await pool.aclose()
        tg.cancel_scope.cancel()
