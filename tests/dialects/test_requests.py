"""Request translation: each dialect parses faithfully, and every pair of dialects round-trips."""

import itertools

import msgspec
import pytest

from routerd.dialects.canonical import (
    ChatRequest, ImagePart, Message, Reasoning, ReasoningPart, TextPart, Tool, ToolCallPart, ToolChoice,
    ToolResultPart,
)
from routerd.dialects.summary import estimate_tokens, to_classifier_messages
from routerd.dialects.gemini.request import join_signature, split_signature
from routerd.dialects.registry import DIALECTS, NAMES, get
from routerd.dialects.translate import render
from routerd.errors import BadRequest
from tests.dialects import fixtures as fx
from tests.dialects.norm import conversation

anthropic = get("anthropic")
gemini = get("gemini")
openai_chat = get("openai_chat")
responses = get("responses")

TOOL_CONVERSATION = ChatRequest(
    model="m", system="You are terse.",
    messages=[
        Message("user", [TextPart("What is this, and the weather?"), ImagePart(data=fx.PNG_B64, media_type="image/png")]),
        Message("assistant", [TextPart("Checking."), ToolCallPart("call_1", "get_weather", '{"city":"Paris"}'),
                              ToolCallPart("call_2", "get_weather", '{"city":"Rome"}')]),
        Message("user", [ToolResultPart("call_1", [TextPart("18C")]), ToolResultPart("call_2", [TextPart("24C")]),
                         TextPart("And tomorrow?")]),
        Message("assistant", [TextPart("Unknown.")]),
        Message("user", [TextPart("ok")]),
    ],
    tools=[Tool("get_weather", "Weather now", fx.WEATHER_SCHEMA)],
    tool_choice=ToolChoice("tool", "get_weather"), max_tokens=32000)


def test_openai_parse():
    """OpenAI chat: system, image data URL, tool call, tool message merged with the next user turn."""
    req = openai_chat.parse_request(fx.OPENAI_TOOL_CONVERSATION)
    assert req.system == "You are terse." and req.max_tokens == 32000 and req.temperature == 0.2
    user, assistant, results = req.messages
    assert user.content[1] == ImagePart(data=fx.PNG_B64, media_type="image/png")
    assert assistant.content == [TextPart("A dot. Checking the weather."),
                                 ToolCallPart("call_abc123", "get_weather", '{"city":"Paris"}')]
    assert results.content == [ToolResultPart("call_abc123", [TextPart("18C and sunny")]),
                               TextPart("Thanks. And tomorrow?")]
    assert req.tool_choice == ToolChoice("auto")


def test_anthropic_parse():
    """Anthropic: system blocks, thinking with signature, tool_use input as JSON text, budget, user id."""
    req = anthropic.parse_request(fx.ANTHROPIC_TOOL_CONVERSATION)
    assert req.system == "You are terse." and req.stream and req.user == "user_42"
    assert req.messages[1].content[0] == ReasoningPart("Need the tool.", signature="EqQBCkYIBxgCKkB")
    assert req.messages[1].content[2] == ToolCallPart("toolu_01A09q90qw90lq917835lq9", "get_weather", '{"city":"Paris"}')
    assert req.reasoning == Reasoning(budget_tokens=8192, include_thoughts=True)
    assert req.reasoning.resolved_effort() == "medium"


def test_anthropic_mid_conversation_system_messages_join_the_system_prompt():
    """Claude Code's system messages inside `messages` fold into the system prompt, in order."""
    req = anthropic.parse_request({
        "model": "claude-x", "max_tokens": 10, "system": [{"type": "text", "text": "top"}],
        "messages": [{"role": "user", "content": "hi"},
                     {"role": "system", "content": "Available agent types: general"},
                     {"role": "assistant", "content": [{"type": "text", "text": "hello"}]},
                     {"role": "system", "content": [{"type": "text", "text": "reminder"}]}]})
    assert req.system == "top\n\nAvailable agent types: general\n\nreminder"
    assert [m.role for m in req.messages] == ["user", "assistant"]
    assert openai_chat.render_request(req, "gpt-4o")["messages"][0]["role"] == "system"


