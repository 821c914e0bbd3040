"""``routerd.dialects.fit``: one rule per refusal, applied to every dialect's bodies through the
fields the dialect names (pure: no gateway, no event loop)."""

import msgspec
import pytest

from routerd.catalogue.builtin import load_catalogue
from routerd.catalogue.models import ModelInfo
from routerd.dialects.registry import get
from routerd.dialects.translate import render
from tests.e2e import replies
from tests.fakes import limits

CATALOGUE = load_catalogue()
MODEL = {name: CATALOGUE.get(name) for name in ("gpt-4.1", "o3", "gemini-2.5-flash", "gemini-2.5-flash-lite",
                                                 "gemini-2.5-pro", "gemini-3-flash-preview", "gemini-3.1-pro-preview",
                                                 "gemini-3-pro-preview", "o4-mini", "gpt-5", "gpt-5.1", "gpt-5.5",
                                                 "deepseek-reasoner", "claude-haiku-4-5", "claude-sonnet-4-6",
                                                 "claude-opus-4-8", "claude-opus-4-5", "claude-opus-4-6", "claude-opus-4-1",
                                                 "claude-sonnet-4-5")}


def _fit(dialect: str, body: dict, model: str | None) -> dict:
    get(dialect).fit(body, MODEL[model] if model else None)
    return body


@pytest.mark.parametrize(("dialect", "model", "body", "expected"), [
    ("openai_chat", "gpt-4.1", {"max_tokens": 64_000, "reasoning_effort": "low", "temperature": 0.2},
     {"max_tokens": 32_768, "temperature": 0.2}),
    ("openai_chat", "o3", {"max_tokens": 200_000, "temperature": 0.2, "top_p": 0.5},
     {"max_completion_tokens": 100_000}),
    ("openai_chat", "o3", {"max_tokens": 5, "max_completion_tokens": 7}, {"max_completion_tokens": 7}),
    ("responses", "o3", {"max_output_tokens": 200_000, "temperature": 1, "reasoning": {"effort": "high"}},
     {"max_output_tokens": 100_000, "reasoning": {"effort": "high"}}),
    ("responses", "gpt-4.1", {"reasoning": {"effort": "high"}, "top_p": 0.3}, {"top_p": 0.3}),
    ("responses", "gpt-4.1", {"include": ["reasoning.encrypted_content"]}, {}),
    ("responses", "gpt-4.1", {"include": ["reasoning.encrypted_content", "web_search_call.action.sources"]},
     {"include": ["web_search_call.action.sources"]}),
    ("responses", "o3", {"include": ["reasoning.encrypted_content"]}, {"include": ["reasoning.encrypted_content"]}),
    ("gemini", "gemini-2.5-flash",
     {"generationConfig": {"maxOutputTokens": 100_000, "thinkingConfig": {"thinkingBudget": 80_000}}},
     {"generationConfig": {"maxOutputTokens": 65_536, "thinkingConfig": {"thinkingBudget": 24_576}}}),
    ("gemini", "gemini-2.5-flash", {"generation_config": {"max_output_tokens": 100_000, "top_k": 3}},
     {"generation_config": {"max_output_tokens": 65_536, "top_k": 3}}),
    ("gemini", "gemini-2.5-flash-lite", {"generationConfig": {"thinkingConfig": {"thinkingBudget": 1024}}},
     {"generationConfig": {"thinkingConfig": {"thinkingBudget": 1024}}}),
    ("anthropic", "claude-haiku-4-5", {"max_tokens": 100_000, "temperature": 0.5, "top_p": 0.9},
     {"max_tokens": 64_000, "temperature": 0.5}),
    ("anthropic", "claude-haiku-4-5",  # Claude Code's Opus request: Haiku 4.5 thinks with high's budget
     {"max_tokens": 32_000, "thinking": {"type": "adaptive"}, "output_config": {"effort": "high"}},
     {"max_tokens": 32_000, "thinking": {"type": "enabled", "budget_tokens": 24_576}}),
    ("anthropic", "claude-haiku-4-5",  # no effort: the API's default, high (it was medium's 8,192)
     {"max_tokens": 32_000, "thinking": {"type": "adaptive"}},
     {"max_tokens": 32_000, "thinking": {"type": "enabled", "budget_tokens": 24_576}}),
    ("anthropic", "claude-haiku-4-5",  # no effort under a smaller max_tokens: high's budget, below it
     {"max_tokens": 10_000, "thinking": {"type": "adaptive"}},
     {"max_tokens": 10_000, "thinking": {"type": "enabled", "budget_tokens": 9_999}}),
    ("anthropic", "claude-haiku-4-5",  # max: the most that fits under the client's max_tokens
     {"max_tokens": 16_000, "thinking": {"type": "adaptive"}, "output_config": {"effort": "max"}},
     {"max_tokens": 16_000, "thinking": {"type": "enabled", "budget_tokens": 15_999}}),
    ("anthropic", "claude-sonnet-4-6",
     {"max_tokens": 64_000, "thinking": {"type": "enabled", "budget_tokens": 64_000}, "temperature": 0.3,
      "top_k": 5, "top_p": 0.97},
     {"max_tokens": 64_000, "thinking": {"type": "enabled", "budget_tokens": 63_999}, "top_p": 0.97}),
    ("anthropic", "claude-sonnet-4-6", {"max_tokens": 1000, "thinking": {"type": "enabled", "budget_tokens": 2000}},
     {"max_tokens": 1000}),
    ("anthropic", "claude-opus-4-8", {"max_tokens": 10, "temperature": 1, "top_k": 4}, {"max_tokens": 10}),
    ("anthropic", "claude-opus-4-8",
     {"max_tokens": 32_000, "thinking": {"type": "enabled", "budget_tokens": 24_576}, "temperature": 0.3},
     {"max_tokens": 32_000, "thinking": {"type": "adaptive"}, "output_config": {"effort": "high"}}),
    ("anthropic", "claude-opus-4-8",  # Claude Code's ultrathink budget is xhigh's (it was high)
     {"max_tokens": 64_000, "thinking": {"type": "enabled", "budget_tokens": 31_999}},
     {"max_tokens": 64_000, "thinking": {"type": "adaptive"}, "output_config": {"effort": "xhigh"}}),
    ("anthropic", None, {"max_tokens": 10, "thinking": {"type": "adaptive"}, "temperature": 0.5, "top_p": 0.5},
     {"max_tokens": 10, "thinking": {"type": "adaptive"}}),
])
def test_a_body_is_made_valid_for_its_model(dialect, model, body, expected):
    """Capped output, a budget below it, reasoning and sampling as the model takes them; the fake
    provider (which refuses what the real API refuses) takes the result."""
    assert _fit(dialect, body, model) == expected
    if model is not None:
        assert limits.refusal(dialect, model, {**expected, "model": model}) is None


