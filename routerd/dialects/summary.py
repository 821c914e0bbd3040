"""Views of a canonical request for other parts: the classifier's role/content messages and a
cheap token estimate (no tokenizer: about four characters a token, fixed costs for images)."""

from __future__ import annotations

from typing import Any

import msgspec

from routerd.dialects.canonical import ChatRequest, ImagePart, ReasoningPart, TextPart, ToolCallPart, ToolResultPart

# English prose and code both average close to 4 characters a token with the GPT/Claude tokenizers;
# an image costs ~1,100-1,600 tokens at the sizes coding agents send (Anthropic: w*h/750).
CHARS_PER_TOKEN = 4
IMAGE_TOKENS = 1200
MESSAGE_OVERHEAD_TOKENS = 4
TOOL_OVERHEAD_TOKENS = 8

_encode = msgspec.json.encode


def _tool_result_view(part: ToolResultPart) -> dict[str, Any]:
    return {"type": "tool_result", "content": [_VIEW[type(p)](p) for p in part.content]}


# Part type -> the classifier's dict (None: not shown). Reasoning is the model's own text, not the ask.
_VIEW: dict[type, Any] = {
    TextPart: lambda p: {"type": "text", "text": p.text},
    ImagePart: lambda p: {"type": "image"},
    ToolCallPart: lambda p: {"type": "tool_call", "name": p.name, "text": p.arguments},
    ToolResultPart: _tool_result_view,
    ReasoningPart: lambda p: None,
}


def to_classifier_messages(req: ChatRequest) -> list[dict[str, Any]]:
    """The conversation as ``[{"role", "content"}]`` for ``routerd.classify``.

    The system prompt comes first (role ``system``); a message made only of text becomes a string,
    anything else a list of typed part dicts (``text``, ``image``, ``tool_call``, ``tool_result``).
    """
    out: list[dict[str, Any]] = []
    if req.system:
        out.append({"role": "system", "content": req.system})
    for message in req.messages:
        content = message.content
        if len(content) == 1 and isinstance(content[0], TextPart):
            out.append({"role": message.role, "content": content[0].text})
            continue
        parts = [view for p in content if (view := _VIEW[type(p)](p)) is not None]
        out.append({"role": message.role, "content": parts})
    return out


def _part_chars(part: Any) -> tuple[int, int]:
    """(characters, images) of one part."""
    if isinstance(part, TextPart):
        return len(part.text), 0
    if isinstance(part, ImagePart):
        return 0, 1
    if isinstance(part, ToolCallPart):
        return len(part.name) + len(part.arguments), 0
    if isinstance(part, ReasoningPart):
        return len(part.text), 0
    if isinstance(part, ToolResultPart):
        chars = images = 0
        for inner in part.content:
            c, i = _part_chars(inner)
            chars += c
            images += i
        return chars, images
    return 0, 0


def estimate_tokens(req: ChatRequest) -> int:
    """A cheap upper-ish estimate of the request's input tokens (system, messages, tools)."""
    chars = len(req.system or "")
    images = 0
    overhead = MESSAGE_OVERHEAD_TOKENS * len(req.messages)
    for message in req.messages:
        for part in message.content:
            c, i = _part_chars(part)
            chars += c
            images += i
    for tool in req.tools:
        overhead += TOOL_OVERHEAD_TOKENS
        chars += len(tool.name) + len(tool.description or "") + len(_encode(tool.parameters))
    return overhead + images * IMAGE_TOKENS + (chars + CHARS_PER_TOKEN - 1) // CHARS_PER_TOKEN
