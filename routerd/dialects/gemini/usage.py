"""Token usage in Gemini answers: input = ``promptTokenCount`` + ``toolUsePromptTokenCount``, cache
reads ``cachedContentTokenCount``, output = ``candidatesTokenCount`` + ``thoughtsTokenCount``
(reasoning). Hosted searches: the ``webSearchQueries`` of the first candidate's
``groundingMetadata`` (one for grounding with sources but no query), the most any event of a
stream listed (a chunk with grounding and no usage is read too). The answer's ``responseId`` is kept: a coding agent writes it in its transcript."""

from __future__ import annotations

from typing import Any

import msgspec

from routerd.dialects.usage import UsageSink, text_fields


class _Usage(msgspec.Struct):
    promptTokenCount: int | None = 0
    candidatesTokenCount: int | None = 0
    thoughtsTokenCount: int | None = 0
    cachedContentTokenCount: int | None = 0
    toolUsePromptTokenCount: int | None = 0


class _Grounding(msgspec.Struct):
    webSearchQueries: list[str] = []
    groundingChunks: list[Any] = []


class _Candidate(msgspec.Struct):
    groundingMetadata: _Grounding | None = None


class _Body(msgspec.Struct):
    usageMetadata: _Usage | None = None
    responseId: str | None = None
    candidates: list[_Candidate] = []


class GeminiUsage:
    markers: tuple[bytes, ...] = (b'"usageMetadata"', b'"groundingMetadata"')
    terminal = b'"finishReason"'
    counts_text = True  # a chunk's usage, when it has one, counts what came before it
    text = text_fields("text")

    def __init__(self) -> None:
        self.decoder: msgspec.json.Decoder[Any] = msgspec.json.Decoder(_Body)

    def take(self, body: _Body, sink: UsageSink) -> None:
        sink.response_id = body.responseId or sink.response_id
        usage = body.usageMetadata
        if usage is not None:
            sink.input_tokens = (usage.promptTokenCount or 0) + (usage.toolUsePromptTokenCount or 0)
            sink.reasoning = usage.thoughtsTokenCount or 0
            sink.output_tokens = (usage.candidatesTokenCount or 0) + sink.reasoning
            sink.cache_read = usage.cachedContentTokenCount or 0
        grounding = body.candidates[0].groundingMetadata if body.candidates else None
        if grounding is not None:
            found = len(grounding.webSearchQueries) or (1 if grounding.groundingChunks else 0)
            sink.web_searches = max(sink.web_searches, found)


USAGE = GeminiUsage()
