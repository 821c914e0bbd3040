"""The bytes-level helpers the gateway calls: requests, answers, streams and errors across dialects."""

import msgspec
import pytest

from routerd.catalogue.models import ModelInfo
from routerd.dialects.canonical import MessageStop, TextDelta, ToolCallStart, Usage
from routerd.dialects.structured import JSON_TOOL, JSON_TOOL_DESCRIPTION, JSON_VALUE_TOOL
from routerd.dialects.structured_answer import Reading
from routerd.dialects.registry import NAMES, get
from routerd.dialects.sse import SSEDecoder
from routerd.errors import UpstreamBadResponse
from routerd.dialects.translate import (
    StreamTranslator, count_tokens, error_message, render, render_read, wants_usage_chunk, translate_error, translate_request, translate_response,
)
from tests.dialects import fixtures as fx

anthropic = get("anthropic")
openai_chat = get("openai_chat")

RECORDED = {"openai_chat": fx.OPENAI_STREAM, "anthropic": fx.ANTHROPIC_STREAM,
            "responses": fx.RESPONSES_STREAM, "gemini": fx.GEMINI_STREAM}


def test_request_bytes_to_bytes():
    """An Anthropic body (Claude Code style) becomes an OpenAI chat body for the chosen model."""
    body = translate_request("anthropic", "openai_chat", msgspec.json.encode(fx.ANTHROPIC_TOOL_CONVERSATION), "gpt-4o-mini")
    out = msgspec.json.decode(body)
    assert out["model"] == "gpt-4o-mini" and out["stream"] is True
    assert out["stream_options"] == {"include_usage": True}
    assert [m["role"] for m in out["messages"]] == ["system", "user", "assistant", "tool", "user"]
    assert out["messages"][2]["tool_calls"][0]["id"] == "toolu_01A09q90qw90lq917835lq9"
    assert out["reasoning_effort"] == "medium" and out["max_completion_tokens"] == 32000


def test_gemini_front_takes_model_and_stream_from_the_url():
    """A Gemini client's body names no model; the URL's model and stream flag are passed in."""
    # its first turn only: a tool loop without Claude's signed thinking goes without thinking
    request = {**fx.GEMINI_REQUEST, "contents": fx.GEMINI_REQUEST["contents"][:1]}
    body = translate_request("gemini", "anthropic", msgspec.json.encode(request), "claude-haiku-4-5",
                             stream=True, front_model="gemini-2.5-flash")
    out = msgspec.json.decode(body)
    assert out["model"] == "claude-haiku-4-5" and out["stream"] is True
    assert out["thinking"] == {"type": "enabled", "budget_tokens": 2047} and out["max_tokens"] == 2048
    assert get("gemini").upstream_path("gemini-2.5-flash", True) == b"/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
    assert get("gemini").upstream_path("gemini-2.5-flash", False) == b"/v1beta/models/gemini-2.5-flash:generateContent"
    assert get("openai_chat").upstream_path("x", True) == b"/chat/completions"


def test_response_bytes_to_bytes():
    """A whole Anthropic answer becomes an OpenAI chat completion naming the client's model."""
    answer = {"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-haiku-4-5",
              "content": [{"type": "text", "text": "Hi."}], "stop_reason": "end_turn", "stop_sequence": None,
              "usage": {"input_tokens": 5, "output_tokens": 2}}
    out = msgspec.json.decode(translate_response("anthropic", "openai_chat", msgspec.json.encode(answer), "auto"))
    assert out["choices"][0]["message"]["content"] == "Hi." and out["model"] == "auto"
    assert out["usage"]["prompt_tokens"] == 5 and out["choices"][0]["finish_reason"] == "stop"


