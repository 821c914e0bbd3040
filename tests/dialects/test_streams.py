"""Streaming translation: recorded upstream streams decode to the expected canonical events, and
re-encode into every dialect in that dialect's exact event order."""

import itertools

import msgspec
import pytest

from routerd.dialects.canonical import (
    MessageStart, MessageStop, ReasoningDelta, StreamError, TextDelta, ToolCallDelta, ToolCallStart, Usage,
)
from routerd.dialects.gemini.request import split_signature
from routerd.dialects.registry import DIALECTS, NAMES, get
from routerd.dialects.sse import SSEDecoder, encode_events
from tests.dialects import fixtures as fx
from tests.dialects.norm import merged

anthropic = get("anthropic")
gemini = get("gemini")

RECORDED = {"openai_chat": fx.OPENAI_STREAM, "anthropic": fx.ANTHROPIC_STREAM,
            "responses": fx.RESPONSES_STREAM, "gemini": fx.GEMINI_STREAM}


def decode(name: str, payload: bytes, chunk: int = 7) -> list:
    """Bytes of a ``name`` stream -> canonical events, fed in ``chunk``-byte pieces."""
    sse, dec, out = SSEDecoder(), DIALECTS[name].stream_decoder(), []
    for i in range(0, len(payload), chunk):
        for event, data in sse.feed(payload[i:i + chunk]):
            out.extend(dec.feed(event, data))
    for event, data in sse.close():
        out.extend(dec.feed(event, data))
    return out + dec.close()


def encode(name: str, events: list, **kw) -> list[tuple[str | None, str]]:
    enc = DIALECTS[name].stream_encoder("routed-model", **kw)
    return [pair for ev in events for pair in enc.feed(ev)]


def test_openai_recorded_stream():
    """Two parallel tool calls and the trailing usage chunk decode with ids and cached tokens."""
    assert merged(decode("openai_chat", fx.OPENAI_STREAM)) == [
        MessageStart("", ""), TextDelta("Let me check."),
        ToolCallStart(0, "call_Pa", "get_weather"), ToolCallDelta(0, '{"city": "Paris"}'),
        ToolCallStart(1, "call_Ro", "get_weather"), ToolCallDelta(1, '{"city": "Rome"}'),
        MessageStop("tool_use", Usage(82, 51, 64, 0))]


def test_anthropic_recorded_stream():
    """Thinking, text and tool_use blocks decode; input usage adds cache reads; ping vanishes."""
    events = decode("anthropic", fx.ANTHROPIC_STREAM)
    assert events[0] == MessageStart("msg_014p7gG3wDgGV9EUtLvnow3U", "claude-sonnet-4-5-20250929", Usage(600, 2, 128))
    assert ReasoningDelta(signature="EqQBCgIYAhIM1gbcDa9GJwZA") in events
    assert merged(events)[1:] == [
        ReasoningDelta("The user wants weather."), TextDelta("Okay, let's check the weather."),
        ToolCallStart(0, "toolu_01T1x1fJ34qAmk2tNTrN7Up6", "get_weather"), ToolCallDelta(0, '{"city": "Paris"}'),
        MessageStop("tool_use", Usage(600, 89, 128, 0))]


def test_responses_recorded_stream():
    """Reasoning summary, text and a function call decode; completion carries usage details."""
    assert merged(decode("responses", fx.RESPONSES_STREAM)) == [
        MessageStart("", ""), ReasoningDelta("**Listing files**"), TextDelta("Running ls."),
        ToolCallStart(0, "call_Xk1", "shell"), ToolCallDelta(0, '{"command":["ls"]}'),
        MessageStop("tool_use", Usage(3650, 120, 3072, 64))]


def test_gemini_recorded_stream():
    """Thought and text parts and a whole function call decode; thoughts count as output."""
    events = merged(decode("gemini", fx.GEMINI_STREAM))
    assert events[:3] == [MessageStart("", ""), ReasoningDelta("Checking Paris first."),
                          TextDelta("Let me look that up.")]
    start = events[3]
    assert isinstance(start, ToolCallStart) and start.name == "get_weather"
    assert split_signature(start.id)[1] == "CiQB0e2Kb/x+"
    assert events[4:] == [ToolCallDelta(0, '{"city":"Paris"}'), MessageStop("tool_use", Usage(40, 50, 16, 28))]


def check_anthropic_order(pairs):
    names = [name for name, _ in pairs]
    assert names[0] == "message_start" and names[-2:] == ["message_delta", "message_stop"]
    open_index = None
    for name, data in pairs:
        body = msgspec.json.decode(data)
        assert body["type"] == name
        if name == "content_block_start":
            assert open_index is None
            open_index = body["index"]
        elif name == "content_block_delta":
            assert body["index"] == open_index
        elif name == "content_block_stop":
            assert body["index"] == open_index
            open_index = None
        elif name in ("message_delta", "message_stop"):
            assert open_index is None