def test_a_body_that_needs_nothing_keeps_its_bytes():
    """A request the model takes passes through byte for byte (key order, spacing, unknown fields)."""
    body = b'{"model": "gpt-4.1",  "max_tokens": 100, "zz": 1, "messages": []}'
    assert get("openai_chat").adapt(body, [], MODEL["gpt-4.1"]) == (body, [])
    fitted, _ = get("openai_chat").adapt(body.replace(b"100", b"100000"), [], MODEL["gpt-4.1"])
    assert msgspec.json.decode(fitted)["max_tokens"] == 32_768


def test_an_unknown_model_gets_only_its_apis_rules():
    """Without a catalogue entry nothing model-specific is changed: no cap, no renamed field."""
    unknown = ModelInfo(id="x", provider="openai", tier="simple")
    body = {"max_tokens": 10**6, "temperature": 0.1, "reasoning_effort": "low"}
    assert _fit("openai_chat", dict(body), None) == body
    assert _fit_with("openai_chat", dict(body), unknown) == {"max_tokens": 10**6, "temperature": 0.1}


def _fit_with(dialect: str, body: dict, info: ModelInfo) -> dict:
    get(dialect).fit(body, info)
    return body


CALL = {"role": "assistant", "content": [{"type": "text", "text": "checking"},
                                         {"type": "tool_use", "id": "t1", "name": "get_weather", "input": {}}]}
THOUGHT = {"type": "thinking", "thinking": "weather first", "signature": "sig"}
RESULT = {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "sunny"}]}
# an OpenAI tool message and the user's next one, merged into one Anthropic user turn
MORE = {"role": "user", "content": [*RESULT["content"], {"type": "text", "text": "And tomorrow?"}]}
ASK = {"role": "user", "content": "weather in Paris?"}
DONE = {"role": "assistant", "content": [{"type": "text", "text": "sunny"}]}
TOOLS = [{"name": "get_weather", "input_schema": {"type": "object"}}]
BUDGET = {"type": "enabled", "budget_tokens": 2048}


