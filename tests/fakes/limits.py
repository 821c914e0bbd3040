"""What the fake providers refuse, as the real APIs do, for the models they know: an output limit
above the model's, an Anthropic effort level, adaptive thinking or long-context beta the Claude model
lacks (Haiku 4.5 takes none of them), OpenAI reasoning models' refusal of ``max_tokens``, of sampling settings
and of a reasoning effort the model lacks (o3: low to high; gpt-5.1: no minimal),
reasoning parameters (and Responses' ``include`` of encrypted reasoning) sent to a model that does
not reason, and Anthropic's sampling rules (Claude 4.5/4.6 take temperature or top_p but not both;
Opus 4.7 and later take none, nor thinking budgets; while thinking, temperature must be 1, top_k
unset, top_p at least 0.95, and the budget at least 1,024 and below max_tokens; with manual thinking (a budget) a tool
loop's last assistant message must open with a thinking block, and no tool_choice may force tool
use; adaptive thinking, which the model may skip, takes such a loop, and a forced tool only on
Opus 4.8 (Claude 4.7 and earlier refuse it: langchain-aws's Bedrock changes, 2026-07); Gemini's
thinking budgets outside the model's range (2.5 Pro: 128..32,768, never off) and thinking levels a
model lacks (2.5 takes none, 3 Pro only low and high); DeepSeek's reasoner's refusal of logprobs (it takes max_tokens and,
to no effect, sampling settings, where OpenAI's reasoning models refuse them).

The facts are the providers' (their model pages and the errors they answer), kept here apart from
routerd's catalogue so that a test sees what a real provider would do. A model the table does not
know takes anything, as before. ``refusal(dialect, model, request)`` gives (status, body) or None.
"""

from dataclasses import dataclass
from typing import Any, Literal

ANTHROPIC_DOCS = "https://docs.claude.com/en/docs/build-with-claude/extended-thinking"


@dataclass(frozen=True)
class Model:
    max_output: int | None = None
    reasoning: bool = False
    # Anthropic's sampling: any | one (temperature or top_p, not both) | none (deprecated: 4.7+)
    sampling: Literal["any", "one", "none"] = "any"
    budget_thinking: bool = True  # Anthropic's thinking {"type": "enabled"} (not Opus 4.7 on)
    forced_tool_thinking: bool = False  # adaptive thinking beside a forced tool_choice (Opus 4.8 on)
    effort: tuple[str, ...] = ()  # Anthropic's output_config.effort levels (platform.claude.com, "Effort")
    adaptive: bool = False        # Anthropic's thinking {"type": "adaptive"}
    long_context: bool = False    # Anthropic's context-1m beta
    # OpenAI's reasoning rules (max_completion_tokens, default sampling only); None: ``reasoning``.
    openai_reasoning: bool | None = None
    logprobs: bool = True         # OpenAI chat's logprobs / top_logprobs
    efforts: tuple[str, ...] = () # OpenAI's reasoning_effort values (none: any)
    # Gemini's thinking (ai.google.dev, "Thinking"): a budget's range, whether 0 turns it off, and
    # the thinkingLevel values a Gemini 3 model takes (none: it refuses a level).
    thinking_budget: tuple[int, int] | None = None
    thinking_off: bool = True
    levels: tuple[str, ...] = ()

    @property
    def o_series(self) -> bool:
        return self.reasoning if self.openai_reasoning is None else self.openai_reasoning


