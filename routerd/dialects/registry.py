"""The dialects routerd speaks, by their one name, and lookups by provider kind and client path.

Every dialect is an object (``routerd.dialects.base.Dialect``) made once here. Names:
``openai_chat``, ``responses``, ``anthropic``, ``gemini``.
"""

from __future__ import annotations

from routerd.dialects.anthropic.dialect import ANTHROPIC
from routerd.dialects.base import Dialect
from routerd.dialects.gemini.dialect import GEMINI
from routerd.dialects.openai_chat.dialect import OPENAI_CHAT
from routerd.dialects.responses.dialect import RESPONSES

DIALECTS: dict[str, Dialect] = {d.name: d for d in (OPENAI_CHAT, RESPONSES, ANTHROPIC, GEMINI)}
NAMES: tuple[str, ...] = tuple(DIALECTS)
KINDS: dict[str, Dialect] = {d.kind: d for d in DIALECTS.values()}


def get(name: str) -> Dialect:
    """The dialect called ``name``; KeyError for an unknown name (a programming error)."""
    return DIALECTS[name]


def of_kind(kind: str) -> Dialect:
    """The dialect a provider of ``kind`` (config ``providers.*.kind``) speaks natively."""
    return KINDS[kind]


def for_path(path: bytes) -> tuple[Dialect, bytes] | None:
    """The dialect serving a path clients call routerd on, and the endpoint suffix; None when no
    dialect serves it."""
    for dialect in DIALECTS.values():
        endpoint = dialect.client_endpoint(path)
        if endpoint is not None:
            return dialect, endpoint
    return None
