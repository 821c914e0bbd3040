"""Which scenario a request is: the kind of call a coding agent makes, read from the request itself.

Scenarios, highest priority first (the first that matches is the request's scenario; the others
that matched are kept in ``Detection.matched`` and still shape the route as needs):

1. ``long_context``: system + messages + tools count more than the threshold (60,000 by default,
   claude-code-router's figure). First because size is a hard constraint: a model whose window is
   too small fails outright, whatever else the request is.
2. ``subagent``: the client marks the call as a subagent's (a delegated, multi-step task), or it is
   the agent a Claude Code agent hook runs (known by its shape: ``markers.is_hook_agent``).
3. ``background``: the client asked for its small-model slot (a Haiku id from Claude Code), marks
   housekeeping (Codex's compaction and memory calls), or sent one of Claude Code's side queries
   (prompt hooks, titles: no tools, no thinking) on any model. 2 before 3: Claude Code's
   Explore agent asks for Haiku too, and it is a real task.
4. ``web_search``: a hosted web-search tool that is alone or forced (see ``markers``).
5. ``image``: the latest user message carries an image.
6. ``think``: reasoning asked for at or above ``think_level``. Anthropic's default effort
   ("high"), with adaptive thinking or none, which Claude Code 2.1.197 sends on every call, leaves
   the choice to the model rather than asking it to think, and does not count.
7. ``default``: none of the above; the routing brain decides.

Pure: no I/O, no clock. The token count arrives ready-made (see ``tokens``).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Literal

import msgspec

from routerd.dialects.canonical import ChatRequest, effort_for_budget
from routerd.scenarios import markers
from routerd.scenarios.markers import Headers
from routerd.scenarios.settings import (DEFAULT_LONG_CONTEXT_THRESHOLD, DEFAULT_THINK_LEVEL, THINK_LEVELS,
                                        ThinkLevel)
from routerd.scenarios.tokens import TokenCount

Scenario = Literal["long_context", "subagent", "background", "web_search", "image", "think", "default"]
SCENARIOS: tuple[Scenario, ...] = ("long_context", "subagent", "background", "web_search", "image", "think",
                                   "default")
# Anthropic's effort when a request names none; adaptive thinking at this level is the baseline.
ANTHROPIC_DEFAULT_EFFORT: ThinkLevel = "high"


class Detection(msgspec.Struct, frozen=True, kw_only=True):
    """The request's scenario, every scenario that matched (priority order) with its evidence, and
    the facts the route needs: think level, token count, images, a web search offered."""

    scenario: Scenario
    matched: tuple[Scenario, ...] = ()
    reasons: tuple[str, ...] = ()
    think_level: ThinkLevel | None = None
    tokens: int = 0
    tokens_exact: bool = False
    needs_vision: bool = False
    offers_web_search: bool = False
    pinned_model: str | None = None

    def explain(self) -> str:
        """One line: ``subagent (Claude Code subagent (x-claude-code-agent-id)); also think (...)``."""
        lines = [f"{s} ({r})" for s, r in zip(self.matched, self.reasons)]
        if not lines:
            return "default (no scenario marker)"
        return lines[0] + ("; also " + "; ".join(lines[1:]) if lines[1:] else "")


def think_level(req: ChatRequest) -> tuple[ThinkLevel | None, bool]:
    """(the reasoning level asked for, whether it is only Anthropic's default effort).

    Sources: a thinking budget (mapped to the level whose budget covers it), an explicit effort
    (OpenAI ``reasoning_effort`` / ``reasoning.effort``, Gemini ``thinkingLevel``), Anthropic's
    ``output_config.effort`` beside adaptive thinking."""
    reasoning = req.reasoning
    effort = None
    if req.origin == "anthropic":
        config = (req.extra or {}).get("output_config")
        value = config.get("effort") if isinstance(config, dict) else None
        effort = value if value in THINK_LEVELS else None
    if reasoning is None:  # effort alone (no thinking): Anthropic's default effort is "high"
        return (effort, effort == ANTHROPIC_DEFAULT_EFFORT) if effort is not None else (None, False)
    if reasoning.effort == "none" and reasoning.budget_tokens is None:
        return "none", False
    if reasoning.budget_tokens is not None:
        return effort or effort_for_budget(reasoning.budget_tokens), False
    if req.origin == "anthropic":  # the dialect reads {"type": "adaptive"} as effort medium
        level = effort or ANTHROPIC_DEFAULT_EFFORT
        return level, level == ANTHROPIC_DEFAULT_EFFORT
    return reasoning.effort, False


def detect(req: ChatRequest, headers: Headers, *, model: str, tokens: TokenCount | None,
           family: str = "openai", hosted_tools: Collection[str] = (),
           long_context_threshold: int = DEFAULT_LONG_CONTEXT_THRESHOLD,
           min_think_level: ThinkLevel = DEFAULT_THINK_LEVEL) -> Detection:
    """Detect the scenario of ``req`` as the client sent it (``model``: the name it asked for,
    decorations stripped; ``headers``: lower-cased names; ``hosted_tools``: the types of server-side
    tools in its ``tools``; ``family``: whose token count the threshold is compared with)."""
    matched: list[Scenario] = []
    reasons: list[str] = []

    def hit(scenario: Scenario, why: str | None) -> None:
        if why is not None:
            matched.append(scenario)
            reasons.append(why)

    count = tokens.tokens(family) if tokens is not None else 0
    if count > long_context_threshold:
        hit("long_context", f"{count:,} tokens > {long_context_threshold:,}"
                            + ("" if tokens is not None and tokens.exact else " (estimated)"))
    hit("subagent", markers.subagent_marker(req, headers))
    hit("background", markers.background_marker(model, headers, req, hosted_tools))
    search, offers_search = markers.web_search_marker(req, hosted_tools)
    hit("web_search", search)
    image, any_image = markers.image_marker(req)
    hit("image", image)
    level, adaptive_default = think_level(req)
    if level is not None and not adaptive_default and \
            THINK_LEVELS.index(level) >= THINK_LEVELS.index(min_think_level):
        hit("think", f"reasoning effort {level}")
    return Detection(
        scenario=matched[0] if matched else "default", matched=tuple(matched), reasons=tuple(reasons),
        think_level=level, tokens=count, tokens_exact=tokens is not None and tokens.exact,
        needs_vision=any_image, offers_web_search=offers_search, pinned_model=markers.pinned_model(req))
