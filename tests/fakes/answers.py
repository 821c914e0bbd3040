"""What the fake providers answer, in each dialect: whole bodies and server-sent-event streams.

An answer is text, or, when ``tool`` is set, one tool call; a request for structured output gets a
JSON text that fits its schema (``json_answer``), or the real API's 400 (``json_refusal``). Usage is fixed per answer so that tests
can check what routerd recorded: ``INPUT_TOKENS`` in, ``OUTPUT_TOKENS`` out.
"""

import json
import re
from typing import Any

INPUT_TOKENS = 11
OUTPUT_TOKENS = 7


def _sse(event: str | None, data: Any) -> bytes:
    text = data if isinstance(data, str) else json.dumps(data)
    return (f"event: {event}\n" if event else "").encode() + f"data: {text}\n\n".encode()


def body(dialect: str, model: str, text: str, tool: dict | None) -> dict:
    if dialect == "openai_chat":
        message: dict = {"role": "assistant", "content": None if tool else text}
        if tool:
            message["tool_calls"] = [{"id": "call_1", "type": "function", "function": {
                "name": tool["name"], "arguments": json.dumps(tool["arguments"])}}]
        return {"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": model,
                "choices": [{"index": 0, "message": message,
                             "finish_reason": "tool_calls" if tool else "stop"}],
                "usage": {"prompt_tokens": INPUT_TOKENS, "completion_tokens": OUTPUT_TOKENS,
                          "total_tokens": INPUT_TOKENS + OUTPUT_TOKENS}}
    if dialect == "anthropic":
        block = ({"type": "tool_use", "id": "toolu_1", "name": tool["name"], "input": tool["arguments"]}
                 if tool else {"type": "text", "text": text})
        return {"id": "msg_1", "type": "message", "role": "assistant", "model": model,
                "content": [block], "stop_reason": "tool_use" if tool else "end_turn",
                "stop_sequence": None,
                "usage": {"input_tokens": INPUT_TOKENS, "output_tokens": OUTPUT_TOKENS}}
    if dialect == "responses":
        return _response(model, text, tool, "completed")
    parts = ([{"functionCall": {"name": tool["name"], "args": tool["arguments"]}}] if tool
             else [{"text": text}])
    return {"candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": "STOP",
                            "index": 0}],
            "usageMetadata": {"promptTokenCount": INPUT_TOKENS, "candidatesTokenCount": OUTPUT_TOKENS,
                              "totalTokenCount": INPUT_TOKENS + OUTPUT_TOKENS},
            "modelVersion": model}


def _response(model: str, text: str, tool: dict | None, status: str) -> dict:
    if tool:
        item = {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": tool["name"],
                "arguments": json.dumps(tool["arguments"]), "status": "completed"}
    else:
        item = {"type": "message", "id": "msg_1", "role": "assistant", "status": "completed",
                "content": [{"type": "output_text", "text": text, "annotations": []}]}
    done = status == "completed"
    return {"id": "resp_1", "object": "response", "created_at": 1, "model": model, "status": status,
            "output": [item] if done else [], "parallel_tool_calls": True, "tool_choice": "auto",
            "tools": [], "usage": {"input_tokens": INPUT_TOKENS, "output_tokens": OUTPUT_TOKENS,
                                   "total_tokens": INPUT_TOKENS + OUTPUT_TOKENS,
                                   "input_tokens_details": {"cached_tokens": 0},
                                   "output_tokens_details": {"reasoning_tokens": 0}} if done else None}


def stream(dialect: str, model: str, text: str, tool: dict | None, pieces: list[str] | None = None) -> list[bytes]:
    """The events of a streamed answer, one bytes object per event; the text in ``pieces``, one
    delta each (by default four characters at a time)."""
    pieces = pieces or [text[i:i + 4] for i in range(0, len(text), 4)] or [""]
    return {"openai_chat": _openai_stream, "anthropic": _anthropic_stream,
            "responses": _responses_stream, "gemini": _gemini_stream}[dialect](model, pieces, tool)


