"""Non-streaming responses across dialects, error bodies, and bad input."""

import itertools

import msgspec
import pytest

from routerd.dialects.canonical import ChatResponse, ReasoningPart, TextPart, ToolCallPart, Usage
from routerd.dialects.registry import DIALECTS, NAMES, get
from routerd.errors import BadRequest, UpstreamBadResponse
from tests.dialects.norm import renumber_ids

anthropic = get("anthropic")
gemini = get("gemini")
openai_chat = get("openai_chat")
responses = get("responses")

RESPONSE = ChatResponse(id="msg_1", model="up", stop_reason="tool_use",
                        content=[TextPart("Checking."), ToolCallPart("call_1", "get_weather", '{"city":"Paris"}')],
                        usage=Usage(input_tokens=120, output_tokens=30, cached_input_tokens=100, reasoning_tokens=0))


@pytest.mark.parametrize(("src", "dst"), list(itertools.permutations(sorted(NAMES), 2)))
def test_response_round_trip(src, dst):
    """Text, a tool call, stop reason and usage survive src -> dst -> canonical."""
    body = DIALECTS[src].render_response(RESPONSE, "m")
    first = DIALECTS[src].parse_response(body)
    again = DIALECTS[dst].parse_response(DIALECTS[dst].render_response(first, "client-model"))
    keep = ("content", "stop_reason", "usage")
    assert renumber_ids({k: getattr(again, k) for k in keep}) == renumber_ids({k: getattr(RESPONSE, k) for k in keep})


@pytest.mark.parametrize("stop", ["end_turn", "max_tokens", "content_filter"])
def test_stop_reasons_map_everywhere(stop):
    """Canonical stop reasons survive each dialect's own spelling."""
    resp = ChatResponse(id="r", content=[TextPart("x")], stop_reason=stop)
    for name in NAMES:
        dialect = DIALECTS[name]
        assert dialect.parse_response(dialect.render_response(resp, "m")).stop_reason == stop, name


def test_reasoning_in_responses():
    """Reasoning text reaches each dialect's own place for it."""
    resp = ChatResponse(id="r", content=[ReasoningPart("because"), TextPart("yes")],
                        usage=Usage(10, 50, 0, 40))
    assert openai_chat.render_response(resp, "m", created=0)["choices"][0]["message"]["reasoning_content"] == "because"
    assert anthropic.render_response(resp, "m")["content"] == [{"type": "text", "text": "yes"}]  # unsigned
    assert anthropic.render_response(resp, "m", unsigned_thinking=True)["content"][0] == {
        "type": "thinking", "thinking": "because", "signature": ""}
    assert gemini.render_response(resp, "m")["candidates"][0]["content"]["parts"][0] == {"text": "because", "thought": True}
    assert gemini.render_response(resp, "m")["usageMetadata"]["candidatesTokenCount"] == 10
    assert responses.render_response(resp, "m")["output"][0]["type"] == "reasoning"
    for dialect in map(DIALECTS.get, NAMES):
        assert dialect.parse_response(dialect.render_response(resp, "m")).content[-1] == TextPart("yes")


def test_anthropic_usage_counts_cache_as_input():
    """Anthropic's input_tokens excludes cache reads; canonical input includes them and back."""
    body = anthropic.render_response(RESPONSE, "m")
    assert body["usage"]["input_tokens"] == 20 and body["usage"]["cache_read_input_tokens"] == 100
    assert anthropic.parse_response(body).usage == RESPONSE.usage


def test_deepseek_cache_hits_reach_other_dialects_as_cache_reads():
    """DeepSeek's answer counts cache reads in prompt_cache_hit_tokens; an Anthropic client sees them."""
    body = {"id": "5f1c", "object": "chat.completion", "created": 1764800000, "model": "deepseek-chat",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 1500, "completion_tokens": 7, "total_tokens": 1507,
                      "prompt_cache_hit_tokens": 1280, "prompt_cache_miss_tokens": 220}}
    usage = openai_chat.parse_response(body).usage
    assert (usage.input_tokens, usage.cached_input_tokens, usage.output_tokens) == (1500, 1280, 7)
    rendered = anthropic.render_response(openai_chat.parse_response(body), "claude-sonnet-4-6")["usage"]
    assert (rendered["input_tokens"], rendered["cache_read_input_tokens"]) == (220, 1280)


