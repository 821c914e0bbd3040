"""Structured output (JSON mode, JSON schema) in each dialect's wire shape, and the forced-tool
fallback for Claude models without Anthropic's native field.

The shapes, from the API references:

- OpenAI chat ``response_format``: ``{"type": "json_object"}`` or ``{"type": "json_schema",
  "json_schema": {"name", "description", "schema", "strict"}}`` (``name`` is required).
- Responses ``text.format``: the same, flattened: ``{"type": "json_schema", "name", "schema", ...}``.
- Gemini ``generationConfig``: ``responseMimeType: "application/json"`` with ``responseSchema``
  (Gemini's OpenAPI subset) or ``responseJsonSchema`` (JSON Schema); the google-genai SDK may spell
  them snake_case.
- Anthropic ``output_config.format``: ``{"type": "json_schema", "schema"}`` (generally available,
  no beta header; the beta spelled it ``output_format`` at the top level). Only some models take it
  (``ModelInfo.json_output``); for the others, and for JSON mode without a schema (which the native
  field cannot state), the request offers one tool whose input is the schema and forces it, and the
  answer's call of that tool is read back as the text of the answer (LiteLLM's ``json_tool_call``
  does the same). The answer and stream decoders of the Anthropic dialect do that reading.

Nothing here does I/O.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import msgspec

from routerd.dialects.canonical import (
    ChatRequest, OutputFormat, Part, StopReason, TextPart, Tool, ToolCallPart, ToolChoice,
)

# The forced tool's name: unusual enough that no client offers a tool of its own by it. A tool's
# input is always an object, so an answer of another type (Gemini's ``list[Recipe]``) goes through
# the second tool as ``{"value": ...}`` and is unwrapped on the way back.
JSON_TOOL = "routerd_json_answer"
JSON_VALUE_TOOL = "routerd_json_value"
JSON_TOOLS = frozenset({JSON_TOOL, JSON_VALUE_TOOL})
JSON_TOOL_DESCRIPTION = "Give your answer by calling this tool; its input is the answer."
DEFAULT_NAME = "response"  # OpenAI requires a schema name; Gemini and Anthropic have none
_NAME_CHARS = re.compile(r"[^A-Za-z0-9_-]", re.ASCII)
JSON_MIME = "application/json"
_ANY_OBJECT: dict[str, Any] = {"type": "object"}


def _schema(value: Any) -> dict[str, Any] | None:
    return value if isinstance(value, dict) else None


def from_openai(fmt: Any, *, nested: bool) -> OutputFormat | None:
    """An OpenAI ``response_format`` (``nested``: the chat shape) or Responses ``text.format``."""
    if not isinstance(fmt, dict):
        return None
    kind = fmt.get("type")
    if kind == "json_object":
        return OutputFormat("json_object")
    if kind != "json_schema":
        return None  # "text": nothing asked
    spec = fmt.get("json_schema") if nested else fmt
    if not isinstance(spec, dict):
        spec = {}
    name, description, strict = spec.get("name"), spec.get("description"), spec.get("strict")
    return OutputFormat("json_schema", _schema(spec.get("schema")), name if isinstance(name, str) else None,
                        description if isinstance(description, str) else None,
                        strict if isinstance(strict, bool) else None)


def _name(fmt: OutputFormat) -> str:
    return _NAME_CHARS.sub("_", fmt.name or DEFAULT_NAME)[:64] or DEFAULT_NAME


def _openai_spec(fmt: OutputFormat) -> dict[str, Any]:
    spec: dict[str, Any] = {"name": _name(fmt)}
    if fmt.description:
        spec["description"] = fmt.description
    spec["schema"] = fmt.schema or _ANY_OBJECT
    if fmt.strict is not None:
        spec["strict"] = fmt.strict
    return spec


def to_openai_chat(fmt: OutputFormat) -> dict[str, Any]:
    """``fmt`` as a Chat Completions ``response_format``."""
    if fmt.type == "json_object":
        return {"type": "json_object"}
    return {"type": "json_schema", "json_schema": _openai_spec(fmt)}


def to_responses(fmt: OutputFormat) -> dict[str, Any]:
    """``fmt`` as a Responses ``text.format``."""
    if fmt.type == "json_object":
        return {"type": "json_object"}
    return {"type": "json_schema", **_openai_spec(fmt)}


def from_gemini(gen: Any, to_json_schema: Callable[[Any], Any]) -> OutputFormat | None:
    """The structured output a Gemini ``generationConfig`` asks for (either spelling);
    ``to_json_schema`` converts a ``responseSchema``."""
    if not isinstance(gen, dict):
        return None
    mime = gen.get("responseMimeType", gen.get("response_mime_type"))
    json_schema = gen.get("responseJsonSchema", gen.get("response_json_schema"))
    schema = gen.get("responseSchema", gen.get("response_schema"))
    if json_schema is None and schema is not None:
        json_schema = to_json_schema(schema)
    if isinstance(json_schema, dict):
        return OutputFormat("json_schema", json_schema)
    return OutputFormat("json_object") if mime == JSON_MIME else None


GEMINI_KEYS = frozenset({"responseMimeType", "response_mime_type", "responseJsonSchema", "response_json_schema",
                         "responseSchema", "response_schema"})


def to_gemini(fmt: OutputFormat) -> dict[str, Any]:
    """``fmt`` as ``generationConfig`` keys."""
    if fmt.type == "json_schema" and fmt.schema is not None:
        return {"responseMimeType": JSON_MIME, "responseJsonSchema": fmt.schema}
    return {"responseMimeType": JSON_MIME}


def from_anthropic(body: Any) -> OutputFormat | None:
    """The structured output a Messages body asks for (``output_config.format`` or the beta's
    top-level ``output_format``)."""
    if not isinstance(body, dict):
        return None
    config = body.get("output_config")
    fmt = config.get("format") if isinstance(config, dict) else None
    if fmt is None:
        fmt = body.get("output_format")
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        return OutputFormat("json_schema", _schema(fmt.get("schema")))
    return None


def to_anthropic(fmt: OutputFormat) -> dict[str, Any]:
    """``fmt`` (with a schema) as Anthropic's ``output_config.format``."""
    return {"type": "json_schema", "schema": fmt.schema or _ANY_OBJECT}


