"""Name -> dialect module. Every dialect module has the same surface:

- ``NAME``; ``parse_request(body, *, model=None, stream=None) -> ChatRequest`` (``body`` is bytes
  or a decoded dict; ``model``/``stream`` override the body's, for Gemini whose URL carries them);
  wrong shapes raise ``BadRequest`` naming the field.
- ``render_request(req, model, *, reasoning=True, ...) -> dict``: ``reasoning=False`` leaves out
  reasoning parameters for models that refuse them.
- ``parse_response(body) -> ChatResponse`` and ``render_response(resp, model, ...) -> dict``;
  upstream shapes that are wrong raise ``UpstreamBadResponse``.
- ``StreamDecoder()``: ``feed(event_name, data) -> [canonical events]`` per upstream SSE event and
  ``close() -> [events]`` at the end of the bytes (a ``StreamError`` if the stream was cut).
- ``StreamEncoder(model, *, id=None, ...)``: ``feed(canonical event) -> [(event_name | None, data)]``
  in the dialect's exact order; nothing after ``MessageStop`` or ``StreamError``.
- ``error_body(status, message, kind="") -> dict`` in the dialect's error shape.

``routerd.dialects.translate`` wraps these for bytes in, bytes out.
"""

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