@pytest.mark.parametrize("src", sorted(RECORDED))
@pytest.mark.parametrize("dst", sorted(NAMES))
def test_stream_translator_any_chunking(src, dst):
    """The translator's output does not depend on how the upstream bytes were chunked."""
    def run(size: int) -> tuple[bytes, StreamTranslator]:
        tr = StreamTranslator(src, dst, "client-model", message_id="m1")
        payload = RECORDED[src]
        out = b"".join(tr.feed(payload[i:i + size]) for i in range(0, len(payload), size))
        return out + tr.close(), tr

    whole, tr = run(1 << 20)
    assert tr.completed and tr.usage is not None and tr.usage.output_tokens > 0
    if dst not in ("openai_chat", "responses"):  # those stamp a creation time; compare the rest
        assert run(3)[0] == whole
    events = SSEDecoder().feed(whole)
    assert len(events) == tr.events_out > 0


def test_stream_translator_cut_stream_ends_with_error_event():
    """A Responses upstream cut before response.completed ends the Anthropic client's stream with an error."""
    cut = fx.RESPONSES_STREAM[: fx.RESPONSES_STREAM.index(b"event: response.completed")]
    tr = StreamTranslator("responses", "anthropic", "claude")
    out = tr.feed(cut) + tr.close()
    assert not tr.completed and out.rstrip().split(b"\n")[-2] == b"event: error"
    broken = StreamTranslator("openai_chat", "anthropic", "claude")
    assert b"event: error" in broken.feed(fx.OPENAI_STREAM[:300]) + broken.fail("connection reset")


def test_a_bad_stream_event_raises_and_fail_keeps_the_events_before_it():
    """A bad event raises UpstreamBadResponse; what its chunk held before it comes out of ``fail``,
    ahead of the front's error event."""
    good = b'data: {"id":"c1","model":"m","choices":[{"index":0,"delta":{"content":"Hel"}}]}\n\n'
    tr = StreamTranslator("openai_chat", "anthropic", "claude")
    with pytest.raises(UpstreamBadResponse, match="bad chat completion chunk"):
        tr.feed(good + b"data: [1,2]\n\n")
    out = tr.fail("bad event")
    assert b'"text":"Hel"' in out and out.rstrip().split(b"\n")[-2] == b"event: error"


def test_errors_translate_between_shapes():
    """Upstream error bodies keep their message and status in the front's shape."""
    upstream = msgspec.json.encode(anthropic.error_body(429, "Number of requests exceeded"))
    out = msgspec.json.decode(translate_error("anthropic", "openai_chat", 429, upstream, "rate_limited"))
    assert out == openai_chat.error_body(429, "Number of requests exceeded", "rate_limited")
    assert translate_error("openai_chat", "openai_chat", 400, b"as is") == b"as is"
    gemini_err = b'{"error": {"code": 400, "message": "API key not valid", "status": "INVALID_ARGUMENT"}}'
    assert msgspec.json.decode(translate_error("gemini", "anthropic", 400, gemini_err))["error"]["message"] == "API key not valid"
    assert error_message(b"<html>502 Bad Gateway</html>") == "<html>502 Bad Gateway</html>"


def test_usage_is_reported_canonically():
    """The translator's usage follows the canonical reading (input includes cache reads)."""
    tr = StreamTranslator("anthropic", "openai_chat", "m")
    tr.feed(fx.ANTHROPIC_STREAM)
    assert tr.usage == Usage(600, 89, 128, 0)


def test_count_tokens_estimates_locally():
    """count_tokens answers in Anthropic's shape from the local estimate."""
    out = msgspec.json.decode(count_tokens("anthropic", msgspec.json.encode(fx.ANTHROPIC_TOOL_CONVERSATION)))
    assert set(out) == {"input_tokens"} and 1200 < out["input_tokens"] < 2000


