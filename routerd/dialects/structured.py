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
  does the same). The tool is named so that no tool of the client's has its name.

An answer that is not an object (google-genai's ``list[Recipe]``, an enum) goes to Anthropic's tool,
whose input is always an object, and to OpenAI, whose json_schema takes object roots only, wrapped
as ``{"value": <schema>}``. Gemini's ``text/x.enum`` (the answer is the enum value's bare text) goes
to the others as a string enum in JSON. ``fit_output`` makes these changes for a target dialect and
returns the ``structured_answer.Reading`` that gives the client its answer back as it asked.

Nothing here does I/O.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import msgspec

from routerd.catalogue.models import ModelInfo
from routerd.dialects.canonical import ChatRequest, OutputFormat, Tool, ToolChoice
from routerd.dialects.structured_answer import Reading

# The forced tool's name (the second's for an answer given as ``{"value": ...}``), unless a tool of
# the client's has it: then the first of ``_2``, ``_3``, ... that none has.
JSON_TOOL = "routerd_json_answer"
JSON_VALUE_TOOL = "routerd_json_value"
JSON_TOOL_DESCRIPTION = "Give your answer by calling this tool; its input is the answer."
DEFAULT_NAME = "response"  # OpenAI requires a schema name; Gemini and Anthropic have none
_NAME_CHARS = re.compile(r"[^A-Za-z0-9_-]", re.ASCII)
JSON_MIME = "application/json"
ENUM_MIME = "text/x.enum"
_ANY_OBJECT: dict[str, Any] = {"type": "object"}
_OPENAI = frozenset({"openai_chat", "responses"})


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
        return OutputFormat("json_schema", json_schema, enum_text=mime == ENUM_MIME)
    return OutputFormat("json_object") if mime == JSON_MIME else None


GEMINI_KEYS = frozenset({"responseMimeType", "response_mime_type", "responseJsonSchema", "response_json_schema",
                         "responseSchema", "response_schema"})


def to_gemini(fmt: OutputFormat) -> dict[str, Any]:
    """``fmt`` as ``generationConfig`` keys (an enum as JSON: ``fit_output`` reads it back bare)."""
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


