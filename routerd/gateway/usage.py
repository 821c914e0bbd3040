"""Token usage read from upstream answers, whole bodies and streams alike, in each dialect.

``UsageMeter`` is fed the bytes the client receives. For a stream it cuts server-sent events at blank
lines and decodes only the events that can carry usage (found by a byte search), so a long stream
costs one ``find`` per chunk. It also notes whether the stream reached its terminal event, which
tells a finished stream from one cut in the middle.

Counts are kept as the provider reports them, in the shape ``routerd.catalogue.prices.Tokens``
prices: ``input`` includes cache reads and writes, ``output`` includes reasoning. Per dialect
(the same mapping genai-prices' usage extractors use; a test compares the two):

- Anthropic: input = ``input_tokens`` + ``cache_creation_input_tokens`` + ``cache_read_input_tokens``;
  cache writes split by ``cache_creation.ephemeral_1h_input_tokens``; reasoning from
  ``output_tokens_details.thinking_tokens``. A stream's ``message_start`` carries the input side,
  its ``message_delta`` the final output (and, newer, the input side again).
- OpenAI chat: ``prompt_tokens``, ``prompt_tokens_details.cached_tokens`` (and ``cache_write_tokens``),
  ``completion_tokens``, ``completion_tokens_details.reasoning_tokens``; DeepSeek's
  ``prompt_cache_hit_tokens`` as cache reads.
- Responses: the same under ``input_tokens`` / ``input_tokens_details`` / ``output_tokens`` /
  ``output_tokens_details``, at the top or inside ``response``.
- Gemini: input = ``promptTokenCount`` + ``toolUsePromptTokenCount``, cache reads
  ``cachedContentTokenCount``, output = ``candidatesTokenCount`` + ``thoughtsTokenCount`` (reasoning).

The answer's id (``msg_...``, ``chatcmpl-...``, ``resp_...``, Gemini's ``responseId``) is kept too:
it is what a coding agent writes in its transcript, so the hook that reads the transcript can tell a
call the gateway already recorded.
"""

import re

import msgspec

from routerd.catalogue.prices import Tokens


class _PromptDetails(msgspec.Struct):
    cached_tokens: int | None = 0
    cache_write_tokens: int | None = 0


class _OutputDetails(msgspec.Struct):
    reasoning_tokens: int | None = 0
    thinking_tokens: int | None = 0       # Anthropic


class _OpenAIUsage(msgspec.Struct):
    prompt_tokens: int | None = 0
    completion_tokens: int | None = 0
    input_tokens: int | None = 0           # Responses
    output_tokens: int | None = 0
    prompt_tokens_details: _PromptDetails | None = None
    input_tokens_details: _PromptDetails | None = None
    completion_tokens_details: _OutputDetails | None = None
    output_tokens_details: _OutputDetails | None = None
    prompt_cache_hit_tokens: int | None = 0  # DeepSeek


class _CacheCreation(msgspec.Struct):
    ephemeral_5m_input_tokens: int | None = 0
    ephemeral_1h_input_tokens: int | None = 0


class _AnthropicUsage(msgspec.Struct):
    input_tokens: int | None = 0
    output_tokens: int | None = 0
    cache_read_input_tokens: int | None = 0
    cache_creation_input_tokens: int | None = 0
    cache_creation: _CacheCreation | None = None
    output_tokens_details: _OutputDetails | None = None


class _GeminiUsage(msgspec.Struct):
    promptTokenCount: int | None = 0
    candidatesTokenCount: int | None = 0
    thoughtsTokenCount: int | None = 0
    cachedContentTokenCount: int | None = 0
    toolUsePromptTokenCount: int | None = 0


class _OpenAIBody(msgspec.Struct):
    usage: _OpenAIUsage | None = None
    response: "_OpenAIBody | None" = None   # Responses events wrap the response
    type: str = ""
    id: str | None = None


class _AnthropicMessage(msgspec.Struct):
    usage: _AnthropicUsage | None = None
    id: str | None = None