def _openai_stream(model: str, pieces: list[str], tool: dict | None) -> list[bytes]:
    def chunk(delta: dict, finish: str | None = None) -> bytes:
        return _sse(None, {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1,
                           "model": model, "choices": [{"index": 0, "delta": delta,
                                                        "finish_reason": finish}]})
    out = [chunk({"role": "assistant", "content": ""})]
    if tool:
        out.append(chunk({"tool_calls": [{"index": 0, "id": "call_1", "type": "function",
                                          "function": {"name": tool["name"], "arguments": ""}}]}))
        out.append(chunk({"tool_calls": [{"index": 0, "function": {
            "arguments": json.dumps(tool["arguments"])}}]}))
    else:
        out += [chunk({"content": p}) for p in pieces]
    out.append(chunk({}, "tool_calls" if tool else "stop"))
    out.append(_sse(None, {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1,
                           "model": model, "choices": [],
                           "usage": {"prompt_tokens": INPUT_TOKENS, "completion_tokens": OUTPUT_TOKENS,
                                     "total_tokens": INPUT_TOKENS + OUTPUT_TOKENS}}))
    out.append(_sse(None, "[DONE]"))
    return out


def _anthropic_stream(model: str, pieces: list[str], tool: dict | None) -> list[bytes]:
    out = [_sse("message_start", {"type": "message_start", "message": {
        "id": "msg_1", "type": "message", "role": "assistant", "model": model, "content": [],
        "stop_reason": None, "stop_sequence": None,
        "usage": {"input_tokens": INPUT_TOKENS, "output_tokens": 1}}})]
    if tool:
        out.append(_sse("content_block_start", {"type": "content_block_start", "index": 0,
                                                "content_block": {"type": "tool_use", "id": "toolu_1",
                                                                  "name": tool["name"], "input": {}}}))
        out.append(_sse("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {
            "type": "input_json_delta", "partial_json": json.dumps(tool["arguments"])}}))
    else:
        out.append(_sse("content_block_start", {"type": "content_block_start", "index": 0,
                                                "content_block": {"type": "text", "text": ""}}))
        out += [_sse("content_block_delta", {"type": "content_block_delta", "index": 0,
                                             "delta": {"type": "text_delta", "text": p}}) for p in pieces]
    out.append(_sse("content_block_stop", {"type": "content_block_stop", "index": 0}))
    out.append(_sse("message_delta", {"type": "message_delta", "delta": {
        "stop_reason": "tool_use" if tool else "end_turn", "stop_sequence": None},
        "usage": {"output_tokens": OUTPUT_TOKENS}}))
    out.append(_sse("message_stop", {"type": "message_stop"}))
    return out


def _responses_stream(model: str, pieces: list[str], tool: dict | None) -> list[bytes]:
    seq = iter(range(1000))
    out = [_sse("response.created", {"type": "response.created", "sequence_number": next(seq),
                                     "response": _response(model, "", None, "in_progress")})]
    final = _response(model, "".join(pieces), tool, "completed")
    item = final["output"][0]
    if not tool:
        out.append(_sse("response.output_item.added", {
            "type": "response.output_item.added", "sequence_number": next(seq), "output_index": 0,
            "item": {**item, "status": "in_progress", "content": []}}))
        out.append(_sse("response.content_part.added", {
            "type": "response.content_part.added", "sequence_number": next(seq), "output_index": 0,
            "content_index": 0, "item_id": "msg_1",
            "part": {"type": "output_text", "text": "", "annotations": []}}))
        out += [_sse("response.output_text.delta", {
            "type": "response.output_text.delta", "sequence_number": next(seq), "output_index": 0,
            "content_index": 0, "item_id": "msg_1", "delta": p, "logprobs": []}) for p in pieces]
        out.append(_sse("response.output_text.done", {
            "type": "response.output_text.done", "sequence_number": next(seq), "output_index": 0,
            "content_index": 0, "item_id": "msg_1", "text": "".join(pieces), "logprobs": []}))
        out.append(_sse("response.content_part.done", {
            "type": "response.content_part.done", "sequence_number": next(seq), "output_index": 0,
            "content_index": 0, "item_id": "msg_1", "part": item["content"][0]}))
    out.append(_sse("response.output_item.done", {"type": "response.output_item.done",
                                                  "sequence_number": next(seq), "output_index": 0,
                                                  "item": item}))
    out.append(_sse("response.completed", {"type": "response.completed", "sequence_number": next(seq),
                                           "response": final}))
    return out


