"""Scenario detection on real captures of Claude Code and Codex, and on each dialect's shapes."""

import msgspec
import pytest

from routerd.dialects.registry import get as dialect
from routerd.scenarios import markers
from routerd.scenarios.detect import detect, think_level
from routerd.scenarios.markers import offered_hosted
from routerd.scenarios.tokens import TokenCount
from tests.scenarios.captures import load, names

anthropic = dialect("anthropic")
gemini = dialect("gemini")
openai_chat = dialect("openai_chat")
responses = dialect("responses")

# What each captured request is (its scenario), as the client's own behaviour defines it.
EXPECTED = {
    "claude-code-2.1.197-main": "default",
    "claude-code-2.1.197-after-subagent": "default",
    "claude-code-2.1.197-subagent": "subagent",
    "claude-code-2.1.197-web-search": "web_search",
    "claude-code-2.1.197-hook-haiku": "background",
    "claude-code-2.1.197-stop-hook": "background",
    "claude-code-2.1.197-stop-hook-auto": "background",
    "claude-code-2.1.197-prompt-hook": "background",
    "claude-code-2.1.197-main-no-tools": "default",
    "claude-code-2.1.197-agent-hook": "subagent",
    "claude-code-2.0.77-main": "default",
    "claude-code-2.0.77-general-subagent": "subagent",
    "claude-code-2.0.77-explore-warmup": "subagent",
    "claude-code-2.0.77-bash-agent-warmup": "subagent",
    "codex-0.169-main": "default",
    "codex-0.169-subagent": "subagent",
}


def _detect(name: str, **kwargs):
    capture = load(name)
    return detect(capture.request, capture.headers, model=capture.model, tokens=kwargs.pop("tokens", None),
                  hosted_tools=capture.hosted_tools, **kwargs)


def test_every_capture_has_an_expectation() -> None:
    """No captured request is left without the scenario it should be detected as."""
    assert sorted(EXPECTED) == names()


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_captured_requests_get_their_scenario(name: str) -> None:
    """Each real request is detected as what the client sent it for."""
    found = _detect(name)
    assert found.scenario == EXPECTED[name], found.explain()


def test_claude_code_2_1_subagent_markers() -> None:
    """Claude Code 2.1.197 marks a subagent in a header; the header alone is enough."""
    found = _detect("claude-code-2.1.197-subagent")
    assert "x-claude-code-agent-id" in found.reasons[0]
    capture = load("claude-code-2.1.197-subagent")
    headers = {k: v for k, v in capture.headers.items() if k != "x-claude-code-agent-id"}
    again = detect(capture.request, headers, model=capture.model, tokens=None)
    assert again.scenario == "subagent" and "cc_is_subagent" in again.reasons[0]


def test_explore_agent_on_haiku_is_a_subagent_that_also_asked_for_haiku() -> None:
    """Claude Code's Explore agent asks for Haiku: a subagent first, background second."""
    found = _detect("claude-code-2.0.77-explore-warmup")
    assert found.matched == ("subagent", "background")


def test_main_turns_are_not_think_at_the_default_adaptive_effort() -> None:
    """Claude Code's every turn (adaptive thinking, effort high) is not a request to think."""
    capture = load("claude-code-2.1.197-main")
    assert think_level(capture.request) == ("high", True)
    body = dict(capture.body, output_config={"effort": "max"})
    found = detect(anthropic.parse_request(body), capture.headers, model=capture.model, tokens=None)
    assert found.scenario == "think" and found.think_level == "max"


def test_codex_offers_web_search_on_every_turn_without_being_a_search() -> None:
    """Codex's web_search tool beside its function tools is a capability, not the scenario."""
    found = _detect("codex-0.169-main")
    assert found.scenario == "default" and found.offers_web_search


def test_long_context_comes_first() -> None:
    """A subagent call over the threshold is long_context first, subagent second."""
    found = _detect("claude-code-2.1.197-subagent", tokens=TokenCount(base=70_000))
    assert found.matched[:2] == ("long_context", "subagent")
    assert found.tokens == 70_000 and found.tokens_exact
    under = _detect("claude-code-2.1.197-subagent", tokens=TokenCount(base=59_000))
    assert under.scenario == "subagent"


