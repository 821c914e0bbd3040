"""Token usage read from upstream answers, whole bodies and streams alike, in each dialect.

``UsageMeter`` is fed the bytes the client receives. For a stream it cuts server-sent events at blank
lines and decodes only the events that can carry usage (found by a byte search), so a long stream
costs one ``find`` per chunk. It also notes whether the stream reached its terminal event, which
tells a finished stream from one cut in the middle.
"""

import re

import msgspec

from routerd.dialects.registry import get
from routerd.dialects.summary import estimate_tokens


class _Details(msgspec.Struct):
    cached_tokens: int = 0


class _OpenAIUsage(msgspec.Struct):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    input_tokens: int = 0           # Responses
    output_tokens: int = 0
    prompt_tokens_details: _Details | None = None
    input_tokens_details: _Details | None = None


class _AnthropicUsage(msgspec.Struct):
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_input_tokens: int | None = 0
    cache_creation_input_tokens: int | None = 0


class _GeminiUsage(msgspec.Struct):
    promptTokenCount: int = 0
    candidatesTokenCount: int = 0
    thoughtsTokenCount: int = 0
    cachedContentTokenCount: int = 0


class _OpenAIBody(msgspec.Struct):
    usage: _OpenAIUsage | None = None
    response: "_OpenAIBody | None" = None   # Responses events wrap the response
    type: str = ""


class _AnthropicMessage(msgspec.Struct):
    usage: _AnthropicUsage | None = None


class _AnthropicBody(msgspec.Struct):
    type: str = ""
    usage: _AnthropicUsage | None = None
    message: _AnthropicMessage | None = None


class _GeminiBody(msgspec.Struct):
    usageMetadata: _GeminiUsage | None = None


_DECODERS = {
    "openai_chat": msgspec.json.Decoder(_OpenAIBody),
    "responses": msgspec.json.Decoder(_OpenAIBody),
    "anthropic": msgspec.json.Decoder(_AnthropicBody),
    "gemini": msgspec.json.Decoder(_GeminiBody),
}
_USAGE_MARKERS = {"openai_chat": b'"usage"', "responses": b'"usage"', "anthropic": b'"usage"',
                  "gemini": b'"usageMetadata"'}
_TERMINAL = {"openai_chat": b"[DONE]", "responses": b"response.completed",
             "anthropic": b"message_stop", "gemini": b'"finishReason"'}


# Generated text in OpenAI chat stream events: what an estimate counts when no usage is reported.
# Only OpenAI-compatible servers omit usage in practice (llama.cpp ignores include_usage); the other
# dialects always report it, so their streams are not scanned.
_TEXT = re.compile(rb'"(?:content|arguments)"\s*:\s*"((?:[^"\\]|\\.)*)"')
CHARS_PER_TOKEN = 4


class UsageMeter:
    """Accumulates usage for one upstream answer in ``dialect``."""

    __slots__ = ("dialect", "input_tokens", "output_tokens", "cached_tokens", "completed",
                 "text_chars", "_counts_text", "_decoder", "_marker", "_terminal", "_tail")

    def __init__(self, dialect: str) -> None:
        self.dialect = dialect
        self.input_tokens = self.output_tokens = self.cached_tokens = 0
        self.completed = False
        self.text_chars = 0  # characters of generated text seen in a stream, for an estimate
        self._counts_text = dialect == "openai_chat"
        self._decoder = _DECODERS[dialect]
        self._marker = _USAGE_MARKERS[dialect]
        self._terminal = _TERMINAL[dialect]
        self._tail = b""

    def feed_body(self, body: bytes) -> None:
        """A whole non-streamed answer."""
        try:
            self._take(self._decoder.decode(body))
        except msgspec.DecodeError:
            return
        self.completed = True

    def feed_stream(self, data: bytes) -> None:
        """The next bytes of a server-sent-event stream, cut anywhere."""
        buf = self._tail + data if self._tail else data
        end = buf.rfind(b"\n\n")
        crlf = buf.rfind(b"\r\n\r\n")
        end = max(end + 2 if end >= 0 else -1, crlf + 4 if crlf >= 0 else -1)
        if end < 0:
            self._tail = buf
            return
        events, self._tail = buf[:end], buf[end:]
        if not self.completed and self._terminal in events:
            self.completed = True
        if self._counts_text:  # no usage yet: count generated text in case none ever comes
            self.text_chars += sum(map(len, _TEXT.findall(events)))
        if self._marker in events:
            for event in events.replace(b"\r\n", b"\n").split(b"\n\n"):
                if self._marker in event:
                    self._event(event)

    def estimate(self, request_body: bytes, dialect: str) -> None:
        """Fill in estimates when the upstream reported no usage (llama.cpp streams, say): the
        request's size by the dialect's estimator, the generated text at ~4 characters a token."""
        if self.input_tokens or self.output_tokens:
            return
        self.output_tokens = -(-self.text_chars // CHARS_PER_TOKEN)
        try:
            self.input_tokens = estimate_tokens(get(dialect).parse_request(request_body))
        except Exception:  # an estimate must never fail a call
            self.input_tokens = len(request_body) // CHARS_PER_TOKEN

    def _event(self, event: bytes) -> None:
        for line in event.split(b"\n"):
            if line.startswith(b"data:"):
                try:
                    self._take(self._decoder.decode(line[5:]))
                except msgspec.DecodeError:
                    pass

    def _take(self, body) -> None:
        if self.dialect in ("openai_chat", "responses"):
            usage = body.usage or (body.response.usage if body.response else None)
            if usage is not None:
                details = usage.prompt_tokens_details or usage.input_tokens_details
                self.input_tokens = usage.prompt_tokens or usage.input_tokens
                self.output_tokens = usage.completion_tokens or usage.output_tokens
                self.cached_tokens = details.cached_tokens if details else 0
                self._counts_text = False
        elif self.dialect == "anthropic":
            usage = body.usage or (body.message.usage if body.message else None)
            if usage is not None:
                fresh = usage.input_tokens + (usage.cache_creation_input_tokens or 0)
                if fresh or usage.cache_read_input_tokens:
                    self.input_tokens = fresh + (usage.cache_read_input_tokens or 0)
                    self.cached_tokens = usage.cache_read_input_tokens or 0
                self.output_tokens = max(self.output_tokens, usage.output_tokens)
        else:
            usage = body.usageMetadata
            if usage is not None:
                self.input_tokens = usage.promptTokenCount
                self.output_tokens = usage.candidatesTokenCount + usage.thoughtsTokenCount
                self.cached_tokens = usage.cachedContentTokenCount