def _gemini_stream(model: str, pieces: list[str], tool: dict | None) -> list[bytes]:
    out = []
    for i, piece in enumerate(pieces):
        last = i == len(pieces) - 1
        chunk: dict = {"candidates": [{"content": {"role": "model", "parts": [{"text": piece}]},
                                       "index": 0}], "modelVersion": model}
        if last:
            chunk["candidates"][0]["finishReason"] = "STOP"
            chunk["usageMetadata"] = {"promptTokenCount": INPUT_TOKENS,
                                      "candidatesTokenCount": OUTPUT_TOKENS,
                                      "totalTokenCount": INPUT_TOKENS + OUTPUT_TOKENS}
        out.append(_sse(None, chunk))
    return out


# --- structured output ---------------------------------------------------------------------------
# What the real APIs do with a request for JSON: answer a JSON text that fits the schema, or refuse
# the shapes they refuse (OpenAI: a json_schema without a name, a root that is not an object, strict
# with an open object; Gemini: both schema fields, or a schema without the JSON MIME type;
# Anthropic: output_config.format on a model without structured outputs or with an object open to
# more properties; thinking beside a forced tool is refused in tests.fakes.limits).

_NATIVE_CLAUDE = re.compile(r"claude-(haiku-4-5|sonnet-4-[5-9]|opus-4-[1-9])(?!\d)")  # not claude-opus-4-20250514
_SAMPLES = {"string": "Paris", "integer": 7, "number": 1.5, "boolean": True, "null": None}


def sample(schema: Any, root: Any = None) -> Any:
    """A value that fits ``schema`` (the subset clients write: types, properties, items, $ref, enum)."""
    root = schema if root is None else root
    if not isinstance(schema, dict):
        return {}
    if "$ref" in schema:
        node = root
        for key in schema["$ref"].lstrip("#/").split("/"):
            node = node[key]
        return sample(node, root)
    if "enum" in schema:
        return schema["enum"][0]
    if "anyOf" in schema:
        return sample(schema["anyOf"][0], root)
    kind = schema.get("type", "object")
    kind = kind[0] if isinstance(kind, list) else kind
    if kind == "object":
        return {k: sample(v, root) for k, v in (schema.get("properties") or {}).items()}
    if kind == "array":
        return [sample(schema.get("items", {}), root)]
    return _SAMPLES.get(kind, "Paris")


def _open_object(schema: Any) -> bool:
    """Whether an object in ``schema`` leaves additionalProperties other than false (strict refuses it)."""
    if isinstance(schema, list):
        return any(_open_object(s) for s in schema)
    if not isinstance(schema, dict):
        return False
    if schema.get("type") == "object" and schema.get("additionalProperties") is not False:
        return True
    return any(_open_object(v) for v in schema.values())


def _openai_error(message: str, param: str) -> tuple[int, dict]:
    return 400, {"error": {"message": message, "type": "invalid_request_error", "param": param, "code": None}}


def _gemini_config(request: dict) -> dict:
    gen = request.get("generationConfig") or {}
    def camel(key: str) -> str:
        head, *rest = key.split("_")
        return head + "".join(word.capitalize() for word in rest)
    return {camel(k): v for k, v in gen.items()}


