"""The config's value types and checks that more than one section uses: bounded durations and
counts, listen addresses, URLs a provider or a proxy may have. Pure; a refusal is a ValueError that
names its key, which ``routerd.config`` turns into the file's line."""

import ipaddress
import re
from typing import Annotated
from urllib.parse import urlsplit

import msgspec

from routerd.redact import redact_url

# A week: longer than any sane timeout, and it keeps inf (and NaN) out of every deadline.
MAX_TIMEOUT_S = 7 * 24 * 3600.0

Timeout = Annotated[float, msgspec.Meta(gt=0, le=MAX_TIMEOUT_S)]         # a deadline: > 0
Delay = Annotated[float, msgspec.Meta(ge=0, le=MAX_TIMEOUT_S)]           # a wait: 0 allowed
Count = Annotated[int, msgspec.Meta(ge=0, le=1_000_000)]
Positive = Annotated[int, msgspec.Meta(ge=1, le=1_000_000)]


HOST_RE = re.compile(r"[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?|[0-9A-Fa-f:.]+(%\w+)?")
TOKEN_RE = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
CONTROL_RE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def listen_address(listen: str) -> tuple[str, int]:
    """``host:port`` or ``[v6]:port`` as (host, port); ValueError says what is wrong."""
    host, sep, port = listen.rpartition(":")
    if not sep or not (port.isascii() and port.isdigit()) or int(port) > 65535:
        raise ValueError(f"listen: expected host:port with a port from 0 to 65535, got {listen!r}")
    if host.startswith("["):
        try:
            ipaddress.IPv6Address(host.removeprefix("[").removesuffix("]"))
        except ValueError:
            raise ValueError(f"listen: {host!r} is not an IPv6 address") from None
        if not host.endswith("]"):
            raise ValueError(f"listen: {host!r} lacks its closing bracket")
        return host[1:-1], int(port)
    if ":" in host:
        raise ValueError(f"listen: an IPv6 address goes in brackets ([::1]:4141), got {listen!r}")
    if host and not HOST_RE.fullmatch(host):
        raise ValueError(f"listen: {host!r} is not a host name or address")
    return host or "127.0.0.1", int(port)


def check_url(url: str, key: str, schemes: tuple[str, ...]) -> None:
    """Refuse a URL routerd could not connect to: wrong scheme, no host, bad port or IPv6 literal."""
    if CONTROL_RE.search(url) or " " in url:
        raise ValueError(f"{key}: control characters or spaces in the URL")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"{key}: {redact_url(url)!r}: {exc}") from None
    if parts.scheme not in schemes or not parts.hostname:
        raise ValueError(f"{key}: expected a {' or '.join(schemes)} URL with a host, "
                         f"got {redact_url(url)!r}")
    if port == 0:
        raise ValueError(f"{key}: port 0 in {redact_url(url)!r}")
    if parts.netloc.rpartition("@")[2].startswith("["):
        try:
            ipaddress.IPv6Address(parts.hostname.partition("%")[0])
        except ValueError:
            raise ValueError(f"{key}: {parts.hostname!r} is not an IPv6 address") from None
