"""Arbitrary JSON never escapes as anything but BadRequest (requests) or UpstreamBadResponse
(answers and stream events): the front turns those into the dialect's own error."""

import os

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from routerd.dialects.registry import DIALECTS, NAMES
from routerd.errors import BadRequest, UpstreamBadResponse
from tests.dialects import fixtures as fx

# Field names and type tags of all four dialects, so that generated bodies reach deep paths.
KEYS = ["model", "messages", "role", "content", "type", "text", "image_url", "url", "source", "data",
        "media_type", "tool_calls", "id", "function", "name", "arguments", "tool_call_id", "tools",
        "input_schema", "parameters", "tool_choice", "input", "call_id", "output", "summary", "contents",
        "parts", "functionCall", "functionResponse", "args", "response", "inlineData", "mimeType",
        "systemInstruction", "generationConfig", "thinkingConfig", "thinking", "budget_tokens", "system",
        "stream", "max_tokens", "instructions", "reasoning", "effort", "tool_use_id", "is_error", "stop"]
TAGS = ["text", "image", "image_url", "tool_use", "tool_result", "thinking", "message", "function",
        "function_call", "function_call_output", "reasoning", "input_text", "output_text", "input_image",
        "user", "assistant", "system", "tool", "model", "base64", "auto", "any", "enabled"]

scalars = st.none() | st.booleans() | st.integers(-5, 5) | st.sampled_from(TAGS) | st.text(max_size=5)
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.sampled_from(KEYS), inner, max_size=5), max_leaves=25)
# FUZZ_EXAMPLES=2000 for a longer local run (CI keeps it short)
FUZZ = settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", "150")), deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("name", NAMES)
@FUZZ
@given(body=json_values)
def test_requests_fail_only_with_bad_request(name, body):
    """parse_request on arbitrary JSON returns a request or raises BadRequest."""
    try:
        DIALECTS[name].parse_request(body)
    except BadRequest:
        pass


@pytest.mark.parametrize("name", NAMES)
@FUZZ
@given(body=json_values)
def test_answers_fail_only_with_upstream_bad_response(name, body):
    """parse_response and the stream decoder on arbitrary JSON raise only UpstreamBadResponse."""
    try:
        DIALECTS[name].parse_response(body)
    except UpstreamBadResponse:
        pass
    try:
        DIALECTS[name].stream_decoder().feed(None, msgspec.json.encode(body).decode())
    except UpstreamBadResponse:
        pass


@pytest.mark.parametrize("name", NAMES)
@FUZZ
@given(data=st.data())
def test_mutated_real_requests(name, data):
    """A real request with one field replaced by junk parses or raises BadRequest."""
    base = {"openai_chat": fx.OPENAI_TOOL_CONVERSATION, "anthropic": fx.ANTHROPIC_TOOL_CONVERSATION,
            "responses": fx.RESPONSES_CODEX_REQUEST, "gemini": fx.GEMINI_REQUEST}[name]
    body = msgspec.json.decode(msgspec.json.encode(base))
    node = body
    for _ in range(data.draw(st.integers(0, 4))):
        if isinstance(node, dict) and node:
            key = data.draw(st.sampled_from(sorted(node)))
        elif isinstance(node, list) and node:
            key = data.draw(st.integers(0, len(node) - 1))
        else:
            break
        if not isinstance(node[key], (dict, list)):
            break
        node = node[key]
    if isinstance(node, dict) and node:
        node[data.draw(st.sampled_from(sorted(node)))] = data.draw(json_values)
    elif isinstance(node, list) and node:
        node[data.draw(st.integers(0, len(node) - 1))] = data.draw(json_values)
    try:
        req = DIALECTS[name].parse_request(body)
    except BadRequest:
        return
    for target in NAMES:  # whatever parsed must also render everywhere
        DIALECTS[target].render_request(req, "m")