def test_responses_parse_codex_request():
    """Responses: instructions + developer text make the system; items fold into turns; built-in tools drop."""
    req = responses.parse_request(fx.RESPONSES_CODEX_REQUEST)
    assert req.system == "You are Codex, a coding agent.\n\nSandbox: workspace-write"
    assert [m.role for m in req.messages] == ["user", "assistant", "user", "assistant", "user"]
    assert req.messages[1].content[0] == ReasoningPart("Use shell.", encrypted="gAAAAB", id="rs_1")
    assert req.messages[1].content[1] == ToolCallPart("call_shell1", "shell", '{"command":["ls"]}')
    assert req.messages[2].content == [ToolResultPart("call_shell1", [TextPart("README.md\nsrc\n")])]
    assert [t.name for t in req.tools] == ["shell"]
    assert req.tool_choice == ToolChoice("auto", parallel=False)
    assert req.extra == {"store": False, "include": ["reasoning.encrypted_content"], "prompt_cache_key": "0199-session"}


def test_gemini_parse_synthesises_ids_and_matches_responses():
    """Gemini: ids are synthesised and stable; responses match calls of the same name in order."""
    req = gemini.parse_request(fx.GEMINI_REQUEST, model="gemini-2.5-flash", stream=True)
    assert req.model == "gemini-2.5-flash" and req.stream and req.max_tokens == 2048
    calls = req.messages[1].content
    results = req.messages[2].content
    assert [r.tool_call_id for r in results] == [c.id for c in calls]
    assert results[0].content == [TextPart('{"temp_c":18}')]
    assert split_signature(calls[0].id) == (calls[0].id.split("__ts__")[0], "CiQB0e2Kb+/xAA==")
    assert gemini.parse_request(fx.GEMINI_REQUEST).messages == req.messages  # stable ids
    assert req.reasoning == Reasoning(budget_tokens=2048, include_thoughts=True)


@pytest.mark.parametrize("name", sorted(NAMES))
def test_same_dialect_keeps_unknown_fields(name):
    """Rendering back into the source dialect keeps fields routerd has no canonical home for."""
    body = {"openai_chat": {**fx.OPENAI_TOOL_CONVERSATION, "seed": 7, "response_format": {"type": "json_object"}},
            "anthropic": {**fx.ANTHROPIC_TOOL_CONVERSATION, "top_k": 5},
            "responses": fx.RESPONSES_CODEX_REQUEST, "gemini": fx.GEMINI_REQUEST}[name]
    dialect = DIALECTS[name]
    out = dialect.render_request(dialect.parse_request(body), "other-model")
    for key in body.keys() - {"model", "system", "instructions", "input", "messages"}:
        assert key in out, key
    assert dialect.parse_request(out).messages == dialect.parse_request(body).messages


@pytest.mark.parametrize(("src", "dst"), list(itertools.permutations(sorted(NAMES), 2)))
def test_round_trip_between_every_pair(src, dst):
    """A tool conversation with an image survives src -> dst -> src, ids mapped consistently."""
    a, b = DIALECTS[src], DIALECTS[dst]
    start = a.parse_request(a.render_request(TOOL_CONVERSATION, "m"), model="m")
    there = b.parse_request(b.render_request(start, "m"), model="m")
    back = a.parse_request(a.render_request(there, "m"), model="m")
    assert conversation(there) == conversation(start) == conversation(TOOL_CONVERSATION)
    assert conversation(back) == conversation(start)
    assert start.origin == src and not any(k in b.render_request(start, "m") for k in start.extra)


