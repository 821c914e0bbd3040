"""Token usage in OpenAI answers, Chat Completions and Responses alike (the same mapping
genai-prices' usage extractors use; a test compares the two): ``prompt_tokens``,
``prompt_tokens_details.cached_tokens`` (and ``cache_write_tokens``), ``completion_tokens``,
``completion_tokens_details.reasoning_tokens``; DeepSeek's ``prompt_cache_hit_tokens`` as cache
reads. Responses has the same under ``input_tokens`` / ``input_tokens_details`` / ``output_tokens``
/ ``output_tokens_details``, at the top or inside ``response``, and reports no search count: each
``web_search_call`` output item that searched is one hosted search (a stream's
``response.completed`` holds them all; until it arrives, each ``response.output_item.done`` of one
counts, so a stream cut before its end still shows the searches that ran). The answer's id
(``chatcmpl-...``, ``resp_...``) is kept: a coding agent writes it in its transcript; and the
fields of a Codex backend's ``codex.rate_limits`` event (a ChatGPT plan's windows, credits and limit
family), as sent."""

from __future__ import annotations

import re
from typing import Any

import msgspec

from routerd.dialects.usage import UsageSink, text_fields


# gc=False: only ints and these Structs inside, so no cycles. It pays for the fields one dialect
# decodes for the other: a usage object decoded ~5-10% faster than with each dialect's own Struct.
class _PromptDetails(msgspec.Struct, gc=False):
    cached_tokens: int | None = 0
    cache_write_tokens: int | None = 0


class _OutputDetails(msgspec.Struct, gc=False):
    reasoning_tokens: int | None = 0


class WireUsage(msgspec.Struct, gc=False):
    """``usage`` as OpenAI answers carry it, Chat Completions and Responses in one shape: the answer
    decoders of both dialects and the usage reader below all decode into it."""

    prompt_tokens: int | None = 0
    completion_tokens: int | None = 0
    input_tokens: int | None = 0           # Responses
    output_tokens: int | None = 0
    prompt_tokens_details: _PromptDetails | None = None
    input_tokens_details: _PromptDetails | None = None
    completion_tokens_details: _OutputDetails | None = None
    output_tokens_details: _OutputDetails | None = None
    prompt_cache_hit_tokens: int | None = 0  # DeepSeek

    def cache_read(self) -> int:
        """Input tokens read from the provider's cache: OpenAI's ``cached_tokens`` (Chat or
        Responses), else DeepSeek's ``prompt_cache_hit_tokens``."""
        prompt = self.prompt_tokens_details or self.input_tokens_details
        return (prompt.cached_tokens if prompt else 0) or self.prompt_cache_hit_tokens or 0


class _Item(msgspec.Struct, gc=False):
    type: str = ""
    action: dict[str, Any] | None = None


def _searches(items: list[_Item]) -> int:
    """The searches of a Responses answer's output items (an ``open_page`` or ``find_in_page``
    action is no search: ``routerd.dialects.responses.search``)."""
    return sum(1 for item in items if item.type == "web_search_call"
               and (item.action or {}).get("type", "search") == "search")


class _Body(msgspec.Struct):
    usage: WireUsage | None = None
    response: _Body | None = None   # Responses events wrap the response
    output: list[_Item] | None = None  # Responses
    item: _Item | None = None          # a Responses stream's ``response.output_item.done``
    type: str = ""
    id: str | None = None
    rate_limits: Any = None  # Codex's ``codex.rate_limits`` event (anything: checked where read)
    credits: Any = None      # ... its plan's credits
    metered_limit_name: Any = None  # ... which limit family its windows are (a model's own, or "codex")
    limit_name: Any = None          # ... the same, as older servers name it


class OpenAIUsage:
    counts_text = True

    def __init__(self, terminal: bytes, text: re.Pattern[bytes], markers: tuple[bytes, ...] = (b'"usage"',)) -> None:
        self.decoder: msgspec.json.Decoder[Any] = msgspec.json.Decoder(_Body)
        self.terminal = terminal
        self.text = text
        self.markers = markers

    def take(self, body: _Body, sink: UsageSink) -> None:
        if body.type == "codex.rate_limits":  # the plan's word, kept as sent (routerd.budgets reads it)
            sink.rate_limits = {"rate_limits": body.rate_limits, "credits": body.credits,
                                "metered_limit_name": body.metered_limit_name or body.limit_name}
            return
        if body.type == "response.output_item.done" and body.item is not None:
            sink.web_searches += _searches([body.item])   # ``response.completed`` recounts them all
            return
        inner = body.response
        sink.response_id = (inner.id if inner is not None else None) or body.id or sink.response_id
        usage = body.usage or (inner.usage if inner is not None else None)
        if usage is None:
            return
        prompt = usage.prompt_tokens_details or usage.input_tokens_details
        out = usage.completion_tokens_details or usage.output_tokens_details
        sink.input_tokens = usage.prompt_tokens or usage.input_tokens or 0
        sink.output_tokens = usage.completion_tokens or usage.output_tokens or 0
        sink.cache_read = usage.cache_read()
        sink.cache_write = (prompt.cache_write_tokens if prompt else 0) or 0
        sink.reasoning = (out.reasoning_tokens if out else 0) or 0
        sink.counts_text = False
        items = body.output if body.output is not None else inner.output if inner is not None else None
        if items:
            sink.web_searches = _searches(items)


# Generated text: a chat delta's content and a tool call's arguments; every Responses delta (text,
# reasoning, arguments), and no done event's copy of it.
CHAT_USAGE = OpenAIUsage(terminal=b"[DONE]", text=text_fields("content", "arguments"))
# A finished search item (``"type":"web_search_call"``) has no usage in it: the second marker. The
# ChatGPT plan's Codex backend sends its windows in a ``codex.rate_limits`` event: the third.
RESPONSES_USAGE = OpenAIUsage(terminal=b"response.completed", text=text_fields("delta"),
                              markers=(b'"usage"', b'"web_search_call"', b'"codex.rate_limits"'))
