"""Gemini ``generateContent`` / ``streamGenerateContent`` / ``countTokens``, as one object. The model
and the method are in the URL (``/v1beta/models/{model}:{method}``); clients may send their key
as ``?key=``."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from routerd.dialects.base import Dialect, Header, StreamDecoder, StreamEncoder
from routerd.dialects.canonical import ChatRequest, ChatResponse
from routerd.dialects.gemini import answer, request

_PREFIXES = (b"/v1beta/models/", b"/v1/models/")
_METHODS = (b"generateContent", b"streamGenerateContent", b"countTokens")
STREAM_METHOD = b":streamGenerateContent"


def _route(path: bytes) -> tuple[bytes, bytes] | None:
    """(model, method) of a ``/v1beta/models/{model}:{method}`` path, else None."""
    for prefix in _PREFIXES:
        if path.startswith(prefix):
            model, sep, method = path[len(prefix):].rpartition(b":")
            if sep and model and method in _METHODS:
                return model, method
    return None


class Gemini(Dialect):
    name = request.NAME
    kind = "gemini"
    official_url = "https://generativelanguage.googleapis.com"
    credential_headers = frozenset({b"x-goog-api-key"})
    counts_tokens = b":countTokens"

    def client_endpoint(self, path: bytes) -> bytes | None:
        route = _route(path)
        return b":" + route[1] if route is not None else None

    def model_in_path(self, path: bytes) -> str | None:
        route = _route(path)
        return route[0].decode() if route is not None else None

    def upstream_path(self, model: str, stream: bool, endpoint: bytes = b"") -> bytes:
        """With the client's own ``endpoint`` (``:generateContent``, ...) the request goes as it
        came; without, the generate (or streaming) call a translated request needs."""
        if endpoint:
            return b"/v1beta/models/" + quote(model, safe="-._~").encode() + endpoint
        return request.request_path(model, stream).encode()

    def auth_headers(self, key: str) -> tuple[Header, ...]:
        return ((b"x-goog-api-key", key.encode()),)

    def parse_request(self, body: Any, *, model: str | None = None, stream: bool | None = None) -> ChatRequest:
        return request.parse_request(body, model=model, stream=stream)

    def render_request(self, req: ChatRequest, model: str, *, reasoning: bool = True) -> dict[str, Any]:
        return request.render_request(req, model, reasoning=reasoning)

    def parse_response(self, body: Any) -> ChatResponse:
        return answer.parse_response(body)

    def render_response(self, resp: ChatResponse, model: str, **options: Any) -> dict[str, Any]:
        return answer.render_response(resp, model, **options)

    def stream_decoder(self) -> StreamDecoder:
        return answer.StreamDecoder()

    def stream_encoder(self, model: str, *, id: str | None = None, include_usage: bool = True,
                       **options: Any) -> StreamEncoder:
        return answer.StreamEncoder(model, id=id, **options)

    def error_body(self, status: int, message: str, code: str = "") -> dict[str, Any]:
        return answer.error_body(status, message, code)


GEMINI = Gemini()