@pytest.mark.parametrize("effort", ["minimal", "low", "medium", "high", "xhigh", "max"])
def test_reasoning_effort_maps_through_every_dialect(effort):
    """OpenAI reasoning_effort <-> Responses effort <-> Anthropic budget <-> Gemini thinkingBudget,
    every level back as itself (xhigh and max too: they became medium)."""
    req = ChatRequest(messages=[Message("user", [TextPart("think")])], max_tokens=64000,
                      reasoning=Reasoning(effort=effort))
    for name in NAMES:
        dialect = DIALECTS[name]
        again = dialect.parse_request(dialect.render_request(req, "m"))
        assert again.reasoning.resolved_effort() == effort, name
    body = anthropic.render_request(req, "claude")
    assert body["thinking"] == {"type": "enabled", "budget_tokens": req.reasoning.resolved_budget()}
    assert gemini.render_request(req, "")["generationConfig"]["thinkingConfig"]["thinkingBudget"] > 0
    assert openai_chat.render_request(req, "o3")["reasoning_effort"] == effort
    assert responses.render_request(req, "gpt-5")["reasoning"] == {"effort": effort}


def test_anthropic_budget_respects_max_tokens_and_temperature():
    """A budget is clamped under the client's max_tokens, which is never raised: thinking is dropped
    where no budget of 1,024 fits; a client that set no limit gets room for the budget and an
    answer; translated thinking drops temperature (the rule every Messages request routerd sends
    follows: ``dialects.fit``)."""
    req = ChatRequest(messages=[Message("user", [TextPart("x")])], max_tokens=3000, temperature=0.3,
                      reasoning=Reasoning(effort="high"), origin="openai_chat")
    body = msgspec.json.decode(render("anthropic", req, "claude"))
    assert body["thinking"]["budget_tokens"] == 2999 and body["max_tokens"] == 3000
    assert "temperature" not in body
    small = msgspec.json.decode(render("anthropic", msgspec.structs.replace(req, max_tokens=500), "claude"))
    assert "thinking" not in small and small["max_tokens"] == 500
    unset = msgspec.json.decode(render("anthropic", msgspec.structs.replace(req, max_tokens=None), "claude"))
    assert unset["thinking"]["budget_tokens"] == 24_576 and unset["max_tokens"] == 24_576 + 4096
    off = anthropic.render_request(msgspec.structs.replace(req, reasoning=Reasoning(effort="none")), "claude")
    assert off["thinking"] == {"type": "disabled"}


def test_tool_choice_and_stop_mapping():
    """Required/named tool choice and stop sequences map to each dialect's spelling."""
    req = ChatRequest(messages=[Message("user", [TextPart("x")])], tools=[Tool("f", "d", {"type": "object"})],
                      tool_choice=ToolChoice("required", parallel=False), stop=["END"])
    assert anthropic.render_request(req, "c")["tool_choice"] == {"type": "any", "disable_parallel_tool_use": True}
    assert openai_chat.render_request(req, "g")["tool_choice"] == "required"
    assert gemini.render_request(req, "")["toolConfig"] == {"functionCallingConfig": {"mode": "ANY"}}
    assert anthropic.render_request(req, "c")["stop_sequences"] == ["END"]
    assert openai_chat.render_request(req, "g")["stop"] == ["END"]


def test_thinking_without_signature_is_not_sent_to_anthropic():
    """Reasoning from another dialect has no signature and Anthropic would reject it."""
    req = ChatRequest(messages=[Message("user", [TextPart("q")]),
                                Message("assistant", [ReasoningPart("hmm"), TextPart("a")])])
    assert anthropic.render_request(req, "c")["messages"][1]["content"] == [{"type": "text", "text": "a"}]


def test_gemini_signature_returns_to_gemini_from_an_openai_client():
    """A Gemini call's thoughtSignature survives a trip through an OpenAI client's history."""
    resp = gemini.parse_response({"candidates": [{"content": {"role": "model", "parts": [
        {"functionCall": {"name": "f", "args": {}}, "thoughtSignature": "ab+/cd=="}]}, "finishReason": "STOP"}]})
    call = resp.content[0]
    assert all(c.isalnum() or c in "_-" for c in call.id)
    client = openai_chat.render_response(resp, "m", created=0)
    history = {"messages": [{"role": "user", "content": "q"}, client["choices"][0]["message"],
                            {"role": "tool", "tool_call_id": call.id, "content": "42"}]}
    body = gemini.render_request(openai_chat.parse_request(history), "")
    assert body["contents"][1]["parts"][0]["thoughtSignature"] == "ab+/cd=="
    assert body["contents"][2]["parts"][0]["functionResponse"] == {"name": "f", "response": {"content": "42"}}