def test_error_bodies():
    """Each dialect's error shape."""
    assert openai_chat.error_body(400, "bad", "bad_request") == {
        "error": {"message": "bad", "type": "invalid_request_error", "param": None, "code": "bad_request"}}
    assert responses.error_body(429, "slow")["error"]["type"] == "rate_limit_error"
    assert anthropic.error_body(529, "busy") == {"type": "error", "error": {"type": "overloaded_error", "message": "busy"}}
    assert anthropic.error_body(502, "x")["error"]["type"] == "api_error"
    # Google pairs an HTTP 502 with UNAVAILABLE (google-api-core's BadGateway), 504 DEADLINE_EXCEEDED.
    assert gemini.error_body(502, "x")["error"]["status"] == "UNAVAILABLE"
    assert gemini.error_body(504, "x")["error"]["status"] == "DEADLINE_EXCEEDED"
    assert gemini.error_body(500, "x")["error"]["status"] == "INTERNAL"
    assert openai_chat.error_body(404, "gone", "model_not_found")["error"]["type"] == "invalid_request_error"


def test_one_error_shape_whole_and_mid_stream():
    """A dialect's error event that ends a broken stream carries the same body as its whole error."""
    for name in NAMES:
        dialect = DIALECTS[name]
        event = dialect.stream_error(502, "cut", "upstream_error")
        data = event.split(b"data: ", 1)[1].rstrip(b"\n")
        if name == "responses":  # Responses streams end with their own error event
            assert msgspec.json.decode(data)["type"] == "error"
        else:
            assert msgspec.json.decode(data) == dialect.error_body(502, "cut", "upstream_error"), name
    assert gemini.error_body(404, "no model") == {"error": {"code": 404, "message": "no model", "status": "NOT_FOUND"}}


BAD = [
    (openai_chat, [], "body: expected a JSON object"),
    (openai_chat, {"model": "x"}, "body: object missing required field `messages`"),
    (openai_chat, {"messages": [{"role": "user", "content": [{"type": "foo"}]}]},
     "messages[0].content[0].type: unknown part type 'foo'"),
    (openai_chat, {"messages": [{"role": "wizard", "content": "x"}]}, "messages[0].role"),
    (openai_chat, {"messages": [], "max_tokens": "ten"}, "max_tokens: expected `int | null`, got `str`"),
    (anthropic, {"messages": [{"role": "user", "content": [{"type": "text"}]}]},
     "messages[0].content[0]: object missing required field `text`"),
    (anthropic, {"messages": [{"role": "user", "content": [{"type": "image", "source": {"type": "file"}}]}]},
     "messages[0].content[0].source.type: unknown part type 'file'"),
    (responses, {"input": [{"type": "wat"}]}, "input[0].type: unknown item type 'wat'"),
    (responses, {"input": [{"type": "function_call", "name": "f"}]},
     "input[0]: object missing required field `call_id`"),
    (responses, {"input": [{"role": "user", "content": [{"type": "input_text", "text": 5}]}]},
     "input[0].content[0].text: expected `str`, got `int`"),
    (gemini, {"contents": [{"role": "user", "parts": [{}]}]}, "contents[0].parts[0]: unsupported part"),
    (gemini, {"contents": "hi"}, "contents: expected `array`, got `str`"),
]


@pytest.mark.parametrize(("dialect", "body", "message"), BAD)
def test_bad_requests_name_the_field(dialect, body, message):
    """Wrong shapes raise BadRequest whose message names the field, never KeyError/TypeError."""
    with pytest.raises(BadRequest) as info:
        dialect.parse_request(body)
    assert message in info.value.message


def test_parse_request_accepts_raw_bytes():
    """A body may be passed as bytes (decoded once, straight into typed structs)."""
    body = {"model": "x", "messages": [{"role": "user", "content": "hi"}]}
    assert openai_chat.parse_request(msgspec.json.encode(body)).messages == openai_chat.parse_request(body).messages
    with pytest.raises(BadRequest, match="invalid JSON"):
        openai_chat.parse_request(b"{nope")
    assert openai_chat.parse_request(msgspec.json.encode({**body, "logprobs": True})).extra == {"logprobs": True}


def test_bad_upstream_response_is_an_upstream_error():
    """An upstream body of the wrong shape is the upstream's fault (retryable), not the client's."""
    for dialect in map(DIALECTS.get, NAMES):
        with pytest.raises(UpstreamBadResponse) as info:
            dialect.parse_response({"choices": "no", "content": 3, "output": 1, "candidates": 2})
        assert ": expected" in info.value.message
    with pytest.raises(UpstreamBadResponse):
        openai_chat.parse_response(b"<html>")
