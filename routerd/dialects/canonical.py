"""The one canonical chat form that every dialect translates to and from.

A request is a system prompt plus ``user``/``assistant`` messages whose content is a list of parts
(text, image, tool call, tool result, reasoning). Tool results live in ``user`` messages, as in the
Anthropic Messages API; dialects that use a separate ``tool`` role (OpenAI chat) or separate items
(Responses, Gemini) split and merge on the way in and out. Tool-call arguments are JSON text.

Conventions that every dialect module keeps:

- ``Usage.input_tokens`` counts ALL input tokens, cached ones included (OpenAI's reading);
  ``cached_input_tokens`` is the part of it read from a cache. ``output_tokens`` includes
  ``reasoning_tokens``.
- Stop reasons are ``end_turn | max_tokens | tool_use | stop_sequence | content_filter | error``.
- ``ChatRequest.extra`` holds top-level fields of the source body that have no canonical home;
  ``ChatRequest.origin`` names the dialect they came from, and only that dialect re-emits them.
- Stream events carry no block bookkeeping: encoders open and close blocks/items themselves.
  ``ToolCallStart.index`` / ``ToolCallDelta.index`` number the tool calls of one message from 0.

Nothing here does I/O; everything is a plain value.
"""

from __future__ import annotations

from typing import Any, Literal, NamedTuple

import msgspec

StopReason = Literal["end_turn", "max_tokens", "tool_use", "stop_sequence", "content_filter", "error"]
Effort = Literal["none", "minimal", "low", "medium", "high", "xhigh", "max"]
Role = Literal["user", "assistant"]
ToolChoiceMode = Literal["auto", "none", "required", "tool"]


class Level(NamedTuple):
    """What one reasoning level is in each API's terms: a thinking budget in tokens (Anthropic's
    ``budget_tokens``, Gemini 2.5's ``thinkingBudget``), Anthropic's ``output_config.effort`` (None:
    thinking off), Gemini 3's ``thinkingLevel``, OpenAI's ``reasoning_effort``."""

    budget: int
    anthropic: str | None
    gemini: str
    openai: str


# The one table of reasoning levels, lowest first: what each level is asked as on every API. The
# canonical levels are OpenAI's (its ReasoningEffort: none to max); Anthropic's effort runs low to
# max, Gemini 3's thinkingLevel minimal to high, so the top levels share the highest each takes.
# Budgets: Anthropic's least is 1,024 ("Must be >= 1024 and less than max_tokens"); low to high
# follow the ratios LiteLLM and the providers' docs use (roughly x4 a level); xhigh is 32,768
# (Gemini 2.5 Pro's most, and where Claude stops using a budget fully: "especially at ranges above
# 32K"); max is 59,904, what a 64K-output Claude takes beside the 4,096-token answer routerd leaves
# when the client set no limit (64,000 - 4,096). ``routerd.dialects.fit`` then brings a budget into
# the model's range and under its output limit, and a level the model lacks to the nearest below.
LEVELS: dict[Effort, Level] = {
    "none": Level(0, None, "minimal", "none"),
    "minimal": Level(1_024, "low", "minimal", "minimal"),
    "low": Level(2_048, "low", "low", "low"),
    "medium": Level(8_192, "medium", "medium", "medium"),
    "high": Level(24_576, "high", "high", "high"),
    "xhigh": Level(32_768, "xhigh", "high", "xhigh"),
    "max": Level(59_904, "max", "high", "max"),
}
EFFORTS: tuple[Effort, ...] = tuple(LEVELS)
EFFORT_BUDGETS: dict[Effort, int] = {name: level.budget for name, level in LEVELS.items() if level.budget}


def as_effort(value: str) -> Effort:
    """``value`` when it names a reasoning level (case-insensitive), else ``medium``."""
    value = value.lower()
    return next((effort for effort in EFFORTS if effort == value), "medium")


def budget_for_effort(effort: str) -> int:
    """Thinking-token budget for a reasoning level (``none`` -> 0; unknown levels -> medium)."""
    if effort == "none":
        return 0
    return EFFORT_BUDGETS[as_effort(effort)]


def effort_for_budget(budget: int) -> Effort:
    """The reasoning level whose budget is the smallest one at least ``budget`` (0 -> ``none``;
    above every level's: ``max``)."""
    if budget <= 0:
        return "none"
    for name, limit in EFFORT_BUDGETS.items():
        if budget <= limit:
            return name
    return "max"


