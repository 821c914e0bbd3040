"""Gemini's ``Schema`` as JSON Schema. A function declaration's ``parameters`` are written in
Gemini's subset of OpenAPI 3.0 (``"type": "OBJECT"``, ``nullable``, ``propertyOrdering``; the
google-genai SDK sends its keys snake_case, ``max_length``), while OpenAI and Anthropic take JSON
Schema (and OpenAI refuses ``"OBJECT"``). ``parametersJsonSchema`` is JSON Schema already and is not
read here.

Hand-written: the one library that converts (``google.genai.types.Schema.json_schema``) is the SDK
itself, which the daemon does not import; the map is the dozen keywords Gemini's ``Schema`` has.
Property names (the keys of ``properties`` and ``defs``) are the caller's and are kept as they are.
"""

from __future__ import annotations

from typing import Any

_RENAMED = {"ref": "$ref", "defs": "$defs"}
_DROPPED = frozenset({"propertyOrdering", "nullable", "example"})  # OpenAPI-only; nullable is read apart


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(word.capitalize() for word in rest)


def _type(value: Any) -> Any:
    if isinstance(value, str):
        return value.lower()
    if isinstance(value, list):
        return [v.lower() if isinstance(v, str) else v for v in value]
    return value


def to_json_schema(schema: Any) -> Any:
    """``schema`` (a Gemini ``Schema`` as JSON, or JSON Schema) as JSON Schema; anything that is not
    an object is returned as it is."""
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        name = _camel(key)
        if name in _DROPPED or (name == "type" and value == "TYPE_UNSPECIFIED"):
            continue
        if name == "type":
            value = _type(value)
        elif name in ("items", "additionalProperties"):
            value = to_json_schema(value)
        elif name == "anyOf" and isinstance(value, list):
            value = [to_json_schema(v) for v in value]
        elif name in ("properties", "defs") and isinstance(value, dict):
            value = {k: to_json_schema(v) for k, v in value.items()}
        out[_RENAMED.get(name, name)] = value
    if schema.get("nullable") is True and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    if "example" in schema:
        out.setdefault("examples", [schema["example"]])
    return out