# Anthropic's models overview and "Effort" page (Sonnet 4.6 takes max, not xhigh); extended
# thinking (a budget) on Haiku 4.5, adaptive thinking from Sonnet 4.6 and Opus 4.6 on. The one
# table of Claude facts for the fakes (``tests.e2e.replies`` reads it too).
CLAUDE = {
    "claude-haiku-4-5": Model(64_000, True, "one"),
    "claude-sonnet-4-6": Model(64_000, True, "one", effort=("low", "medium", "high", "max"), adaptive=True,
                               long_context=True),
    "claude-opus-4-8": Model(128_000, True, "none", budget_thinking=False, forced_tool_thinking=True,
                             effort=("low", "medium", "high", "xhigh", "max"), adaptive=True, long_context=True),
    # Older models the catalogue's aliases reach ("Troubleshooting thinking": a budget is the only
    # thinking mode up to Claude 4.5; Opus 4.6 takes both; "Effort": Opus 4.5 low to high, 4.6 max).
    "claude-sonnet-4-5": Model(64_000, True, "one"),
    "claude-opus-4-5": Model(64_000, True, "one", effort=("low", "medium", "high")),
    "claude-opus-4-1": Model(32_000, True),  # the models overview: 32K output, a budget only
    "claude-opus-4-6": Model(128_000, True, "one", effort=("low", "medium", "high", "max"), adaptive=True,
                             long_context=True),
}
# OpenAI's API reference (ReasoningEffort): no none before gpt-5.1, no xhigh before
# gpt-5.1-codex-max, gpt-5.1 none to high without minimal; o3 and o4-mini answer minimal and none
# "Supported values are: 'low', 'medium', and 'high'."
O_SERIES = ("low", "medium", "high")
MODELS = {
    # OpenAI's model pages: gpt-4.1 and 4.1-mini 32,768 output tokens; o3 and o4-mini 100,000.
    "gpt-4.1": Model(32_768), "gpt-4.1-mini": Model(32_768),
    "o3": Model(100_000, reasoning=True, efforts=O_SERIES), "o4-mini": Model(100_000, reasoning=True, efforts=O_SERIES),
    "gpt-5.5": Model(128_000, reasoning=True),
    "gpt-5": Model(128_000, reasoning=True, efforts=("minimal", "low", "medium", "high")),
    "gpt-5.1": Model(128_000, reasoning=True, efforts=("none", "low", "medium", "high")),
    "gpt-6-luna": Model(reasoning=True), "gpt-6.1-sol": Model(reasoning=True), "gpt-6-astra": Model(reasoning=True),
    # DeepSeek's reasoning model guide: max_tokens up to 64K; temperature, top_p and the penalties
    # taken but without effect; logprobs and top_logprobs refused.
    "deepseek-reasoner": Model(65_536, True, openai_reasoning=False, logprobs=False),
    **CLAUDE,
    # Gemini's model pages: 65,536 output tokens ("from 1 (inclusive) to 65537 (exclusive)").
    "gemini-2.5-flash": Model(65_536, True, thinking_budget=(1, 24_576)),
    "gemini-2.5-pro": Model(65_536, True, thinking_budget=(128, 32_768), thinking_off=False),
    "gemini-2.5-flash-lite": Model(65_536, True, thinking_budget=(512, 24_576)),
    "gemini-3-flash-preview": Model(reasoning=True, levels=("minimal", "low", "medium", "high")),
    "gemini-3.1-pro-preview": Model(reasoning=True, levels=("low", "medium", "high")),
    # Gemini 3 Pro (ai.google.dev, "Thinking": "low" or "high", never off), which the catalogue
    # knows as an alias of 3.1 Pro: MEDIUM refused ("Thinking level MEDIUM is not supported ...").
    "gemini-3-pro-preview": Model(reasoning=True, levels=("low", "high")),
}


def refusal(dialect: str, model: str, request: dict[str, Any]) -> tuple[int, dict[str, Any]] | None:
    """The provider's 400 for ``request`` to ``model``, or None when it takes it."""
    facts = MODELS.get(model)
    if facts is None or not isinstance(request, dict):
        return None
    if dialect == "openai_chat" and model.startswith("deepseek-"):
        return _deepseek(facts, model, request)
    if dialect == "openai_chat":
        return _openai(_chat(facts, request) or _effort(facts, model, request.get("reasoning_effort"),
                                                        "reasoning_effort"))
    if dialect == "responses":
        reasoning = request.get("reasoning")
        effort = reasoning.get("effort") if isinstance(reasoning, dict) else None
        return _openai(_responses(facts, request) or _effort(facts, model, effort, "reasoning.effort"))
    if dialect == "gemini":
        return _gemini(facts, request)
    return _anthropic(facts, model, request)


# --- OpenAI ----------------------------------------------------------------------------------


def _openai(found: tuple[str, str, str | None] | None) -> tuple[int, dict[str, Any]] | None:
    if found is None:
        return None
    message, param, code = found
    return 400, {"error": {"message": message, "type": "invalid_request_error", "param": param, "code": code}}


def _too_large(name: str, asked: Any, limit: int | None) -> tuple[str, str, str] | None:
    if limit is None or not isinstance(asked, int) or asked <= limit:
        return None
    return (f"{name} is too large: {asked}. This model supports at most {limit} completion tokens, "
            f"whereas you provided {asked}.", name, "invalid_value")


def _unsupported(name: str) -> tuple[str, str, str]:
    return f"Unsupported parameter: '{name}' is not supported with this model.", name, "unsupported_parameter"


def _effort(facts: Model, model: str, effort: Any, param: str) -> tuple[str, str, str] | None:
    """A reasoning model's refusal of an effort it lacks, in the API's words (openai-agents-python
    #2089: "Unsupported value: 'minimal' is not supported with the 'gpt-5.1' model. Supported values
    are: 'none', 'low', 'medium', and 'high'.")."""
    if not facts.efforts or not isinstance(effort, str) or effort in facts.efforts:
        return None
    quoted = [f"'{e}'" for e in facts.efforts]
    listed = ", ".join(quoted[:-1]) + f", and {quoted[-1]}"
    return (f"Unsupported value: '{effort}' is not supported with the '{model}' model. Supported values are: "
            f"{listed}.", param, "unsupported_value")