@pytest.mark.parametrize(("model", "body", "expected"), [
    ("claude-sonnet-4-6", {"max_tokens": 4096, "thinking": BUDGET, "messages": [ASK, CALL, RESULT]},
     {"max_tokens": 4096, "messages": [ASK, CALL, RESULT]}),
    ("claude-sonnet-4-6", {"max_tokens": 4096, "thinking": BUDGET, "messages": [ASK, CALL, MORE]},
     {"max_tokens": 4096, "messages": [ASK, CALL, MORE]}),
    (None, {"max_tokens": 4096, "thinking": BUDGET, "messages": [ASK, CALL, RESULT]},
     {"max_tokens": 4096, "messages": [ASK, CALL, RESULT]}),
    ("claude-sonnet-4-6", {"max_tokens": 4096, "thinking": BUDGET, "tools": TOOLS, "tool_choice": {"type": "any"},
                           "messages": [ASK]},
     {"max_tokens": 4096, "tools": TOOLS, "tool_choice": {"type": "any"}, "messages": [ASK]}),
    ("claude-sonnet-4-6", {"max_tokens": 4096, "thinking": BUDGET, "tools": TOOLS,
                           "tool_choice": {"type": "tool", "name": "get_weather"}, "messages": [ASK]},
     {"max_tokens": 4096, "tools": TOOLS, "tool_choice": {"type": "tool", "name": "get_weather"}, "messages": [ASK]}),
    ("claude-sonnet-4-6", {"max_tokens": 4096, "thinking": {"type": "adaptive"}, "tools": TOOLS,
                           "tool_choice": {"type": "any"}, "messages": [ASK]},
     {"max_tokens": 4096, "tools": TOOLS, "tool_choice": {"type": "any"}, "messages": [ASK]}),
    (None, {"max_tokens": 4096, "thinking": {"type": "adaptive"}, "tools": TOOLS,
            "tool_choice": {"type": "any"}, "messages": [ASK]},
     {"max_tokens": 4096, "tools": TOOLS, "tool_choice": {"type": "any"}, "messages": [ASK]}),
])
def test_thinking_the_api_refuses_with_tools_is_turned_off(model, body, expected):
    """Manual thinking in a tool loop whose last assistant message has no thinking block to open it,
    or with a forced tool choice; adaptive thinking with a forced tool choice on a model before Opus
    4.8 (or one the catalogue does not know): the fake refuses the body, and takes it without thinking."""
    if model is not None:
        assert limits.refusal("anthropic", model, {**body, "model": model}) is not None
    assert _fit("anthropic", body, model) == expected


@pytest.mark.parametrize(("model", "body"), [
    ("claude-sonnet-4-6", {"max_tokens": 4096, "thinking": BUDGET,
                           "messages": [ASK, {**CALL, "content": [THOUGHT, *CALL["content"]]}, RESULT]}),
    ("claude-sonnet-4-6", {"max_tokens": 4096, "thinking": BUDGET,
                           "messages": [ASK, {**CALL, "content": [{"type": "redacted_thinking", "data": "x"},
                                                                  *CALL["content"]]}, RESULT]}),
    ("claude-sonnet-4-6", {"max_tokens": 4096, "thinking": BUDGET, "messages": [ASK, CALL, RESULT, DONE, ASK]}),
    ("claude-opus-4-8", {"max_tokens": 4096, "thinking": {"type": "adaptive"}, "messages": [ASK, CALL, RESULT]}),
    ("claude-opus-4-8", {"max_tokens": 4096, "thinking": {"type": "adaptive"}, "tools": TOOLS,
                         "tool_choice": {"type": "any"}, "messages": [ASK]}),
    ("claude-sonnet-4-6", {"max_tokens": 4096, "thinking": BUDGET, "tools": TOOLS, "tool_choice": {"type": "auto"},
                           "messages": [ASK]}),
])
def test_thinking_the_api_takes_with_tools_is_kept(model, body):
    """A loop that carries its signed (or redacted) thinking, a new user turn after a loop, adaptive
    thinking (the model's option) in a loop without it or with a forced tool choice, manual thinking
    with tool_choice auto: nothing changes."""
    before = msgspec.json.encode(body)
    assert not get("anthropic").fit(body, MODEL[model])
    assert msgspec.json.encode(body) == before
    assert limits.refusal("anthropic", model, {**body, "model": model}) is None


ADAPTIVE_XHIGH = {"max_tokens": 40_000, "thinking": {"type": "adaptive"}, "output_config": {"effort": "xhigh"}}
BUDGET_8K = {"max_tokens": 32_000, "thinking": {"type": "enabled", "budget_tokens": 8192}}
BUDGET_XHIGH = {"max_tokens": 40_000, "thinking": {"type": "enabled", "budget_tokens": 32_768}}


