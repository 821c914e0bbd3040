"""Gemini ``generateContent`` / ``streamGenerateContent?alt=sse`` <-> canonical.

The model and the streaming flag live in the URL, not the body: ``parse_request`` takes them as
``model=``/``stream=`` and ``render_request`` leaves both out (the caller builds the URL). Roles are
``user``/``model``; parts are ``text`` (``thought: true`` is reasoning), ``inlineData``, ``fileData``,
``functionCall`` and ``functionResponse``. Gemini tool calls usually carry no id: ids are
synthesised from the call's position (stable, so a replayed conversation maps the same way) and
function responses are matched to the earliest unanswered call of the same name. A call's
``thoughtSignature`` (Gemini 3 requires it back) rides inside the canonical id after ``SIG_SEP``
(URL-safe base64, so the id stays ``[A-Za-z0-9_-]``) and is split out again when the conversation
returns to Gemini.
"""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import quote

import msgspec

from routerd.dialects.wire import convert, dump_json, extras, load_arguments, load_body, stable_id
from routerd.dialects.canonical import (
    ChatRequest, ImagePart, Message, Reasoning, ReasoningPart, Role, TextPart, Tool, ToolCallPart,
    ToolChoice, ToolResultPart, as_effort,
)
from routerd.dialects import structured
from routerd.dialects.gemini import search
from routerd.dialects.gemini.schema import to_json_schema
from routerd.errors import BadRequest

NAME = "gemini"
SIG_SEP = "__ts__"
_TO_URL = str.maketrans("+/", "-_")
_FROM_URL = str.maketrans("-_", "+/")


# Google's JSON parser takes a field's proto name (snake_case) as well as its camelCase name, and the
# google-genai SDK sends the nested objects below snake_case (``inlineData: {"mime_type": ...}``,
# ``thinkingConfig: {"thinking_budget": ...}``): each such field is declared under both names (msgspec
# has one name per field), and the ``_snake`` twin is read when the camelCase one is absent.


class _Blob(msgspec.Struct, rename="camel"):
    mime_type: str | None = None
    data: str = ""
    mime_type_snake: str | None = msgspec.field(default=None, name="mime_type")


class _File(msgspec.Struct, rename="camel"):
    file_uri: str | None = None
    mime_type: str | None = None
    file_uri_snake: str | None = msgspec.field(default=None, name="file_uri")
    mime_type_snake: str | None = msgspec.field(default=None, name="mime_type")


class _Call(msgspec.Struct):
    name: str
    args: dict[str, Any] | None = None
    id: str | None = None


class _Reply(msgspec.Struct):
    name: str
    response: dict[str, Any] | None = None
    id: str | None = None


class _Part(msgspec.Struct, rename="camel"):
    text: str | None = None
    thought: bool | None = None
    thought_signature: str | None = None
    inline_data: _Blob | None = None
    file_data: _File | None = None
    function_call: _Call | None = None
    function_response: _Reply | None = None
    executable_code: dict[str, Any] | None = None
    code_execution_result: dict[str, Any] | None = None


class Content(msgspec.Struct):
    parts: list[_Part] = []
    role: Literal["user", "model", "function", "tool"] | None = None


class _Declaration(msgspec.Struct, rename="camel"):
    name: str
    description: str | None = None
    parameters: dict[str, Any] | None = None
    parameters_json_schema: dict[str, Any] | None = None
    parameters_json_schema_snake: dict[str, Any] | None = msgspec.field(default=None, name="parameters_json_schema")


class _ToolSet(msgspec.Struct, rename="camel"):
    function_declarations: list[_Declaration] | None = None


class _CallingConfig(msgspec.Struct, rename="camel"):
    mode: str | None = None
    allowed_function_names: list[str] | None = None


class _ToolConfig(msgspec.Struct, rename="camel"):
    function_calling_config: _CallingConfig | None = None


class _ThinkingConfig(msgspec.Struct, rename="camel"):
    thinking_budget: int | None = None
    include_thoughts: bool | None = None
    thinking_level: str | None = None
    thinking_budget_snake: int | None = msgspec.field(default=None, name="thinking_budget")
    include_thoughts_snake: bool | None = msgspec.field(default=None, name="include_thoughts")
    thinking_level_snake: str | None = msgspec.field(default=None, name="thinking_level")