def _sampling(request: dict[str, Any]) -> tuple[str, str, str] | None:
    """A reasoning model's refusal of a temperature or top_p other than the default 1."""
    for name in ("temperature", "top_p"):
        value = request.get(name)
        if value is not None and value != 1:
            return (f"Unsupported value: '{name}' does not support {value} with this model. Only the default (1) "
                    "value is supported.", name, "unsupported_value")
    return None


def _deepseek(facts: Model, model: str, request: dict[str, Any]) -> tuple[int, dict[str, Any]] | None:
    """DeepSeek's answer: its own wording ("deepseek-reasoner does not support the parameter
    `presence_penalty`", as it answered before it took the penalties) in OpenAI's error shape."""
    for name in ("logprobs", "top_logprobs"):
        if name in request and not facts.logprobs:
            message = f"{model} does not support the parameter `{name}`"
            return 400, {"error": {"message": message, "type": "invalid_request_error", "param": None,
                                   "code": "invalid_request_error"}}
    return _openai(_chat(facts, request))


def _chat(facts: Model, request: dict[str, Any]) -> tuple[str, str, str] | None:
    if facts.o_series and "max_tokens" in request:
        return ("Unsupported parameter: 'max_tokens' is not supported with this model. Use "
                "'max_completion_tokens' instead.", "max_tokens", "unsupported_parameter")
    if not facts.reasoning and "reasoning_effort" in request:
        return _unsupported("reasoning_effort")
    for name in ("max_tokens", "max_completion_tokens"):
        if (found := _too_large(name, request.get(name), facts.max_output)) is not None:
            return found
    if facts.o_series:
        for name in ("presence_penalty", "frequency_penalty"):
            if name in request:
                return _unsupported(name)
    return _sampling(request) if facts.o_series else None


def _responses(facts: Model, request: dict[str, Any]) -> tuple[str, str, str | None] | None:
    if not facts.reasoning and "reasoning" in request:
        return _unsupported("reasoning.effort")
    if not facts.reasoning and "reasoning.encrypted_content" in (request.get("include") or ()):
        return "Encrypted content is not supported with this model.", "include", None
    if (found := _too_large("max_output_tokens", request.get("max_output_tokens"), facts.max_output)) is not None:
        return found
    if facts.reasoning:
        for name in ("temperature", "top_p"):
            if request.get(name) is not None:
                return _unsupported(name)
    return None


# --- Gemini ----------------------------------------------------------------------------------


def _gemini(facts: Model, request: dict[str, Any]) -> tuple[int, dict[str, Any]] | None:
    config = request.get("generationConfig") or request.get("generation_config") or {}
    asked = config.get("maxOutputTokens", config.get("max_output_tokens"))
    if facts.max_output is not None and isinstance(asked, int) and asked > facts.max_output:
        message: str | None = (
            f"Unable to submit request because it has a maxOutputTokens value of {asked} but the supported "
            f"range is from 1 (inclusive) to {facts.max_output + 1} (exclusive). Update the value and try again.")
    else:
        thinking = config.get("thinkingConfig") or config.get("thinking_config") or {}
        message = _gemini_thinking(facts, thinking.get("thinkingBudget", thinking.get("thinking_budget")),
                                   thinking.get("thinkingLevel", thinking.get("thinking_level")))
    return None if message is None else (400, {"error": {"code": 400, "message": message, "status": "INVALID_ARGUMENT"}})


def _gemini_thinking(facts: Model, budget: Any, level: Any) -> str | None:
    """The Gemini API's refusal of a thinking budget or level, in its words: "Budget 0 is invalid.
    This model only works in thinking mode." (2.5 Pro, vercel/ai#8027), "The thinking budget (52428)
    is invalid." (2.5 Pro, Roo-Code#4399), "Thinking level is not supported for this model." (2.5
    Flash, Roo-Code#10700), "Thinking level MEDIUM is not supported for this model." (3 Pro)."""
    if isinstance(level, str) and not facts.levels:
        return "Thinking level is not supported for this model."
    if isinstance(level, str) and level.lower() not in facts.levels:
        return f"Thinking level {level.upper()} is not supported for this model."
    if not isinstance(budget, int) or budget == -1 or facts.thinking_budget is None:
        return None
    least, most = facts.thinking_budget
    if budget == 0:
        return None if facts.thinking_off else "Budget 0 is invalid. This model only works in thinking mode."
    return None if least <= budget <= most else f"The thinking budget ({budget}) is invalid."


# --- Anthropic -------------------------------------------------------------------------------


def _anthropic(facts: Model, model: str, request: dict[str, Any]) -> tuple[int, dict[str, Any]] | None:
    message = _anthropic_message(facts, model, request)
    if message is None:
        return None
    return 400, {"type": "error", "error": {"type": "invalid_request_error", "message": message}}