def test_image_url_and_tool_result_images_to_openai():
    """URL images keep their URL; images inside tool results follow as a user message for OpenAI."""
    req = ChatRequest(messages=[Message("assistant", [ToolCallPart("c", "shot", "{}")]),
                                Message("user", [ToolResultPart("c", [TextPart("see"), ImagePart(url="https://x/y.png")])])])
    msgs = openai_chat.render_request(req, "m")["messages"]
    assert msgs[1] == {"role": "tool", "tool_call_id": "c", "content": "see"}
    assert msgs[2]["content"][0]["image_url"] == {"url": "https://x/y.png"}
    assert anthropic.render_request(req, "c")["messages"][1]["content"][0]["content"][1] == {
        "type": "image", "source": {"type": "url", "url": "https://x/y.png"}}


def test_classifier_messages_and_token_estimate():
    """The classifier sees role/content dicts; the estimate grows with text, images and tools."""
    msgs = to_classifier_messages(TOOL_CONVERSATION)
    assert msgs[0] == {"role": "system", "content": "You are terse."}
    assert msgs[1]["content"][1] == {"type": "image"}
    assert msgs[2]["content"][1]["type"] == "tool_call" and msgs[3]["content"][0]["type"] == "tool_result"
    assert msgs[-1] == {"role": "user", "content": "ok"}
    small = estimate_tokens(ChatRequest(messages=[Message("user", [TextPart("x" * 400)])]))
    assert 100 <= small <= 110
    assert estimate_tokens(TOOL_CONVERSATION) > 1200


def test_classifier_accepts_the_messages():
    """routerd.classify can classify what to_classifier_messages produces."""
    from routerd.classify.classifier import classify

    result = classify(to_classifier_messages(TOOL_CONVERSATION))
    assert result.tier in ("simple", "moderate", "complex")


def test_claude_code_server_tool_blocks_do_not_break_parsing():
    """Web-search blocks and documents in Claude Code's history parse; results survive as text."""
    body = {"model": "claude", "max_tokens": 100, "messages": [
        {"role": "user", "content": [{"type": "document", "source": {"type": "text", "media_type": "text/plain",
                                                                     "data": "The doc."}}]},
        {"role": "assistant", "content": [
            {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {"query": "x"}},
            {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": [
                {"type": "web_search_result", "title": "X", "url": "https://x.example", "encrypted_content": "e"}]},
            {"type": "text", "text": "Found it.", "citations": [{"type": "web_search_result_location"}]}]},
        {"role": "user", "content": [{"type": "text", "text": "thanks"}]}],
        "tools": [{"type": "web_search_20250305", "name": "web_search", "max_uses": 3}]}
    req = anthropic.parse_request(body)
    assert req.messages[0].content == [TextPart("The doc.")]
    assert req.messages[1].content == [TextPart("Web search results:\n- X (https://x.example)"), TextPart("Found it.")]
    assert req.tools == []


