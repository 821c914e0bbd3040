"""One connection pool per provider, and the single place where upstream I/O errors are mapped.

Each provider gets an ``H1Pool`` (``routerd.gateway.h1client``) with its configured size, keep-alive
and timeouts. ``send`` returns the response once its head arrived, body unread, so that streams are
relayed as they arrive; callers read it with ``next_chunk`` and close it. Foreign exceptions become
``routerd.errors`` upstream errors here and nowhere else.
"""

import ssl
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from urllib.parse import urlsplit

import anyio
import anyio.to_thread

from routerd.errors import UpstreamError, UpstreamTimeout, UpstreamUnavailable
from routerd.gateway.h1client import H1Pool, Response, UpstreamIOError
from routerd.providers import Provider


class Upstream:
    """A provider's pool and the parts of its requests that never change."""

    def __init__(self, provider: Provider, ssl_context: ssl.SSLContext | None) -> None:
        cfg = provider.config
        self.provider = provider
        parts = urlsplit(provider.base_url)
        https = parts.scheme == "https"
        port = parts.port or (443 if https else 80)
        self.prefix = parts.path.rstrip("/").encode()
        host = (parts.hostname or "").encode()
        host_header = host if parts.port in (None, 443 if https else 80) else b"%s:%d" % (host, port)
        self._host_line = b"host: " + host_header + b"\r\n"
        self.read_timeout_s = cfg.timeout_s
        self.pool = H1Pool(parts.hostname or "", port, ssl_context if https else None,
                           max_connections=cfg.max_connections, max_keepalive=cfg.max_keepalive,
                           keepalive_s=cfg.keepalive_s, connect_timeout_s=cfg.connect_timeout_s)

    async def send(self, method: bytes, path: bytes, headers: list[tuple[bytes, bytes]],
                   body: bytes) -> Response:
        """Send one request and return once the response head arrived (body unread)."""
        head = b"".join((method, b" ", self.prefix, path, b" HTTP/1.1\r\n", self._host_line,
                         *[b"%s: %s\r\n" % kv for kv in headers],
                         b"content-length: %d\r\n\r\n" % len(body)))
        try:
            return await self.pool.request(head, body)
        except UpstreamIOError as exc:
            raise UpstreamUnavailable(f"{self.provider.name}: {exc}") from None


def map_error(exc: BaseException, provider: str) -> UpstreamError:
    """An I/O error or timeout while reading an answer, as routerd's upstream error."""
    if isinstance(exc, UpstreamError):
        return exc
    if isinstance(exc, TimeoutError):
        return UpstreamTimeout(f"{provider}: no data within the read timeout")
    if isinstance(exc, (UpstreamIOError, OSError, anyio.BrokenResourceError)):
        return UpstreamUnavailable(f"{provider}: {exc or type(exc).__name__}")
    raise exc


async def read_body(response: Response, provider: str, limit: int) -> bytes:
    """The whole body of ``response`` (at most ``limit`` bytes kept), closing it."""
    parts, size = [], 0
    try:
        while data := await response.next_chunk():
            size += len(data)
            if size <= limit:
                parts.append(data)
    except UpstreamIOError as exc:
        raise map_error(exc, provider) from None
    finally:
        await response.aclose()
    return parts[0] if len(parts) == 1 else b"".join(parts)


@asynccontextmanager
async def open_upstreams(providers: dict[str, Provider]) -> AsyncIterator[dict[str, Upstream]]:
    """A pool per provider, all closed on exit."""
    context = None
    if any(p.base_url.startswith("https:") for p in providers.values()):
        context = await anyio.to_thread.run_sync(ssl.create_default_context)  # reads the CA file
    upstreams = {name: Upstream(p, context) for name, p in providers.items()}
    async with AsyncExitStack() as stack:
        for upstream in upstreams.values():
            stack.push_async_callback(upstream.pool.aclose)
        yield upstreams
