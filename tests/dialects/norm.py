"""Helpers that compare canonical values modulo what a dialect cannot carry."""

from __future__ import annotations

from typing import Any

import msgspec

from routerd.dialects.canonical import (
    ChatRequest, MessageStart, ReasoningDelta, TextDelta, ToolCallDelta, ToolCallPart, ToolResultPart,
)


def renumber_ids(value: Any) -> Any:
    """Builtins of ``value`` with tool-call ids replaced by their order of appearance."""
    seen: dict[str, str] = {}

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            out = {}
            for key, item in node.items():
                if key in ("id", "tool_call_id") and isinstance(item, str):
                    out[key] = seen.setdefault(item, f"id{len(seen)}")
                else:
                    out[key] = walk(item)
            return out
        if isinstance(node, list):
            return [walk(x) for x in node]
        return node

    return walk(msgspec.to_builtins(value))


def conversation(req: ChatRequest, *, reasoning: bool = False) -> dict[str, Any]:
    """The parts of a request every dialect must carry faithfully."""
    messages = []
    for m in req.messages:
        parts = [p for p in m.content if reasoning or type(p).__name__ != "ReasoningPart"]
        messages.append(msgspec.structs.replace(m, content=parts))
    return renumber_ids({"system": req.system, "messages": messages, "tools": req.tools,
                         "tool_choice": req.tool_choice, "max_tokens": req.max_tokens})


def merged(events: list[Any]) -> list[Any]:
    """Events with adjacent text/reasoning/argument deltas joined and MessageStart ids dropped,
    so that streams chunked differently compare equal."""
    out: list[Any] = []
    for ev in events:
        last = out[-1] if out else None
        if isinstance(ev, MessageStart):
            ev = MessageStart("", "")
        elif isinstance(ev, TextDelta) and isinstance(last, TextDelta):
            out[-1] = TextDelta(last.text + ev.text)
            continue
        elif isinstance(ev, ReasoningDelta) and isinstance(last, ReasoningDelta):
            out[-1] = ReasoningDelta(last.text + ev.text)
            continue
        elif isinstance(ev, ToolCallDelta) and isinstance(last, ToolCallDelta) and last.index == ev.index:
            out[-1] = ToolCallDelta(ev.index, last.arguments + ev.arguments)
            continue
        elif isinstance(ev, ReasoningDelta):
            ev = ReasoningDelta(ev.text)
        out.append(ev)
    return [e for e in out if not (isinstance(e, ReasoningDelta) and not e.text)]


__all__ = ["ToolCallPart", "ToolResultPart", "conversation", "merged", "renumber_ids"]