@pytest.mark.parametrize(("model", "body", "expected"), [
    # Claude Code's Opus request named to Opus 4.5, which thinks with a budget, effort low to high:
    # xhigh's budget, and the effort it takes nearest below
    ("claude-opus-4-5", ADAPTIVE_XHIGH, {**BUDGET_XHIGH, "output_config": {"effort": "high"}}),
    ("claude-sonnet-4-5", ADAPTIVE_XHIGH, BUDGET_XHIGH),  # no effort at all
    ("claude-opus-4-6", ADAPTIVE_XHIGH, {**ADAPTIVE_XHIGH, "output_config": {"effort": "high"}}),  # max, not xhigh
    # a budget (a translated client's) stays one where the older model takes it, not Opus 4.8's adaptive
    ("claude-opus-4-5", BUDGET_8K, BUDGET_8K),
    ("claude-opus-4-6", BUDGET_8K, BUDGET_8K),
    # Opus 4.5 writes at most 64K tokens (Opus 4.8 128K), its budget below that, keeping its share
    # of the output asked (100K of 128K: 50K), so that the answer keeps its share too; Opus 4.1 32K
    ("claude-opus-4-5", {"max_tokens": 128_000, "thinking": {"type": "enabled", "budget_tokens": 100_000}},
     {"max_tokens": 64_000, "thinking": {"type": "enabled", "budget_tokens": 50_000}}),
    ("claude-opus-4-1", {"max_tokens": 32_768 + 4096, "thinking": {"type": "enabled", "budget_tokens": 32_768}},
     {"max_tokens": 32_000, "thinking": {"type": "enabled", "budget_tokens": 28_444}}),  # Codex's xhigh
    ("claude-opus-4-1", {"max_tokens": 64_000, "thinking": {"type": "enabled", "budget_tokens": 16_000}},
     {"max_tokens": 32_000, "thinking": {"type": "enabled", "budget_tokens": 16_000}}),
])
def test_an_alias_of_an_older_claude_thinks_as_that_model_does(model, body, expected):
    """Opus 4.5 and 4.6 and Sonnet 4.5, reached through aliases of the current models, get thinking
    and effort as they take them; the fake (which refuses what each refuses) takes the result."""
    assert _fit("anthropic", msgspec.json.decode(msgspec.json.encode(body)), model) == expected
    assert limits.refusal("anthropic", model, {**expected, "model": model}) is None


def _gemini(thinking: dict, **config: int) -> dict:
    return {"generationConfig": {**config, "thinkingConfig": thinking}}


