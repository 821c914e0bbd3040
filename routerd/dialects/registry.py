"""Name -> dialect module. Every module exposes the same functions and classes:
``parse_request``, ``render_request``, ``parse_response``, ``render_response``, ``StreamDecoder``,
``StreamEncoder``, ``error_body`` and ``NAME`` (see ``routerd.dialects.canonical`` for the form)."""

from __future__ import annotations

from types import ModuleType

from routerd.dialects import anthropic, gemini, openai_chat, responses

DIALECTS: dict[str, ModuleType] = {
    "openai": openai_chat,
    "responses": responses,
    "anthropic": anthropic,
    "gemini": gemini,
}


def get(name: str) -> ModuleType:
    """The dialect module called ``name``; KeyError for an unknown name (a programming error)."""
    return DIALECTS[name]
