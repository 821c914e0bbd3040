"""Anthropic Messages (``POST /v1/messages``) <-> canonical.

``system`` may be a string or text blocks (joined with blank lines; ``cache_control`` is dropped
across dialects). Blocks: text, image (base64 or url), tool_use, tool_result, thinking,
redacted_thinking. ``thinking.budget_tokens`` maps to the canonical reasoning budget. Usage:
Anthropic's ``input_tokens`` excludes cache reads and writes, so the canonical input is the sum.
Rendered thinking blocks need a signature: reasoning without one (from another dialect) is dropped
from requests, since Anthropic would reject it.
"""

from __future__ import annotations

from typing import Any, Literal, Union

import msgspec

from routerd.dialects.wire import (
    carry_own_fields,
    convert, dump_json, extras, ignored_parts, load_arguments, load_body, user_for, wire_id,
)
from routerd.dialects.canonical import (
    ChatRequest, ImagePart, Message, Reasoning, ReasoningPart, TextPart, Tool, ToolCallPart,
    Effort, ToolChoice, ToolChoiceMode, ToolResultPart, WebSearch, as_effort,
)
from routerd.dialects import structured
from routerd.dialects.hosted import web_search_types

NAME = "anthropic"
DEFAULT_MAX_TOKENS = 4096  # every Claude model allows at least this much output
MIN_THINKING_BUDGET = 1024
# The effort Claude works at when output_config.effort is not set: "By default, Claude uses high
# effort"; high is "Equivalent to not setting the parameter" (platform.claude.com/docs/en/
# build-with-claude/effort).
DEFAULT_EFFORT: Effort = "high"


class _B64(msgspec.Struct, tag="base64", tag_field="type"):
    media_type: str
    data: str


class _URL(msgspec.Struct, tag="url", tag_field="type"):
    url: str


class _Text(msgspec.Struct, tag="text", tag_field="type"):
    text: str
    citations: list[dict[str, Any]] | None = None


class _Image(msgspec.Struct, tag="image", tag_field="type"):
    source: _B64 | _URL


class _ToolUse(msgspec.Struct, tag="tool_use", tag_field="type"):
    id: str
    name: str
    input: Any = None


class _Document(msgspec.Struct, tag="document", tag_field="type"):
    source: dict[str, Any] = {}
    title: str | None = None


class _SearchResult(msgspec.Struct, tag="search_result", tag_field="type"):
    source: str = ""
    title: str = ""
    content: list[_Text] = []


class _WebResults(msgspec.Struct, tag="web_search_tool_result", tag_field="type"):
    content: Any = None
    tool_use_id: str = ""


class _ServerToolUse(msgspec.Struct, tag="server_tool_use", tag_field="type"):
    """A hosted tool's call (the server ran it): requests drop it, answers read a web search's."""

    id: str = ""
    name: str = ""
    input: Any = None


# Server-side tool blocks (web fetch, code execution, MCP connector; a web search's call is
# ``_ServerToolUse``): the server ran them, so other dialects have nothing to replay; they are
# dropped when translating a request. Answers keep a web search's blocks (``anthropic.search``).
_IGNORED = ignored_parts("web_fetch_tool_result", "code_execution_tool_result",
                         "bash_code_execution_tool_result", "text_editor_code_execution_tool_result",
                         "mcp_tool_use", "mcp_tool_result", "container_upload", "tool_search_tool_result",
                         "tool_reference")
_Inner = Union[(_Text, _Image, _Document, _SearchResult, *_IGNORED)]  # type: ignore[valid-type]  # a union built at run time (the ignored part types)


class _ToolResult(msgspec.Struct, tag="tool_result", tag_field="type"):
    tool_use_id: str
    content: str | list[_Inner] | None = None
    is_error: bool = False


class _Thinking(msgspec.Struct, tag="thinking", tag_field="type"):
    thinking: str = ""
    signature: str | None = None


class _Redacted(msgspec.Struct, tag="redacted_thinking", tag_field="type"):
    data: str = ""


Block = Union[(_Text, _Image, _ToolUse, _ToolResult, _Thinking, _Redacted, _Document, _SearchResult,
                _WebResults, _ServerToolUse, *_IGNORED)]  # type: ignore[valid-type]  # a union built at run time (the ignored part types)


class _Msg(msgspec.Struct):
    # Claude Code (2.1.x) also sends ``system`` messages inside the conversation.
    role: Literal["user", "assistant", "system"]
    content: str | list[Block]


