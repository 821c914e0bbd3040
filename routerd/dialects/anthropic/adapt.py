"""Making a request valid for the model routerd moved it to (``auto``, ``gateway.downshift``,
a fallback), from the catalogue's capabilities. Pure: bytes and headers in, bytes and headers out.

A client sends what its own model accepts: Claude Code asks its default Opus for
``output_config.effort``, ``thinking: {"type": "adaptive"}``, the ``context-1m`` beta and
``max_tokens: 64000``. The API refuses each of them on a model that lacks it (a 400), so a request
moved to such a model is adapted: effort dropped (or, where the model takes effort but not that
level, Opus's ``xhigh`` on Sonnet 4.6 say, the nearest level below it), adaptive thinking turned
into a thinking budget (or dropped where the model does not think) and a budget into adaptive
thinking where the model takes no budgets (Opus 4.7 on), the long-context and effort betas removed,
and then what requests of every dialect need (``routerd.dialects.fit``: ``max_tokens`` lowered to
the model's limit, a thinking budget below it, the sampling the model takes); a translated request
gets the same (``fit_messages``). Two of the API's refusals of manual thinking (a budget) with
tools are met by turning thinking off for that one request (``_fit_tool_thinking``): a tool loop
whose last assistant message does not open with a signed thinking block (a translated client has
none to send back: "a final `assistant` message must start with a thinking block ... To avoid this
requirement, disable `thinking`"), and a ``tool_choice`` that forces tool use ("Thinking may not be
enabled when tool_choice forces tool use"). The tool call the client asked for matters more than
the reasoning before it; a loop that carries its thinking (Claude Code's) keeps it. Adaptive
thinking is the model's option (an answer may open with tool_use), so a tool loop keeps it; beside
a forced tool it is dropped too (left out, not ``disabled``, which the newest models refuse) except
on a model the catalogue says takes both (``forced_tool_thinking``: Opus 4.8 on, as Bedrock's
ChatBedrock changelog found; Claude 4.7 and earlier refuse). Web search blocks another provider's search produced (routerd
translated an earlier turn, a fallback's say) are made into what Anthropic accepts back
(``anthropic.search.unsign_foreign``) in every request passed through, moved or not
(``unsigned_history``). Everything else passes through untouched; a request that needs nothing
keeps its exact bytes.
"""

import re
from typing import Any

import msgspec

from routerd.catalogue.models import EFFORT_LEVELS, ModelInfo
from routerd.dialects.canonical import LEVELS, as_effort, budget_for_effort, effort_for_budget
from routerd.dialects.anthropic.request import DEFAULT_EFFORT, MIN_THINKING_BUDGET
from routerd.dialects.anthropic.search import unsign_foreign
from routerd.dialects.fit import Fields, fit

LONG_CONTEXT = 1_000_000
# Where a Messages body says what ``routerd.dialects.fit`` fits (thinking is this module's to drop).
FIELDS = Fields(output=(("max_tokens",),), temperature=(("temperature",),), top_p=(("top_p",),),
                top_k=(("top_k",),), budget=(("thinking", "budget_tokens"),), min_budget=MIN_THINKING_BUDGET,
                thinking=("thinking",))
# A tool_choice that forces tool use; the blocks a tool loop's assistant message must open with.
_FORCING = ("any", "tool")
_THINKING_BLOCKS = ("thinking", "redacted_thinking")
# What routerd writes for the signature another provider's search result or citation lacks.
_UNSIGNED = re.compile(rb'"encrypted_(?:content|index)"\s*:\s*""')


def unsigned_history(body: bytes) -> bytes | None:
    """A Messages request whose history holds search blocks routerd gave the client unsigned (from
    another provider), with them made into what Anthropic accepts; None when it holds none."""
    if b'"encrypted_' not in body or _UNSIGNED.search(body) is None:
        return None
    try:
        value = msgspec.json.decode(body)
    except msgspec.DecodeError:
        return None  # the provider will say what is wrong with it
    if not isinstance(value, dict) or not unsign_foreign(value.get("messages")):
        return None
    return msgspec.json.encode(value)


def adapt_anthropic(body: bytes, headers: list[tuple[bytes, bytes]],
                    target: ModelInfo) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    """A Messages request (body, upstream headers) made valid for ``target``."""
    headers = [(k, _betas(v, target)) if k == b"anthropic-beta" else (k, v) for k, v in headers]
    headers = [(k, v) for k, v in headers if v]
    try:
        value = msgspec.json.decode(body)
    except msgspec.DecodeError:
        return body, headers  # the provider will say what is wrong with it
    if not isinstance(value, dict) or not (unsign_foreign(value.get("messages")) | fit_messages(value, target)):
        return body, headers
    return msgspec.json.encode(value), headers


def fit_messages(value: dict[str, Any], target: ModelInfo | None) -> bool:
    """A decoded Messages body made valid for ``target`` in place (effort and thinking as it takes
    them, then what every dialect's requests need: ``fit``); whether anything changed. None: a
    model the catalogue does not know, which gets only the API's own rules."""
    changed = False
    if target is not None:
        changed = _fit_thinking(value, target) | _fit_effort(value, target)  # thinking reads the effort asked
    changed |= _fit_tool_thinking(value, target)
    return fit(value, FIELDS, target) | changed