class _GenConfig(msgspec.Struct, rename="camel"):
    temperature: float | None = None
    top_p: float | None = None
    top_k: float | None = None
    seed: int | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    max_output_tokens: int | None = None
    stop_sequences: list[str] | None = None
    thinking_config: _ThinkingConfig | None = None


class _Request(msgspec.Struct, rename="camel"):
    contents: list[Content]
    system_instruction: Content | str | None = None
    tools: list[_ToolSet] | None = None
    tool_config: _ToolConfig | None = None
    generation_config: _GenConfig | None = None
    model: str = ""


KNOWN_FIELDS = frozenset({"contents", "systemInstruction", "tools", "toolConfig", "model"})
GEN_KNOWN = frozenset({"temperature", "topP", "maxOutputTokens", "stopSequences", "thinkingConfig", "topK", "seed",
                       "presencePenalty", "frequencyPenalty"}) | structured.GEMINI_KEYS


def split_signature(call_id: str) -> tuple[str, str | None]:
    """``(id, thoughtSignature or None)`` of a canonical tool-call id."""
    base, sep, sig = call_id.partition(SIG_SEP)
    if not sep:
        return base, None
    return base, sig.translate(_FROM_URL) + "=" * (-len(sig) % 4)


def join_signature(call_id: str, signature: str) -> str:
    """``call_id`` carrying ``signature`` in an id-safe form (``[A-Za-z0-9_-]``, as Anthropic needs)."""
    return f"{call_id}{SIG_SEP}{signature.translate(_TO_URL).rstrip('=')}"


def parse_part(part: _Part, where: str, call_id: str) -> Any:
    """One Gemini part as a canonical part (``call_id`` is used for a function call lacking one)."""
    if part.function_call is not None:
        fc = part.function_call
        ident = fc.id or call_id
        if part.thought_signature:
            ident = join_signature(ident, part.thought_signature)
        return ToolCallPart(ident, fc.name, dump_json(fc.args or {}))
    if part.text is not None:
        return ReasoningPart(part.text) if part.thought else TextPart(part.text)
    if part.inline_data is not None:
        blob = part.inline_data
        return ImagePart(data=blob.data, media_type=blob.mime_type or blob.mime_type_snake or "application/octet-stream")
    if part.file_data is not None:
        file = part.file_data
        if not (uri := file.file_uri or file.file_uri_snake):
            raise BadRequest(f"{where}: fileData without fileUri")
        return ImagePart(url=uri, media_type=file.mime_type or file.mime_type_snake)
    if part.executable_code is not None:  # Gemini's own code execution: kept as text
        return TextPart(f"```{str(part.executable_code.get('language', '')).lower()}\n"
                        f"{part.executable_code.get('code', '')}\n```")
    if part.code_execution_result is not None:
        return TextPart(str(part.code_execution_result.get("output", "")))
    if part.thought_signature is not None:
        return None  # a bare signature part carries nothing to translate
    raise BadRequest(f"{where}: unsupported part (expected text, inlineData, fileData, "
                     "functionCall or functionResponse)")


def _result(reply: _Reply, call_id: str) -> ToolResultPart:
    response = reply.response or {}
    if set(response) == {"error"}:
        value, is_error = response["error"], True
    else:
        value, is_error = (response["content"] if set(response) == {"content"} else response), False
    text = value if isinstance(value, str) else dump_json(value)
    return ToolResultPart(call_id, [TextPart(text)], is_error)


def _parse_contents(contents: list[Content]) -> list[Message]:
    messages: list[Message] = []
    pending: list[tuple[str, str]] = []  # (name, id) of calls not yet answered, oldest first
    for i, content in enumerate(contents):
        role: Role = "assistant" if content.role == "model" else "user"
        parts: list[Any] = []
        for j, part in enumerate(content.parts):
            if part.function_response is not None:
                reply = part.function_response
                match = reply.id or next((cid for name, cid in pending if name == reply.name), None)
                pending[:] = [p for p in pending if p[1] != match]
                parts.append(_result(reply, match or stable_id("call_", reply.name, str(i), str(j))))
                continue
            call_id = stable_id("call_", str(i), str(j)) if part.function_call is not None else ""
            parsed = parse_part(part, f"contents[{i}].parts[{j}]", call_id)
            if isinstance(parsed, ToolCallPart):
                pending.append((parsed.name, parsed.id))
            if parsed is not None:
                parts.append(parsed)
        if messages and messages[-1].role == role:
            messages[-1].content.extend(parts)
        else:
            messages.append(Message(role, parts))
    return messages