# JSON Schema keywords Anthropic's structured outputs refuse (platform.claude.com, "JSON Schema
# limitations"; its SDKs strip them into descriptions): a schema with one goes as the forced tool.
_ANTHROPIC_REFUSES = frozenset({"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "minLength",
                                "maxLength", "maxItems", "minProperties", "maxProperties"})


def _closed(schema: Any) -> bool:
    """Whether every object in ``schema`` says ``additionalProperties: false`` (Anthropic requires it,
    as OpenAI's strict mode does) and no keyword Anthropic refuses appears."""
    if isinstance(schema, list):
        return all(_closed(s) for s in schema)
    if not isinstance(schema, dict):
        return True
    if (schema.get("type") == "object" or "properties" in schema) and schema.get("additionalProperties") is not False:
        return False
    if _ANTHROPIC_REFUSES & schema.keys() or schema.get("minItems", 0) not in (0, 1):
        return False
    return all(_closed(v) for k, v in schema.items() if k not in ("enum", "const", "default", "examples"))


def anthropic_native(fmt: OutputFormat, takes_json_output: bool) -> bool:
    """Whether a Claude model states ``fmt`` with its native field: the model takes it, and the schema
    is one Anthropic accepts: a closed object (JSON mode has no schema to give; open objects are
    refused there, and an answer of another type is left to the tool, which takes any)."""
    schema = fmt.schema
    return takes_json_output and fmt.type == "json_schema" and schema is not None and schema.get("type") == "object" \
        and _closed(schema)


def as_forced_tool(req: ChatRequest) -> ChatRequest:
    """``req`` with its structured output turned into a tool (``JSON_TOOL``) whose input is the
    answer, for a Claude model without the native field. With no tools of the client's the tool is
    forced; beside them the model must call one (``any``): a real call goes back as it is. Thinking
    is dropped: Anthropic refuses it with a forced tool choice. A schema of anything but an object
    goes through ``JSON_VALUE_TOOL`` as the one property ``value``."""
    fmt = req.output_format
    if fmt is None:
        return req
    schema = fmt.schema or _ANY_OBJECT
    if schema.get("type", "object") == "object":
        tool = Tool(JSON_TOOL, fmt.description or JSON_TOOL_DESCRIPTION, schema)
    else:  # $defs stay at the root, where the schema's "#/$defs/..." references point
        defs: dict[str, Any] = {k: schema[k] for k in ("$defs", "definitions") if k in schema}
        inner = {k: v for k, v in schema.items() if k not in defs}
        tool = Tool(JSON_VALUE_TOOL, fmt.description or JSON_TOOL_DESCRIPTION, {
            "type": "object", "properties": {"value": inner}, "required": ["value"], **defs})
    choice_name = tool.name
    if req.tools:
        choice = req.tool_choice if req.tool_choice and req.tool_choice.mode in ("required", "tool") \
            else ToolChoice("required")
        return msgspec.structs.replace(req, output_format=None, tools=[*req.tools, tool], tool_choice=choice,
                                       reasoning=None)
    return msgspec.structs.replace(req, output_format=None, tools=[tool], tool_choice=ToolChoice("tool", choice_name),
                                   reasoning=None)


def json_tool_text(name: str, arguments: str) -> str:
    """The answer's text from a call of one of ``JSON_TOOLS`` (``JSON_VALUE_TOOL``'s unwrapped)."""
    if name != JSON_VALUE_TOOL:
        return arguments
    try:
        wrapped = msgspec.json.decode(arguments)
    except msgspec.DecodeError:
        return arguments
    return msgspec.json.encode(wrapped["value"]).decode() if isinstance(wrapped, dict) and "value" in wrapped \
        else arguments


def json_tool_as_text(content: list[Part], stop: StopReason) -> tuple[list[Part], StopReason]:
    """An answer's call of one of ``JSON_TOOLS`` as its text (the structured answer); a ``tool_use``
    stop with no other call left becomes ``end_turn``."""
    if not any(isinstance(p, ToolCallPart) and p.name in JSON_TOOLS for p in content):
        return content, stop
    out: list[Part] = [TextPart(json_tool_text(p.name, p.arguments))
                       if isinstance(p, ToolCallPart) and p.name in JSON_TOOLS else p for p in content]
    if stop == "tool_use" and not any(isinstance(p, ToolCallPart) for p in out):
        stop = "end_turn"
    return out, stop
