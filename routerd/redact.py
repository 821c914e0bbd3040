"""Keeping secrets out of everything routerd shows: logs, error messages, status, stored rows, and
what the gateway hands its clients.

Secrets are API keys (from the config or the environment), the gateway key, and credentials written
into a URL (``https://user:pass@host``, a proxy's ``http://user:pass@proxy:3128``). URLs are shown
without their credentials; any other text is scrubbed of every known secret value, in every form a
JSON reader would decode to it: as written, or with some of its characters as JSON escapes
(``"\\u0073k-..."``, ``\\/``), since a client (or routerd's own translation) decodes those escapes
back to the key. ``Redactor`` does this for one set of secrets, built once per runtime: a byte
search per secret, and a regular expression only for text that holds a JSON escape.
"""

import re
from urllib.parse import unquote, urlsplit, urlunsplit

_MASK = b"***"
# JSON's two-character escapes, by the character they stand for.
_SHORT_ESCAPES = {'"': '\\"', "\\": "\\\\", "/": "\\/", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r",
                  "\t": "\\t"}


class Redactor:
    """Blanks every value of ``secrets`` (longest first, so one inside another goes whole) from text
    and bytes, written plainly or with JSON escapes. ``longest`` is the most bytes a secret can
    take written out (every character as ``\\uXXXX``, or two of them past the BMP): how much of a
    byte stream must be seen together for a secret not to slip through a cut."""

    __slots__ = ("secrets", "longest", "_raw", "_by_prefix", "_introducers", "_pattern")

    def __init__(self, secrets: frozenset[str]) -> None:
        ordered = sorted((s for s in secrets if s), key=len, reverse=True)
        self.secrets = secrets
        self._raw = tuple(s.encode("utf-8", "surrogatepass") for s in ordered)
        # Keys of one kind share their first bytes (``sk-``): one search for each such prefix, then
        # the keys behind it only when it is found, is what keeps a relayed chunk cheap.
        prefixes: dict[bytes, list[bytes]] = {}
        for raw in self._raw:
            prefixes.setdefault(raw[:3], []).append(raw)
        self._by_prefix = tuple((prefix, tuple(raws)) for prefix, raws in prefixes.items())
        self.longest = max((sum(12 if ord(c) > 0xFFFF else 6 for c in s) for s in ordered), default=0)
        # Text can spell a secret with escapes only if it holds one of these.
        self._introducers = (b"\\u", *sorted({_SHORT_ESCAPES[c].encode() for s in ordered for c in s
                                             if c in _SHORT_ESCAPES}))
        self._pattern: re.Pattern[bytes] | None = None  # compiled when escapes are first seen

    def blank(self, data: bytes) -> bytes:
        """``data`` with every secret in it replaced by ``***``."""
        for prefix, raws in self._by_prefix:
            if prefix in data:
                for raw in raws:
                    if raw in data:
                        data = data.replace(raw, _MASK)
        if self._raw and b"\\" in data:
            for introducer in self._introducers:
                if introducer in data:
                    return self._escaped(data)
        return data

    def _escaped(self, data: bytes) -> bytes:
        if self._pattern is None:
            self._pattern = re.compile(b"|".join(_spelled(s.decode("utf-8", "surrogatepass")) for s in self._raw))
        return self._pattern.sub(_MASK, data)

    def blank_text(self, text: str) -> str:
        """``text`` with every secret in it replaced by ``***``."""
        for raw in self._raw:
            secret = raw.decode("utf-8", "surrogatepass")
            if secret in text:
                text = text.replace(secret, "***")
        if self._raw and "\\" in text:
            text = self.blank(text.encode("utf-8", "surrogatepass")).decode("utf-8", "surrogatepass")
        return text


def _spelled(secret: str) -> bytes:
    """A pattern for ``secret`` with each of its characters as itself or any JSON escape of it."""
    parts = []
    for char in secret:
        forms = [re.escape(char.encode("utf-8", "surrogatepass"))]
        units = char.encode("utf-16-be", "surrogatepass")
        forms.append(b"".join(b"\\\\u" + _hex(units[i:i + 2]) for i in range(0, len(units), 2)))
        if char in _SHORT_ESCAPES:
            forms.append(re.escape(_SHORT_ESCAPES[char].encode()))
        parts.append(b"(?:" + b"|".join(forms) + b")")
    return b"".join(parts)


def _hex(unit: bytes) -> bytes:
    """The four hex digits of a UTF-16 unit, each letter in either case."""
    return b"".join(b"[%s%s]" % (bytes([d]), bytes([d]).upper()) if d >= 0x61 else bytes([d])
                    for d in unit.hex().encode())


def scrub(text: str, secrets: frozenset[str]) -> str:
    """``text`` with every secret value in it replaced by ``***`` (see ``Redactor``)."""
    return Redactor(secrets).blank_text(text) if secrets else text


def scrub_bytes(data: bytes, secrets: frozenset[str]) -> bytes:
    """``data`` (an upstream body, say) with every secret value in it replaced by ``***``."""
    return Redactor(secrets).blank(data) if secrets else data


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