def _tool_choice(raw: _ToolConfig | None) -> ToolChoice | None:
    config = raw.function_calling_config if raw is not None else None
    if config is None or config.mode is None:
        return None
    mode = config.mode.upper()
    if mode == "NONE":
        return ToolChoice("none")
    if mode in ("ANY", "VALIDATED"):
        names = config.allowed_function_names or []
        return ToolChoice("tool", names[0]) if len(names) == 1 else ToolChoice("required")
    return ToolChoice("auto")


def _reasoning(config: _GenConfig | None) -> Reasoning | None:
    thinking = config.thinking_config if config is not None else None
    if thinking is None:
        return None
    include = thinking.include_thoughts if thinking.include_thoughts is not None else thinking.include_thoughts_snake
    level = thinking.thinking_level or thinking.thinking_level_snake
    budget = thinking.thinking_budget if thinking.thinking_budget is not None else thinking.thinking_budget_snake
    if level is not None:
        level = level.lower()
        effort = as_effort(level) if level != "none" else "medium"  # Gemini levels start at minimal
        return Reasoning(effort=effort, include_thoughts=include)
    if budget is not None and budget >= 0:
        return Reasoning(budget_tokens=budget, include_thoughts=include)
    return Reasoning(effort="medium", include_thoughts=include)  # -1: dynamic


def parse_request(body: Any, *, model: str | None = None, stream: bool | None = None) -> ChatRequest:
    """A ``generateContent`` body as a ``ChatRequest``; pass the URL's model and whether it was
    ``streamGenerateContent``. Unknown ``generationConfig`` keys land in ``extra["generationConfig"]``."""
    body = load_body(body)
    raw = convert(body, _Request)
    system = raw.system_instruction
    if isinstance(system, Content):
        system = "\n\n".join(p.text for p in system.parts if p.text is not None) or None
    tools = [Tool(d.name, d.description, d.parameters_json_schema or d.parameters_json_schema_snake
                  or to_json_schema(d.parameters or {}))
             for ts in raw.tools or () for d in ts.function_declarations or ()]
    gen = raw.generation_config or _GenConfig()
    extra = extras(body, KNOWN_FIELDS | {"generationConfig"})
    gen_extra = extras(body.get("generationConfig") if isinstance(body, dict) else None, GEN_KNOWN)
    if gen_extra:
        extra["generationConfig"] = gen_extra
    return ChatRequest(
        model=model if model is not None else raw.model, system=system,
        messages=_parse_contents(raw.contents), tools=tools, tool_choice=_tool_choice(raw.tool_config),
        max_tokens=gen.max_output_tokens, temperature=gen.temperature, top_p=gen.top_p,
        stop=gen.stop_sequences or [], stream=bool(stream), stream_usage=True,
        reasoning=_reasoning(raw.generation_config), extra=extra, origin=NAME,
        output_format=structured.from_gemini(body.get("generationConfig"), to_json_schema),
        top_k=None if gen.top_k is None else int(gen.top_k), seed=gen.seed,
        presence_penalty=gen.presence_penalty, frequency_penalty=gen.frequency_penalty,
        web_search=search.web_search(body.get("tools") if isinstance(body, dict) else None))


def _response_value(part: ToolResultPart) -> dict[str, Any]:
    text = "".join(p.text for p in part.content if isinstance(p, TextPart))
    if part.is_error:
        return {"error": text}
    value = load_arguments(text) if text[:1] == "{" else None
    if isinstance(value, dict) and "_raw" not in value:
        return value
    return {"content": text}


