"""The upstream HTTP/1.1 client against a raw server: framing however the bytes are split."""

import anyio
import pytest
from anyio.abc import SocketAttribute

from routerd.gateway.h1client import H1Pool, UpstreamIOError

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
                for i in range(0, len(answer), step):
                    await stream.send(answer[i:i + step])
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
        pool = H1Pool("127.0.0.1", port, None, max_connections=4, max_keepalive=4, keepalive_s=30,
                      connect_timeout_s=5)
        first = await pool.request(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n", b"")
        assert (first.status, dict(first.headers)[b"x-a"]) == (200, b"1")
        assert await _body(first) == b"hello world"
        second = await pool.request(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n", b"")
        assert (second.status, await _body(second)) == (404, b"nope")
        assert pool.opened == 1
        await pool.aclose()


async def test_connection_closed_without_answer_is_an_io_error():
    """A server that closes without answering raises UpstreamIOError (mapped by the caller)."""
    async with anyio.create_task_group() as tg:
        port = await tg.start(_serve, [b""], 1)
        pool = H1Pool("127.0.0.1", port, None, max_connections=4, max_keepalive=4, keepalive_s=30,
                      connect_timeout_s=5)
        with pytest.raises(UpstreamIOError, match="without answering"):
            await pool.request(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n", b"")
        await pool.aclose()


def _tls_contexts(tmp_path):
    """A server context with a fresh self-signed certificate for localhost, and a client context
    that trusts exactly that certificate."""
    import datetime
    import ssl

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    (tmp_path / "cert.pem").write_bytes(cert_pem)
    (tmp_path / "key.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    client = ssl.create_default_context(cadata=cert_pem.decode())
    return server, client


async def test_https_upstream(tmp_path):
    """Providers are HTTPS: the pool speaks TLS (SNI and certificate checked) and reuses it."""
    from anyio.streams.tls import TLSStream

    server_ctx, client_ctx = _tls_contexts(tmp_path)

    async def serve(task_status=anyio.TASK_STATUS_IGNORED) -> None:
        multi = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
        tcp = multi.listeners[0]
        task_status.started(tcp.extra(SocketAttribute.local_port))
        async with tcp:
            stream = await TLSStream.wrap(await tcp.accept(), server_side=True, ssl_context=server_ctx,
                                          standard_compatible=False)
            async with stream:
                for _ in range(2):
                    request = b""
                    while b"\r\n\r\n" not in request:
                        request += await stream.receive()
                    await stream.send(LENGTH)
                await stream.receive()

    async with anyio.create_task_group() as tg:
        port = await tg.start(serve)
        pool = H1Pool("localhost", port, client_ctx, max_connections=4, max_keepalive=4,
                      keepalive_s=30, connect_timeout_s=5)
        for _ in range(2):
            response = await pool.request(b"GET / HTTP/1.1\r\nhost: localhost\r\n\r\n", b"")
            assert (response.status, await _body(response)) == (404, b"nope")
        assert pool.opened == 1
        await pool.aclose()
        tg.cancel_scope.cancel()