@pytest.mark.parametrize("target", ["openai_chat", "responses", "anthropic", "gemini"])
def test_reasoning_can_be_left_out_for_models_that_refuse_it(target):
    """reasoning=False drops every dialect's reasoning parameter (Claude Code's thinking -> gpt-4o-mini)."""
    body = msgspec.json.encode({**fx.ANTHROPIC_TOOL_CONVERSATION, "model": "claude"})
    front = "openai_chat" if target == "anthropic" else "anthropic"
    if front == "openai_chat":
        # up to the first user turn: a tool loop without Claude's signed thinking goes without thinking
        messages = fx.OPENAI_TOOL_CONVERSATION["messages"][:2]
        body = msgspec.json.encode({**fx.OPENAI_TOOL_CONVERSATION, "messages": messages, "reasoning_effort": "high"})
    on = msgspec.json.decode(translate_request(front, target, body, "m"))
    off = msgspec.json.decode(translate_request(front, target, body, "m", reasoning=False))
    keys = {"openai_chat": "reasoning_effort", "responses": "reasoning", "anthropic": "thinking"}
    if target == "gemini":
        assert "thinkingConfig" in on["generationConfig"] and "thinkingConfig" not in off["generationConfig"]
    else:
        assert keys[target] in on and keys[target] not in off


def test_wants_usage_chunk_reads_both_json_spacings():
    """Compact and spaced JSON (the openai SDK's) both ask for the usage chunk."""
    assert wants_usage_chunk(b'{"stream_options":{"include_usage":true}}')
    assert wants_usage_chunk(b'{"stream_options": {"include_usage": true}}')
    assert not wants_usage_chunk(b'{"stream_options": {"include_usage": false}}')


# --- structured output ---------------------------------------------------------------------------

_SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"],
           "additionalProperties": False}
_CHAT_JSON = {"model": "gpt-x", "messages": [{"role": "user", "content": "Where?"}], "seed": 7, "presence_penalty": 0.5,
              "frequency_penalty": 0.25,
              "response_format": {"type": "json_schema", "json_schema": {"name": "Place", "schema": _SCHEMA, "strict": True}}}
_GEMINI_JSON = {"contents": [{"role": "user", "parts": [{"text": "Where?"}]}],
                "generationConfig": {"responseMimeType": "application/json", "topK": 5, "seed": 3,
                                     "responseSchema": {"type": "OBJECT", "properties": {"city": {"type": "STRING"}}}}}


def _claude(json_output: bool) -> ModelInfo:
    return ModelInfo(id="claude-x", provider="anthropic", tier="simple", json_output=json_output)


def test_json_schema_and_sampling_settings_cross_every_dialect():
    """An OpenAI chat json_schema (and seed, penalties) reaches Responses, Gemini and Claude in their own fields."""
    body = msgspec.json.encode(_CHAT_JSON)
    out = msgspec.json.decode(translate_request("openai_chat", "responses", body, "gpt-y"))
    assert out["text"] == {"format": {"type": "json_schema", "name": "Place", "schema": _SCHEMA, "strict": True}}
    out = msgspec.json.decode(translate_request("openai_chat", "gemini", body, "gemini-y"))
    assert out["generationConfig"] == {"responseMimeType": "application/json", "responseJsonSchema": _SCHEMA,
                                       "seed": 7}  # no penalties: Gemini 2.5 on refuses them
    req = openai_chat.parse_request(body)
    out = msgspec.json.decode(render("anthropic", req, "claude-x", info=_claude(True)))
    assert out["output_config"] == {"format": {"type": "json_schema", "schema": _SCHEMA}} and "tools" not in out
    assert "seed" not in out and "presence_penalty" not in out


def test_gemini_response_schema_reaches_openai_as_a_named_json_schema():
    """Gemini's responseSchema (OpenAPI subset) and topK/seed become JSON Schema with the name OpenAI requires."""
    out = msgspec.json.decode(translate_request("gemini", "openai_chat", msgspec.json.encode(_GEMINI_JSON), "gpt-y",
                                                stream=False, front_model="g"))
    assert out["response_format"] == {"type": "json_schema", "json_schema": {
        "name": "response", "schema": {"type": "object", "properties": {"city": {"type": "string"}}}}}
    assert out["seed"] == 3 and "topK" not in out and "top_k" not in out
    penalties = {**_GEMINI_JSON, "generationConfig": {"presencePenalty": 0.5, "frequencyPenalty": 0}}
    out = msgspec.json.decode(translate_request("gemini", "openai_chat", msgspec.json.encode(penalties), "gpt-y",
                                                stream=False, front_model="g"))
    assert out["presence_penalty"] == 0.5 and "frequency_penalty" not in out  # 0 is the default
    claude = msgspec.json.decode(translate_request("gemini", "anthropic", msgspec.json.encode(_GEMINI_JSON), "c",
                                                   stream=False, front_model="g"))
    assert claude["top_k"] == 5
    mode = {**_GEMINI_JSON, "generationConfig": {"response_mime_type": "application/json"}}
    out = msgspec.json.decode(translate_request("gemini", "responses", msgspec.json.encode(mode), "gpt-y",
                                                stream=False, front_model="g"))
    assert out["text"] == {"format": {"type": "json_object"}}