def _anthropic_message(facts: Model, model: str, request: dict[str, Any]) -> str | None:
    max_tokens = request.get("max_tokens")
    budget = (request.get("thinking") or {}).get("budget_tokens")
    if (request.get("thinking") or {}).get("type") == "enabled" and isinstance(budget, int) and budget < 1024:
        # the request's schema, checked before any model's rules (the API reference: "Must be
        # >= 1024 and less than `max_tokens`"; the answer as proxies that rectify it quote it)
        return "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024"
    if facts.max_output is not None and isinstance(max_tokens, int) and max_tokens > facts.max_output:
        return (f"max_tokens: {max_tokens} > {facts.max_output}, which is the maximum allowed number of output "
                f"tokens for {model}")
    set_ = [name for name in ("temperature", "top_p", "top_k") if request.get(name) is not None]
    if facts.sampling == "none" and set_:
        return f"`{set_[0]}` is deprecated for this model."
    thinking = request.get("thinking") or {}
    if (found := claude_refusal(facts, request)) is not None:
        return found
    if thinking.get("type") == "enabled" and not facts.budget_thinking:
        return ('"thinking.type.enabled" is not supported for this model. Use "thinking.type.adaptive" and '
                '"output_config.effort" to control thinking behavior.')
    if (request.get("tool_choice") or {}).get("type") in ("any", "tool") and (
            thinking.get("type") == "enabled" or thinking.get("type") == "adaptive" and not facts.forced_tool_thinking):
        return "Thinking may not be enabled when tool_choice forces tool use."
    if thinking.get("type") == "enabled" and (found := _unthought_tool_turn(request)) is not None:
        return found
    if thinking.get("type") in ("enabled", "adaptive"):
        budget = thinking.get("budget_tokens")
        if isinstance(budget, int) and isinstance(max_tokens, int) and budget >= max_tokens:
            return f"`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our documentation at {ANTHROPIC_DOCS}"
        if request.get("temperature") not in (None, 1):
            return f"`temperature` may only be set to 1 when thinking is enabled. Please consult our documentation at {ANTHROPIC_DOCS}"
        if request.get("top_k") is not None:
            return f"`top_k` must be unset when thinking is enabled. Please consult our documentation at {ANTHROPIC_DOCS}"
        top_p = request.get("top_p")
        if top_p is not None and not 0.95 <= top_p <= 1:
            return ("`top_p` must be greater than or equal to 0.95 or unset when thinking is enabled. Please consult "
                    f"our documentation at {ANTHROPIC_DOCS}")
    if facts.sampling == "one" and "temperature" in set_ and "top_p" in set_:
        return "`temperature` and `top_p` cannot both be specified for this model. Please use only one."
    return None


def claude_refusal(facts: Model, request: dict[str, Any], betas: str = "") -> str | None:
    """The Messages API's refusal of an effort level, adaptive thinking or the long-context beta
    (``betas``: the anthropic-beta header) that the model lacks."""
    effort = (request.get("output_config") or {}).get("effort")
    if effort is not None and not facts.effort:
        return "output_config.effort: this model does not support the effort parameter"
    if effort is not None and effort not in facts.effort:
        return f"output_config.effort: {effort!r} is not supported on this model"
    if (request.get("thinking") or {}).get("type") == "adaptive" and not facts.adaptive:
        return "thinking.type: adaptive thinking is not supported on this model"
    if "context-1m" in betas and not facts.long_context:
        return "The long context beta is not supported for this model."
    return None


def _unthought_tool_turn(request: dict[str, Any]) -> str | None:
    """A conversation ending in a tool loop (the last user turn carries tool_result) whose last
    assistant message does not open with a thinking block: the API's refusal with manual thinking."""
    messages = request.get("messages") or []
    if len(messages) < 2 or messages[-1].get("role") != "user" or not _has(messages[-1], "tool_result"):
        return None
    index = len(messages) - 2
    content = messages[index].get("content")
    if messages[index].get("role") != "assistant" or not isinstance(content, list) or not _has(messages[index], "tool_use"):
        return None
    first = content[0].get("type")
    if first in ("thinking", "redacted_thinking"):
        return None
    return (f"messages.{index}.content.0.type: Expected `thinking` or `redacted_thinking`, but found `{first}`. When "
            "`thinking` is enabled, a final `assistant` message must start with a thinking block (preceeding the "
            "lastmost set of `tool_use` and `tool_result` blocks). We recommend you include thinking blocks from "
            f"previous turns. To avoid this requirement, disable `thinking`. Please consult our documentation at "
            f"{ANTHROPIC_DOCS}")


def _has(message: dict[str, Any], kind: str) -> bool:
    content = message.get("content")
    return isinstance(content, list) and any(isinstance(b, dict) and b.get("type") == kind for b in content)