@pytest.mark.parametrize(("model", "thinking", "expected", "refused"), [
    # thinking off (Anthropic's disabled, reasoning_effort none): 2.5 Pro cannot, its least instead
    ("gemini-2.5-pro", {"thinkingBudget": 0}, {"thinkingBudget": 128}, True),
    ("gemini-2.5-flash", {"thinkingBudget": 0}, {"thinkingBudget": 0}, False),
    ("gemini-2.5-flash-lite", {"thinkingBudget": 0}, {"thinkingBudget": 0}, False),
    # a small budget (a Gemini client's), raised to the model's least
    ("gemini-2.5-pro", {"thinkingBudget": 64}, {"thinkingBudget": 128}, True),
    ("gemini-2.5-flash-lite", {"thinkingBudget": 100}, {"thinkingBudget": 512}, True),
    ("gemini-2.5-flash", {"thinkingBudget": 100}, {"thinkingBudget": 100}, False),
    # a large one (2.5 Pro's 32,768 moved to a Flash), lowered to its most
    ("gemini-2.5-flash", {"thinkingBudget": 32_768}, {"thinkingBudget": 24_576}, True),
    ("gemini-2.5-flash-lite", {"thinking_budget": 30_000}, {"thinking_budget": 24_576}, True),
    ("gemini-2.5-pro", {"thinkingBudget": 32_768}, {"thinkingBudget": 32_768}, False),
    # dynamic (-1) everywhere a budget is taken; the level model's own default
    ("gemini-2.5-pro", {"thinkingBudget": -1}, {"thinkingBudget": -1}, False),
    ("gemini-3-flash-preview", {"thinkingBudget": -1, "includeThoughts": True}, {"includeThoughts": True}, False),
    # Gemini 3 takes levels: a budget as the level it stands for, off as the lowest it has
    ("gemini-3-flash-preview", {"thinkingBudget": 0}, {"thinkingLevel": "minimal"}, False),
    ("gemini-3.1-pro-preview", {"thinkingBudget": 0}, {"thinkingLevel": "low"}, False),
    ("gemini-3.1-pro-preview", {"thinking_budget": 8192}, {"thinking_level": "medium"}, False),
    ("gemini-3-flash-preview", {"thinkingBudget": 24_576}, {"thinkingLevel": "high"}, False),
    ("gemini-3.1-pro-preview", {"thinkingLevel": "MINIMAL"}, {"thinkingLevel": "LOW"}, True),
    ("gemini-3.1-pro-preview", {"thinkingLevel": "low", "thinkingBudget": 5000}, {"thinkingLevel": "low"}, False),
    # Gemini 3 Pro (the alias gemini-3-pro-preview reaches it) takes low and high only, and no off
    ("gemini-3-pro-preview", {"thinkingLevel": "medium"}, {"thinkingLevel": "low"}, True),
    ("gemini-3-pro-preview", {"thinking_level": "MEDIUM"}, {"thinking_level": "LOW"}, True),
    ("gemini-3-pro-preview", {"thinkingBudget": 8192}, {"thinkingLevel": "low"}, False),
    ("gemini-3-pro-preview", {"thinkingBudget": 0}, {"thinkingLevel": "low"}, False),
    ("gemini-3-pro-preview", {"thinkingBudget": 24_576}, {"thinkingLevel": "high"}, False),
    # a level moved to 2.5 (which refuses one): the budget it stands for, in the model's range
    ("gemini-2.5-flash", {"thinkingLevel": "high"}, {"thinkingBudget": 24_576}, True),
    ("gemini-2.5-pro", {"thinking_level": "low"}, {"thinking_budget": 2048}, True),
])
def test_a_gemini_thinking_budget_is_one_the_model_takes(model, thinking, expected, refused):
    """Each Gemini model's thinking as it takes it (its budget range, whether it can turn thinking
    off, levels on Gemini 3, which still take a budget from old clients): the fake refuses what the
    API refuses, and takes the result."""
    body = _gemini(dict(thinking))
    assert (limits.refusal("gemini", model, body) is not None) == refused
    assert _fit("gemini", body, model) == _gemini(expected)
    assert limits.refusal("gemini", model, body) is None


CLAUDE_THINKING = {"model": "auto", "max_tokens": 60_000, "messages": [{"role": "user", "content": "hi"}],
                   "thinking": {"type": "enabled", "budget_tokens": 32_000}}


@pytest.mark.parametrize(("model", "budget"), [
    ("gemini-2.5-pro", 32_000),      # Pro's range reaches 32,768: the budget as asked
    ("gemini-2.5-flash", 24_576),    # Flash's most
    ("gemini-2.5-flash-lite", 24_576),
    (None, 24_576),                  # a model the catalogue has no range for: every 2.5 model's most
])
def test_a_translated_budget_is_cut_only_to_its_models_most(model, budget):
    """A Claude client's 32,000-token budget translated to Gemini keeps what the model it reaches
    takes, and the fake (which refuses a budget out of the model's range) takes it."""
    req = get("anthropic").parse_request(CLAUDE_THINKING)
    body = msgspec.json.decode(render("gemini", req, model or "gemini-x", info=MODEL[model] if model else None))
    assert body["generationConfig"]["thinkingConfig"]["thinkingBudget"] == budget
    if model is not None:
        assert limits.refusal("gemini", model, body) is None


def test_a_google_genai_body_is_fitted_in_its_own_spelling():
    """The SDK's mix (generationConfig camelCase, thinking_config snake_case inside) is fitted too."""
    body = {"generationConfig": {"maxOutputTokens": 4000, "thinking_config": {"thinking_budget": 0}}}
    assert limits.refusal("gemini", "gemini-2.5-pro", body) is not None
    assert _fit("gemini", body, "gemini-2.5-pro") == {
        "generationConfig": {"maxOutputTokens": 4000, "thinking_config": {"thinking_budget": 128}}}


def test_a_budget_below_the_least_that_fits_turns_thinking_to_the_models_default():
    """An output limit too small for 2.5 Pro's least budget leaves thinking to the model (no
    thinkingConfig), which it cannot turn off anyway."""
    body = _gemini({"thinkingBudget": 0}, maxOutputTokens=100)
    assert _fit("gemini", body, "gemini-2.5-pro") == {"generationConfig": {"maxOutputTokens": 100}}


