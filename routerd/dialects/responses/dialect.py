"""OpenAI Responses (``POST /v1/responses``), as one object. Its errors have the Chat shape; a
broken stream ends with Responses' own ``error`` event."""

from __future__ import annotations

from typing import Any

from routerd.dialects.base import Dialect, StreamDecoder, StreamEncoder
from routerd.dialects.canonical import ChatRequest, ChatResponse
from routerd.dialects.responses import answer, request, stream
from routerd.dialects.wire import dump_json

_PATHS = frozenset({b"/v1/responses", b"/responses"})


class Responses(Dialect):
    name = request.NAME
    kind = "responses"
    official_url = "https://api.openai.com/v1"
    credential_headers = frozenset({b"authorization"})

    def client_endpoint(self, path: bytes) -> bytes | None:
        return b"" if path in _PATHS else None

    def upstream_path(self, model: str, stream: bool, endpoint: bytes = b"") -> bytes:
        return b"/responses" + endpoint

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
        return stream.StreamEncoder(model, id=id, **options)

    def error_body(self, status: int, message: str, code: str = "") -> dict[str, Any]:
        return answer.error_body(status, message, code)

    def stream_error(self, status: int, message: str, code: str = "") -> bytes:
        event = {"type": "error", "code": code or "server_error", "message": message, "param": None,
                 "sequence_number": 0}
        return b"event: error\ndata: " + dump_json(event).encode() + b"\n\n"


RESPONSES = Responses()