class _AnthropicBody(msgspec.Struct):
    type: str = ""
    usage: _AnthropicUsage | None = None
    message: _AnthropicMessage | None = None
    id: str | None = None


class _GeminiBody(msgspec.Struct):
    usageMetadata: _GeminiUsage | None = None
    responseId: str | None = None


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

    __slots__ = ("dialect", "input_tokens", "output_tokens", "cache_read", "cache_write",
                 "cache_write_1h", "reasoning", "response_id", "estimated", "completed", "text_chars",
                 "_counts_text", "_decoder", "_marker", "_terminal", "_tail")

    def __init__(self, dialect: str) -> None:
        self.dialect = dialect
        self.input_tokens = self.output_tokens = 0
        self.cache_read = self.cache_write = self.cache_write_1h = self.reasoning = 0
        self.response_id: str | None = None
        self.estimated = False  # the counts are routerd's estimate, not the provider's report
        self.completed = False
        self.text_chars = 0  # characters of generated text seen in a stream, for an estimate
        self._counts_text = dialect == "openai_chat"
        self._decoder = _DECODERS[dialect]
        self._marker = _USAGE_MARKERS[dialect]
        self._terminal = _TERMINAL[dialect]
        self._tail = b""

    def tokens(self) -> Tokens:
        """The counts so far, in the shape prices are computed from."""
        return Tokens(input=self.input_tokens, output=self.output_tokens, cache_read=self.cache_read,
                      cache_write=self.cache_write, cache_write_1h=self.cache_write_1h,
                      reasoning=self.reasoning)

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
        self.estimated = True
        self.output_tokens = -(-self.text_chars // CHARS_PER_TOKEN)
        try:
            from routerd.dialects.canonical import estimate_tokens
            from routerd.dialects.registry import get

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
            self._take_openai(body)
        elif self.dialect == "anthropic":
            self._take_anthropic(body)
        else:
            self.response_id = body.responseId or self.response_id
            usage = body.usageMetadata
            if usage is not None:
                self.input_tokens = (usage.promptTokenCount or 0) + (usage.toolUsePromptTokenCount or 0)
                self.reasoning = usage.thoughtsTokenCount or 0
                self.output_tokens = (usage.candidatesTokenCount or 0) + self.reasoning
                self.cache_read = usage.cachedContentTokenCount or 0

    def _take_openai(self, body: _OpenAIBody) -> None:
        inner = body.response
        self.response_id = (inner.id if inner is not None else None) or body.id or self.response_id
        usage = body.usage or (inner.usage if inner is not None else None)
        if usage is None:
            return
        prompt = usage.prompt_tokens_details or usage.input_tokens_details
        out = usage.completion_tokens_details or usage.output_tokens_details
        self.input_tokens = usage.prompt_tokens or usage.input_tokens or 0
        self.output_tokens = usage.completion_tokens or usage.output_tokens or 0
        self.cache_read = (prompt.cached_tokens if prompt else 0) or usage.prompt_cache_hit_tokens or 0
        self.cache_write = (prompt.cache_write_tokens if prompt else 0) or 0
        self.reasoning = (out.reasoning_tokens if out else 0) or 0
        self._counts_text = False

    def _take_anthropic(self, body: _AnthropicBody) -> None:
        message = body.message
        self.response_id = (message.id if message is not None else None) or body.id or self.response_id
        usage = body.usage or (message.usage if message is not None else None)
        if usage is None:
            return
        read = usage.cache_read_input_tokens or 0
        write = usage.cache_creation_input_tokens or 0
        fresh = (usage.input_tokens or 0) + write
        if fresh or read:  # message_delta may leave the input side out: keep message_start's
            self.input_tokens = fresh + read
            self.cache_read, self.cache_write = read, write
            creation = usage.cache_creation
            self.cache_write_1h = (creation.ephemeral_1h_input_tokens or 0) if creation else 0
        self.output_tokens = max(self.output_tokens, usage.output_tokens or 0)
        details = usage.output_tokens_details
        if details is not None and details.thinking_tokens:
            self.reasoning = details.thinking_tokens