@pytest.mark.parametrize(("model", "body", "expected"), [
    ("deepseek-reasoner", {"max_completion_tokens": 100_000, "temperature": 0.2, "logprobs": True, "top_logprobs": 2,
                           "reasoning_effort": "high"},
     {"max_tokens": 65_536, "temperature": 0.2, "reasoning_effort": "high"}),
    ("deepseek-reasoner", {"max_tokens": 5, "presence_penalty": 0.5}, {"max_tokens": 5, "presence_penalty": 0.5}),
    ("o3", {"max_tokens": 5, "logprobs": True}, {"max_completion_tokens": 5, "logprobs": True}),
    ("gpt-4.1", {"max_completion_tokens": 5, "logprobs": True}, {"max_completion_tokens": 5, "logprobs": True}),
])
def test_openai_reasoning_rules_are_openais_own(model, body, expected):
    """DeepSeek's reasoner takes max_tokens (the renderer's max_completion_tokens, for reasoning, is
    renamed back) and its sampling settings (no effect, no refusal), and refuses logprobs; o3 keeps
    OpenAI's rules, gpt-4.1 takes either field."""
    assert _fit("openai_chat", body, model) == expected
    assert limits.refusal("openai_chat", model, {**expected, "model": model}) is None


def _effort(dialect: str, effort: str) -> dict:
    return {"reasoning_effort": effort} if dialect == "openai_chat" else {"reasoning": {"effort": effort}}


@pytest.mark.parametrize(("dialect", "model", "effort", "expected"), [
    ("openai_chat", "o3", "none", "low"),        # thinking off (Claude's disabled): o3 cannot
    ("openai_chat", "o3", "minimal", "low"),     # a 1,024-token budget
    ("responses", "o4-mini", "xhigh", "high"),   # Codex's xhigh moved to o4-mini
    ("openai_chat", "o3", "medium", "medium"),
    ("openai_chat", "gpt-5.1", "minimal", "none"),   # the aliases of gpt-5.5 reach older models
    ("responses", "gpt-5.1", "xhigh", "high"),
    ("openai_chat", "gpt-5", "none", "minimal"),
    ("responses", "gpt-5", "minimal", "minimal"),
    ("responses", "gpt-5.5", "minimal", "minimal"),  # its own efforts unknown: as asked
])
def test_an_openai_reasoning_effort_is_one_the_model_takes(dialect, model, effort, expected):
    """An effort the model lacks goes as the nearest it has below, else its lowest; the fake refuses
    the effort asked exactly when the API does, and takes the result."""
    body = _effort(dialect, effort)
    assert (limits.refusal(dialect, model, {**body, "model": model}) is not None) == (effort != expected)
    assert _fit(dialect, body, model) == _effort(dialect, expected)
    assert limits.refusal(dialect, model, {**body, "model": model}) is None


def test_the_fakes_refusal_of_an_effort_is_openais():
    """The fake answers an effort o3 lacks in OpenAI's words, code and param."""
    status, body = limits.refusal("openai_chat", "o3", {"reasoning_effort": "none"})
    assert status == 400 and body["error"] == {
        "message": "Unsupported value: 'none' is not supported with the 'o3' model. Supported values are: 'low', "
                   "'medium', and 'high'.", "type": "invalid_request_error", "param": "reasoning_effort",
        "code": "unsupported_value"}


def test_deepseeks_refusal_of_logprobs():
    """The fake answers logprobs to deepseek-reasoner as DeepSeek does."""
    status, body = limits.refusal("openai_chat", "deepseek-reasoner", {"logprobs": True})
    assert status == 400 and body["error"]["message"] == "deepseek-reasoner does not support the parameter `logprobs`"


@pytest.mark.parametrize(("model", "body", "betas", "refused"), [
    ("claude-haiku-4-5", {"max_tokens": 100, "output_config": {"effort": "high"}}, "",
     "output_config.effort: this model does not support the effort parameter"),
    ("claude-sonnet-4-6", {"max_tokens": 100, "output_config": {"effort": "xhigh"}}, "",
     "output_config.effort: 'xhigh' is not supported on this model"),
    ("claude-haiku-4-5", {"max_tokens": 100, "thinking": {"type": "adaptive"}}, "",
     "thinking.type: adaptive thinking is not supported on this model"),
    ("claude-haiku-4-5", {"max_tokens": 100}, "context-1m-2025-08-07",
     "The long context beta is not supported for this model."),
    ("claude-opus-4-8", {"max_tokens": 128_001}, "",
     "max_tokens: 128001 > 128000, which is the maximum allowed number of output tokens for claude-opus-4-8"),
    ("claude-opus-4-8", {"max_tokens": 100, "thinking": {"type": "adaptive"}, "output_config": {"effort": "xhigh"}},
     "context-1m-2025-08-07", None),
])
def test_one_table_of_claude_facts_serves_both_fakes(model, body, betas, refused):
    """The end-to-end fake (``tests.e2e.replies``) and the gateway's (``tests.fakes.limits``) read
    the same Claude facts and refuse with the same words."""
    request = {**body, "model": model}
    assert replies.anthropic_rejection(request, betas) == refused
    if not betas:
        found = limits.refusal("anthropic", model, request)
        assert (found and found[1]["error"]["message"]) == refused