def test_codex_freeform_and_hosted_items():
    """Codex's custom tool calls become JSON tool calls; hosted-tool items are skipped."""
    body = {"model": "gpt-5", "input": [
        {"role": "user", "content": "patch it"},
        {"type": "custom_tool_call", "call_id": "c1", "name": "apply_patch", "input": "*** Begin Patch"},
        {"type": "custom_tool_call_output", "call_id": "c1", "output": "Done"},
        {"type": "web_search_call", "id": "ws_1", "status": "completed", "action": {"type": "search"}}],
        "tools": [{"type": "custom", "name": "apply_patch", "description": "Patch files", "format": {"type": "text"}}],
        "tool_choice": {"type": "allowed_tools", "mode": "required", "tools": []}}
    req = responses.parse_request(body)
    assert req.messages[1].content == [ToolCallPart("c1", "apply_patch", '{"input":"*** Begin Patch"}')]
    assert req.messages[2].content == [ToolResultPart("c1", [TextPart("Done")])]
    assert req.tools[0].parameters["required"] == ["input"] and req.tool_choice == ToolChoice("required")
    assert openai_chat.parse_request({"messages": [{"role": "user", "content": [
        {"type": "input_audio", "input_audio": {"data": "", "format": "wav"}}, {"type": "text", "text": "hi"}]}]}
    ).messages[0].content == [TextPart("hi")]


def test_codex_additional_tools_item_offers_its_tools():
    """Codex on a model it knows sends its tools in an ``additional_tools`` input item (namespaced,
    freeform among them) instead of ``tools``: they are the request's tools, each name once, and the
    item is no turn of the conversation."""
    shell = {"type": "function", "name": "exec_command", "parameters": {"type": "object", "properties": {}}}
    body = {"model": "gpt-6.1-sol", "input": [
        {"type": "additional_tools", "id": "at_1", "role": "developer", "tools": [
            {"type": "namespace", "name": "functions", "description": "", "tools": [
                {"type": "custom", "name": "exec", "description": "Run code", "format": {"type": "text"}}, shell]},
            {"type": "namespace", "name": "collaboration", "tools": [
                {"type": "function", "name": "spawn_agent", "parameters": {"type": "object"}},
                {"type": "function", "name": "spawn_agent", "parameters": {"type": "object"}}]}]},
        {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "You are Codex."}]},
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "say hi"}]}],
        "tools": [shell], "reasoning": {"effort": "low", "context": "all_turns"}}
    req = responses.parse_request(body)
    names = ["exec_command", "ns__functions__exec", "ns__functions__exec_command", "ns__collaboration__spawn_agent"]
    assert [t.name for t in req.tools] == names
    assert req.tools[1].parameters["required"] == ["input"]
    assert req.system == "You are Codex." and [m.role for m in req.messages] == ["user"]
    rendered = anthropic.render_request(req, "claude-x")
    assert [t["name"] for t in rendered["tools"]] == names
    with pytest.raises(BadRequest, match=r"input\[0\]\.tools"):
        responses.parse_request({"input": [{"type": "additional_tools", "tools": "all"}]})


def test_an_end_user_id_stays_with_its_vendor():
    """Claude Code's ``metadata.user_id`` (its device id, account and session) goes to Anthropic as
    it is, but to OpenAI only as a stable hash; an OpenAI user id crosses to Responses unchanged."""
    claude_user = '{"device_id":"d3v1ce","account_uuid":"acc-1","session_id":"s-1"}'
    req = anthropic.parse_request({"model": "claude-x", "max_tokens": 10, "metadata": {"user_id": claude_user},
                                   "messages": [{"role": "user", "content": "hi"}]})
    assert anthropic.render_request(req, "claude-y")["metadata"] == {"user_id": claude_user}
    sent = {openai_chat.render_request(req, "gpt-x")["user"], responses.render_request(req, "gpt-x")["user"]}
    [hashed] = sent
    assert "d3v1ce" not in hashed and len(hashed) <= 64
    assert openai_chat.render_request(anthropic.parse_request({
        "model": "claude-x", "max_tokens": 10, "metadata": {"user_id": claude_user},
        "messages": [{"role": "user", "content": "another"}]}), "gpt-x")["user"] == hashed
    chat = openai_chat.parse_request({"model": "gpt-x", "user": "u-42", "messages": [{"role": "user", "content": "hi"}]})
    assert responses.render_request(chat, "gpt-y")["user"] == "u-42"
    assert anthropic.render_request(chat, "claude-y")["metadata"]["user_id"] != "u-42"