class _Tool(msgspec.Struct):
    name: str
    description: str | None = None
    input_schema: dict[str, Any] | None = None
    type: str | None = None
    max_uses: int | None = None          # a web search's options
    allowed_domains: list[str] | None = None
    blocked_domains: list[str] | None = None
    user_location: dict[str, Any] | None = None


class _ToolChoice(msgspec.Struct):
    type: Literal["auto", "any", "tool", "none"]
    name: str | None = None
    disable_parallel_tool_use: bool | None = None


class _ThinkingConfig(msgspec.Struct):
    type: str
    budget_tokens: int | None = None


class _Request(msgspec.Struct):
    messages: list[_Msg]
    model: str = ""
    system: str | list[_Text] | None = None
    max_tokens: int | None = None
    stop_sequences: list[str] | None = None
    stream: bool | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    tools: list[_Tool] | None = None
    tool_choice: _ToolChoice | None = None
    thinking: _ThinkingConfig | None = None
    metadata: dict[str, Any] | None = None


KNOWN_FIELDS = frozenset(_Request.__struct_fields__)
_CHOICE_IN: dict[str, ToolChoiceMode] = {"auto": "auto", "any": "required", "tool": "tool", "none": "none"}
_CHOICE_OUT = {"auto": "auto", "required": "any", "tool": "tool", "none": "none"}


def _image(block: _Image) -> ImagePart:
    src = block.source
    if isinstance(src, _B64):
        return ImagePart(data=src.data, media_type=src.media_type)
    return ImagePart(url=src.url)


def _web_results(block: _WebResults) -> TextPart:
    items = block.content if isinstance(block.content, list) else []
    lines = [f"- {r.get('title', '')} ({r.get('url', '')})" for r in items if isinstance(r, dict)]
    return TextPart("Web search results:\n" + "\n".join(lines) if lines else "Web search: no results")


def _document(block: _Document) -> TextPart:
    src = block.source
    if src.get("type") == "text" and isinstance(src.get("data"), str):
        return TextPart(src["data"])
    if src.get("type") == "content" and isinstance(src.get("content"), list):
        return TextPart("\n".join(str(b.get("text", "")) for b in src["content"] if isinstance(b, dict)))
    return TextPart(f"[document{': ' + block.title if block.title else ''} not translatable]")


def _tool_result(block: _ToolResult) -> ToolResultPart:
    inner = block.content
    content = [TextPart(inner)] if isinstance(inner, str) else parse_blocks(inner or ())
    return ToolResultPart(block.tool_use_id, content, block.is_error)


# Block type -> canonical part (None: no canonical form). A table, not an isinstance chain: long
# Claude Code histories hold thousands of blocks and this runs for every request.
_CONVERT: dict[type, Any] = {
    _Text: lambda b: TextPart(b.text),
    _Image: _image,
    _ToolUse: lambda b: ToolCallPart(b.id, b.name, dump_json(b.input if b.input is not None else {})),
    _ToolResult: _tool_result,
    _Thinking: lambda b: ReasoningPart(b.thinking, signature=b.signature or None),
    _Redacted: lambda b: ReasoningPart(encrypted=b.data, redacted=True),
    _Document: _document,
    _SearchResult: lambda b: TextPart("\n".join([b.title, *(t.text for t in b.content)]).strip()),
    _WebResults: _web_results,
    _ServerToolUse: lambda b: None,
}


def parse_blocks(blocks: Any, table: dict[type, Any] = _CONVERT) -> list[Any]:
    """Anthropic blocks as canonical parts (by ``table``), dropping those without a canonical form."""
    out = []
    for block in blocks:
        convert_block = table.get(type(block))
        if convert_block is not None and (part := convert_block(block)) is not None:
            out.append(part)
    return out


def _reasoning(raw: _ThinkingConfig | None, effort: Any = None) -> Reasoning | None:
    """The thinking settings; ``effort``: ``output_config.effort``, the level adaptive thinking
    works at (Claude Code sends ``high``; ``xhigh`` and ``max`` are OpenAI's too)."""
    if raw is None:
        return None
    if raw.type == "disabled":
        return Reasoning(effort="none")
    if raw.budget_tokens is not None:
        return Reasoning(budget_tokens=raw.budget_tokens, include_thoughts=True)
    # "adaptive": the model decides how much to think, at the effort asked for (else the API's).
    level = as_effort(effort) if isinstance(effort, str) else DEFAULT_EFFORT
    return Reasoning(effort=level, include_thoughts=True)


def _effort(body: Any) -> Any:
    config = body.get("output_config") if isinstance(body, dict) else None
    return config.get("effort") if isinstance(config, dict) else None


