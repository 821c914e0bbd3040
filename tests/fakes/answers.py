"""What the fake providers answer, in each dialect: whole bodies and server-sent-event streams.

An answer is text, or, when ``tool`` is set, one tool call. Usage is fixed per answer so that tests
can check what routerd recorded: ``INPUT_TOKENS`` in, ``OUTPUT_TOKENS`` out.
"""

import json
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