def test_claude_without_native_json_gets_a_forced_tool_read_back_as_text():
    """A Claude model without output_config.format answers through a forced tool; its input comes back as text."""
    req = openai_chat.parse_request(msgspec.json.encode({**_CHAT_JSON, "reasoning_effort": "low"}))
    body, reading = render_read("anthropic", req, "claude-x", info=_claude(False))
    out = msgspec.json.decode(body)
    assert out["tools"] == [{"name": JSON_TOOL, "description": JSON_TOOL_DESCRIPTION, "input_schema": _SCHEMA}]
    assert out["tool_choice"] == {"type": "tool", "name": JSON_TOOL}
    assert "thinking" not in out and "output_config" not in out  # Anthropic refuses thinking with a forced tool
    answer = {"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-x", "stop_reason": "tool_use",
              "content": [{"type": "tool_use", "id": "toolu_1", "name": JSON_TOOL, "input": {"city": "Oslo"}}],
              "usage": {"input_tokens": 3, "output_tokens": 4}}
    chat = msgspec.json.decode(translate_response("anthropic", "openai_chat", msgspec.json.encode(answer), "gpt-x",
                                                  reading))
    assert chat["choices"][0]["message"]["content"] == '{"city":"Oslo"}'
    assert chat["choices"][0]["finish_reason"] == "stop" and not chat["choices"][0]["message"].get("tool_calls")


@pytest.mark.parametrize("front", ["openai_chat", "responses", "gemini"])
def test_forced_tool_stream_reads_back_as_text(front):
    """A streamed forced-tool answer reaches each client dialect as text deltas that join into the JSON."""
    events = [
        ("message_start", {"type": "message_start", "message": {"id": "msg_1", "type": "message", "role": "assistant",
         "model": "claude-x", "content": [], "usage": {"input_tokens": 3, "output_tokens": 1}}}),
        ("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {
            "type": "tool_use", "id": "toolu_1", "name": JSON_TOOL, "input": {}}}),
        ("content_block_delta", {"type": "content_block_delta", "index": 0,
                                 "delta": {"type": "input_json_delta", "partial_json": '{"city": '}}),
        ("content_block_delta", {"type": "content_block_delta", "index": 0,
                                 "delta": {"type": "input_json_delta", "partial_json": '"Oslo"}'}}),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 9}}),
        ("message_stop", {"type": "message_stop"}),
    ]
    sse = b"".join(b"event: " + n.encode() + b"\ndata: " + msgspec.json.encode(d) + b"\n\n" for n, d in events)
    tr = StreamTranslator("anthropic", front, "m", reading=Reading(JSON_TOOL))
    out = tr.feed(sse) + tr.close()
    assert tr.completed
    back = SSEDecoder()
    decoder = get(front).stream_decoder()
    evs = [e for n, d in back.feed(out) for e in decoder.feed(n, d)]
    text = "".join(e.text for e in evs if isinstance(e, TextDelta))
    assert msgspec.json.decode(text) == {"city": "Oslo"}
    assert not any(isinstance(e, ToolCallStart) for e in evs)
    assert [e.stop_reason for e in evs if isinstance(e, MessageStop)] == ["end_turn"]


