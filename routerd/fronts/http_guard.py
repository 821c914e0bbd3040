"""Who may use the gateway: the Host a request names, the browser Origin it comes from, the content
type of what it posts, the gateway key, and the model names it asks for.

A web page the user happens to open can make the browser send requests to 127.0.0.1; these checks
are what stop it from spending the user's keys or reading the answers:

- **Host** must be one of this listener's names: ``localhost``, ``127.0.0.1``, ``::1``, the machine's
  host name, the address the connection arrived on, or one of ``http.allowed_hosts``. A DNS-rebinding
  page reaches routerd under its own name (``attacker.example``) and is refused.
- **Origin**, which browsers send and API clients do not, must be the listener itself (same origin)
  or one of ``http.allowed_origins``.
- A **POST** must say ``Content-Type: application/json``: a browser cannot send that across origins
  without a CORS preflight, which routerd never grants, so no "simple request" gets through.

Model names enter the upstream request line (Gemini puts them in the path) and routerd's own
response headers, so they are held to the characters model ids use.
"""

import hmac
import os
import socket
from collections.abc import Callable

from routerd.config import Config
from routerd.errors import Forbidden, Unauthorized, UnsupportedMediaType
from routerd.gateway.prepare import query_key

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})


def check_host(config: Config, headers: dict[bytes, bytes], local_address: Callable[[], str | None]) -> None:
    """Refuse a Host that is not one of this listener's names (DNS rebinding)."""
    value = headers.get(b"host")
    if value is None:  # HTTP/1.0 without Host: no browser sends that
        return
    name = host_name(value)
    if name in LOOPBACK_NAMES or name in config.http.allowed_hosts or "*" in config.http.allowed_hosts:
        return
    if name == socket.gethostname().lower() or name == (local_address() or "").lower():
        return
    raise Forbidden(f"Host {value.decode('latin-1')!r} is not a name of this routerd; add it to "
                    "http.allowed_hosts if clients really reach routerd under it")


def host_name(value: bytes) -> str:
    """The host part of a Host header, lower-cased, without port, brackets or a trailing dot."""
    text = value.decode("latin-1").strip().lower()
    if text.startswith("["):
        return text[1:text.find("]")] if "]" in text else text
    return text.rpartition(":")[0].rstrip(".") if ":" in text else text.rstrip(".")


def check_origin(config: Config, headers: dict[bytes, bytes]) -> None:
    """Refuse requests a browser sent on behalf of another site (API clients send no Origin)."""
    origin = headers.get(b"origin")
    if origin is None:
        return
    allowed = config.http.allowed_origins
    text = origin.decode("latin-1")
    host = headers.get(b"host")
    if text in allowed or "*" in allowed or (host is not None and origin in (b"http://" + host,
                                                                            b"https://" + host)):
        return
    raise Forbidden(f"browser origin {text!r} may not use this routerd; add it to "
                    "http.allowed_origins to allow it")


def check_json(headers: dict[bytes, bytes]) -> None:
    """Require ``Content-Type: application/json`` (parameters such as charset allowed)."""
    value = headers.get(b"content-type", b"")
    if value.partition(b";")[0].strip().lower() != b"application/json":
        shown = value.decode("latin-1") or "none"
        raise UnsupportedMediaType(f"Content-Type must be application/json (got {shown})")


def check_key(config: Config, headers: dict[bytes, bytes], query: bytes = b"") -> None:
    """Require the gateway key when one is configured (Bearer, x-api-key, or Gemini's
    x-goog-api-key / ``?key=``)."""
    key_env = config.http.gateway_key_env
    key = os.environ.get(key_env) if key_env else None
    if not key:
        return
    given = (headers.get(b"x-api-key") or headers.get(b"x-goog-api-key")
             or headers.get(b"authorization", b"").removeprefix(b"Bearer ") or query_key(query))
    if not hmac.compare_digest(given, key.encode()):
        raise Unauthorized("missing or wrong gateway key (send it as 'Authorization: Bearer ...', "
                           "'x-api-key', or a Gemini client's 'x-goog-api-key' / '?key=')")
