"""Token usage in Anthropic answers: input = ``input_tokens`` + ``cache_creation_input_tokens`` +
``cache_read_input_tokens``; cache writes split by ``cache_creation.ephemeral_1h_input_tokens``;
reasoning from ``output_tokens_details.thinking_tokens``; hosted web searches from
``server_tool_use.web_search_requests``. A stream's ``message_start`` carries the input side, its
``message_delta`` the final output and the searches (and, newer, the input side again); until it
arrives each ``server_tool_use`` block of the web search started counts one, so a stream cut
before its end still shows the searches that ran. The
answer's id (``msg_...``) is kept: a coding agent writes it in its transcript."""

from __future__ import annotations

from typing import Any

import msgspec

from routerd.catalogue.prices import Tokens
from routerd.dialects.usage import UsageSink, text_fields


class _OutputDetails(msgspec.Struct):
    thinking_tokens: int | None = 0


class _CacheCreation(msgspec.Struct):
    ephemeral_5m_input_tokens: int | None = 0
    ephemeral_1h_input_tokens: int | None = 0


class _ServerTools(msgspec.Struct):
    web_search_requests: int | None = 0


class Usage(msgspec.Struct):
    """An Anthropic ``usage`` object (answers, stream events, and Claude Code's transcripts)."""

    input_tokens: int | None = 0
    output_tokens: int | None = 0
    cache_read_input_tokens: int | None = 0
    cache_creation_input_tokens: int | None = 0
    cache_creation: _CacheCreation | None = None
    output_tokens_details: _OutputDetails | None = None
    server_tool_use: _ServerTools | None = None

    def tokens(self) -> Tokens:
        read, write = self.cache_read_input_tokens or 0, self.cache_creation_input_tokens or 0
        hour = (self.cache_creation.ephemeral_1h_input_tokens or 0) if self.cache_creation else 0
        details = self.output_tokens_details
        return Tokens(input=(self.input_tokens or 0) + read + write, output=self.output_tokens or 0,
                      cache_read=read, cache_write=write, cache_write_1h=hour,
                      reasoning=(details.thinking_tokens or 0) if details else 0,
                      web_searches=(self.server_tool_use.web_search_requests or 0) if self.server_tool_use else 0)


class _Message(msgspec.Struct):
    usage: Usage | None = None
    id: str | None = None


class _Block(msgspec.Struct):
    type: str = ""
    name: str = ""


class _Body(msgspec.Struct):
    type: str = ""
    usage: Usage | None = None
    content_block: _Block | None = None   # content_block_start
    message: _Message | None = None
    id: str | None = None


class AnthropicUsage:
    markers: tuple[bytes, ...] = (b'"usage"', b'"server_tool_use"')  # a search's block has no usage
    terminal = b"message_stop"
    counts_text = True  # message_start's output count is 1: the text says more until message_delta
    text = text_fields("text", "thinking", "partial_json")

    def __init__(self) -> None:
        self.decoder: msgspec.json.Decoder[Any] = msgspec.json.Decoder(_Body)

    def take(self, body: _Body, sink: UsageSink) -> None:
        block = body.content_block
        if block is not None and block.type == "server_tool_use" and block.name == "web_search":
            sink.web_searches += 1    # ``message_delta``'s ``web_search_requests`` replaces the count
            return
        message = body.message
        sink.response_id = (message.id if message is not None else None) or body.id or sink.response_id
        usage = body.usage or (message.usage if message is not None else None)
        if usage is None:
            return
        read = usage.cache_read_input_tokens or 0
        write = usage.cache_creation_input_tokens or 0
        fresh = (usage.input_tokens or 0) + write
        if fresh or read:  # message_delta may leave the input side out: keep message_start's
            sink.input_tokens = fresh + read
            sink.cache_read, sink.cache_write = read, write
            creation = usage.cache_creation
            sink.cache_write_1h = (creation.ephemeral_1h_input_tokens or 0) if creation else 0
        sink.output_tokens = max(sink.output_tokens, usage.output_tokens or 0)
        details = usage.output_tokens_details
        if details is not None and details.thinking_tokens:
            sink.reasoning = details.thinking_tokens
        tools = usage.server_tool_use
        if tools is not None and tools.web_search_requests:
            sink.web_searches = tools.web_search_requests


USAGE = AnthropicUsage()