@pytest.mark.parametrize("schema", [
    {"type": "object", "properties": {"n": {"type": "integer"}}},                               # open object
    {**_SCHEMA, "properties": {"city": {"type": "string", "maxLength": 40}}},                    # a refused keyword
    {**_SCHEMA, "properties": {"c": {"type": "array", "minItems": 2, "items": {"type": "string"}}}},
])
def test_a_schema_anthropic_refuses_natively_goes_as_the_forced_tool(schema):
    """Anthropic's output_config.format wants closed objects and no length/range keywords; such a schema takes the tool."""
    body = {**_CHAT_JSON, "response_format": {"type": "json_schema", "json_schema": {"name": "P", "schema": schema}}}
    out = msgspec.json.decode(render("anthropic", openai_chat.parse_request(msgspec.json.encode(body)), "claude-x",
                                     info=_claude(True)))
    assert "output_config" not in out and out["tools"][0]["input_schema"] == schema


def test_beside_the_clients_tools_the_json_tool_is_one_the_model_must_choose_from():
    """With tools of the client's, the JSON tool joins them and tool_choice becomes any: a real call still goes back."""
    body = {**_CHAT_JSON, "tools": [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}]}
    out = msgspec.json.decode(render("anthropic", openai_chat.parse_request(msgspec.json.encode(body)), "claude-x",
                                     info=_claude(False)))
    assert [t["name"] for t in out["tools"]] == ["lookup", JSON_TOOL] and out["tool_choice"] == {"type": "any"}


def test_an_array_answer_goes_through_the_value_tool_and_streams_back_unwrapped():
    """A list schema (no tool input can be one) is wrapped as {"value": ...} with $defs at the root,
    even for a model with the native field; the streamed answer comes back as the bare list."""
    schema = {"type": "array", "items": {"$ref": "#/$defs/P"}, "$defs": {"P": _SCHEMA}}
    body = {**_CHAT_JSON, "response_format": {"type": "json_schema", "json_schema": {"name": "L", "schema": schema}}}
    sent, reading = render_read("anthropic", openai_chat.parse_request(msgspec.json.encode(body)), "claude-x",
                                info=_claude(True))
    out = msgspec.json.decode(sent)
    assert out["tools"][0] == {"name": JSON_VALUE_TOOL, "description": JSON_TOOL_DESCRIPTION, "input_schema": {
        "type": "object", "properties": {"value": {"type": "array", "items": {"$ref": "#/$defs/P"}}},
        "required": ["value"], "additionalProperties": False, "$defs": {"P": _SCHEMA}}}
    assert out["tool_choice"] == {"type": "tool", "name": JSON_VALUE_TOOL}
    pieces = ['{"val', 'ue": [{"ci', 'ty": "Oslo"}]', "}"]
    sse = b"".join(b"event: " + n.encode() + b"\ndata: " + msgspec.json.encode(d) + b"\n\n" for n, d in [
        ("message_start", {"type": "message_start", "message": {"id": "m", "model": "c", "usage": {"input_tokens": 1}}}),
        ("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {
            "type": "tool_use", "id": "t", "name": JSON_VALUE_TOOL, "input": {}}}),
        *[("content_block_delta", {"type": "content_block_delta", "index": 0,
                                   "delta": {"type": "input_json_delta", "partial_json": p}}) for p in pieces],
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 5}}),
        ("message_stop", {"type": "message_stop"})])
    tr, decoder = StreamTranslator("anthropic", "openai_chat", "m", reading=reading), openai_chat.stream_decoder()
    evs = [e for n, d in SSEDecoder().feed(tr.feed(sse) + tr.close()) for e in decoder.feed(n, d)]
    assert msgspec.json.decode("".join(e.text for e in evs if isinstance(e, TextDelta))) == [{"city": "Oslo"}]
    answer = {"id": "m", "type": "message", "role": "assistant", "model": "c", "stop_reason": "tool_use", "content": [
        {"type": "tool_use", "id": "t", "name": JSON_VALUE_TOOL, "input": {"value": [1, 2]}}], "usage": {}}
    chat = msgspec.json.decode(translate_response("anthropic", "openai_chat", msgspec.json.encode(answer), "m", reading))
    assert chat["choices"][0]["message"]["content"] == "[1,2]" and chat["choices"][0]["finish_reason"] == "stop"