def _fold_system_messages(system: str | None, messages: list[_Msg]) -> tuple[str | None, list[_Msg]]:
    """Mid-conversation ``system`` messages join the system prompt, as OpenAI chat's and the
    Responses API's system/developer messages do in their parsers: the canonical form has one."""
    extra = [m for m in messages if m.role == "system"]
    if not extra:
        return system, messages
    texts = [system] if system else []
    for m in extra:
        texts.append(m.content if isinstance(m.content, str)
                     else "\n\n".join(b.text for b in m.content if isinstance(b, _Text)))
    return "\n\n".join(t for t in texts if t) or None, [m for m in messages if m.role != "system"]


def parse_request(body: Any, *, model: str | None = None, stream: bool | None = None) -> ChatRequest:
    """A Messages request body as a ``ChatRequest``; ``model``/``stream`` override the body's."""
    body = load_body(body)
    raw = convert(body, _Request)
    system = raw.system
    if isinstance(system, list):
        system = "\n\n".join(b.text for b in system) if system else None
    system, turns = _fold_system_messages(system, raw.messages)
    messages = [Message("user" if m.role == "user" else "assistant",  # system turns were folded above
                        [TextPart(m.content)] if isinstance(m.content, str) else parse_blocks(m.content))
                for m in turns]
    tools = [Tool(t.name, t.description, t.input_schema) for t in raw.tools or ()
             if t.input_schema is not None]
    searches = web_search_types(NAME)
    search = next((_web_search(t) for t in raw.tools or () if t.type in searches), None)
    choice = None
    if raw.tool_choice is not None:
        tc = raw.tool_choice
        parallel = None if tc.disable_parallel_tool_use is None else not tc.disable_parallel_tool_use
        choice = ToolChoice(_CHOICE_IN[tc.type], tc.name, parallel)
    user = raw.metadata.get("user_id") if raw.metadata else None
    return ChatRequest(
        model=model if model is not None else raw.model, system=system, messages=messages,
        tools=tools, tool_choice=choice, max_tokens=raw.max_tokens, temperature=raw.temperature,
        top_p=raw.top_p, stop=raw.stop_sequences or [], stream=bool(raw.stream) if stream is None else stream,
        stream_usage=True, reasoning=_reasoning(raw.thinking, _effort(body)), user=user if isinstance(user, str) else None,
        metadata=raw.metadata, web_search=search, top_k=raw.top_k, output_format=structured.from_anthropic(body),
        extra=extras(body, KNOWN_FIELDS | {"output_format"}), origin=NAME)


_LOCATION_KEYS = ("city", "region", "country", "timezone")


def _web_search(tool: _Tool) -> WebSearch:
    location = tool.user_location or {}
    return WebSearch(max_uses=tool.max_uses, allowed_domains=tool.allowed_domains or [],
                     blocked_domains=tool.blocked_domains or [],
                     user_location={k: str(location[k]) for k in _LOCATION_KEYS if location.get(k)})


def web_search_tool(search: WebSearch) -> dict[str, Any]:
    """A canonical web search as Anthropic's hosted tool (``context_size`` has no equivalent: the
    model reads what the search returns)."""
    tool: dict[str, Any] = {"type": "web_search_20250305", "name": "web_search"}
    if search.max_uses is not None:
        tool["max_uses"] = search.max_uses
    if search.allowed_domains:
        tool["allowed_domains"] = search.allowed_domains
    elif search.blocked_domains:  # Anthropic takes one of the two lists, never both
        tool["blocked_domains"] = search.blocked_domains
    if search.user_location:
        tool["user_location"] = {"type": "approximate", **search.user_location}
    return tool


def _image_block(part: ImagePart) -> dict[str, Any]:
    if part.data is not None:
        source = {"type": "base64", "media_type": part.media_type or "image/png", "data": part.data}
    else:
        source = {"type": "url", "url": part.url or ""}
    return {"type": "image", "source": source}


def render_block(part: Any, *, for_request: bool = True) -> dict[str, Any] | None:
    """One canonical part as an Anthropic content block (None: the part has no Anthropic form)."""
    if isinstance(part, TextPart):  # Anthropic refuses empty text blocks ("content": "" is common)
        return {"type": "text", "text": part.text} if part.text else None
    if isinstance(part, ImagePart):
        return _image_block(part)
    if isinstance(part, ToolCallPart):
        return {"type": "tool_use", "id": wire_id(part.id, 64), "name": part.name,
                "input": load_arguments(part.arguments)}
    if isinstance(part, ToolResultPart):
        block: dict[str, Any] = {"type": "tool_result", "tool_use_id": wire_id(part.tool_call_id, 64)}
        inner = [b for b in map(render_block, part.content) if b is not None]
        if inner:
            block["content"] = inner
        if part.is_error:
            block["is_error"] = True
        return block
    if part.redacted:
        return {"type": "redacted_thinking", "data": part.encrypted or ""}
    if for_request and not part.signature:
        return None
    return {"type": "thinking", "thinking": part.text, "signature": part.signature or ""}