def test_threshold_is_compared_in_the_clients_family() -> None:
    """The same cl100k count crosses a Claude threshold before an OpenAI one (Claude counts more)."""
    capture = load("claude-code-2.1.197-main")
    count = TokenCount(base=56_000)
    as_claude = detect(capture.request, {}, model="claude-opus-4-8", tokens=count, family="claude-2026")
    as_openai = detect(capture.request, {}, model="claude-opus-4-8", tokens=count, family="openai")
    assert as_claude.scenario == "long_context" and as_openai.scenario == "default"


@pytest.mark.parametrize("header, value, scenario", [
    ("x-openai-subagent", "review", "subagent"),
    ("x-openai-subagent", "collab_spawn", "subagent"),
    ("x-openai-subagent", "compact", "background"),
    ("x-openai-subagent", "memory_consolidation", "background"),
    ("x-openai-memgen-request", "true", "background"),
    ("x-codex-turn-metadata", '{"thread_source": "subagent"}', "subagent"),
])
def test_codex_headers(header: str, value: str, scenario: str) -> None:
    """Codex's documented x-openai-subagent values and turn metadata map to their scenario."""
    capture = load("codex-0.169-main")
    headers = {k: v for k, v in capture.headers.items() if k != "x-codex-turn-metadata"} | {header: value}
    assert detect(capture.request, headers, model=capture.model, tokens=None).scenario == scenario


@pytest.mark.parametrize("model", ["claude-haiku-4-5", "claude-haiku-4-5-20251001", "claude-3-5-haiku-latest",
                                   "haiku", "anthropic/claude-haiku-4-5", "claude-routerd-auto-haiku"])
def test_haiku_names_are_background(model: str) -> None:
    """Every spelling of Claude's small/fast slot is background."""
    request = anthropic.parse_request({"model": model, "max_tokens": 10, "messages": [{"role": "user", "content": "t"}]})
    assert detect(request, {}, model=model, tokens=None).scenario == "background"


@pytest.mark.parametrize("model", ["claude-opus-4-8", "gpt-6-luna", "shaiku-9", "claude-routerd-auto"])
def test_other_names_are_not_background(model: str) -> None:
    """A name with no Haiku in it (or haiku inside another word) is not the small slot."""
    request = anthropic.parse_request({"model": model, "max_tokens": 10, "messages": [{"role": "user", "content": "t"}]})
    assert detect(request, {}, model=model, tokens=None).scenario == "default"


def test_ccr_subagent_tag_pins_a_model() -> None:
    """claude-code-router's <CCR-SUBAGENT-MODEL> tag marks a subagent and names its model."""
    body = {"model": "claude-sonnet-4-6", "max_tokens": 10,
            "system": [{"type": "text", "text": "You are Claude Code."},
                       {"type": "text", "text": "<CCR-SUBAGENT-MODEL>openrouter/qwen3-coder</CCR-SUBAGENT-MODEL> Review."}],
            "messages": [{"role": "user", "content": "go"}]}
    found = detect(anthropic.parse_request(body), {}, model=body["model"], tokens=None)
    assert found.scenario == "subagent" and found.pinned_model == "openrouter/qwen3-coder"


def test_hook_evaluator_in_claude_code_is_not_a_subagent() -> None:
    """A prompt saying "in Claude Code" (its hook evaluator) is not an agent's prompt."""
    capture = load("claude-code-2.1.197-hook-haiku")
    request = anthropic.parse_request(dict(capture.body, model="claude-opus-4-8"))
    assert "subagent" not in detect(request, {}, model="claude-opus-4-8", tokens=None).matched


@pytest.mark.parametrize("name", ["claude-code-2.1.197-stop-hook", "claude-code-2.1.197-stop-hook-auto",
                                  "claude-code-2.1.197-prompt-hook"])
