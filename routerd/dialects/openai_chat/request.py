"""OpenAI Chat Completions (``POST /v1/chat/completions``) <-> canonical.

Shapes follow the API reference: ``system``/``developer`` messages become the canonical system
prompt; ``tool`` messages become ``tool_result`` parts of a user message (consecutive ones merge, and
a user message right after them joins that message); ``reasoning_content``/``reasoning`` (DeepSeek,
vLLM, OpenRouter) is read as reasoning. Rendering splits them back out in the same order. Streams
end with a usage chunk (when asked) and ``data: [DONE]``.
"""

from __future__ import annotations

from typing import Any, Literal, TypeGuard, Union

import msgspec

from routerd.dialects.wire import (
    carry_own_fields, convert, data_url, extras, ignored_parts, load_body, split_data_url, user_for, wire_id,
)
from routerd.dialects import structured
from routerd.dialects.canonical import (
    ChatRequest, ImagePart, Message, Reasoning, ReasoningPart, TextPart, Tool, ToolCallPart,
    ToolChoice, ToolResultPart, LEVELS, as_effort,
)

NAME = "openai_chat"


class _ImageURL(msgspec.Struct):
    url: str
    detail: str | None = None


class _Text(msgspec.Struct, tag="text", tag_field="type"):
    text: str


class _Image(msgspec.Struct, tag="image_url", tag_field="type"):
    image_url: _ImageURL | str


class _Refusal(msgspec.Struct, tag="refusal", tag_field="type"):
    refusal: str


class _Function(msgspec.Struct):
    name: str = ""
    arguments: str = ""


class _ToolCall(msgspec.Struct):
    id: str
    function: _Function
    type: str = "function"


# Audio and file parts have no canonical form yet; they are dropped when translating.
_IGNORED = ignored_parts("input_audio", "file")
_Part = Union[(_Text, _Image, _Refusal, *_IGNORED)]  # type: ignore[valid-type]  # a union built at run time (the ignored part types)


class _Msg(msgspec.Struct):
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[_Part] | None = None
    tool_calls: list[_ToolCall] | None = None
    tool_call_id: str | None = None
    name: str | None = None
    reasoning_content: str | None = None
    refusal: str | None = None


class _FunctionDef(msgspec.Struct):
    name: str
    description: str | None = None
    parameters: dict[str, Any] | None = None


class _Tool(msgspec.Struct):
    function: _FunctionDef
    type: str = "function"


class _NamedChoice(msgspec.Struct):
    type: str = "function"
    function: _Function | None = None
    mode: str | None = None  # {"type": "allowed_tools", "mode": "auto" | "required", ...}


class _StreamOptions(msgspec.Struct):
    include_usage: bool = False


class _Request(msgspec.Struct):
    messages: list[_Msg]
    model: str = ""
    tools: list[_Tool] | None = None
    tool_choice: Literal["auto", "none", "required"] | _NamedChoice | None = None
    parallel_tool_calls: bool | None = None
    max_tokens: int | None = None
    max_completion_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    stop: str | list[str] | None = None
    stream: bool | None = None
    stream_options: _StreamOptions | None = None
    reasoning_effort: str | None = None
    user: str | None = None
    metadata: dict[str, Any] | None = None
    response_format: dict[str, Any] | None = None
    seed: int | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None


KNOWN_FIELDS = frozenset(_Request.__struct_fields__)


def _user_parts(content: str | list[Any] | None, where: str) -> list[Any]:
    if content is None:
        return []
    if isinstance(content, str):
        return [TextPart(content)]
    parts: list[Any] = []
    for part in content:
        if isinstance(part, _Text):
            parts.append(TextPart(part.text))
        elif isinstance(part, _Image):
            ref = part.image_url
            url, detail = (ref, None) if isinstance(ref, str) else (ref.url, ref.detail)
            inline = split_data_url(url)
            if inline is not None:
                parts.append(ImagePart(data=inline[1], media_type=inline[0], detail=detail))
            else:
                parts.append(ImagePart(url=url, detail=detail))
        elif isinstance(part, _Refusal):
            parts.append(TextPart(part.refusal))
    return parts