def check_openai_order(pairs):
    assert pairs[-1] == (None, "[DONE]")
    chunks = [msgspec.json.decode(d) for _, d in pairs[:-1]]
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert chunks[-1]["choices"] == [] and "usage" in chunks[-1]
    assert chunks[-2]["choices"][0]["finish_reason"] is not None
    assert all(c["choices"][0]["finish_reason"] is None for c in chunks[:-2])
    assert len({c["id"] for c in chunks}) == 1


def check_responses_order(pairs):
    bodies = [msgspec.json.decode(d) for _, d in pairs]
    assert [b["sequence_number"] for b in bodies] == list(range(len(bodies)))
    assert all(b["type"] == name for (name, _), b in zip(pairs, bodies))
    assert bodies[0]["type"] == "response.created" and bodies[-1]["type"] == "response.completed"
    open_items: set[int] = set()
    for b in bodies:
        if b["type"] == "response.output_item.added":
            open_items.add(b["output_index"])
        elif b["type"] == "response.output_item.done":
            open_items.remove(b["output_index"])
        elif "output_index" in b:
            assert b["output_index"] in open_items, b["type"]
    assert not open_items
    assert len(bodies[-1]["response"]["output"]) == sum(b["type"] == "response.output_item.done" for b in bodies)


def check_gemini_order(pairs):
    bodies = [msgspec.json.decode(d) for _, d in pairs]
    assert all(name is None for name, _ in pairs)
    assert "finishReason" in bodies[-1]["candidates"][0] and "usageMetadata" in bodies[-1]
    assert not any("finishReason" in b["candidates"][0] for b in bodies[:-1])


ORDER_CHECKS = {"anthropic": check_anthropic_order, "openai_chat": check_openai_order,
                "responses": check_responses_order, "gemini": check_gemini_order}


@pytest.mark.parametrize(("src", "dst"), list(itertools.product(sorted(RECORDED), sorted(NAMES))))
def test_translated_stream_keeps_order_and_content(src, dst):
    """Each recorded stream, re-encoded as dst, follows dst's order and decodes to the same events."""
    events = decode(src, RECORDED[src])
    kw = {"include_usage": True} if dst == "openai_chat" else {}
    pairs = encode(dst, events, **kw)
    ORDER_CHECKS[dst](pairs)
    again = decode(dst, encode_events(pairs), chunk=13)
    expected = merged(events)
    if dst == "anthropic" and src != "anthropic":  # unsigned thinking is not sent to Anthropic clients
        expected = [e for e in expected if not isinstance(e, ReasoningDelta)]
    assert [type(e) for e in merged(again)] == [type(e) for e in expected]
    for got, want in zip(merged(again), expected):
        if isinstance(want, ToolCallStart):
            assert got.name == want.name and got.index == want.index
            if dst != "gemini":
                assert got.id == want.id
        elif isinstance(want, ToolCallDelta):
            assert msgspec.json.decode(got.arguments) == msgspec.json.decode(want.arguments)
        elif isinstance(want, MessageStop):
            assert got.stop_reason == want.stop_reason
            assert got.usage.output_tokens == want.usage.output_tokens
            assert got.usage.input_tokens == want.usage.input_tokens
        elif not isinstance(want, MessageStart):
            assert got == want


def sdk_http(sdk, payload: bytes):
    """An HTTP client of the kind ``sdk`` uses (httpx, or httpx2 in newer SDKs) whose every response
    is ``payload`` as an SSE stream; no sockets are opened."""
    import importlib

    httpx = importlib.import_module("httpx2" if hasattr(sdk._base_client, "httpx2") else "httpx")

    def reply(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=payload)

    return httpx.Client(transport=httpx.MockTransport(reply))


def test_anthropic_sdk_accumulates_translated_stream():
    """The anthropic SDK, reading a translated OpenAI stream, builds the right message."""
    import anthropic as sdk

    payload = encode_events(encode("anthropic", decode("openai_chat", fx.OPENAI_STREAM)))
    client = sdk.Anthropic(api_key="test", base_url="http://routerd.invalid", http_client=sdk_http(sdk, payload))
    with client.messages.stream(model="m", max_tokens=10, messages=[{"role": "user", "content": "q"}]) as stream:
        final = stream.get_final_message()
    assert [b.type for b in final.content] == ["text", "tool_use", "tool_use"]
    assert final.content[1].input == {"city": "Paris"} and final.content[2].id == "call_Ro"
    assert final.stop_reason == "tool_use" and final.usage.output_tokens == 51


def test_openai_sdk_accumulates_translated_stream():
    """The openai SDK, reading a translated Anthropic stream, builds the right completion."""
    import openai as sdk

    payload = encode_events(encode("openai_chat", decode("anthropic", fx.ANTHROPIC_STREAM), include_usage=True))
    client = sdk.OpenAI(api_key="test", base_url="http://routerd.invalid/v1", http_client=sdk_http(sdk, payload))
    with client.chat.completions.stream(model="m", messages=[{"role": "user", "content": "q"}]) as stream:
        done = stream.get_final_completion()
    message = done.choices[0].message
    assert message.content == "Okay, let's check the weather."
    assert message.tool_calls[0].function.arguments == '{"city": "Paris"}'
    assert done.choices[0].finish_reason == "tool_calls" and done.usage.prompt_tokens == 600


