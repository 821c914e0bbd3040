"""OpenAI Chat Completions (``POST /v1/chat/completions``), as one object."""

from __future__ import annotations

import re

from routerd.dialects.base import Codec, Dialect
from routerd.dialects.fit import Fields
from routerd.dialects.openai_chat import answer, request
from routerd.dialects.openai_chat.usage import CHAT_USAGE

_PATHS = frozenset({b"/v1/chat/completions", b"/chat/completions"})
_USAGE_CHUNK = re.compile(rb'"choices"\s*:\s*\[\s*\]')  # the usage chunk: no choices


class OpenAIChat(Dialect):
    name = request.NAME
    kind = "openai"
    official_url = "https://api.openai.com/v1"
    codec = Codec(request.parse_request, request.render_request, answer.parse_response, answer.render_response,
                  answer.StreamDecoder, answer.StreamEncoder, answer.error_body,
                  answer.stream_texts, answer.text_event)
    usage_chunk_optional = True
    usage = CHAT_USAGE
    credential_headers = frozenset({b"authorization"})
    # OpenAI's reasoning models take max_completion_tokens (max_tokens is refused) and only the
    # default sampling; other reasoning models (DeepSeek's) max_tokens (``routerd.dialects.fit``).
    fields = Fields(output=(("max_tokens",), ("max_completion_tokens",)), temperature=(("temperature",),),
                    top_p=(("top_p",),), penalties=(("presence_penalty",), ("frequency_penalty",)),
                    reasoning=(("reasoning_effort",),), effort=(("reasoning_effort",),), logprobs=(("logprobs",), ("top_logprobs",)),
                    completion=("max_tokens", "max_completion_tokens"))

    def client_endpoint(self, path: bytes) -> bytes | None:
        return b"" if path in _PATHS else None

    def upstream_path(self, model: str, stream: bool, endpoint: bytes = b"") -> bytes:
        return b"/chat/completions" + endpoint

    def served(self, responses: bool = False) -> tuple[str, ...]:
        return (self.name, "responses") if responses else (self.name,)

    def usage_only(self, events: bytes) -> bool:
        return _USAGE_CHUNK.search(events) is not None

    def with_usage_chunk(self, body: bytes) -> bytes | None:
        """Ask for the usage chunk unless the body says what it wants (``stream_options``)."""
        if b'"stream_options"' in body:
            return None
        start = body.find(b"{")
        return body[:start + 1] + b'"stream_options":{"include_usage":true},' + body[start + 1:]



OPENAI_CHAT = OpenAIChat()
