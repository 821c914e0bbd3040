"""Anthropic Messages (``POST /v1/messages``, ``/v1/messages/count_tokens``), as one object."""

from __future__ import annotations

from typing import Any

import msgspec

from routerd.catalogue.models import ModelInfo
from routerd.dialects.anthropic import answer, request, stream
from routerd.dialects.anthropic.adapt import FIELDS, adapt_anthropic, fit_messages, unsigned_history
from routerd.dialects.anthropic.usage import USAGE
from routerd.dialects.base import Codec, Dialect, Header
from routerd.dialects.canonical import ChatRequest
from routerd.dialects.structured import anthropic_fallback
from routerd.dialects.structured_answer import Reading
from routerd.dialects.summary import estimate_tokens

_ENDPOINTS = {b"/v1/messages": b"", b"/v1/messages/count_tokens": b"/count_tokens"}
API_VERSION = b"2023-06-01"


class Anthropic(Dialect):
    name = request.NAME
    kind = "anthropic"
    official_url = "https://api.anthropic.com"
    codec = Codec(request.parse_request, request.render_request, answer.parse_response, answer.render_response,
                  stream.StreamDecoder, stream.StreamEncoder, answer.error_body,
                  stream.stream_texts, stream.text_event)
    usage = USAGE
    credential_headers = frozenset({b"x-api-key", b"authorization"})
    required_headers = ((b"anthropic-version", API_VERSION),)
    counts_tokens = b"/count_tokens"
    fields = FIELDS

    def client_endpoint(self, path: bytes) -> bytes | None:
        return _ENDPOINTS.get(path)

    def upstream_path(self, model: str, stream: bool, endpoint: bytes = b"") -> bytes:
        return b"/v1/messages" + endpoint

    def auth_headers(self, key: str) -> tuple[Header, ...]:
        return ((b"x-api-key", key.encode()),)

    def sent_output(self, req: ChatRequest, *, reasoning: bool = True) -> int | None:
        return request.max_tokens(req, reasoning=reasoning)  # required: a budget's room where unset

    def adapt(self, body: bytes, headers: list[Header], target: ModelInfo) -> tuple[bytes, list[Header]]:
        return adapt_anthropic(body, headers, target)

    def fit(self, body: dict[str, Any], target: ModelInfo | None) -> bool:
        return fit_messages(body, target)

    def own_history(self, body: bytes) -> bytes | None:
        return unsigned_history(body)

    def without_native_output(self, body: bytes, model: str,
                              target: ModelInfo | None) -> tuple[bytes, Reading] | None:
        return anthropic_fallback(body, model, target)

    def local_count(self, body: bytes, model: str) -> bytes:
        return msgspec.json.encode({"input_tokens": estimate_tokens(self.parse_request(body))})

    def stream_error(self, status: int, message: str, code: str = "") -> bytes:
        return b"event: error\ndata: " + self.error_bytes(status, message, code) + b"\n\n"

    def models_body(self, models: list[tuple[str, str]]) -> dict[str, Any]:
        data = [{"type": "model", "id": i, "display_name": i, "created_at": "1970-01-01T00:00:00Z"}
                for i, _ in models]
        return {"data": data, "has_more": False, "first_id": models[0][0] if models else None,
                "last_id": models[-1][0] if models else None}


ANTHROPIC = Anthropic()