def test_openai_sdk_accumulates_translated_responses_stream():
    """The openai SDK's Responses stream accepts every translated event and the final response."""
    import openai as sdk

    payload = encode_events(encode("responses", decode("anthropic", fx.ANTHROPIC_STREAM)))
    client = sdk.OpenAI(api_key="test", base_url="http://routerd.invalid/v1", http_client=sdk_http(sdk, payload))
    with client.responses.stream(model="m", input="q") as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_response()
    assert kinds[0] == "response.created" and kinds[-1] == "response.completed"
    assert final.output_text == "Okay, let's check the weather."
    call = [o for o in final.output if o.type == "function_call"][0]
    assert call.call_id == "toolu_01T1x1fJ34qAmk2tNTrN7Up6" and call.arguments == '{"city": "Paris"}'


def test_errors_mid_stream():
    """An upstream error becomes each dialect's own error event, and nothing follows it."""
    err = StreamError("overloaded", "upstream_unavailable", 529)
    start = MessageStart("m1", "x")
    assert encode("anthropic", [start, TextDelta("a"), err, TextDelta("b")])[-1][0] == "error"
    assert msgspec.json.decode(encode("openai_chat", [start, err])[-1][1])["error"]["message"] == "overloaded"
    assert encode("responses", [start, err])[-1][0] == "response.failed"
    assert msgspec.json.decode(encode("gemini", [start, err])[-1][1])["error"]["status"] == "INTERNAL"
    dec = anthropic.stream_decoder()
    out = dec.feed("error", '{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}')
    assert out == [StreamError("Overloaded", "upstream_unavailable", 529)] and dec.close() == []


def test_cut_streams_end_with_an_error():
    """A stream cut before its end ends with StreamError, except an OpenAI stream whose finish_reason came."""
    body = fx.OPENAI_STREAM[: fx.OPENAI_STREAM.index(b'data: {"id":"chatcmpl-9x","object":"chat.completion.chunk","created":1731000000,"model":"gpt-4o-2024-08-06","choices":[]')]
    assert decode("openai_chat", body)[-1] == MessageStop("tool_use", None)
    assert isinstance(decode("openai_chat", fx.OPENAI_STREAM[:900])[-1], StreamError)
    for name, marker in (("responses", b"event: response.completed"), ("anthropic", b"event: message_delta"),
                         ("gemini", b'data: {"candidates": [{"content": {"parts": [{"functionCall"')):
        cut = RECORDED[name][: RECORDED[name].index(marker)]
        assert isinstance(decode(name, cut)[-1], StreamError), name
    assert anthropic.stream_decoder().feed("future_event", '{"type":"future_event"}') == []


def test_encoders_start_without_message_start():
    """An encoder fed a delta first still opens the message properly."""
    check_anthropic_order(encode("anthropic", [TextDelta("hi"), MessageStop()]))
    check_responses_order(encode("responses", [TextDelta("hi"), MessageStop()]))
    check_openai_order(encode("openai_chat", [TextDelta("hi"), MessageStop()], include_usage=True))


def test_openai_calls_all_at_index_zero_are_told_apart_by_id():
    """Servers that put every tool call at index 0 (Ollama) still give one call per id."""
    dec = DIALECTS["openai_chat"].stream_decoder()
    chunk = '{"id":"c","model":"m","choices":[{"index":0,"delta":{"tool_calls":[%s]}}]}'
    events = []
    for call in ('{"index":0,"id":"a","function":{"name":"f","arguments":"{}"}}',
                 '{"index":0,"id":"b","function":{"name":"g","arguments":"{\\"x\\":1}"}}'):
        events += dec.feed(None, chunk % call)
    assert [e for e in events if isinstance(e, (ToolCallStart, ToolCallDelta))] == [
        ToolCallStart(0, "a", "f"), ToolCallDelta(0, "{}"), ToolCallStart(1, "b", "g"), ToolCallDelta(1, '{"x":1}')]


def test_anthropic_clients_get_only_signed_thinking():
    """Thinking reaches an Anthropic client only with its signature; unsigned reasoning is dropped."""
    signed = encode("anthropic", [MessageStart("m", "x"), ReasoningDelta("a"), ReasoningDelta("b"),
                                  ReasoningDelta(signature="sig"), TextDelta("t"), MessageStop()])
    check_anthropic_order(signed)
    deltas = [msgspec.json.decode(d)["delta"] for n, d in signed if n == "content_block_delta"]
    assert deltas[:2] == [{"type": "thinking_delta", "thinking": "ab"}, {"type": "signature_delta", "signature": "sig"}]
    unsigned = encode("anthropic", [MessageStart("m", "x"), ReasoningDelta("a"), TextDelta("t"), MessageStop()])
    assert b"thinking" not in encode_events(unsigned)
    shown = encode("anthropic", [MessageStart("m", "x"), ReasoningDelta("a"), TextDelta("t"), MessageStop()],
                   unsigned_thinking=True)
    assert b'"thinking_delta"' in encode_events(shown)