def _only_tool_results(message: Message | None) -> TypeGuard[Message]:
    return (message is not None and message.role == "user" and bool(message.content)
            and all(isinstance(p, ToolResultPart) for p in message.content))


def _parse_messages(raw: list[_Msg]) -> tuple[str | None, list[Message]]:
    system: list[str] = []
    out: list[Message] = []
    for i, m in enumerate(raw):
        where = f"messages[{i}]"
        last = out[-1] if out else None
        if m.role in ("system", "developer"):
            system.extend(p.text for p in _user_parts(m.content, where) if isinstance(p, TextPart))
        elif m.role == "user":
            parts = _user_parts(m.content, where)
            if _only_tool_results(last):
                last.content.extend(parts)
            else:
                out.append(Message("user", parts))
        elif m.role in ("tool", "function"):
            call_id = m.tool_call_id or m.name or ""
            result = ToolResultPart(call_id, _user_parts(m.content, where))
            if _only_tool_results(last):
                last.content.append(result)
            else:
                out.append(Message("user", [result]))
        else:
            parts = [ReasoningPart(m.reasoning_content)] if m.reasoning_content else []
            parts.extend(_user_parts(m.content, where))
            if m.refusal:
                parts.append(TextPart(m.refusal))
            for call in m.tool_calls or ():
                parts.append(ToolCallPart(call.id, call.function.name, call.function.arguments or "{}"))
            out.append(Message("assistant", parts))
    return ("\n\n".join(system) if system else None), out


def _tool_choice(raw: Literal["auto", "none", "required"] | _NamedChoice | None,
                 parallel: bool | None) -> ToolChoice | None:
    if raw is None:
        return ToolChoice(parallel=parallel) if parallel is not None else None
    if isinstance(raw, str):
        return ToolChoice(raw, parallel=parallel)
    if raw.function is not None and raw.function.name:
        return ToolChoice("tool", raw.function.name, parallel)
    return ToolChoice("required" if raw.mode == "required" else "auto", parallel=parallel)


def parse_request(body: Any, *, model: str | None = None, stream: bool | None = None) -> ChatRequest:
    """A Chat Completions request body as a ``ChatRequest``; ``model``/``stream`` override the body's."""
    body = load_body(body)
    raw = convert(body, _Request)
    system, messages = _parse_messages(raw.messages)
    reasoning = None
    if raw.reasoning_effort is not None:
        reasoning = Reasoning(effort=as_effort(raw.reasoning_effort))
    stop = [raw.stop] if isinstance(raw.stop, str) else (raw.stop or [])
    tools = [Tool(t.function.name, t.function.description, t.function.parameters or {})
             for t in raw.tools or () if t.type == "function"]
    return ChatRequest(
        model=model if model is not None else raw.model, system=system, messages=messages, tools=tools,
        tool_choice=_tool_choice(raw.tool_choice, raw.parallel_tool_calls),
        max_tokens=raw.max_completion_tokens if raw.max_completion_tokens is not None else raw.max_tokens,
        temperature=raw.temperature, top_p=raw.top_p, stop=stop,
        stream=bool(raw.stream) if stream is None else stream,
        stream_usage=bool(raw.stream_options and raw.stream_options.include_usage),
        reasoning=reasoning, user=raw.user, metadata=raw.metadata,
        output_format=structured.from_openai(raw.response_format, nested=True), seed=raw.seed,
        presence_penalty=raw.presence_penalty, frequency_penalty=raw.frequency_penalty,
        extra=extras(body, KNOWN_FIELDS), origin=NAME)


def _image_dict(part: ImagePart) -> dict[str, Any]:
    ref: dict[str, Any] = {"url": part.url or data_url(part.media_type, part.data or "")}
    if part.detail:
        ref["detail"] = part.detail
    return {"type": "image_url", "image_url": ref}


