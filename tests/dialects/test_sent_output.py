"""``translate.sent_output`` (what budgets hold for a request that sets no output limit) is the
output limit ``render`` puts in the body it sends, for every pair of dialects, with and without a
reasoning ask and a limit, to a model the catalogue knows and one it does not."""

import msgspec
import pytest

from routerd.catalogue.builtin import load_catalogue
from routerd.dialects.registry import get
from routerd.dialects.translate import render, sent_output

CATALOGUE = load_catalogue()
HI_CHAT = [{"role": "user", "content": "hi"}]
FRONTS = {
    "openai_chat": [{"messages": HI_CHAT}, {"messages": HI_CHAT, "reasoning_effort": "xhigh"},
                    {"messages": HI_CHAT, "reasoning_effort": "max"}, {"messages": HI_CHAT, "reasoning_effort": "none"},
                    {"messages": HI_CHAT, "reasoning_effort": "low", "max_completion_tokens": 900}],
    "responses": [{"input": "hi"}, {"input": "hi", "reasoning": {"effort": "high"}},
                  {"input": "hi", "reasoning": {"effort": "medium"}, "max_output_tokens": 20_000}],
    "gemini": [{"contents": [{"role": "user", "parts": [{"text": "hi"}]}]},
               {"contents": [{"role": "user", "parts": [{"text": "hi"}]}],
                "generationConfig": {"thinkingConfig": {"thinkingBudget": 100_000}}}],
    "anthropic": [{"messages": HI_CHAT, "max_tokens": 2_000, "thinking": {"type": "enabled", "budget_tokens": 1_500}}],
}
# model -> the dialect it is sent in: a Claude the catalogue knows (64K output), one it does not,
# and the other companies' models.
TARGETS = {"claude-sonnet-4-6": "anthropic", "claude-3-opus-20240229": "anthropic", "gpt-5.1": "openai_chat",
           "o3": "responses", "gemini-2.5-pro": "gemini"}


def _sent(dialect: str, body: dict) -> int | None:
    if dialect == "gemini":
        return body.get("generationConfig", {}).get("maxOutputTokens")
    if dialect == "responses":
        return body.get("max_output_tokens")
    return body.get("max_completion_tokens", body.get("max_tokens"))


@pytest.mark.parametrize(("front", "model"), [(front, model) for front in FRONTS for model, target in TARGETS.items()
                                               if target != front])
def test_the_held_output_is_the_rendered_output(front, model):
    """What ``sent_output`` says is what the rendered (and fitted) body asks the model for."""
    target = TARGETS[model]
    info = CATALOGUE.get(model)
    for body in FRONTS[front]:
        raw = msgspec.json.encode(body)
        req = get(front).parse_request(raw, model=model if front == "gemini" else None)
        rendered = msgspec.json.decode(render(target, req, model, info=info))
        assert sent_output(front, (target,), raw, info, front_model=model if front == "gemini" else None) \
            == _sent(target, rendered), (front, model, body)


@pytest.mark.parametrize(("effort", "expected"), [("low", 6_144), ("medium", 12_288), ("high", 28_672),
                                                 ("xhigh", 36_864), ("max", 64_000), ("none", 4_096)])
def test_an_effort_without_a_limit_sends_claude_its_budget_and_room_for_an_answer(effort, expected):
    """An OpenAI client's effort with no limit, to a Claude the catalogue does not know: the budget
    plus 4,096 (4,096 alone without thinking)."""
    raw = msgspec.json.encode({"messages": HI_CHAT, "reasoning_effort": effort})
    assert sent_output("openai_chat", ("anthropic",), raw, None) == expected
