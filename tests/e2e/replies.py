"""What the fake upstream answers, per dialect: pure functions from (request body, turn) to a JSON
body or to a list of ``(event name, data)`` SSE events (``data`` None is OpenAI's ``[DONE]``).

Each answer's ids carry its number (``number``: 1 for an upstream's first answer, 2 for its second,
...), as a provider's ids differ per answer: Claude Code's transcript and routerd's ledger tell
calls apart by them. The shapes follow the providers' API references: Anthropic Messages (``message_start`` ...
``message_stop``), OpenAI chat completions (``chat.completion.chunk``, usage in a last chunk only
when ``stream_options.include_usage`` asks for it) and the Responses API (``response.created`` ...
``response.completed`` with ``sequence_number``).
"""

import json
from dataclasses import dataclass, field
from typing import Any

from tests.fakes import limits

INPUT_TOKENS = 11
OUTPUT_TOKENS = 7
CREATED = 1_760_000_000


@dataclass(frozen=True)
class Turn:
    """One answer: text, or (when ``tool`` is set) a single call of tool ``tool`` with ``args``, or
    (when ``status`` is not 200) the dialect's error body with that HTTP status. ``usage``, for
    Anthropic, replaces the fixed usage block (cache reads and writes, as the API reports them)."""

    text: str = ""
    tool: str | None = None
    args: dict[str, Any] = field(default_factory=dict)
    call_id: str = "call_e2e_1"
    status: int = 200
    usage: dict[str, Any] | None = None


def error(dialect: str, status: int) -> dict[str, Any]:
    """The provider's error body for ``status`` (Anthropic's 529 is ``overloaded_error``)."""
    if dialect == "anthropic":
        kind = "overloaded_error" if status == 529 else "api_error"
        return {"type": "error", "error": {"type": kind, "message": f"fake upstream: HTTP {status}"}}
    return {"error": {"message": f"fake upstream: HTTP {status}", "type": "server_error",
                      "param": None, "code": None}}


def anthropic_rejection(body: dict[str, Any], betas: str) -> str | None:
    """Why the real API would refuse this request for its model (None: it would not, or the model
    is not one the table of Claude facts, ``tests.fakes.limits.CLAUDE``, knows): an output limit
    above the model's, an effort level, adaptive thinking or the long-context beta it lacks."""
    model = limits.CLAUDE.get(body.get("model", ""))
    if model is None:
        return None
    if model.max_output is not None and int(body.get("max_tokens") or 0) > model.max_output:
        return (f"max_tokens: {body['max_tokens']} > {model.max_output}, which is the maximum allowed "
                f"number of output tokens for {body['model']}")
    return limits.claude_refusal(model, body, betas)


def _halves(text: str) -> list[str]:
    """The text in two deltas (so that clients must join them), or one when it is short."""
    cut = len(text) // 2
    return [text[:cut], text[cut:]] if cut else [text]


def models() -> dict[str, Any]:
    return {"object": "list", "data": [{"id": "fake-model", "object": "model", "created": CREATED,
                                        "owned_by": "e2e"}]}


# --- Anthropic Messages --------------------------------------------------------------------------

def anthropic(body: dict[str, Any], turn: Turn, *, stream: bool, number: int = 1) -> Any:
    if turn.tool:
        block = {"type": "tool_use", "id": turn.call_id, "name": turn.tool, "input": turn.args}
    else:
        block = {"type": "text", "text": turn.text}
    stop = "tool_use" if turn.tool else "end_turn"
    usage = turn.usage or {"input_tokens": INPUT_TOKENS, "output_tokens": OUTPUT_TOKENS}
    message = {"id": f"msg_e2e_{number}", "type": "message", "role": "assistant", "model": body.get("model"),
               "content": [block], "stop_reason": stop, "stop_sequence": None, "usage": usage}
    if not stream:
        return message
    start = dict(message, content=[], stop_reason=None, usage=dict(usage, output_tokens=1))
    if turn.tool:
        opened = dict(block, input={})
        deltas = [{"type": "input_json_delta", "partial_json": part}
                  for part in _halves(json.dumps(turn.args))]
    else:
        opened = dict(block, text="")
        deltas = [{"type": "text_delta", "text": part} for part in _halves(turn.text)]
    return [
        ("message_start", {"type": "message_start", "message": start}),
        ("content_block_start", {"type": "content_block_start", "index": 0, "content_block": opened}),
        ("ping", {"type": "ping"}),
        *[("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": d}) for d in deltas],
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        ("message_delta", {"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None},
                           "usage": {"output_tokens": usage["output_tokens"]}}),
        ("message_stop", {"type": "message_stop"}),
    ]


# --- OpenAI chat completions ---------------------------------------------------------------------

def _usage_chat() -> dict[str, int]:
    return {"prompt_tokens": INPUT_TOKENS, "completion_tokens": OUTPUT_TOKENS,
            "total_tokens": INPUT_TOKENS + OUTPUT_TOKENS}