def test_empty_turns_are_not_sent_to_anthropic():
    """An assistant turn that held only foreign reasoning vanishes rather than being sent empty."""
    req = ChatRequest(messages=[Message("user", [TextPart("q")]), Message("assistant", [ReasoningPart("x")]),
                                Message("user", [TextPart("again")])])
    assert [m["role"] for m in anthropic.render_request(req, "c")["messages"]] == ["user", "user"]
    assert openai_chat.render_request(req, "g")["messages"][1] == {"role": "assistant", "content": ""}


def test_gemini_code_execution_parts_become_text():
    """Gemini's executableCode / codeExecutionResult parts are kept as text."""
    req = gemini.parse_request({"contents": [{"role": "model", "parts": [
        {"executableCode": {"language": "PYTHON", "code": "print(1)"}},
        {"codeExecutionResult": {"outcome": "OUTCOME_OK", "output": "1\n"}}]}]})
    assert req.messages[0].content == [TextPart("```python\nprint(1)\n```"), TextPart("1\n")]


def test_empty_text_is_not_sent_where_it_is_refused():
    """OpenAI's common ``content: ""`` beside tool calls never becomes an empty Anthropic/Gemini part."""
    req = openai_chat.parse_request({"messages": [
        {"role": "user", "content": "go"},
        {"role": "assistant", "content": "", "tool_calls": [{"id": "c", "type": "function",
                                                            "function": {"name": "f", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "c", "content": ""}]})
    assert anthropic.render_request(req, "c")["messages"][1]["content"] == [
        {"type": "tool_use", "id": "c", "name": "f", "input": {}}]
    assert anthropic.render_request(req, "c")["messages"][2]["content"] == [{"type": "tool_result", "tool_use_id": "c"}]
    assert gemini.render_request(req, "")["contents"][1]["parts"] == [{"functionCall": {"name": "f", "args": {}}}]


def test_tool_ids_fit_every_upstream():
    """Ids too long for OpenAI (40) or with characters Anthropic refuses map consistently."""
    long_id = join_signature("call_x", "A" * 200)
    req = ChatRequest(messages=[
        Message("user", [TextPart("q")]),
        Message("assistant", [ToolCallPart(long_id, "f", "{}"), ToolCallPart("functions.get_weather:0", "g", "{}")]),
        Message("user", [ToolResultPart(long_id, [TextPart("1")]), ToolResultPart("functions.get_weather:0", [TextPart("2")])])])
    chat = openai_chat.render_request(req, "m")["messages"]
    ids = [c["id"] for c in chat[1]["tool_calls"]]
    assert all(len(i) <= 40 for i in ids) and [chat[2]["tool_call_id"], chat[3]["tool_call_id"]] == ids
    claude = anthropic.render_request(req, "c")["messages"]
    assert claude[1]["content"][1]["id"] == "functions_get_weather_0"
    assert [b["tool_use_id"] for b in claude[2]["content"]] == [b["id"] for b in claude[1]["content"]]


@pytest.mark.parametrize(("effort", "expected"), [("high", "high"), ("low", "low"), ("xhigh", "xhigh"), ("max", "max"),
                                               (None, "high")])
def test_adaptive_thinking_keeps_the_effort_asked_for(effort, expected):
    """Claude Code sends adaptive thinking with output_config.effort "high": translated, the effort
    stays high (it became medium, the default for adaptive thinking), xhigh and max stay themselves
    (``fit`` then lowers them for a model that lacks them); none set is the API's default, high
    ("Equivalent to not setting the parameter", platform.claude.com, Effort; it was medium)."""
    body = {"model": "claude-opus-4-8", "max_tokens": 32000, "thinking": {"type": "adaptive"},
            "messages": [{"role": "user", "content": "hi"}]}
    if effort is not None:
        body["output_config"] = {"effort": effort}
    req = anthropic.parse_request(body)
    assert responses.render_request(req, "gpt-6.1-sol")["reasoning"]["effort"] == expected
    assert openai_chat.render_request(req, "o3")["reasoning_effort"] == expected