def _fit_tool_thinking(value: dict[str, Any], target: ModelInfo | None) -> bool:
    """Thinking dropped where the API refuses it with tools: with a forced tool choice (manual
    thinking always; adaptive unless ``target`` takes it, Opus 4.8 on), or, manual thinking, when
    the conversation ends in a tool loop whose last assistant message does not open with a thinking
    block (platform.claude.com, extended thinking with tool use)."""
    thinking = value.get("thinking")
    kind = thinking.get("type") if isinstance(thinking, dict) else None
    if kind not in ("enabled", "adaptive"):
        return False
    choice = value.get("tool_choice")
    forced = isinstance(choice, dict) and choice.get("type") in _FORCING
    if forced and (kind == "enabled" or target is None or not target.forced_tool_thinking):
        del value["thinking"]
        return True
    if kind == "enabled" and _unthought_tool_loop(value.get("messages")):
        del value["thinking"]
        return True
    return False


def _unthought_tool_loop(messages: Any) -> bool:
    """Whether ``messages`` end in a tool result answering an assistant message with tool use
    that does not open with a (signed or redacted) thinking block."""
    if not isinstance(messages, list) or len(messages) < 2:
        return False
    asked, answered = messages[-2], messages[-1]
    if not (isinstance(asked, dict) and isinstance(answered, dict)) or asked.get("role") != "assistant":
        return False
    if answered.get("role") != "user" or not _holds(answered, "tool_result") or not _holds(asked, "tool_use"):
        return False
    first = asked["content"][0]
    return not (isinstance(first, dict) and first.get("type") in _THINKING_BLOCKS)


def _holds(message: dict[str, Any], kind: str) -> bool:
    content = message.get("content")
    return isinstance(content, list) and any(isinstance(b, dict) and b.get("type") == kind for b in content)


def _fit_effort(value: dict[str, Any], target: ModelInfo) -> bool:
    config = value.get("output_config")
    if not isinstance(config, dict) or "effort" not in config:
        return False
    levels = target.effort_levels
    if not levels:
        rest = {k: v for k, v in config.items() if k != "effort"}
        if rest:
            value["output_config"] = rest
        else:
            del value["output_config"]
        return True
    if isinstance(asked := config["effort"], str) and asked in EFFORT_LEVELS and asked not in levels:
        value["output_config"] = {**config, "effort": nearest_effort(asked, levels)}
        return True
    return False


def _fit_thinking(value: dict[str, Any], target: ModelInfo) -> bool:
    """Adaptive thinking as a budget for a model without it (the budget of the effort asked, which
    ``fit`` keeps below ``max_tokens``), a budget as adaptive thinking (and the effort level that
    budget stands for, when none is set) for a model that takes no budgets (``canonical.LEVELS``
    both ways: xhigh is 32,768 tokens, and 32,768 is xhigh)."""
    thinking = value.get("thinking")
    kind = thinking.get("type") if isinstance(thinking, dict) else None
    if kind == "adaptive" and not target.adaptive_thinking:
        config = value.get("output_config")
        asked = config.get("effort") if isinstance(config, dict) else None
        # the budget of the effort asked (``canonical.LEVELS``; none: the API's default, as the
        # translation reads it)
        budget = budget_for_effort(as_effort(asked) if isinstance(asked, str) else DEFAULT_EFFORT)
        if target.reasoning and int(value.get("max_tokens") or 0) > MIN_THINKING_BUDGET:
            value["thinking"] = {"type": "enabled", "budget_tokens": budget}
        else:
            del value["thinking"]
        return True
    if kind != "enabled" or target.budget_thinking:
        return False
    if not target.adaptive_thinking:
        del value["thinking"]
        return True
    value["thinking"] = {"type": "adaptive"}
    config = value.get("output_config")
    config = config if isinstance(config, dict) else {}
    stated = thinking.get("budget_tokens") if isinstance(thinking, dict) else None
    if target.effort_levels and "effort" not in config and isinstance(stated, int):
        level = LEVELS[effort_for_budget(stated)].anthropic or EFFORT_LEVELS[0]
        value["output_config"] = {**config, "effort": nearest_effort(level, target.effort_levels)}
    return True


def _betas(value: bytes, target: ModelInfo) -> bytes:
    """The anthropic-beta list without the betas ``target`` does not take."""
    def wanted(beta: bytes) -> bool:
        if beta.startswith(b"context-1m"):
            return target.context_window >= LONG_CONTEXT
        if beta.startswith(b"effort-"):
            return bool(target.effort_levels)
        return bool(beta)

    parts = [part.strip() for part in value.split(b",")]
    kept = [b for b in parts if wanted(b)]
    return value if len(kept) == len(parts) else b",".join(kept)


def nearest_effort(asked: str, levels: tuple[str, ...]) -> str:
    """The highest of ``levels`` (some of EFFORT_LEVELS, lowest first) at or below ``asked``
    (``xhigh`` on Sonnet 4.6, which skips it: ``high``), else the lowest of them."""
    rank = EFFORT_LEVELS.index(asked)
    below = [level for level in levels if EFFORT_LEVELS.index(level) <= rank]
    return below[-1] if below else levels[0]