def wrap_value(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` as the one property ``value`` of a closed object (as OpenAI's strict mode and
    Anthropic's strict tools want them); its ``$defs`` stay at the root, where the schema's
    ``#/$defs/...`` references point."""
    defs: dict[str, Any] = {k: schema[k] for k in ("$defs", "definitions") if k in schema}
    inner = {k: v for k, v in schema.items() if k not in defs}
    return {"type": "object", "properties": {"value": inner}, "required": ["value"], "additionalProperties": False,
            **defs}


def _free_name(name: str, taken: set[str]) -> str:
    """``name``, or when a tool of the client's has it, the first of ``name_2``, ``name_3``, ...
    that none has: a call of the client's own tool must go back to it as a call."""
    found, n = name, 1
    while found in taken:
        n += 1
        found = f"{name}_{n}"
    return found


def json_tool(fmt: OutputFormat, taken: set[str]) -> tuple[Tool, Reading]:
    """The tool whose input is the answer ``fmt`` asks for, named apart from the client's tools
    (``taken``), and how to read its call back. A schema of anything but an object goes as the one
    property ``value`` of ``JSON_VALUE_TOOL``: a tool's input is always an object."""
    schema = fmt.schema or _ANY_OBJECT
    wrapped = schema.get("type", "object") != "object"
    name = _free_name(JSON_VALUE_TOOL if wrapped else JSON_TOOL, taken)
    tool = Tool(name, fmt.description or JSON_TOOL_DESCRIPTION, wrap_value(schema) if wrapped else schema)
    return tool, Reading(name, wrapped, fmt.enum_text)


def as_forced_tool(req: ChatRequest, fmt: OutputFormat) -> tuple[ChatRequest, Reading]:
    """``req`` with its structured output ``fmt`` turned into a tool whose input is the answer
    (``json_tool``), for a Claude model without the native field, and how to read the answer back.
    With no tools of the client's the tool is forced; beside them the model must call one (``any``):
    a real call goes back as it is. Thinking is dropped: Anthropic refuses it with a forced tool
    choice."""
    tool, reading = json_tool(fmt, {t.name for t in req.tools})
    if req.tools:
        choice = req.tool_choice if req.tool_choice and req.tool_choice.mode in ("required", "tool") \
            else ToolChoice("required")
        return msgspec.structs.replace(req, output_format=None, tools=[*req.tools, tool], tool_choice=choice,
                                       reasoning=None), reading
    return msgspec.structs.replace(req, output_format=None, tools=[tool], tool_choice=ToolChoice("tool", tool.name),
                                   reasoning=None), reading


def fit_output(req: ChatRequest, target: str, native: bool) -> tuple[ChatRequest, Reading | None]:
    """``req``'s structured output in a form the ``target`` dialect takes (``native``: for
    Anthropic, whether the model takes ``output_config.format``), and how to read the answer back
    (None: as it comes). To Anthropic, what ``anthropic_native`` refuses goes as the forced tool;
    to OpenAI (chat, Responses), a schema whose root is not an object goes wrapped as ``value``."""
    fmt = req.output_format
    if fmt is None:
        return req, None
    if target == "anthropic" and not anthropic_native(fmt, native):
        return as_forced_tool(req, fmt)
    schema = fmt.schema
    if target in _OPENAI and fmt.type == "json_schema" and schema is not None and schema.get("type") != "object":
        fitted = msgspec.structs.replace(fmt, schema=wrap_value(schema))
        return msgspec.structs.replace(req, output_format=fitted), Reading(wrapped=True, bare=fmt.enum_text)
    return req, Reading(bare=True) if fmt.enum_text else None


def forced_tool_body(value: dict[str, Any]) -> Reading | None:
    """A decoded Messages body whose ``output_config.format`` (or the beta's ``output_format``) is
    for a model without the field, edited in place as ``as_forced_tool`` edits a translated request
    (the client's other fields, ``cache_control`` and effort among them, left as they are); how to
    read the answer back. None: it asks for no structured output."""
    fmt = from_anthropic(value)
    if fmt is None:
        return None
    tools = value.get("tools")
    tools = tools if isinstance(tools, list) else []
    tool, reading = json_tool(fmt, {t["name"] for t in tools if isinstance(t, dict) and isinstance(t.get("name"), str)})
    value["tools"] = [*tools, {"name": tool.name, "description": tool.description, "input_schema": tool.parameters}]
    choice = value.get("tool_choice")
    choice = choice if isinstance(choice, dict) else {}
    if not tools:
        value["tool_choice"] = {"type": "tool", "name": tool.name}
    elif choice.get("type") not in ("any", "tool"):  # disable_parallel_tool_use stays
        value["tool_choice"] = {**choice, "type": "any"}
    config = value.get("output_config")
    if isinstance(config, dict) and (rest := {k: v for k, v in config.items() if k != "format"}):
        value["output_config"] = rest
    else:
        value.pop("output_config", None)
    value.pop("output_format", None)
    value.pop("thinking", None)
    return reading


def anthropic_fallback(body: bytes, model: str, target: ModelInfo | None) -> tuple[bytes, Reading] | None:
    """A Messages request passed through to ``model`` that the catalogue (``target``) says does not
    take ``output_config.format`` (an alias of an older Claude, ``claude-3-5-haiku``), with its
    structured output as the forced tool (``forced_tool_body``), and how to read the answer back.
    None to send it as it is: it asks for none, or the model takes it, or the catalogue does not
    know the model, which may be newer than the catalogue (its client knows what it takes)."""
    if target is None or target.takes_json_output(model) or (b'"output_config"' not in body
                                                             and b'"output_format"' not in body):
        return None
    try:
        value = msgspec.json.decode(body)
    except msgspec.DecodeError:
        return None  # the provider will say what is wrong with it
    if not isinstance(value, dict) or (reading := forced_tool_body(value)) is None:
        return None
    return msgspec.json.encode(value), reading
