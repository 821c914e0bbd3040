"""Structured output stated as each target takes it and read back as the client asked: the OpenAI
wrapper for roots that are not objects, Gemini's bare enum text, the forced tool's name and the
Anthropic pass-through fallback."""

import msgspec
import pytest

from routerd.catalogue.builtin import load_catalogue
from routerd.dialects.canonical import MessageStop, TextDelta, ToolCallDelta, ToolCallStart, Usage
from routerd.dialects.registry import get
from routerd.dialects.sse import SSEDecoder
from routerd.dialects.structured import JSON_TOOL, JSON_VALUE_TOOL, anthropic_fallback
from routerd.dialects.structured_answer import AnswerReader, Reading, Unwrapper, bare
from routerd.dialects.translate import StreamTranslator, render_read, translate_response
from tests.fakes import answers

_PLACE = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"],
          "additionalProperties": False}
_LIST = {"type": "array", "items": {"$ref": "#/$defs/Place"}, "$defs": {"Place": _PLACE}}


def _gemini(gen: dict) -> dict:
    return {"contents": [{"role": "user", "parts": [{"text": "Where?"}]}], "generationConfig": gen}


def _render(front: str, body: dict, target: str, model: str = "m") -> tuple[dict, Reading | None]:
    req = get(front).parse_request(msgspec.json.encode(body), model="g" if front == "gemini" else None,
                                   stream=True if front == "gemini" else None)
    sent, reading = render_read(target, req, model)
    return msgspec.json.decode(sent), reading


def _events(dialect: str, sse: bytes) -> list:
    decoder = get(dialect).stream_decoder()
    return [e for n, d in SSEDecoder().feed(sse) for e in decoder.feed(n, d)]


WRAPPED = '{"value": [{"city": "}"}, 2]}\n'


def test_unwrapper_gives_the_value_whatever_the_pieces():
    """{"value": X} cut anywhere, into two or three pieces, streams out as exactly X."""
    inner = '[{"city": "}"}, 2]'
    for i in range(len(WRAPPED) + 1):
        for j in range(i, len(WRAPPED) + 1):
            unwrapper = Unwrapper()
            out = [unwrapper.feed(p) for p in (WRAPPED[:i], WRAPPED[i:j], WRAPPED[j:])]
            assert "".join(out) + unwrapper.close() == inner, (i, j)


def test_unwrapper_streams_the_value_as_it_comes_and_passes_other_text_as_it_is():
    """Only the head and a trailing brace (with the space after it) are held; text that is no wrapper goes
    through unchanged."""
    unwrapper = Unwrapper()
    assert unwrapper.feed('{"value": ') == ""
    assert unwrapper.feed("[1, ") == "[1,"  # trailing space: it might come before the last brace
    assert unwrapper.feed('{"a": 2}') == ' {"a": 2'
    assert unwrapper.feed("]}") == "}]"
    assert unwrapper.close() == ""
    for text in ('[1, 2]', '{"values": 1}', '{"val'):
        unwrapper = Unwrapper()
        assert "".join(unwrapper.feed(c) for c in text) + unwrapper.close() == text


@pytest.mark.parametrize("target", ["openai_chat", "responses"])
def test_a_list_schema_goes_to_openai_wrapped_with_its_defs_at_the_root(target):
    """OpenAI takes object roots only: the list is the property value of a closed object; $defs stay at the root."""
    sent, reading = _render("gemini", _gemini({"responseMimeType": "application/json", "responseJsonSchema": _LIST}),
                            target)
    fmt = sent["response_format"]["json_schema"] if target == "openai_chat" else sent["text"]["format"]
    assert fmt["schema"] == {"type": "object", "properties": {"value": {"type": "array", "items": {
        "$ref": "#/$defs/Place"}}}, "required": ["value"], "additionalProperties": False, "$defs": {"Place": _PLACE}}
    assert reading == Reading(wrapped=True)
    sent, reading = _render("gemini", _gemini({"responseMimeType": "application/json", "responseJsonSchema": _PLACE}),
                            target)
    fmt = sent["response_format"]["json_schema"] if target == "openai_chat" else sent["text"]["format"]
    assert fmt["schema"] == _PLACE and reading is None  # an object root goes as it is


