"""OpenAI Responses (``POST /v1/responses``, as Codex CLI speaks it) <-> canonical.

``instructions`` and ``system``/``developer`` input messages make the system prompt. Input items:
messages (``input_text``/``output_text``/``input_image``/``refusal`` parts), ``function_call``
(``call_id`` is the canonical tool-call id), ``function_call_output``, ``reasoning`` (summary
text; ``encrypted_content`` kept opaque) and ``additional_tools`` (tools offered from that point of
the history on, which Codex sends in place of ``tools`` for the models it knows: they join the
request's tools). Consecutive assistant-side items form one assistant
message. ``function`` tools translate as they are, ``custom`` (freeform) tools as a function taking
``{"input": string}``; the ``web_search`` tool becomes the canonical web search (``responses.search``),
other hosted tools (file_search, code_interpreter, ...) and every hosted tool's items in the history
are dropped when the request goes to another dialect. ``custom_tool_call`` and ``local_shell_call`` items become tool calls.
Encrypted reasoning is only sent back to a Responses upstream.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import chain
from typing import Any, Literal, Union

import msgspec

from routerd.dialects import structured
from routerd.dialects.responses import search
from routerd.dialects.responses.names import qualified
from routerd.dialects.wire import (
    carry_own_fields,
    convert, convert_at, data_url, dump_json, extras, ignored_parts, load_body, split_data_url, user_for, wire_id,
)
from routerd.dialects.canonical import (
    ChatRequest, ImagePart, Message, Reasoning, ReasoningPart, Role, TextPart, Tool, ToolCallPart,
    LEVELS, SEARCH_TOOL, ToolChoice, ToolResultPart, WebSearch, as_effort,
)
from routerd.dialects.hosted import web_search_types
from routerd.errors import BadRequest

NAME = "responses"


class _InText(msgspec.Struct, tag="input_text", tag_field="type"):
    text: str


class _OutText(msgspec.Struct, tag="output_text", tag_field="type"):
    text: str


class _InImage(msgspec.Struct, tag="input_image", tag_field="type"):
    image_url: str | None = None
    detail: str | None = None
    file_id: str | None = None


class _Refusal(msgspec.Struct, tag="refusal", tag_field="type"):
    refusal: str


# Files and audio have no canonical form yet; they are dropped when translating.
_IGNORED = ignored_parts("input_file", "input_audio")
_Part = Union[(_InText, _OutText, _InImage, _Refusal, *_IGNORED)]  # type: ignore[valid-type]  # a union built at run time (the ignored part types)
# Items of OpenAI-hosted tools (the server ran them): nothing another dialect could replay.
_HOSTED_ITEMS = frozenset({"web_search_call", "file_search_call", "computer_call", "computer_call_output",
                           "image_generation_call", "code_interpreter_call", "mcp_call", "mcp_list_tools",
                           "mcp_approval_request", "mcp_approval_response", "item_reference"})


class _MessageItem(msgspec.Struct):
    role: Literal["user", "assistant", "system", "developer"]
    content: str | list[_Part]


class _FunctionCall(msgspec.Struct):
    call_id: str
    name: str
    arguments: str = ""
    namespace: str | None = None


class _FunctionOutput(msgspec.Struct):
    call_id: str
    output: str | list[_Part]


class _CustomCall(msgspec.Struct):
    """A freeform tool call (Codex's ``apply_patch`` on some models): its text becomes ``{"input"}``."""

    call_id: str
    name: str
    input: str = ""


class _ShellCall(msgspec.Struct):
    call_id: str
    action: dict[str, Any] = {}


class _Summary(msgspec.Struct):
    text: str = ""


class _ReasoningItem(msgspec.Struct):
    id: str | None = None
    summary: list[_Summary] = []
    content: list[_Summary] | None = None
    encrypted_content: str | None = None


class _Tool(msgspec.Struct):
    type: str
    name: str | None = None
    description: str | None = None
    parameters: dict[str, Any] | None = None
    tools: list[_Tool] | None = None   # a namespace's own tools
    filters: dict[str, Any] | None = None        # a web search's options
    user_location: dict[str, Any] | None = None
    search_context_size: str | None = None
    external_web_access: bool | None = None


class _AdditionalTools(msgspec.Struct):
    tools: list[_Tool] = []


# A freeform (``custom``) tool offered to a model that only knows JSON tools takes one string.
FREEFORM_SCHEMA = {"type": "object", "properties": {"input": {"type": "string"}}, "required": ["input"]}


class _NamedChoice(msgspec.Struct):
    type: str
    name: str | None = None
    mode: str | None = None  # allowed_tools


class _ReasoningConfig(msgspec.Struct):
    effort: str | None = None
    summary: str | None = None


class _Request(msgspec.Struct):
    model: str = ""
    input: str | list[dict[str, Any]] = []
    instructions: str | None = None
    tools: list[_Tool] | None = None
    tool_choice: Literal["auto", "none", "required"] | _NamedChoice | None = None
    parallel_tool_calls: bool | None = None
    max_output_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    stream: bool | None = None
    reasoning: _ReasoningConfig | None = None
    user: str | None = None
    metadata: dict[str, Any] | None = None


KNOWN_FIELDS = frozenset(_Request.__struct_fields__)
_SEARCHES = web_search_types(NAME)
_LOCATION_KEYS = ("city", "region", "country", "timezone")


def _parts(content: str | list[Any]) -> list[Any]:
    if isinstance(content, str):
        return [TextPart(content)]
    out: list[Any] = []
    for part in content:
        if isinstance(part, (_InText, _OutText)):
            out.append(TextPart(part.text))
        elif isinstance(part, _Refusal):
            out.append(TextPart(part.refusal))
        else:
            url = part.image_url or ""
            inline = split_data_url(url)
            detail = None if part.detail == "auto" else part.detail  # "auto" is the default
            out.append(ImagePart(data=inline[1], media_type=inline[0], detail=detail) if inline
                       else ImagePart(url=url or part.file_id, detail=detail))
    return out


class _Builder:
    """Folds input items into canonical messages (assistant items merge; tool outputs merge)."""

    def __init__(self) -> None:
        self.system: list[str] = []
        self.messages: list[Message] = []
        self.tools: list[_Tool] = []  # from ``additional_tools`` items

    def _tail(self, role: Role) -> Message:
        """The message to append ``role``'s parts to: the last one when it can take them."""
        last = self.messages[-1] if self.messages else None
        if last is not None and last.role == role and (
                role == "assistant" or all(isinstance(p, ToolResultPart) for p in last.content)):
            return last
        message = Message(role, [])
        self.messages.append(message)
        return message

    def _message(self, msg: _MessageItem) -> None:
        if msg.role in ("system", "developer"):
            self.system.extend(p.text for p in _parts(msg.content) if isinstance(p, TextPart))
        elif msg.role == "assistant":
            self._tail("assistant").content.extend(_parts(msg.content))
        else:
            last = self.messages[-1] if self.messages else None
            if last is not None and last.role == "user" and last.content and \
                    all(isinstance(p, ToolResultPart) for p in last.content):
                last.content.extend(_parts(msg.content))  # a user turn right after tool outputs joins them
            else:
                self.messages.append(Message("user", _parts(msg.content)))

    def add(self, item: Any, where: str) -> None:
        """Fold one input item (``where`` names it in errors)."""
        if not isinstance(item, dict):
            raise BadRequest(f"{where}: expected an object")
        kind = item.get("type", "message")
        if not isinstance(kind, str):
            raise BadRequest(f"{where}.type: expected a string")
        if kind == "message":
            self._message(convert_at(item, _MessageItem, where))
        elif kind == "function_call":
            call = convert_at(item, _FunctionCall, where)
            self._tail("assistant").content.append(
                ToolCallPart(call.call_id, qualified(call.namespace, call.name), call.arguments or "{}"))
        elif kind == "function_call_output":
            out = convert_at(item, _FunctionOutput, where)
            self._tail("user").content.append(ToolResultPart(out.call_id, _parts(out.output)))
        elif kind == "custom_tool_call":
            custom = convert_at(item, _CustomCall, where)
            self._tail("assistant").content.append(
                ToolCallPart(custom.call_id, custom.name, dump_json({"input": custom.input})))
        elif kind == "local_shell_call":
            shell = convert_at(item, _ShellCall, where)
            self._tail("assistant").content.append(ToolCallPart(shell.call_id, "local_shell", dump_json(shell.action)))
        elif kind in ("custom_tool_call_output", "local_shell_call_output"):
            out = convert_at({**item, "call_id": item.get("call_id") or item.get("id")}, _FunctionOutput, where)
            self._tail("user").content.append(ToolResultPart(out.call_id, _parts(out.output)))
        elif kind == "additional_tools":
            self.tools.extend(convert_at(item, _AdditionalTools, where).tools)
        elif kind in _HOSTED_ITEMS:
            return
        elif kind == "reasoning":
            r = convert_at(item, _ReasoningItem, where)
            text = "\n\n".join(s.text for s in (r.content or r.summary))
            self._tail("assistant").content.append(ReasoningPart(text, encrypted=r.encrypted_content, id=r.id))
        else:
            raise BadRequest(f"{where}.type: unknown item type {kind!r}")


def _tool_choice(raw: Literal["auto", "none", "required"] | _NamedChoice | None,
                 parallel: bool | None) -> ToolChoice | None:
    if raw is None:
        return ToolChoice(parallel=parallel) if parallel is not None else None
    if isinstance(raw, str):
        return ToolChoice(raw, parallel=parallel)
    if raw.type in ("function", "custom") and raw.name:
        return ToolChoice("tool", raw.name, parallel)
    if raw.type in _SEARCHES:
        return ToolChoice("tool", SEARCH_TOOL, parallel)
    return ToolChoice("required" if raw.mode == "required" else "auto", parallel=parallel)


def _tools(raw: Iterable[_Tool], namespace: str | None = None) -> list[Tool]:
    """Function and custom tools as canonical tools; a namespace's tools flat, under qualified
    names. A name offered twice (in ``tools`` and again in an ``additional_tools`` item) is one tool,
    the first: other dialects refuse a request that names a tool twice."""
    out: dict[str, Tool] = {}
    for t in raw:
        if t.type == "namespace" and t.name and namespace is None:
            for tool in _tools(t.tools or (), t.name):
                out.setdefault(tool.name, tool)
        elif t.type in ("function", "custom") and t.name:
            schema = (t.parameters or {}) if t.type == "function" else FREEFORM_SCHEMA
            name = qualified(namespace, t.name)
            out.setdefault(name, Tool(name, t.description, schema))
    return list(out.values())


def _web_search(tools: Iterable[_Tool], max_tool_calls: int | None) -> WebSearch | None:
    """The request's hosted web search, if it offers one. ``max_tool_calls`` caps every hosted
    tool's calls: it is the search's cap when the search is the only hosted tool."""
    hosted = [t for t in tools if t.type not in ("function", "custom", "namespace")]
    tool = next((t for t in hosted if t.type in _SEARCHES), None)
    if tool is None:
        return None
    filters, location = tool.filters or {}, tool.user_location or {}
    unmapped = [k for k in filters if k != "allowed_domains"]
    if tool.external_web_access is False:  # cached pages only: no other provider offers that
        unmapped.append("external_web_access")
    return WebSearch(max_uses=max_tool_calls if len(hosted) == 1 else None,
                     allowed_domains=[str(d) for d in filters.get("allowed_domains") or ()],
                     user_location={k: str(location[k]) for k in _LOCATION_KEYS if location.get(k)},
                     context_size=tool.search_context_size, unmapped=unmapped)


def parse_request(body: Any, *, model: str | None = None, stream: bool | None = None) -> ChatRequest:
    """A Responses request body as a ``ChatRequest``; ``model``/``stream`` override the body's."""
    body = load_body(body)
    raw = convert(body, _Request)
    builder = _Builder()
    if raw.instructions:
        builder.system.append(raw.instructions)
    if isinstance(raw.input, str):
        builder.messages.append(Message("user", [TextPart(raw.input)]))
    else:
        for i, item in enumerate(raw.input):
            builder.add(item, f"input[{i}]")
    reasoning = None
    if raw.reasoning is not None and raw.reasoning.effort is not None:
        reasoning = Reasoning(effort=as_effort(raw.reasoning.effort),
                              include_thoughts=raw.reasoning.summary is not None)
    return ChatRequest(
        model=model if model is not None else raw.model,
        system="\n\n".join(builder.system) if builder.system else None, messages=builder.messages,
        tools=_tools(chain(raw.tools or (), builder.tools)), tool_choice=_tool_choice(raw.tool_choice, raw.parallel_tool_calls),
        max_tokens=raw.max_output_tokens, temperature=raw.temperature, top_p=raw.top_p,
        stream=bool(raw.stream) if stream is None else stream, stream_usage=True, reasoning=reasoning,
        user=raw.user, metadata=raw.metadata, web_search=_web_search(chain(raw.tools or (), builder.tools), search.max_tool_calls(body)),
        output_format=_output_format(body), extra=extras(body, KNOWN_FIELDS), origin=NAME)


def _output_format(body: Any) -> Any:
    """``text.format`` read (``text`` itself stays an extra: its ``verbosity`` has no canonical home)."""
    text = body.get("text") if isinstance(body, dict) else None
    return structured.from_openai(text.get("format"), nested=False) if isinstance(text, dict) else None


def _content_parts(parts: list[Any], assistant: bool) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for p in parts:
        if isinstance(p, TextPart):
            out.append({"type": "output_text" if assistant else "input_text", "text": p.text})
        elif isinstance(p, ImagePart) and not assistant:
            out.append({"type": "input_image", "detail": p.detail or "auto",
                        "image_url": p.url or data_url(p.media_type, p.data or "")})
    return out


def _render_message(message: Message, items: list[dict[str, Any]]) -> None:
    assistant = message.role == "assistant"
    pending: list[Any] = []

    def flush() -> None:
        if pending:
            items.append({"type": "message", "role": message.role,
                          "content": _content_parts(pending, assistant)})
            pending.clear()

    for part in message.content:
        if isinstance(part, (TextPart, ImagePart)):
            pending.append(part)
        elif isinstance(part, ToolCallPart):
            flush()
            items.append({"type": "function_call", "call_id": wire_id(part.id, 64), "name": part.name,
                          "arguments": part.arguments})
        elif isinstance(part, ToolResultPart):
            flush()
            text = "".join(p.text for p in part.content if isinstance(p, TextPart))
            items.append({"type": "function_call_output", "call_id": wire_id(part.tool_call_id, 64), "output": text})
            pending.extend(p for p in part.content if isinstance(p, ImagePart))
        elif isinstance(part, ReasoningPart) and part.encrypted and part.id and assistant:
            flush()  # only a Responses upstream can use its own reasoning items (id is required)
            items.append({"type": "reasoning", "id": part.id, "summary": [
                {"type": "summary_text", "text": part.text}] if part.text else [], "encrypted_content": part.encrypted})
    flush()


def render_request(req: ChatRequest, model: str, *, reasoning: bool = True) -> dict[str, Any]:
    """``req`` as a Responses body for ``model`` (``store`` left to the upstream's default)."""
    items: list[dict[str, Any]] = []
    for message in req.messages:
        _render_message(message, items)
    body: dict[str, Any] = {"model": model, "input": items}
    if req.system:
        body["instructions"] = req.system
    if req.tools:
        # strict defaults to true in the Responses API, which refuses most schemas clients write
        body["tools"] = [{"type": "function", "name": t.name, "description": t.description or "",
                          "parameters": t.parameters or {"type": "object", "properties": {}}, "strict": False}
                         for t in req.tools]
    if req.tool_choice is not None and (req.tools or req.tool_choice.mode == "none"):
        tc = req.tool_choice
        body["tool_choice"] = {"type": "function", "name": tc.name} if tc.mode == "tool" else tc.mode
        if tc.parallel is not None:
            body["parallel_tool_calls"] = tc.parallel
    if req.web_search is not None:
        search.render(req, req.web_search, body)
    if req.max_tokens is not None:
        body["max_output_tokens"] = req.max_tokens
    for key in ("temperature", "top_p"):
        if (value := getattr(req, key)) is not None:
            body[key] = value
    if user := user_for(req, NAME):
        body["user"] = user
    if req.reasoning is not None and reasoning:
        body["reasoning"] = {"effort": LEVELS[req.reasoning.resolved_effort()].openai}
        if req.reasoning.include_thoughts:
            body["reasoning"]["summary"] = "auto"
    if req.stream:
        body["stream"] = True
    carry_own_fields(body, req, NAME)
    if req.output_format is not None:
        body["text"] = {**(body.get("text") or {}), "format": structured.to_responses(req.output_format)}
    return body
