"""One connection pool per provider, and the single place where upstream I/O errors are mapped.

Each provider gets an ``H1Pool`` (``routerd.gateway.h1client``) along its ``Route``
(``routerd.gateway.transport``: proxy, TLS) with its configured size, keep-alive and timeouts.
``send`` returns the response once its head arrived, body unread, so that streams are relayed as
they arrive; callers read it with ``next_chunk`` and must close it. Foreign exceptions become
``routerd.errors`` upstream errors here and nowhere else.
"""

import ssl
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from urllib.parse import urlsplit

import anyio
import anyio.to_thread

from routerd.errors import UpstreamBadResponse, UpstreamError, UpstreamTimeout, UpstreamUnavailable
from routerd.gateway.h1client import H1Pool, Response, UpstreamIOError
from routerd.gateway.transport import route_for, tls_context
from routerd.providers import Provider


class Upstream:
    """A provider's pool and the parts of its requests that never change."""

    def __init__(self, provider: Provider, tls: ssl.SSLContext | None) -> None:
        cfg = provider.config
        self.provider = provider
        self.prefix = urlsplit(provider.base_url).path.rstrip("/").encode()
        self.read_timeout_s = cfg.timeout_s
        self.pool = H1Pool(route_for(provider.base_url, provider.proxy, tls),
                           max_connections=cfg.max_connections, max_keepalive=cfg.max_keepalive,
                           keepalive_s=cfg.keepalive_s, connect_timeout_s=cfg.connect_timeout_s)

    async def send(self, method: bytes, path: bytes, headers: list[tuple[bytes, bytes]],
                   body: bytes) -> Response:
        """Send one request and return once the response head arrived (body unread)."""
        try:
            return await self.pool.request(method, self.prefix + path, headers, body)
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


async def read_body(response: Response, provider: str, limit: int, *, truncate: bool = False) -> bytes:
    """The whole body of ``response``, closing it. Over ``limit`` bytes: the first ``limit`` with
    ``truncate`` (an error body), else UpstreamBadResponse (an answer no client should get)."""
    parts, size = [], 0
    try:
        while data := await response.next_chunk():
            size += len(data)
            if size > limit:
                if not truncate:
                    raise UpstreamBadResponse(f"{provider}: the answer is over {limit} bytes")
                parts.append(data[:limit - size])
                break
            parts.append(data)
    except UpstreamIOError as exc:
        raise map_error(exc, provider) from None
    finally:
        await response.aclose()
    return parts[0] if len(parts) == 1 else b"".join(parts)


@asynccontextmanager
async def open_upstreams(providers: dict[str, Provider]) -> AsyncIterator[dict[str, Upstream]]:
    """A pool per provider, all closed on exit. TLS contexts (CA and client-certificate files are
    read) are made in a worker thread: one shared by the providers with default TLS settings."""
    def contexts() -> dict[str, ssl.SSLContext | None]:
        shared: ssl.SSLContext | None = None
        out: dict[str, ssl.SSLContext | None] = {}
        for name, p in providers.items():
            cfg = p.config
            if not p.base_url.startswith("https:"):
                out[name] = None
            elif cfg.ca_file or cfg.client_cert:
                out[name] = tls_context(cfg.ca_file, cfg.client_cert, cfg.client_key, f"providers.{name}")
            else:
                shared = shared or tls_context(None, None, None, f"providers.{name}")
                out[name] = shared
        return out

    tls = await anyio.to_thread.run_sync(contexts)
    upstreams = {name: Upstream(p, tls[name]) for name, p in providers.items()}
    async with AsyncExitStack() as stack:
        for upstream in upstreams.values():
            stack.push_async_callback(upstream.pool.aclose)
        yield upstreams