@pytest.mark.parametrize("upstream", ["openai_chat", "responses"])
def test_openai_answers_come_back_unwrapped_whole_and_streamed(upstream):
    """The wrapped answer of Chat Completions and Responses reaches a Gemini client as the bare list."""
    reading = Reading(wrapped=True)
    text = '{"value": [{"city": "Oslo"}]}'
    whole = translate_response(upstream, "gemini", answers.body(upstream, "gpt", text, None), "gpt", reading)
    assert msgspec.json.decode(whole)["candidates"][0]["content"]["parts"] == [{"text": '[{"city":"Oslo"}]'}]
    tr = StreamTranslator(upstream, "gemini", "gpt", reading=reading)
    out = b"".join(tr.feed(e) for e in answers.stream(upstream, "gpt", text, None)) + tr.close()
    texts = [e.text for e in _events("gemini", out) if isinstance(e, TextDelta)]
    assert "".join(texts) == '[{"city": "Oslo"}]' and len(texts) > 3  # streamed in pieces, not held
    assert tr.completed


def test_gemini_enum_text_goes_as_a_string_enum_and_comes_back_bare():
    """text/x.enum: a JSON string enum to OpenAI (wrapped) and Claude (the value tool); the client gets the bare value."""
    gen = {"responseMimeType": "text/x.enum", "responseSchema": {"type": "STRING", "enum": ["apple", "pear"]}}
    sent, reading = _render("gemini", _gemini(gen), "openai_chat")
    assert sent["response_format"]["json_schema"]["schema"]["properties"]["value"] == {
        "type": "string", "enum": ["apple", "pear"]}
    assert reading == Reading(wrapped=True, bare=True)
    whole = translate_response("openai_chat", "gemini", answers.body("openai_chat", "gpt", '{"value":"pear"}', None),
                               "gpt", reading)
    assert msgspec.json.decode(whole)["candidates"][0]["content"]["parts"] == [{"text": "pear"}]
    tr = StreamTranslator("openai_chat", "gemini", "gpt", reading=reading)
    out = b"".join(tr.feed(e) for e in answers.stream("openai_chat", "gpt", '{"value": "pear"}', None)) + tr.close()
    assert "".join(e.text for e in _events("gemini", out) if isinstance(e, TextDelta)) == "pear"
    sent, reading = _render("gemini", _gemini(gen), "anthropic", "claude-haiku-4-5")
    assert sent["tools"][0]["name"] == JSON_VALUE_TOOL and reading == Reading(JSON_VALUE_TOOL, True, True)
    assert bare('"a\\"b"') == 'a"b' and bare("[1]") == "[1]" and bare("pear") == "pear"


def test_a_client_tool_with_the_json_tools_name_keeps_it():
    """routerd's tool takes the first free name after the client's; a call of the client's tool stays a call."""
    body = {"model": "gpt-x", "messages": [{"role": "user", "content": "Where?"}],
            "tools": [{"type": "function", "function": {"name": JSON_TOOL, "parameters": {"type": "object"}}},
                      {"type": "function", "function": {"name": JSON_TOOL + "_2", "parameters": {"type": "object"}}}],
            "response_format": {"type": "json_schema", "json_schema": {"name": "P", "schema": _PLACE}}}
    sent, reading = _render("openai_chat", body, "anthropic", "claude-3-haiku")
    assert [t["name"] for t in sent["tools"]] == [JSON_TOOL, JSON_TOOL + "_2", JSON_TOOL + "_3"]
    assert reading == Reading(JSON_TOOL + "_3")
    answer = {"id": "m", "type": "message", "role": "assistant", "model": "c", "stop_reason": "tool_use", "content": [
        {"type": "tool_use", "id": "t", "name": JSON_TOOL, "input": {"city": "Oslo"}}], "usage": {}}
    chat = msgspec.json.decode(translate_response("anthropic", "openai_chat", msgspec.json.encode(answer), "m", reading))
    choice = chat["choices"][0]
    assert choice["finish_reason"] == "tool_calls" and choice["message"]["tool_calls"][0]["function"]["name"] == JSON_TOOL


