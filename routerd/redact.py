"""Keeping secrets out of everything routerd shows: logs, error messages, status, stored rows.

Secrets are API keys (from the config or the environment), the gateway key, and credentials written
into a URL (``https://user:pass@host``, a proxy's ``http://user:pass@proxy:3128``). URLs are shown
without their credentials; any other text is scrubbed of every known secret value.
"""

from urllib.parse import unquote, urlsplit, urlunsplit


def scrub(text: str, secrets: frozenset[str]) -> str:
    """``text`` with every secret value in it replaced by ``***``."""
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, "***")
    return text


def scrub_bytes(data: bytes, secrets: frozenset[str]) -> bytes:
    """``data`` (an upstream body, say) with every secret value in it replaced by ``***``."""
    for secret in secrets:
        encoded = secret.encode()
        if encoded in data:
            data = data.replace(encoded, b"***")
    return data


def redact_url(url: str) -> str:
    """``url`` without the credentials it may carry (``user:pass@`` becomes ``***@``)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<invalid URL>" if "@" in url else url
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc="***@" + parts.netloc.rpartition("@")[2]))


def url_credentials(url: str) -> tuple[str, str] | None:
    """The (user, password) written into ``url``, percent-decoded, or None."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if "@" not in parts.netloc:
        return None
    return unquote(parts.username or ""), unquote(parts.password or "")