def _content(parts: list[Any]) -> str | list[dict[str, Any]]:
    if len(parts) == 1 and isinstance(parts[0], TextPart):
        return parts[0].text
    if not parts:
        return ""
    return [{"type": "text", "text": p.text} if isinstance(p, TextPart) else _image_dict(p)
            for p in parts if isinstance(p, (TextPart, ImagePart))]


def _render_user(message: Message, out: list[dict[str, Any]]) -> None:
    rest: list[Any] = []
    for part in message.content:
        if isinstance(part, ToolResultPart):
            text = "".join(p.text for p in part.content if isinstance(p, TextPart))
            if part.is_error and not text.startswith("Error"):
                text = f"Error: {text}"
            out.append({"role": "tool", "tool_call_id": wire_id(part.tool_call_id), "content": text})
            rest.extend(p for p in part.content if isinstance(p, ImagePart))
        elif isinstance(part, (TextPart, ImagePart)):
            rest.append(part)
    if rest or not any(isinstance(p, ToolResultPart) for p in message.content):
        out.append({"role": "user", "content": _content(rest)})


def _render_assistant(message: Message, out: list[dict[str, Any]]) -> None:
    texts = [p.text for p in message.content if isinstance(p, TextPart)]
    calls = [{"id": wire_id(p.id), "type": "function", "function": {"name": p.name, "arguments": p.arguments}}
             for p in message.content if isinstance(p, ToolCallPart)]
    # content may be null only beside tool calls
    msg: dict[str, Any] = {"role": "assistant", "content": "".join(texts) if texts or not calls else None}
    if calls:
        msg["tool_calls"] = calls
    out.append(msg)


def _render_tool_choice(choice: ToolChoice, body: dict[str, Any]) -> None:
    if choice.mode == "tool":
        body["tool_choice"] = {"type": "function", "function": {"name": choice.name}}
    else:
        body["tool_choice"] = choice.mode
    if choice.parallel is not None:
        body["parallel_tool_calls"] = choice.parallel


def render_request(req: ChatRequest, model: str, *, reasoning: bool = True,
                   max_tokens_field: str | None = None) -> dict[str, Any]:
    """``req`` as a Chat Completions body for ``model``.

    Streams always ask for ``stream_options.include_usage`` (routerd records usage). ``reasoning``
    False drops ``reasoning_effort`` (for models that reject it). The token limit goes out as
    ``max_completion_tokens`` when reasoning is asked for, else ``max_tokens``, unless
    ``max_tokens_field`` names one.
    """
    messages: list[dict[str, Any]] = []
    if req.system:
        messages.append({"role": "system", "content": req.system})
    for message in req.messages:
        (_render_user if message.role == "user" else _render_assistant)(message, messages)
    body: dict[str, Any] = {"model": model, "messages": messages}
    if req.tools:
        body["tools"] = [{"type": "function", "function": {
            "name": t.name, **({"description": t.description} if t.description else {}),
            "parameters": t.parameters or {"type": "object", "properties": {}}}} for t in req.tools]
    if req.tool_choice is not None and (req.tools or req.tool_choice.mode == "none"):
        _render_tool_choice(req.tool_choice, body)
    if req.max_tokens is not None:
        field = max_tokens_field or ("max_completion_tokens" if req.reasoning and reasoning else "max_tokens")
        body[field] = req.max_tokens
    for key in ("temperature", "top_p", "seed"):
        if (value := getattr(req, key)) is not None:
            body[key] = value
    for key in ("presence_penalty", "frequency_penalty"):  # 0 is the default, and reasoning models refuse any
        if value := getattr(req, key):
            body[key] = value
    if req.output_format is not None:
        body["response_format"] = structured.to_openai_chat(req.output_format)
    if user := user_for(req, NAME):
        body["user"] = user
    if req.stop:
        body["stop"] = req.stop
    if req.reasoning is not None and reasoning:
        body["reasoning_effort"] = LEVELS[req.reasoning.resolved_effort()].openai
    if req.stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    carry_own_fields(body, req, NAME)
    return body
