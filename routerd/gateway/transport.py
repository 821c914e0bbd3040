"""How bytes reach a provider: TCP, an HTTP proxy (CONNECT tunnel or absolute-form), and TLS.

A ``Route`` is everything about one provider's connections that never changes: the origin (scheme,
host, port, with IPv6 hosts bracketed where HTTP wants them), the proxy if any, and the TLS context.
``open_stream`` makes one connection along it:

    direct http      TCP to the origin
    direct https     TCP to the origin, TLS (SNI and certificate checked against the host)
    proxy, https     TCP to the proxy, ``CONNECT host:port`` (h11 reads the proxy's answer), TLS
                     inside the tunnel: the proxy sees neither the request nor the key
    proxy, http      TCP to the proxy; requests then name the origin in absolute form

Names are resolved only here, when a connection is made (never at start); behind a proxy the proxy
resolves them. Proxies are a transport detail: dispatch never sees one.
"""

import base64
import ssl
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import anyio
from anyio.abc import ByteStream
from anyio.streams.tls import TLSStream

from routerd.errors import ConfigError

MAX_PROXY_HEAD_BYTES = 16 * 1024


class ConnectError(Exception):
    """No connection to the provider (nothing of the request was sent)."""


@dataclass(frozen=True, slots=True)
class Route:
    host: str                       # as connected to and verified: no brackets
    port: int
    tls: ssl.SSLContext | None
    proxy_host: str | None = None
    proxy_port: int = 0
    proxy_auth: bytes | None = None  # a Proxy-Authorization value
    authority: bytes = b""          # host[:port] as HTTP writes it: [v6] bracketed, default port left out
    tunnel_target: bytes = b""      # host:port for CONNECT, the port always written

    @property
    def forward(self) -> bool:
        """Plain HTTP through a proxy: requests go to the proxy in absolute form."""
        return self.proxy_host is not None and self.tls is None

    @property
    def scheme(self) -> bytes:
        return b"https" if self.tls is not None else b"http"


def route_for(base_url: str, proxy: str | None, tls: ssl.SSLContext | None) -> Route:
    """The route to ``base_url``'s origin (``tls`` is used only for https), through ``proxy``."""
    parts = urlsplit(base_url)
    https = parts.scheme == "https"
    host = parts.hostname or ""
    port = parts.port or (443 if https else 80)
    shown = b"[%s]" % host.encode() if ":" in host else _host_bytes(host)
    target = b"%s:%d" % (shown, port)
    authority = shown if port == (443 if https else 80) else target
    tls = tls if https else None
    if proxy is None:
        return Route(host, port, tls, authority=authority, tunnel_target=target)
    p = urlsplit(proxy)
    auth = None
    if p.username is not None:
        user_pass = f"{unquote(p.username)}:{unquote(p.password or '')}".encode()
        auth = b"Basic " + base64.b64encode(user_pass)
    return Route(host, port, tls, p.hostname or "", p.port or 80, auth, authority, target)


def _host_bytes(host: str) -> bytes:
    """A host name as a Host header writes it: ASCII as it is, any other through IDNA (punycode).
    ASCII is tried first, as anyio and uvloop do, so that a daemon whose providers all have ASCII
    names never loads the idna codec (with unicodedata and stringprep, ~0.4 MB of idle RSS)."""
    return host.encode("ascii") if host.isascii() else host.encode("idna")


def tls_context(ca_file: str | None, client_cert: str | None, client_key: str | None,
                where: str) -> ssl.SSLContext:
    """A client TLS context: the system's CAs (``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` honoured) or
    ``ca_file`` instead, and a client certificate for mutual TLS. Blocking (reads files)."""
    try:
        context = ssl.create_default_context(cafile=_path(ca_file))
        if client_cert is not None:
            context.load_cert_chain(str(Path(client_cert).expanduser()), _path(client_key))
    except (OSError, ssl.SSLError, ValueError) as exc:
        raise ConfigError(f"{where}: cannot load TLS files: {exc}") from None
    context.set_alpn_protocols(["http/1.1"])
    return context


def _path(value: str | None) -> str | None:
    return str(Path(value).expanduser()) if value else None


async def open_stream(route: Route, timeout_s: float) -> ByteStream:
    """A connected (and, for https, TLS-wrapped) byte stream along ``route``."""
    try:
        with anyio.fail_after(timeout_s):
            if route.proxy_host is None:
                if route.tls is None:
                    return await anyio.connect_tcp(route.host, route.port)
                return await anyio.connect_tcp(route.host, route.port, ssl_context=route.tls,
                                               tls_standard_compatible=False)
            stream = await anyio.connect_tcp(route.proxy_host, route.proxy_port)
            if route.tls is None:
                return stream
            try:
                await _tunnel(stream, route)
                return await TLSStream.wrap(stream, hostname=route.host, ssl_context=route.tls,
                                            standard_compatible=False)
            except BaseException:
                with anyio.CancelScope(shield=True):
                    await stream.aclose()
                raise
    except TimeoutError:
        raise ConnectError(f"no connection within {timeout_s:g} s") from None
    except ssl.SSLError as exc:
        raise ConnectError(f"TLS failed: {exc.reason or exc}") from None
    except (OSError, anyio.BrokenResourceError, anyio.EndOfStream) as exc:
        where = f"proxy {route.proxy_host}:{route.proxy_port}" if route.proxy_host else "provider"
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        raise ConnectError(f"cannot connect to the {where} ({reason})") from None


async def _tunnel(stream, route: Route) -> None:
    """Ask the proxy for a tunnel to the origin: ``CONNECT host:port`` and a 2xx answer."""
    import h11  # first use: see FIRST_USE in tests/test_layers.py

    conn = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_PROXY_HEAD_BYTES)
    target = route.tunnel_target
    headers = [(b"host", target)]
    if route.proxy_auth is not None:
        headers.append((b"proxy-authorization", route.proxy_auth))
    await stream.send(conn.send(h11.Request(method=b"CONNECT", target=target, headers=headers))
                      + conn.send(h11.EndOfMessage()))
    while True:
        try:
            event = conn.next_event()
        except h11.RemoteProtocolError as exc:
            raise ConnectError(f"the proxy's answer to CONNECT is not HTTP ({exc})") from None
        if event is h11.NEED_DATA:
            try:
                conn.receive_data(await stream.receive())
            except anyio.EndOfStream:
                conn.receive_data(b"")
        elif type(event) is h11.Response:
            if not 200 <= event.status_code < 300:
                raise ConnectError(f"the proxy refused the tunnel: HTTP {event.status_code} "
                                   f"{event.reason.decode('latin-1')}")
            if conn.trailing_data[0]:
                raise ConnectError("the proxy sent data before the tunnel opened")
            return
        elif type(event) is not h11.InformationalResponse:
            raise ConnectError("the proxy closed the connection instead of opening a tunnel")