def test_a_prompt_hook_on_the_main_model_is_a_side_query(name: str) -> None:
    """Claude Code's prompt hooks without a small-model slot (its main model, or an auto name) are
    background by their shape: no tools, no thinking, from Claude Code."""
    found = _detect(name)
    assert found.matched == ("background",) and "side query" in found.reasons[0], found.explain()
    assert not markers.is_haiku(load(name).model)


def test_a_side_query_is_known_by_shape_not_by_words() -> None:
    """The Stop hook's request with its thinking on, or with no sign of Claude Code, is an ask: the
    shape makes the side query, not its prompt."""
    capture = load("claude-code-2.1.197-stop-hook")
    thinking = anthropic.parse_request(dict(capture.body, thinking={"type": "adaptive"}))
    assert detect(thinking, capture.headers, model=capture.model, tokens=None).scenario == "default"
    system = [b for b in capture.body["system"] if not b["text"].startswith("x-anthropic-billing-header")]
    anonymous = anthropic.parse_request(dict(capture.body, system=system))
    headers = {k: v for k, v in capture.headers.items() if k != "x-app"}
    assert detect(anonymous, headers, model=capture.model, tokens=None).scenario == "default"
    assert detect(anonymous, capture.headers, model=capture.model, tokens=None).scenario == "background"
    tools = anthropic.parse_request(dict(capture.body, tools=load("claude-code-2.1.197-main").body["tools"]))
    assert detect(tools, capture.headers, model=capture.model, tokens=None).scenario == "default"
    # Claude Code's count_tokens call (its body as sent: no system, no tools, no max_tokens) asks for
    # no answer: it is counted where the conversation goes.
    count = anthropic.parse_request({"model": capture.model, "messages": capture.body["messages"], "tools": []})
    assert detect(count, capture.headers, model=capture.model, tokens=None).scenario == "default"


def test_an_agent_hook_is_a_subagent_by_its_verdict_tool() -> None:
    """Claude Code's agent hook (StructuredOutput, no Agent tool, no thinking) is a subagent; the
    same tools beside the Agent tool (the main loop run with --json-schema), or with thinking, are
    not, nor are they without the verdict tool."""
    capture = load("claude-code-2.1.197-agent-hook")
    found = _detect("claude-code-2.1.197-agent-hook")
    assert found.scenario == "subagent" and "agent hook" in found.reasons[0]
    tools = capture.body["tools"]
    agent = next(t for t in load("claude-code-2.1.197-main").body["tools"] if t["name"] == "Agent")
    for body in (dict(capture.body, tools=[*tools, agent]), dict(capture.body, thinking={"type": "adaptive"}),
                 dict(capture.body, tools=[t for t in tools if t["name"] != "StructuredOutput"])):
        request = anthropic.parse_request(body)
        assert detect(request, capture.headers, model=capture.model, tokens=None).scenario == "default"


def test_the_x_app_header_reaches_the_markers() -> None:
    """The gateway copies ``x-app`` (Claude Code's ``cli``) among the marker headers."""
    assert markers.marker_headers({b"x-app": b"cli", b"x-api-key": b"secret"}) == {"x-app": "cli"}


PNG = "iVBORw0KGgo="


@pytest.mark.parametrize("dialect, body", [
    ("anthropic", {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
        {"type": "text", "text": "what is this?"}]}]}),
    ("openai", {"model": "m", "messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
        {"type": "text", "text": "what is this?"}]}]}),
    ("responses", {"model": "m", "input": [{"role": "user", "content": [
        {"type": "input_image", "image_url": f"data:image/png;base64,{PNG}"},
        {"type": "input_text", "text": "what is this?"}]}]}),
    ("gemini", {"contents": [{"role": "user", "parts": [{"inlineData": {"mimeType": "image/png", "data": PNG}},
                                                        {"text": "what is this?"}]}]}),
])
def test_image_in_each_dialect(dialect: str, body: dict) -> None:
    """An image in the latest user message is the image scenario in every dialect."""
    parse = {"anthropic": anthropic.parse_request, "openai": openai_chat.parse_request,
             "responses": responses.parse_request, "gemini": gemini.parse_request}[dialect]
    found = detect(parse(body), {}, model="m", tokens=None)
    assert found.scenario == "image" and found.needs_vision


