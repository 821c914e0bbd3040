"""What a dialect's usage reader fills in: the token counts of one answer as the provider reports
them, in the shape ``routerd.catalogue.prices.Tokens`` prices (``input`` includes cache reads and
writes, ``output`` includes reasoning), the hosted web searches it ran (billed apart), the answer's
id, and whether generated text still has to be counted for an estimate (no usage reported yet)."""

from __future__ import annotations

import re
from typing import Any, Protocol

import msgspec


class UsageSink(Protocol):
    input_tokens: int
    output_tokens: int
    cache_read: int
    cache_write: int
    cache_write_1h: int
    reasoning: int
    web_searches: int
    response_id: str | None
    counts_text: bool
    rate_limits: dict[str, Any] | None  # a Codex stream's ``codex.rate_limits`` event: rate_limits, credits, family


class UsageReader(Protocol):
    """One dialect's usage: ``decoder`` reads a whole answer or one stream event; one of ``markers``
    is in every stream event that can carry usage or a finished hosted search (so others are not
    decoded); ``terminal`` is in the stream's final event; ``counts_text``: count the generated
    text, ``text``'s first group in stream events, until the final usage arrives (an estimate for
    a stream cut before it, or one that reports none)."""

    decoder: msgspec.json.Decoder[Any]
    markers: tuple[bytes, ...]
    terminal: bytes
    counts_text: bool
    text: re.Pattern[bytes]

    def take(self, body: Any, sink: UsageSink) -> None: ...


def text_fields(*names: str) -> re.Pattern[bytes]:
    """A pattern for the JSON string values of the keys ``names`` (the value as written, escapes
    and all: close enough to count characters by)."""
    keys = "|".join(map(re.escape, names))
    # The value as runs of plain characters between escapes ("unrolling the loop", Friedl): the
    # same matches as one alternation a character, ``(?:[^"\\]|\\.)*``, in about half the time,
    # as the engine takes a run of one character class in one step.
    return re.compile(rb'"(?:' + keys.encode() + rb')"\s*:\s*"([^"\\]*(?:\\.[^"\\]*)*)"')