def test_the_answer_tools_call_streams_as_text_and_the_other_calls_keep_their_order():
    """Beside a real call, the forced tool's call becomes text and the real call is numbered from 0; the stop stays tool_use."""
    reader = AnswerReader(Reading("answer"))
    events = [ToolCallStart(0, "a", "answer"), ToolCallDelta(0, '{"city": "Oslo"}'), ToolCallStart(1, "b", "lookup"),
              ToolCallDelta(1, "{}"), MessageStop("tool_use", Usage())]
    out = [e for ev in events for e in reader.feed(ev)]
    assert out == [TextDelta('{"city": "Oslo"}'), ToolCallStart(0, "b", "lookup"), ToolCallDelta(0, "{}"),
                   MessageStop("tool_use", Usage())]
    alone = AnswerReader(Reading("answer"))
    assert [e for ev in (ToolCallStart(0, "a", "answer"), MessageStop("tool_use")) for e in alone.feed(ev)] \
        == [MessageStop("end_turn")]


_CATALOGUE = load_catalogue()


def test_an_anthropic_request_to_an_older_claude_alias_takes_the_forced_tool_in_place():
    """Passed through to claude-3-5-haiku, output_config.format becomes the forced tool; effort, cache_control and
    the rest stay as the client sent them, thinking goes (refused beside a forced tool)."""
    body = {"model": "claude-3-5-haiku", "max_tokens": 100, "thinking": {"type": "enabled", "budget_tokens": 2000},
            "system": [{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}],
            "messages": [{"role": "user", "content": "Where?"}],
            "output_config": {"effort": "low", "format": {"type": "json_schema", "schema": _LIST}}}
    raw = msgspec.json.encode(body)
    out, reading = anthropic_fallback(raw, "claude-3-5-haiku", _CATALOGUE.get("claude-3-5-haiku"))
    sent = msgspec.json.decode(out)
    assert sent["tools"][0]["name"] == JSON_VALUE_TOOL and sent["tools"][0]["input_schema"]["required"] == ["value"]
    assert sent["tool_choice"] == {"type": "tool", "name": JSON_VALUE_TOOL} and reading == Reading(JSON_VALUE_TOOL, True)
    assert sent["output_config"] == {"effort": "low"} and "thinking" not in sent
    assert sent["system"] == body["system"] and sent["messages"] == body["messages"]
    assert anthropic_fallback(raw, "claude-haiku-4-5", _CATALOGUE.get("claude-haiku-4-5")) is None  # takes it
    assert anthropic_fallback(raw, "claude-9", None) is None  # unknown: maybe newer than the catalogue
    plain = msgspec.json.encode({**body, "output_config": {"effort": "low"}})
    assert anthropic_fallback(plain, "claude-3-5-haiku", _CATALOGUE.get("claude-3-5-haiku")) is None


def test_a_request_translated_to_an_older_claude_alias_takes_the_forced_tool():
    """Translated (an OpenAI client naming claude-3-5-haiku), the alias's own model decides too, not its successor's entry."""
    body = {"model": "claude-3-5-haiku", "messages": [{"role": "user", "content": "Where?"}],
            "response_format": {"type": "json_schema", "json_schema": {"name": "P", "schema": _PLACE}}}
    req = get("openai_chat").parse_request(msgspec.json.encode(body))
    for model, native in (("claude-3-5-haiku", False), ("claude-haiku-4-5", True)):
        sent = msgspec.json.decode(render_read("anthropic", req, model, info=_CATALOGUE.get(model))[0])
        assert ("output_config" in sent) is native and ("tools" in sent) is not native