def json_refusal(dialect: str, model: str, request: dict) -> tuple[int, dict] | None:
    """The 400 the real API gives a request for structured output of a shape it refuses, or None."""
    if dialect in ("openai_chat", "responses"):
        fmt = ((request.get("response_format") or {}).get("json_schema") if dialect == "openai_chat"
               else (request.get("text") or {}).get("format"))
        where = "response_format.json_schema" if dialect == "openai_chat" else "text.format"
        if not isinstance(fmt, dict) or (dialect == "responses" and fmt.get("type") != "json_schema"):
            return None
        if not fmt.get("name"):
            return _openai_error(f"Missing required parameter: '{where}.name'.", f"{where}.name")
        if (root := (fmt.get("schema") or {}).get("type")) != "object":
            return _openai_error(f"Invalid schema for response_format '{fmt['name']}': schema must be a JSON Schema "
                                 f"of 'type: \"object\"', got 'type: \"{root}\"'.", where)
        if fmt.get("strict") and _open_object(fmt.get("schema")):
            return _openai_error(f"Invalid schema for response_format '{fmt['name']}': In context=(), "
                                 "'additionalProperties' is required to be supplied and to be false.", where)
        return None
    if dialect == "gemini":
        gen = _gemini_config(request)
        if "responseSchema" in gen and "responseJsonSchema" in gen:
            message = "responseSchema and responseJsonSchema cannot both be set."
        elif ("responseSchema" in gen or "responseJsonSchema" in gen) and gen.get("responseMimeType") != "application/json":
            message = "responseMimeType must be application/json when a response schema is set."
        else:
            return None
        return 400, {"error": {"code": 400, "message": message, "status": "INVALID_ARGUMENT"}}
    fmt = (request.get("output_config") or {}).get("format")
    if fmt is not None and not _NATIVE_CLAUDE.search(model):
        message = f"'{model}' does not support output_config.format."
    elif fmt is not None and _open_object(fmt.get("schema")):
        message = "output_config.format.schema: For 'object' type, 'additionalProperties' must be explicitly set to false"
    else:
        return None
    return 400, {"type": "error", "error": {"type": "invalid_request_error", "message": message}}


def json_answer(dialect: str, request: dict) -> str | None:
    """The JSON text the model answers a request for structured output with, or None (none asked)."""
    if dialect == "openai_chat":
        fmt = request.get("response_format") or {}
        schema = (fmt.get("json_schema") or {}).get("schema")
    elif dialect == "responses":
        fmt = (request.get("text") or {}).get("format") or {}
        schema = fmt.get("schema")
    elif dialect == "gemini":
        gen = _gemini_config(request)
        if gen.get("responseMimeType") != "application/json":
            return None
        return json.dumps(sample(gen.get("responseJsonSchema") or _lower_types(gen.get("responseSchema"))))
    else:
        fmt = (request.get("output_config") or {}).get("format") or {}
        schema = fmt.get("schema")
    if fmt.get("type") == "json_object":
        return json.dumps({"answer": "Paris"})
    return json.dumps(sample(schema)) if fmt.get("type") == "json_schema" else None


def _lower_types(schema: Any) -> Any:
    if isinstance(schema, dict):
        return {k: (v.lower() if k == "type" and isinstance(v, str) else _lower_types(v)) for k, v in schema.items()}
    return schema


def forced_tool(dialect: str, request: dict) -> dict | None:
    """The call an Anthropic request forcing one tool gets: that tool, with an input fitting its schema."""
    choice = request.get("tool_choice") or {}
    if dialect != "anthropic" or choice.get("type") != "tool":
        return None
    tool = next((t for t in request.get("tools") or () if t.get("name") == choice.get("name")), None)
    return None if tool is None else {"name": tool["name"], "arguments": sample(tool.get("input_schema"))}