def render_part(part: Any, names: dict[str, str]) -> dict[str, Any] | None:
    """One canonical part as a Gemini part; ``names`` maps tool-call ids to function names."""
    if isinstance(part, TextPart):  # Gemini refuses empty text parts
        return {"text": part.text} if part.text else None
    if isinstance(part, ImagePart):
        if part.data is not None:
            return {"inlineData": {"mimeType": part.media_type or "image/png", "data": part.data}}
        return {"fileData": {"mimeType": part.media_type or "image/jpeg", "fileUri": part.url or ""}}
    if isinstance(part, ToolCallPart):
        names[part.id] = part.name
        base, sig = split_signature(part.id)
        out: dict[str, Any] = {"functionCall": {"name": part.name, "args": load_arguments(part.arguments)}}
        if sig:
            out["thoughtSignature"] = sig
        return out
    if isinstance(part, ToolResultPart):
        name = names.get(part.tool_call_id) or split_signature(part.tool_call_id)[0]
        return {"functionResponse": {"name": name, "response": _response_value(part)}}
    return None  # reasoning is not sent back to Gemini


def _generation_config(req: ChatRequest, reasoning: bool) -> dict[str, Any]:
    gen: dict[str, Any] = {}
    if req.max_tokens is not None:
        gen["maxOutputTokens"] = req.max_tokens
    if req.temperature is not None:
        gen["temperature"] = req.temperature
    if req.top_p is not None:
        gen["topP"] = req.top_p
    # Not the presence/frequency penalties, though the API names them: Gemini 2.5 on refuses them
    # ("Penalty is not enabled for models/gemini-2.5-flash"), and OpenAI clients often send zeros.
    for key, name in (("top_k", "topK"), ("seed", "seed")):
        if (value := getattr(req, key)) is not None:
            gen[name] = value
    if req.output_format is not None:
        gen.update(structured.to_gemini(req.output_format))
    if req.stop:
        gen["stopSequences"] = req.stop
    if req.reasoning is not None and reasoning:
        # As asked: ``fit`` brings it into the range of the model it goes to (Gemini's common
        # most, 24,576, where the catalogue does not know that model's).
        budget = req.reasoning.resolved_budget()
        thinking: dict[str, Any] = {"thinkingBudget": budget}
        if budget and req.reasoning.include_thoughts:
            thinking["includeThoughts"] = True
        gen["thinkingConfig"] = thinking
    if req.origin == NAME:
        gen.update(req.extra.get("generationConfig", {}))
    return gen


def render_request(req: ChatRequest, model: str = "", *, reasoning: bool = True) -> dict[str, Any]:
    """``req`` as a ``generateContent`` body (``model`` goes in the URL and is not used here).
    ``reasoning`` False leaves ``thinkingConfig`` out (for models that cannot think)."""
    names: dict[str, str] = {}
    contents = []
    for message in req.messages:
        parts = [p for p in (render_part(x, names) for x in message.content) if p is not None]
        if parts:
            contents.append({"role": "model" if message.role == "assistant" else "user", "parts": parts})
    body: dict[str, Any] = {"contents": contents}
    if req.system:
        body["systemInstruction"] = {"parts": [{"text": req.system}]}
    if req.tools:
        body["tools"] = [{"functionDeclarations": [
            {"name": t.name, **({"description": t.description} if t.description else {}),
             "parametersJsonSchema": t.parameters or {"type": "object", "properties": {}}} for t in req.tools]}]
    if req.web_search is not None:  # its options have no equivalent here (``gemini.search``)
        body.setdefault("tools", []).append({"googleSearch": {}})
    tc = req.tool_choice
    if tc is not None and (req.tools or tc.mode == "none"):
        config: dict[str, Any] = {"mode": {"auto": "AUTO", "none": "NONE"}.get(tc.mode, "ANY")}
        if tc.mode == "tool":
            config["allowedFunctionNames"] = [tc.name]
        body["toolConfig"] = {"functionCallingConfig": config}
    gen = _generation_config(req, reasoning)
    if gen:
        body["generationConfig"] = gen
    if req.origin == NAME:
        for key, value in req.extra.items():
            if key != "generationConfig":
                body.setdefault(key, value)
    return body


def request_path(model: str, stream: bool) -> str:
    """The path of a (streaming) generateContent call for ``model`` under the API's base URL."""
    collection, _, rest = model.partition("/") if model.startswith(("models/", "tunedModels/")) \
        else ("models", "/", model)
    name = f"{collection}/{quote(rest, safe='-._~')}"  # one path segment, whatever the model says
    if stream:
        return f"/v1beta/{name}:streamGenerateContent?alt=sse"
    return f"/v1beta/{name}:generateContent"