def test_image_only_in_history_is_a_need_not_the_scenario() -> None:
    """An image earlier in the conversation still needs vision, but the ask is not about it."""
    body = {"model": "m", "max_tokens": 5, "messages": [
        {"role": "user", "content": [{"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                                                  "data": PNG}}]},
        {"role": "assistant", "content": "a cat"}, {"role": "user", "content": "thanks"}]}
    found = detect(anthropic.parse_request(body), {}, model="m", tokens=None)
    assert found.scenario == "default" and found.needs_vision


@pytest.mark.parametrize("dialect, body", [
    ("anthropic", {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "news?"}],
                   "tools": [{"type": "web_search_20250305", "name": "web_search", "max_uses": 3}]}),
    ("responses", {"model": "m", "input": "news?", "tools": [{"type": "web_search_preview"}]}),
    ("responses", {"model": "m", "input": "news?", "tools": [{"type": "web_search"}]}),
    ("gemini", {"contents": [{"role": "user", "parts": [{"text": "news?"}]}], "tools": [{"google_search": {}}]}),
    ("gemini", {"contents": [{"role": "user", "parts": [{"text": "news?"}]}], "tools": [{"googleSearch": {}}]}),
    ("openai", {"model": "gpt-4o-search-preview", "messages": [{"role": "user", "content": "news?"}],
                "web_search_options": {}}),
])
def test_web_search_in_each_dialect(dialect: str, body: dict) -> None:
    """Each dialect's hosted web search, offered alone, is the web_search scenario."""
    parse = {"anthropic": anthropic.parse_request, "openai": openai_chat.parse_request,
             "responses": responses.parse_request, "gemini": gemini.parse_request}[dialect]
    found = detect(parse(body), {}, model="m", tokens=None, hosted_tools=offered_hosted(msgspec.json.encode(body.get("tools"))))
    assert found.scenario == "web_search" and found.offers_web_search


@pytest.mark.parametrize("dialect, body, level", [
    ("anthropic", {"thinking": {"type": "enabled", "budget_tokens": 20000}}, "high"),
    ("anthropic", {"thinking": {"type": "enabled", "budget_tokens": 2000}}, "low"),
    ("anthropic", {"thinking": {"type": "adaptive"}, "output_config": {"effort": "xhigh"}}, "xhigh"),
    ("anthropic", {"thinking": {"type": "disabled"}}, "none"),
    ("openai", {"reasoning_effort": "high"}, "high"),
    ("openai", {"reasoning_effort": "low"}, "low"),
    ("responses", {"reasoning": {"effort": "high", "summary": "auto"}}, "high"),
    ("gemini", {"generationConfig": {"thinkingConfig": {"thinkingBudget": 24576}}}, "high"),
])
def test_think_levels(dialect: str, body: dict, level: str) -> None:
    """The reasoning level is read from each dialect's own field; high and above is think."""
    base = {"anthropic": {"model": "m", "max_tokens": 30000, "messages": [{"role": "user", "content": "prove it"}]},
            "openai": {"model": "m", "messages": [{"role": "user", "content": "prove it"}]},
            "responses": {"model": "m", "input": "prove it"},
            "gemini": {"contents": [{"role": "user", "parts": [{"text": "prove it"}]}]}}[dialect]
    parse = {"anthropic": anthropic.parse_request, "openai": openai_chat.parse_request,
             "responses": responses.parse_request, "gemini": gemini.parse_request}[dialect]
    found = detect(parse(base | body), {}, model="m", tokens=None)
    assert found.think_level == level
    assert (found.scenario == "think") == (level in ("high", "xhigh", "max"))
    lowered = detect(parse(base | body), {}, model="m", tokens=None, min_think_level="low")
    assert (lowered.scenario == "think") == (level in ("low", "high", "xhigh", "max"))


def test_explain_names_every_match() -> None:
    """The explanation names the scenario first and every other match after it."""
    found = _detect("claude-code-2.0.77-explore-warmup")
    assert found.explain().startswith("subagent (") and "; also background (" in found.explain()
    assert _detect("codex-0.169-main").explain() == "default (no scenario marker)"
