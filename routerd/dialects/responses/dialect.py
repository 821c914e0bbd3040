"""OpenAI Responses (``POST /v1/responses``), as one object. Its errors have the Chat shape; a
broken stream ends with Responses' own ``error`` event."""

from __future__ import annotations


from routerd.dialects.base import Codec, Dialect
from routerd.dialects.fit import Fields
from routerd.dialects.openai_chat.usage import RESPONSES_USAGE
from routerd.dialects.responses import answer, request, stream
from routerd.dialects.wire import dump_json

_PATHS = frozenset({b"/v1/responses", b"/responses"})


class Responses(Dialect):
    name = request.NAME
    kind = "responses"
    official_url = "https://api.openai.com/v1"
    codec = Codec(request.parse_request, request.render_request, answer.parse_response, answer.render_response,
                  answer.StreamDecoder, stream.StreamEncoder, answer.error_body,
                  stream.stream_texts, stream.text_event, stream.final_texts)
    usage = RESPONSES_USAGE
    credential_headers = frozenset({b"authorization"})
    fields = Fields(output=(("max_output_tokens",),), temperature=(("temperature",),), top_p=(("top_p",),),
                    reasoning=(("reasoning",),), effort=(("reasoning", "effort"),), reasoning_items=((("include",), "reasoning.encrypted_content"),))

    def client_endpoint(self, path: bytes) -> bytes | None:
        return b"" if path in _PATHS else None

    def served(self, responses: bool = False) -> tuple[str, ...]:
        return (self.name, "openai_chat")  # OpenAI's API serves chat completions too

    def upstream_path(self, model: str, stream: bool, endpoint: bytes = b"") -> bytes:
        return b"/responses" + endpoint

    def stream_error(self, status: int, message: str, code: str = "") -> bytes:
        event = {"type": "error", "code": code or "server_error", "message": message, "param": None,
                 "sequence_number": 0}
        return b"event: error\ndata: " + dump_json(event).encode() + b"\n\n"


RESPONSES = Responses()