class Citation(msgspec.Struct, omit_defaults=True):
    """A web source the text cites: ``cited_text`` is the source's own words (Anthropic), ``start``
    and ``end`` the cited span of the text, in characters (None: all of it)."""

    url: str
    title: str = ""
    cited_text: str = ""
    start: int | None = None
    end: int | None = None


class TextPart(msgspec.Struct, tag="text", tag_field="type", omit_defaults=True):
    text: str
    citations: list[Citation] = []


class ImagePart(msgspec.Struct, tag="image", tag_field="type", omit_defaults=True):
    """An image by URL, or inline as base64 ``data`` with its ``media_type``."""

    url: str | None = None
    data: str | None = None
    media_type: str | None = None
    detail: str | None = None


class ToolCallPart(msgspec.Struct, tag="tool_call", tag_field="type", omit_defaults=True):
    """A call the assistant makes; ``arguments`` is JSON text (an object)."""

    id: str
    name: str
    arguments: str = "{}"


class ToolResultPart(msgspec.Struct, tag="tool_result", tag_field="type", omit_defaults=True):
    """The result of the call ``tool_call_id``; ``content`` holds text and image parts."""

    tool_call_id: str
    content: list[TextPart | ImagePart] = []
    is_error: bool = False


class ReasoningPart(msgspec.Struct, tag="reasoning", tag_field="type", omit_defaults=True):
    """Reasoning the model showed. ``signature`` (Anthropic) / ``encrypted`` and ``id`` (Responses
    reasoning items) are opaque tokens that only their own dialect can use; ``redacted`` marks
    Anthropic redacted thinking."""

    text: str = ""
    signature: str | None = None
    encrypted: str | None = None
    redacted: bool = False
    id: str | None = None


class WebSource(msgspec.Struct, omit_defaults=True):
    """One result of a hosted web search; ``encrypted`` is Anthropic's opaque page content."""

    url: str
    title: str = ""
    page_age: str | None = None
    encrypted: str | None = None


class SearchCallPart(msgspec.Struct, tag="web_search_call", tag_field="type", omit_defaults=True):
    """A web search the provider ran for the model (a hosted tool: nobody answers it)."""

    id: str
    query: str = ""


class SearchResultsPart(msgspec.Struct, tag="web_search_results", tag_field="type", omit_defaults=True):
    """What the hosted search ``call_id`` found; ``error`` is set when it failed."""

    call_id: str
    results: list[WebSource] = []
    error: str | None = None


Part = TextPart | ImagePart | ToolCallPart | ToolResultPart | ReasoningPart | SearchCallPart | SearchResultsPart


class Message(msgspec.Struct, omit_defaults=True):
    role: Role
    content: list[Part] = []


class Tool(msgspec.Struct, omit_defaults=True):
    name: str
    description: str | None = None
    parameters: dict[str, Any] = {}


class ToolChoice(msgspec.Struct, omit_defaults=True):
    """``mode`` is ``auto | none | required | tool``; ``name`` is set for ``tool``."""

    mode: ToolChoiceMode = "auto"
    name: str | None = None
    parallel: bool | None = None


SEARCH_TOOL = "web_search"  # the name a forced hosted search takes in ``ToolChoice``


class WebSearch(msgspec.Struct, omit_defaults=True):
    """A hosted web search offered to the model, with its options as every dialect that runs one
    can state them: at most ``max_uses`` searches, results only from ``allowed_domains`` or never
    from ``blocked_domains``, ranked for ``user_location`` (city, region, country, timezone);
    ``context_size`` is the Responses API's ``search_context_size``; ``unmapped`` names options of
    the client's tool that no other dialect can state (the request then stays in its dialect)."""

    max_uses: int | None = None
    allowed_domains: list[str] = []
    blocked_domains: list[str] = []
    user_location: dict[str, str] = {}
    context_size: str | None = None
    unmapped: list[str] = []


class Reasoning(msgspec.Struct, omit_defaults=True):
    """Reasoning asked for: an ``effort`` level, a token ``budget``, or both."""

    effort: Effort | None = None
    budget_tokens: int | None = None
    include_thoughts: bool | None = None

    def resolved_budget(self) -> int:
        if self.budget_tokens is not None:
            return self.budget_tokens
        return budget_for_effort(self.effort or "medium")

    def resolved_effort(self) -> Effort:
        if self.effort is not None:
            return self.effort
        return effort_for_budget(self.budget_tokens or 0)


