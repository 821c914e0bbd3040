"""Making a request valid for the model routerd moved it to (``auto``, ``gateway.downshift``,
a fallback), from the catalogue's capabilities. Pure: bytes and headers in, bytes and headers out.

A client sends what its own model accepts: Claude Code asks its default Opus for
``output_config.effort``, ``thinking: {"type": "adaptive"}``, the ``context-1m`` beta and
``max_tokens: 64000``. The API refuses each of them on a model that lacks it (a 400), so a request
moved to such a model is adapted: effort dropped (or, where the model takes effort but not that
level, Opus's ``xhigh`` on Sonnet 4.6 say, the nearest level below it), adaptive thinking turned into a thinking budget
(or dropped where the model does not think), the long-context and effort betas removed,
``max_tokens`` lowered to the model's limit. Web search blocks another provider's search produced
(routerd translated an earlier turn, a fallback's say) are made into what Anthropic accepts back
(``anthropic.search.unsign_foreign``) in every request passed through, moved or not
(``unsigned_history``). Everything else passes through untouched; a request that needs nothing
keeps its exact bytes.
"""

import re
from typing import Any

import msgspec

from routerd.catalogue.models import EFFORT_LEVELS, ModelInfo
from routerd.dialects.anthropic.search import unsign_foreign

LONG_CONTEXT = 1_000_000
# A thinking budget for adaptive thinking moved to a model that only takes a fixed budget: the
# translation's "medium" (routerd/dialects), and the API's minimum.
THINKING_BUDGET = 8_192
MIN_THINKING_BUDGET = 1_024
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
    if not isinstance(value, dict) or not _adapt_body(value, target):
        return body, headers
    return msgspec.json.encode(value), headers


def _adapt_body(value: dict[str, Any], target: ModelInfo) -> bool:
    """Adapt the decoded body in place; whether anything changed."""
    changed = unsign_foreign(value.get("messages"))
    limit = target.max_output_tokens
    if limit is not None and isinstance(value.get("max_tokens"), int) and value["max_tokens"] > limit:
        value["max_tokens"], changed = limit, True
    config = value.get("output_config")
    if isinstance(config, dict) and "effort" in config:
        levels = target.effort_levels
        if not levels:
            rest = {k: v for k, v in config.items() if k != "effort"}
            if rest:
                value["output_config"] = rest
            else:
                del value["output_config"]
            changed = True
        elif isinstance(asked := config["effort"], str) and asked in EFFORT_LEVELS and asked not in levels:
            value["output_config"] = {**config, "effort": nearest_effort(asked, levels)}
            changed = True
    thinking = value.get("thinking")
    if isinstance(thinking, dict) and thinking.get("type") == "adaptive" and not target.adaptive_thinking:
        budget = min(THINKING_BUDGET, int(value.get("max_tokens") or 0) - 1)
        if target.reasoning and budget >= MIN_THINKING_BUDGET:
            value["thinking"] = {"type": "enabled", "budget_tokens": budget}
        else:
            del value["thinking"]
        changed = True
    return changed


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