def _dialect(model: str) -> str:
    """The dialect routerd speaks to ``model`` (o4-mini: on a provider that serves Responses)."""
    found = [d for prefix, d in (("claude", "anthropic"), ("gemini", "gemini"), ("o4-mini", "responses"))
             if model.startswith(prefix)]
    return found[0] if found else "openai_chat"


def _translated(front: str, body: dict, model: str) -> dict:
    """``body`` of ``front``'s dialect, translated for ``model`` (its catalogue facts) as the gateway does."""
    req = get(front).parse_request(body)
    return msgspec.json.decode(render(_dialect(model), req, model, info=MODEL[model]))


def _reasoning_sent(body: dict) -> object:
    """What a translated body asks for as reasoning, in its own dialect's terms (Anthropic's with
    its max_tokens)."""
    if "generationConfig" in body:
        return body["generationConfig"].get("thinkingConfig")
    if "thinking" in body or "output_config" in body:
        return body.get("thinking"), (body.get("output_config") or {}).get("effort"), body["max_tokens"]
    return body.get("reasoning_effort") or (body.get("reasoning") or {}).get("effort")


CODEX = {"model": "auto", "input": "hi"}
CHAT = {"model": "auto", "messages": [{"role": "user", "content": "hi"}]}
CLAUDE_CODE = {"model": "auto", "max_tokens": 64_000, "messages": [{"role": "user", "content": "hi"}],
               "thinking": {"type": "adaptive"}}


def _asked(front: str, level: str) -> dict:
    if front == "responses":
        return {**CODEX, "reasoning": {"effort": level}}
    if front == "openai_chat":
        return {**CHAT, "reasoning_effort": level}
    return {**CLAUDE_CODE, "output_config": {"effort": level}}


@pytest.mark.parametrize("level", ["xhigh", "max"])
@pytest.mark.parametrize(("front", "model", "expected"), [
    # Opus 4.7 on takes no budget: adaptive thinking at the level itself
    ("responses", "claude-opus-4-8", {"xhigh": ({"type": "adaptive"}, "xhigh", 36_864),
                                      "max": ({"type": "adaptive"}, "max", 64_000)}),
    # a model that takes budgets: the level's, under the output limit (the client set none here)
    ("openai_chat", "claude-haiku-4-5", {"xhigh": ({"type": "enabled", "budget_tokens": 32_768}, None, 36_864),
                                         "max": ({"type": "enabled", "budget_tokens": 59_904}, None, 64_000)}),
    ("responses", "claude-sonnet-4-6", {"xhigh": ({"type": "enabled", "budget_tokens": 32_768}, None, 36_864),
                                        "max": ({"type": "enabled", "budget_tokens": 59_904}, None, 64_000)}),
    # Gemini 2.5: the model's most; Gemini 3: its highest level
    ("responses", "gemini-2.5-pro", {"xhigh": {"thinkingBudget": 32_768}, "max": {"thinkingBudget": 32_768}}),
    ("openai_chat", "gemini-2.5-flash", {"xhigh": {"thinkingBudget": 24_576}, "max": {"thinkingBudget": 24_576}}),
    ("anthropic", "gemini-2.5-flash", {"xhigh": {"thinkingBudget": 24_576, "includeThoughts": True},
                                       "max": {"thinkingBudget": 24_576, "includeThoughts": True}}),
    ("responses", "gemini-3-flash-preview", {"xhigh": {"thinkingLevel": "high"}, "max": {"thinkingLevel": "high"}}),
    ("anthropic", "gemini-3-pro-preview", {"xhigh": {"thinkingLevel": "high", "includeThoughts": True},
                                           "max": {"thinkingLevel": "high", "includeThoughts": True}}),
    # OpenAI: the level where the model takes it, else the highest below (o3, o4-mini: high)
    ("anthropic", "o3", {"xhigh": "high", "max": "high"}),
    ("anthropic", "o4-mini", {"xhigh": "high", "max": "high"}),
    ("anthropic", "gpt-5", {"xhigh": "high", "max": "high"}),
])
def test_a_top_reasoning_level_stays_the_highest_the_target_takes(front, model, expected, level):
    """xhigh and max (Codex's reasoning.effort, OpenAI's reasoning_effort, Claude Code's
    output_config.effort) reach another company's model as the highest it takes (they became
    medium); the fake of that model takes the result."""
    body = _translated(front, _asked(front, level), model)
    assert _reasoning_sent(body) == expected[level]
    assert limits.refusal(_dialect(model), model, {**body, "model": model}) is None


