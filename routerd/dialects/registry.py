"""Name -> dialect module. Every module exposes the same functions and classes:
``parse_request``, ``render_request``, ``parse_response``, ``render_response``, ``StreamDecoder``,
``StreamEncoder``, ``error_body`` and ``NAME`` (see ``routerd.dialects.canonical`` for the form)."""

from __future__ import annotations

from types import ModuleType

from routerd.dialects import anthropic, gemini, openai_chat, responses

DIALECTS: dict[str, ModuleType] = {
    "openai": openai_chat,
    "openai_chat": openai_chat,  # the gateway's name for the same dialect
    "responses": responses,
    "anthropic": anthropic,
    "gemini": gemini,
}

NAMES: tuple[str, ...] = ("openai", "responses", "anthropic", "gemini")  # one name per dialect


def get(name: str) -> ModuleType:
    """The dialect module called ``name``; KeyError for an unknown name (a programming error)."""
    return DIALECTS[name]


def same(a: str, b: str) -> bool:
    """Whether two dialect names name the same dialect (``openai`` is ``openai_chat``)."""
    return DIALECTS[a] is DIALECTS[b]