class OutputFormat(msgspec.Struct, omit_defaults=True):
    """Structured output asked for: ``json_object`` is any JSON object (JSON mode); ``json_schema``
    one that matches ``schema`` (JSON Schema), with OpenAI's ``name``/``description``/``strict``;
    ``enum_text``: the answer is one of a string enum's values as bare text, not JSON (Gemini's
    ``text/x.enum``)."""

    type: Literal["json_object", "json_schema"] = "json_object"
    schema: dict[str, Any] | None = None
    name: str | None = None
    description: str | None = None
    strict: bool | None = None
    enum_text: bool = False


class ChatRequest(msgspec.Struct, omit_defaults=True, kw_only=True):
    model: str = ""
    system: str | None = None
    messages: list[Message] = []
    tools: list[Tool] = []
    tool_choice: ToolChoice | None = None
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    stop: list[str] = []
    stream: bool = False
    stream_usage: bool = False
    reasoning: Reasoning | None = None
    user: str | None = None
    metadata: dict[str, Any] | None = None
    web_search: WebSearch | None = None
    output_format: OutputFormat | None = None
    # Sampling settings only some APIs take; each dialect renders those its API has with the same
    # meaning (seed: OpenAI chat, Gemini; top_k: Anthropic, Gemini; the penalties: OpenAI chat, read
    # from Gemini too, but not sent there: Gemini 2.5 on refuses them).
    seed: int | None = None
    top_k: int | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    extra: dict[str, Any] = {}
    origin: str | None = None


class Usage(msgspec.Struct, omit_defaults=False):
    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0
    reasoning_tokens: int = 0
    web_search_requests: int = 0


class ChatResponse(msgspec.Struct, omit_defaults=True, kw_only=True):
    id: str
    model: str = ""
    content: list[Part] = []
    stop_reason: StopReason = "end_turn"
    stop_sequence: str | None = None
    usage: Usage = msgspec.field(default_factory=Usage)


# --- stream events ---------------------------------------------------------------------------


class MessageStart(msgspec.Struct, tag="message_start", tag_field="type"):
    id: str
    model: str = ""
    usage: Usage | None = None


class TextDelta(msgspec.Struct, tag="text_delta", tag_field="type"):
    text: str


class ReasoningDelta(msgspec.Struct, tag="reasoning_delta", tag_field="type"):
    """Reasoning text; a delta with only ``signature`` (or ``encrypted``) closes it for Anthropic."""

    text: str = ""
    signature: str | None = None
    encrypted: str | None = None


class ToolCallStart(msgspec.Struct, tag="tool_call_start", tag_field="type"):
    index: int
    id: str
    name: str


class ToolCallDelta(msgspec.Struct, tag="tool_call_delta", tag_field="type"):
    index: int
    arguments: str


class SearchCall(msgspec.Struct, tag="web_search_call", tag_field="type"):
    """The provider ran a hosted web search for ``query``."""

    id: str
    query: str = ""


class SearchResults(msgspec.Struct, tag="web_search_results", tag_field="type"):
    """What the hosted search ``call_id`` found (``error``: it failed)."""

    call_id: str
    results: list[WebSource] = []
    error: str | None = None


class CitationDelta(msgspec.Struct, tag="citation", tag_field="type"):
    """A source for text already sent: ``citation.start``/``end`` count characters from the start of
    the current text run (the text since the last event of another kind); None: the whole run."""

    citation: Citation


class MessageStop(msgspec.Struct, tag="message_stop", tag_field="type"):
    stop_reason: StopReason = "end_turn"
    usage: Usage | None = None
    stop_sequence: str | None = None


class StreamError(msgspec.Struct, tag="stream_error", tag_field="type"):
    """The upstream reported an error mid-stream; ``kind`` is a routerd error code."""

    message: str
    kind: str = "upstream_error"
    status: int = 500


StreamEvent = (MessageStart | TextDelta | ReasoningDelta | ToolCallStart | ToolCallDelta | SearchCall | SearchResults
               | CitationDelta | MessageStop | StreamError)

__all__ = [
    "ChatRequest", "ChatResponse", "Citation", "CitationDelta", "ImagePart", "LEVELS", "Level", "Message", "MessageStart", "MessageStop", "OutputFormat", "Part",
    "Reasoning", "ReasoningDelta", "ReasoningPart", "SearchCall", "SearchCallPart", "SearchResults",
    "SearchResultsPart", "StreamError", "StreamEvent", "TextDelta",
    "TextPart", "Tool", "ToolCallDelta", "ToolCallPart", "ToolCallStart", "ToolChoice",
    "ToolResultPart", "Usage", "WebSearch", "WebSource",
]
