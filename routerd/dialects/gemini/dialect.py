"""Gemini ``generateContent`` / ``streamGenerateContent`` / ``countTokens``, as one object. The model
and the method are in the URL (``/v1beta/models/{model}:{method}``); clients may send their key
as ``?key=``."""

from __future__ import annotations

from itertools import product
from typing import Any
from urllib.parse import quote

import msgspec

from routerd.errors import BadRequest
from routerd.dialects.base import Codec, Dialect, Header
from routerd.dialects.fit import Fields
from routerd.dialects.gemini import answer, request
from routerd.dialects.gemini.usage import USAGE
from routerd.dialects.summary import estimate_tokens

# /v1 is google-genai 3.x's default, /v1alpha what older guides set for thinking; all three go
# upstream as /v1beta, the version every feature routerd translates is in.
_PREFIXES = (b"/v1beta/models/", b"/v1/models/", b"/v1alpha/models/")
_METHODS = (b"generateContent", b"streamGenerateContent", b"countTokens")
STREAM_METHOD = b":streamGenerateContent"
# The API reads both spellings of each field (protobuf's JSON mapping).
_CAMEL, _SNAKE = "generationConfig", "generation_config"


def _both(camel: str, snake: str, *inner: tuple[str, str]) -> tuple[tuple[str, ...], ...]:
    """A generation config field's paths in camelCase and in snake_case."""
    return ((_CAMEL, camel, *(c for c, _ in inner)), (_SNAKE, snake, *(s for _, s in inner)))


def _thinking(*field: tuple[str, str]) -> tuple[tuple[str, ...], ...]:
    """A thinkingConfig field's paths in every mix of spellings: the google-genai SDK sends
    ``generationConfig`` camelCase and the ``thinkingConfig`` inside it snake_case."""
    return tuple(product((_CAMEL, _SNAKE), ("thinkingConfig", "thinking_config"), *field))


# The largest thinkingBudget every Gemini model that takes one accepts (2.5 Flash and Flash-Lite's
# most; 2.5 Pro's is 32,768: ai.google.dev, "Thinking"), for a model the catalogue has no range for.
MAX_THINKING_BUDGET = 24_576
# maxOutputTokens counts thinking tokens too: a budget is kept below it. The budget and level paths
# run parallel (one spelling each), as ``fit`` turns one into the other in place.
FIELDS = Fields(output=_both("maxOutputTokens", "max_output_tokens"), temperature=_both("temperature", "temperature"),
                top_p=_both("topP", "top_p"), top_k=_both("topK", "top_k"),
                budget=_thinking(("thinkingBudget", "thinking_budget")),
                level=_thinking(("thinkingLevel", "thinking_level")), reasoning=_thinking(),
                max_budget=MAX_THINKING_BUDGET)


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
    codec = Codec(request.parse_request, request.render_request, answer.parse_response, answer.render_response,
                  answer.StreamDecoder, answer.StreamEncoder, answer.error_body,
                  answer.stream_texts, answer.text_event)
    usage = USAGE
    credential_headers = frozenset({b"x-goog-api-key"})
    counts_tokens = b":countTokens"
    names_model_in_path = True
    query_credential = b"key"
    fields = FIELDS

    def client_endpoint(self, path: bytes) -> bytes | None:
        route = _route(path)
        return b":" + route[1] if route is not None else None

    def client_request(self, path: bytes, query: bytes, endpoint: bytes, model: str,
                       stream: bool) -> tuple[str, bool]:
        route = _route(path)
        stream = endpoint == STREAM_METHOD
        if stream and b"alt=sse" not in query:
            raise BadRequest("routerd streams Gemini answers as server-sent events: add ?alt=sse")
        return (route[0].decode("utf-8", "replace") if route is not None else model), stream

    def translatable(self, endpoint: bytes) -> bool:
        return endpoint in (b":generateContent", STREAM_METHOD)

    def upstream_path(self, model: str, stream: bool, endpoint: bytes = b"") -> bytes:
        """With the client's own ``endpoint`` (``:generateContent``, ...) the request goes as it
        came; without, the generate (or streaming) call a translated request needs."""
        if endpoint:
            return b"/v1beta/models/" + quote(model, safe="-._~").encode() + endpoint
        return request.request_path(model, stream).encode()

    def local_count(self, body: bytes, model: str) -> bytes:
        """``countTokens`` takes ``{"contents": ...}`` or a whole ``generateContentRequest``."""
        value = msgspec.json.decode(body)
        inner = value.get("generateContentRequest") or value if isinstance(value, dict) else value
        counted = estimate_tokens(self.parse_request(inner, model=model))
        return msgspec.json.encode({"totalTokens": counted})

    def auth_headers(self, key: str) -> tuple[Header, ...]:
        return ((b"x-goog-api-key", key.encode()),)

    def models_body(self, models: list[tuple[str, str]]) -> dict[str, Any]:
        """``GET /v1beta/models`` as Google answers it: ``models/{id}`` names and their methods."""
        methods = ["generateContent", "streamGenerateContent", "countTokens"]
        return {"models": [{"name": f"models/{i}", "displayName": i, "supportedGenerationMethods": methods}
                           for i, _ in models]}

    def model_body(self, model: str, owner: str) -> dict[str, Any]:
        """``GET /v1beta/models/{id}`` (the SDK's ``models.get``): one ``Model``."""
        entry: dict[str, Any] = self.models_body([(model, owner)])["models"][0]
        return entry


GEMINI = Gemini()