@pytest.mark.parametrize(("front", "body", "model", "expected"), [
    # OpenAI's max_completion_tokens counts reasoning, as Anthropic's max_tokens counts thinking: the
    # budget goes under it, never the limit up (it went to 24,576 + 4,096 for a limit under 1,025)
    ("openai_chat", {**CHAT, "max_completion_tokens": 3000, "reasoning_effort": "high"}, "claude-haiku-4-5",
     ({"type": "enabled", "budget_tokens": 2999}, None, 3000)),
    ("openai_chat", {**CHAT, "max_completion_tokens": 500, "reasoning_effort": "high"}, "claude-haiku-4-5",
     (None, None, 500)),  # no budget of 1,024 fits: no thinking
    ("responses", {**CODEX, "max_output_tokens": 1024, "reasoning": {"effort": "minimal"}}, "claude-sonnet-4-6",
     (None, None, 1024)),
    ("responses", {**CODEX, "max_output_tokens": 1025, "reasoning": {"effort": "minimal"}}, "claude-sonnet-4-6",
     ({"type": "enabled", "budget_tokens": 1024}, None, 1025)),
    ("gemini", {"contents": [{"parts": [{"text": "hi"}]}],
                "generationConfig": {"maxOutputTokens": 2000, "thinkingConfig": {"thinkingBudget": 8000}}},
     "claude-haiku-4-5", ({"type": "enabled", "budget_tokens": 1999}, None, 2000)),
    # a budget under 1,024 (a Gemini client's) is raised to Anthropic's least, where it fits
    ("gemini", {"contents": [{"parts": [{"text": "hi"}]}],
                "generationConfig": {"maxOutputTokens": 2000, "thinkingConfig": {"thinkingBudget": 300}}},
     "claude-haiku-4-5", ({"type": "enabled", "budget_tokens": 1024}, None, 2000)),
    # no limit set: room for the budget and an answer
    ("openai_chat", {**CHAT, "reasoning_effort": "high"}, "claude-haiku-4-5",
     ({"type": "enabled", "budget_tokens": 24_576}, None, 24_576 + 4096)),
    # Gemini counts thinking in maxOutputTokens: the budget goes under the client's limit
    ("anthropic", {**CLAUDE_CODE, "max_tokens": 3000, "thinking": {"type": "enabled", "budget_tokens": 2500}},
     "gemini-2.5-flash", {"thinkingBudget": 2500, "includeThoughts": True}),
    ("openai_chat", {**CHAT, "max_completion_tokens": 3000, "reasoning_effort": "high"}, "gemini-2.5-flash",
     {"thinkingBudget": 2999}),
])
def test_a_clients_output_limit_is_never_raised(front, body, model, expected):
    """The client's output limit is what goes upstream (a model's own limit aside): a thinking
    budget that does not fit under it is shrunk, or thinking dropped where the least the API takes
    (Anthropic's 1,024) does not fit; the fake, which refuses a budget at or above max_tokens or
    under 1,024 as the API does, takes the result."""
    sent = _translated(front, body, model)
    if isinstance(expected, tuple) and expected[0] is None:
        assert "thinking" not in sent and sent["max_tokens"] == expected[2]
    else:
        assert _reasoning_sent(sent) == expected
    assert limits.refusal(_dialect(model), model, {**sent, "model": model}) is None


@pytest.mark.parametrize(("budget", "max_tokens", "refused"), [
    (1023, 4096, "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024"),
    (4096, 4096, "`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our documentation "
                 "at https://docs.claude.com/en/docs/build-with-claude/extended-thinking"),
    (1024, 1025, None),
])
def test_the_fakes_refuse_a_budget_as_anthropic_does(budget, max_tokens, refused):
    """The fake Claude answers a budget under 1,024 or not below max_tokens in the API's words."""
    found = limits.refusal("anthropic", "claude-haiku-4-5", {
        "max_tokens": max_tokens, "thinking": {"type": "enabled", "budget_tokens": budget}})
    assert (found and found[1]["error"]["message"]) == refused