def openai_chat(body: dict[str, Any], turn: Turn, *, stream: bool, number: int = 1) -> Any:
    model = body.get("model")
    finish = "tool_calls" if turn.tool else "stop"
    call = {"id": turn.call_id, "type": "function",
            "function": {"name": turn.tool, "arguments": json.dumps(turn.args)}}
    if not stream:
        message: dict[str, Any] = {"role": "assistant", "content": None if turn.tool else turn.text}
        if turn.tool:
            message["tool_calls"] = [call]
        return {"id": f"chatcmpl-e2e-{number}", "object": "chat.completion", "created": CREATED, "model": model,
                "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                "usage": _usage_chat()}

    def chunk(delta: dict[str, Any], reason: str | None = None, **extra: Any) -> tuple[str, Any]:
        choices = [{"index": 0, "delta": delta, "finish_reason": reason}] if delta or reason else []
        return "", {"id": f"chatcmpl-e2e-{number}", "object": "chat.completion.chunk", "created": CREATED,
                    "model": model, "choices": choices, **extra}

    events = [chunk({"role": "assistant", "content": ""})]
    if turn.tool:
        parts = _halves(call["function"]["arguments"])
        first = dict(call, index=0, function={"name": turn.tool, "arguments": parts[0]})
        events.append(chunk({"tool_calls": [first]}))
        events += [chunk({"tool_calls": [{"index": 0, "function": {"arguments": p}}]}) for p in parts[1:]]
    else:
        events += [chunk({"content": part}) for part in _halves(turn.text)]
    events.append(chunk({}, finish))
    if (body.get("stream_options") or {}).get("include_usage"):
        events.append(chunk({}, usage=_usage_chat()))
    return [*events, ("", None)]


# --- OpenAI Responses ----------------------------------------------------------------------------

def _output_item(turn: Turn, number: int) -> dict[str, Any]:
    if turn.tool:
        return {"type": "function_call", "id": f"fc_e2e_{number}", "call_id": turn.call_id, "name": turn.tool,
                "arguments": json.dumps(turn.args), "status": "completed"}
    return {"type": "message", "id": f"msg_e2e_{number}", "status": "completed", "role": "assistant",
            "content": [{"type": "output_text", "text": turn.text, "annotations": []}]}


def responses(body: dict[str, Any], turn: Turn, *, stream: bool, number: int = 1) -> Any:
    item = _output_item(turn, number)
    usage = {"input_tokens": INPUT_TOKENS, "output_tokens": OUTPUT_TOKENS,
             "total_tokens": INPUT_TOKENS + OUTPUT_TOKENS, "input_tokens_details": {"cached_tokens": 0},
             "output_tokens_details": {"reasoning_tokens": 0}}
    done = {"id": f"resp_e2e_{number}", "object": "response", "created_at": CREATED, "status": "completed",
            "model": body.get("model"), "output": [item], "usage": usage}
    if not stream:
        return done
    started = dict(done, status="in_progress", output=[], usage=None)
    where = {"item_id": item["id"], "output_index": 0}
    if turn.tool:
        middle = [("response.function_call_arguments.delta", dict(where, delta=part))
                  for part in _halves(item["arguments"])]
        middle.append(("response.function_call_arguments.done", dict(where, arguments=item["arguments"])))
        opened = dict(item, arguments="", status="in_progress")
    else:
        part = item["content"][0]
        at = dict(where, content_index=0)
        middle = [("response.content_part.added", dict(at, part=dict(part, text="")))]
        middle += [("response.output_text.delta", dict(at, delta=d)) for d in _halves(turn.text)]
        middle += [("response.output_text.done", dict(at, text=turn.text)),
                   ("response.content_part.done", dict(at, part=part))]
        opened = dict(item, status="in_progress", content=[])
    events = [("response.created", {"response": started}),
              ("response.in_progress", {"response": started}),
              ("response.output_item.added", {"output_index": 0, "item": opened}),
              *middle,
              ("response.output_item.done", {"output_index": 0, "item": item}),
              ("response.completed", {"response": done})]
    return [(name, {"type": name, "sequence_number": n, **data}) for n, (name, data) in enumerate(events)]


# --- Gemini --------------------------------------------------------------------------------------

def gemini(body: dict[str, Any], turn: Turn, *, stream: bool, number: int = 1) -> Any:
    """A ``GenerateContentResponse``; streamed, text comes in two chunks, a call in one (as Gemini
    sends them), the last with the finish reason and usage."""
    part = {"functionCall": {"name": turn.tool, "args": turn.args}} if turn.tool else {"text": turn.text}
    usage = {"promptTokenCount": INPUT_TOKENS, "candidatesTokenCount": OUTPUT_TOKENS,
             "totalTokenCount": INPUT_TOKENS + OUTPUT_TOKENS}

    def chunk(parts: list[dict[str, Any]], last: bool) -> dict[str, Any]:
        candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts}, "index": 0}
        out: dict[str, Any] = {"candidates": [candidate], "modelVersion": "gemini-e2e", "responseId": f"gemini_e2e_{number}"}
        if last:
            candidate["finishReason"] = "STOP"
            out["usageMetadata"] = usage
        return out

    if not stream or turn.tool:
        return chunk([part], True) if not stream else [("", chunk([part], True))]
    pieces = _halves(turn.text)
    return [("", chunk([{"text": p}], n == len(pieces) - 1)) for n, p in enumerate(pieces)]