def _thinking(req: ChatRequest, body: dict[str, Any]) -> None:
    """Thinking with the budget asked (at least the API's least). The client's ``max_tokens`` is
    its limit: ``fit`` keeps the budget below it, or drops thinking where no budget of 1,024 fits
    (Anthropic: "Must be >= 1024 and less than `max_tokens`"); only where the client set none is
    there room made for the budget and an answer. ``fit`` also turns it into adaptive thinking at
    the level the budget stands for, on a model that takes no budgets."""
    reasoning = req.reasoning
    if reasoning is None:
        return
    budget = reasoning.resolved_budget()
    if budget <= 0:
        body["thinking"] = {"type": "disabled"}
        return
    body["thinking"] = {"type": "enabled", "budget_tokens": max(MIN_THINKING_BUDGET, budget)}


def _object_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """Anthropic insists that ``input_schema`` says ``"type": "object"``; other dialects do not."""
    if not schema:
        return {"type": "object", "properties": {}}
    return schema if "type" in schema else {"type": "object", **schema}


def _tool_choice_out(tc: ToolChoice) -> dict[str, Any]:
    choice: dict[str, Any] = {"type": _CHOICE_OUT[tc.mode]}
    if tc.mode == "tool":
        choice["name"] = tc.name
    if tc.parallel is False and tc.mode != "none":
        choice["disable_parallel_tool_use"] = True
    return choice


def max_tokens(req: ChatRequest, *, reasoning: bool = True, default: int = DEFAULT_MAX_TOKENS) -> int:
    """The ``max_tokens`` a body rendered from ``req`` carries (before ``fit`` caps it to the
    model's limit): the client's, else ``default``, and where thinking is on, at least ``default``
    more than its budget (the one rule; ``gateway.spend`` holds a budget for what it gives)."""
    if req.max_tokens:
        return req.max_tokens
    budget = req.reasoning.resolved_budget() if reasoning and req.reasoning is not None else 0
    if req.max_tokens is not None or budget <= 0:  # a 0 the client sent: the default, as before
        return default
    return max(default, max(MIN_THINKING_BUDGET, budget) + DEFAULT_MAX_TOKENS)


def render_request(req: ChatRequest, model: str, *, reasoning: bool = True,
                   default_max_tokens: int = DEFAULT_MAX_TOKENS) -> dict[str, Any]:
    """``req`` as a Messages body for ``model``. ``max_tokens`` (required by Anthropic) is the
    client's, else ``default_max_tokens`` more than a thinking budget (at least 1,024), which
    ``fit`` keeps below the client's.
    ``reasoning`` False leaves ``thinking`` out (for models without extended thinking)."""
    messages = []
    for message in req.messages:
        blocks = [b for b in (render_block(p) for p in message.content) if b is not None]
        if blocks:  # Anthropic refuses empty turns (e.g. one that held only foreign reasoning)
            messages.append({"role": message.role, "content": blocks})
    body: dict[str, Any] = {"model": model, "messages": messages,
                            "max_tokens": max_tokens(req, reasoning=reasoning, default=default_max_tokens)}
    if req.system:
        body["system"] = req.system
    if req.tools:
        body["tools"] = [{"name": t.name, **({"description": t.description} if t.description else {}),
                          "input_schema": _object_schema(t.parameters)} for t in req.tools]
    if req.web_search is not None:
        body.setdefault("tools", []).append(web_search_tool(req.web_search))
    if req.tool_choice is not None and body.get("tools"):
        body["tool_choice"] = _tool_choice_out(req.tool_choice)
    if req.stop:
        body["stop_sequences"] = req.stop
    for key in ("temperature", "top_p", "top_k"):
        if (value := getattr(req, key)) is not None:
            body[key] = value
    if req.stream:
        body["stream"] = True
    if not carry_own_fields(body, req, NAME) and (user := user_for(req, NAME)):
        body["metadata"] = {"user_id": user}
    if req.output_format is not None:  # ``structured.as_forced_tool`` first for models without it
        body["output_config"] = {**(body.get("output_config") or {}), "format": structured.to_anthropic(req.output_format)}
    if reasoning:
        _thinking(req, body)
    return body
