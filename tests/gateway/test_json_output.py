"""Structured output across providers, with the real SDKs: the ``openai`` SDK's ``parse`` helpers
(a pydantic model as ``response_format`` / ``text_format``) routed to Claude and Gemini, and the
google-genai SDK's ``response_schema`` routed to OpenAI. The fakes answer JSON that fits the schema
they were sent, and refuse the shapes the real APIs refuse, so the parsed object only comes back
when the schema crossed intact. The sync google-genai client runs in a worker thread (asyncio and
trio alike)."""

import enum
import json

import anthropic
import anyio
import openai
import pytest
from google import genai
from google.genai import types
from pydantic import BaseModel

from routerd.dialects.structured import JSON_TOOL, JSON_VALUE_TOOL
from tests.gateway.conftest import calls

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.filterwarnings("ignore:Async generator:ResourceWarning"),  # openai's AsyncStream (see test_sdk_clients)
]

NATIVE_CLAUDE = "claude-haiku-4-5"        # the catalogue says it takes output_config.format
OLD_CLAUDE = "claude-3-haiku-20240307"    # unknown to the catalogue: the forced tool
PLACE = {"city": "Paris", "population": 7, "coastal": True}


class Place(BaseModel):
    city: str
    population: int
    coastal: bool


def _openai(base_url: str) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=base_url + "/v1", api_key="unused", max_retries=0)


async def test_chat_parse_reaches_claude_natively(daemon, fakes, base_url):
    """chat.completions.parse to a Claude model that takes it: output_config.format, the object comes back."""
    async with _openai(base_url) as client:
        completion = await client.chat.completions.parse(
            model=NATIVE_CLAUDE, messages=[{"role": "user", "content": "A city?"}], response_format=Place)
    assert completion.choices[0].message.parsed == Place(**PLACE)
    sent = fakes["anthropic"].received[-1].json
    assert sent["output_config"]["format"]["schema"]["properties"]["city"] == {"title": "City", "type": "string"}
    assert "tools" not in sent
    [row] = await calls(daemon)
    assert row["outcome"] == "ok"


@pytest.mark.parametrize("effort", [None, "low"])
async def test_chat_parse_reaches_an_older_claude_through_a_forced_tool(daemon, fakes, base_url, effort):
    """A Claude model without the native field gets a forced tool (and no thinking, which Anthropic
    refuses beside it); the tool's input comes back as the message's JSON, finish_reason stop."""
    extra = {"reasoning_effort": effort} if effort else {}
    async with _openai(base_url) as client:
        completion = await client.chat.completions.parse(
            model=OLD_CLAUDE, messages=[{"role": "user", "content": "A city?"}], response_format=Place, **extra)
    choice = completion.choices[0]
    assert choice.message.parsed == Place(**PLACE)
    assert choice.finish_reason == "stop" and not choice.message.tool_calls
    sent = fakes["anthropic"].received[-1].json
    assert sent["tool_choice"] == {"type": "tool", "name": JSON_TOOL} and "thinking" not in sent


@pytest.mark.parametrize("model", [OLD_CLAUDE, NATIVE_CLAUDE, "gemini-2.5-flash"])
async def test_streamed_json_joins_into_the_object(daemon, fakes, base_url, model):
    """The SDK's chat.completions.stream with a pydantic response_format: the deltas join into the object."""
    async with _openai(base_url) as client:
        async with client.chat.completions.stream(
                model=model, messages=[{"role": "user", "content": "A city?"}], response_format=Place) as stream:
            async for _ in stream:
                pass
            final = await stream.get_final_completion()
    assert final.choices[0].message.parsed == Place(**PLACE)
    assert final.choices[0].finish_reason == "stop"


async def test_chat_parse_reaches_gemini_as_response_json_schema(daemon, fakes, base_url):
    """To Gemini the schema goes as responseJsonSchema with the JSON MIME type; seed goes too, the
    penalties do not (Gemini 2.5 on refuses them)."""
    async with _openai(base_url) as client:
        completion = await client.chat.completions.parse(
            model="gemini-2.5-flash", messages=[{"role": "user", "content": "A city?"}], response_format=Place,
            seed=5, presence_penalty=0.5)
    assert completion.choices[0].message.parsed == Place(**PLACE)
    gen = fakes["gemini"].received[-1].json["generationConfig"]
    assert gen["responseMimeType"] == "application/json" and "city" in gen["responseJsonSchema"]["properties"]
    assert gen["seed"] == 5 and "presencePenalty" not in gen


@pytest.mark.parametrize("model", [NATIVE_CLAUDE, OLD_CLAUDE, "gemini-2.5-flash"])
async def test_responses_parse_crosses_too(daemon, fakes, base_url, model):
    """responses.parse (text.format json_schema) to Claude and Gemini: output_parsed is the object."""
    async with _openai(base_url) as client:
        response = await client.responses.parse(model=model, input="A city?", text_format=Place)
    assert response.output_parsed == Place(**PLACE)


async def test_json_mode_reaches_claude_and_gemini(daemon, fakes, base_url):
    """response_format json_object: a forced any-object tool on Claude, the JSON MIME type on Gemini."""
    async with _openai(base_url) as client:
        for model in (NATIVE_CLAUDE, "gemini-2.5-flash"):
            completion = await client.chat.completions.create(
                model=model, messages=[{"role": "user", "content": "JSON please"}],
                response_format={"type": "json_object"})
            assert isinstance(json.loads(completion.choices[0].message.content), dict)
    assert fakes["anthropic"].received[-1].json["tools"][0]["input_schema"] == {"type": "object"}
    assert fakes["gemini"].received[-1].json["generationConfig"] == {"responseMimeType": "application/json"}


def _genai(base_url: str) -> genai.Client:
    return genai.Client(api_key="dummy", http_options=types.HttpOptions(
        base_url=base_url, retry_options=types.HttpRetryOptions(attempts=1)))


async def test_google_genai_response_schema_reaches_openai_with_a_name(daemon, fakes, base_url):
    """google-genai's response_schema (a pydantic model) to an OpenAI model: a json_schema with the name
    OpenAI requires (the fake refuses one without, as the real API does); response.parsed is the object."""
    config = types.GenerateContentConfig(response_mime_type="application/json", response_schema=Place, seed=3)

    def run():
        with _genai(base_url) as client:
            whole = client.models.generate_content(model="gpt-4o", contents="A city?", config=config)
            chunks = list(client.models.generate_content_stream(model="gpt-4o", contents="A city?", config=config))
            return whole, chunks
    whole, chunks = await anyio.to_thread.run_sync(run)
    assert whole.parsed == Place(**PLACE)
    assert Place.model_validate_json("".join(c.text or "" for c in chunks)) == Place(**PLACE)
    sent = fakes["openai"].received[-1].json
    assert sent["response_format"]["type"] == "json_schema" and sent["response_format"]["json_schema"]["name"]
    assert sent["seed"] == 3


async def test_google_genai_json_schema_dict_reaches_claude(daemon, fakes, base_url):
    """response_json_schema (a plain JSON Schema dict, its object open) to a Claude model that takes
    output_config.format: Anthropic refuses open objects there, so it goes as the forced tool and the
    object is read back from the tool's input."""
    schema = Place.model_json_schema()
    config = types.GenerateContentConfig(response_mime_type="application/json", response_json_schema=schema)

    def run():
        with _genai(base_url) as client:
            return client.models.generate_content(model=NATIVE_CLAUDE, contents="A city?", config=config)
    response = await anyio.to_thread.run_sync(run)
    assert json.loads(response.text) == PLACE
    assert fakes["anthropic"].received[-1].json["tools"][0]["input_schema"] == schema


async def test_the_fake_openai_refuses_a_json_schema_without_a_name(fakes):
    """The fake holds the real API's rule, which is why routerd names the schemas it sends."""
    async with openai.AsyncOpenAI(base_url=fakes["openai"].url + "/v1", api_key="x", max_retries=0) as client:
        with pytest.raises(openai.BadRequestError, match="json_schema.name"):
            await client.chat.completions.create(
                model="gpt-4o", messages=[{"role": "user", "content": "hi"}],
                response_format={"type": "json_schema", "json_schema": {"schema": {"type": "object"}}})


@pytest.mark.parametrize("model", ["gpt-4o", "gemini-2.5-flash"])
async def test_anthropic_parse_reaches_openai_and_gemini(daemon, fakes, base_url, model):
    """The anthropic SDK's messages.parse (output_config.format) to OpenAI and Gemini: parsed_output is the object."""
    async with anthropic.AsyncAnthropic(base_url=base_url, api_key="unused", max_retries=0) as client:
        message = await client.messages.parse(model=model, max_tokens=256, output_format=Place,
                                              messages=[{"role": "user", "content": "A city?"}])
    assert message.parsed_output == Place(**PLACE)
    sent = fakes["openai" if model.startswith("gpt") else "gemini"].received[-1].json
    assert "city" in json.dumps(sent.get("response_format") or sent["generationConfig"]["responseJsonSchema"])


@pytest.mark.parametrize("model", [OLD_CLAUDE, NATIVE_CLAUDE])
async def test_google_genai_list_schema_reaches_claude_and_comes_back_a_list(daemon, fakes, base_url, model):
    """response_schema=list[Place] (an array, which no tool input can be) to Claude, whole and streamed:
    the tool takes it as {"value": [...]}, and the client reads the list itself."""
    config = types.GenerateContentConfig(response_mime_type="application/json", response_schema=list[Place])

    def run():
        with _genai(base_url) as client:
            whole = client.models.generate_content(model=model, contents="Cities?", config=config)
            chunks = list(client.models.generate_content_stream(model=model, contents="Cities?", config=config))
            return whole, chunks
    whole, chunks = await anyio.to_thread.run_sync(run)
    assert whole.parsed == [Place(**PLACE)]
    assert json.loads("".join(c.text or "" for c in chunks)) == [PLACE]
    tool = fakes["anthropic"].received[-1].json["tools"][0]
    assert tool["name"] == JSON_VALUE_TOOL and tool["input_schema"]["required"] == ["value"]


async def test_the_fake_openai_refuses_a_root_that_is_not_an_object(fakes):
    """The fake holds the real API's rule, which is why routerd wraps a list schema as {"value": ...} for OpenAI."""
    async with openai.AsyncOpenAI(base_url=fakes["openai"].url + "/v1", api_key="x", max_retries=0) as client:
        with pytest.raises(openai.BadRequestError, match="must be a JSON Schema of 'type: \"object\"'"):
            await client.chat.completions.create(
                model="gpt-4o", messages=[{"role": "user", "content": "hi"}], response_format={
                    "type": "json_schema", "json_schema": {"name": "L", "schema": {"type": "array", "items": {}}}})


RESPONSES_PROVIDER = '''
[providers.team]
kind = "responses"
base_url = "{openai}/v1"
api_key = "sk-team-secret-7890"
models = ["gpt-*"]
timeout_s = 2
'''


def _generate(base_url: str, model: str, contents: str, config: types.GenerateContentConfig):
    """google-genai's whole answer and its streamed chunks, in a worker thread (the client is sync)."""
    def run():
        with _genai(base_url) as client:
            whole = client.models.generate_content(model=model, contents=contents, config=config)
            chunks = list(client.models.generate_content_stream(model=model, contents=contents, config=config))
            return whole, chunks
    return anyio.to_thread.run_sync(run)


@pytest.mark.gateway_config(RESPONSES_PROVIDER, providers=("gemini",))
async def test_google_genai_list_schema_reaches_openai_responses_wrapped(daemon, fakes, base_url):
    """response_schema=list[Place] to a provider of OpenAI's Responses API: text.format wraps the list as
    {"value": [...]} (object roots only) and the client gets the bare list, whole and streamed."""
    config = types.GenerateContentConfig(response_mime_type="application/json", response_schema=list[Place])
    whole, chunks = await _generate(base_url, "gpt-4o", "Cities?", config)
    assert whole.parsed == [Place(**PLACE)] and json.loads(whole.text) == [PLACE]
    assert json.loads("".join(c.text or "" for c in chunks)) == [PLACE]
    fmt = fakes["openai"].received[-1].json["text"]["format"]
    assert fmt["schema"]["required"] == ["value"] and fmt["schema"]["properties"]["value"]["type"] == "array"
    assert fmt["schema"]["additionalProperties"] is False


async def test_google_genai_list_schema_reaches_openai_chat_wrapped(daemon, fakes, base_url):
    """response_schema=list[Place] to Chat Completions: response_format wraps the list as {"value": [...]};
    the streamed text reaches the client as the bare list's JSON, piece by piece."""
    config = types.GenerateContentConfig(response_mime_type="application/json", response_schema=list[Place])
    whole, chunks = await _generate(base_url, "gpt-4o", "Cities?", config)
    assert whole.parsed == [Place(**PLACE)] and json.loads(whole.text) == [PLACE]
    texts = [c.text for c in chunks if c.text]
    assert json.loads("".join(texts)) == [PLACE] and texts[0].startswith("[") and len(texts) > 3
    sent = fakes["openai"].received[-1].json["response_format"]["json_schema"]["schema"]
    assert sent["type"] == "object" and sent["additionalProperties"] is False


@pytest.mark.parametrize("model", ["claude-3-5-haiku", "claude-sonnet-4-20250514"])
async def test_anthropic_parse_naming_an_older_claude_alias_goes_as_the_forced_tool(daemon, fakes, base_url, model):
    """The anthropic SDK's messages.parse (output_config.format) naming an alias of an older Claude, which
    refuses the field: passed through with the forced tool in its place (cache_control kept), the answer read back
    as text, whole and streamed."""
    system = [{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}]
    async with anthropic.AsyncAnthropic(base_url=base_url, api_key="unused", max_retries=0) as client:
        message = await client.messages.parse(model=model, max_tokens=256, output_format=Place, system=system,
                                              messages=[{"role": "user", "content": "A city?"}])
        async with client.messages.stream(model=model, max_tokens=256, output_format=Place,
                                          messages=[{"role": "user", "content": "A city?"}]) as stream:
            final = await stream.get_final_message()
    assert message.parsed_output == Place(**PLACE) and message.stop_reason == "end_turn"
    assert [b.type for b in message.content] == ["text"]
    assert final.parsed_output == Place(**PLACE) and final.stop_reason == "end_turn"
    whole, streamed = [r.json for r in fakes["anthropic"].received[-2:]]
    assert whole["model"] == model and whole["system"] == system and "output_config" not in whole
    assert whole["tool_choice"] == {"type": "tool", "name": JSON_TOOL} and streamed["stream"] is True


async def test_anthropic_parse_naming_a_current_claude_passes_through(daemon, fakes, base_url):
    """The same request naming a model that takes output_config.format goes as the client sent it."""
    async with anthropic.AsyncAnthropic(base_url=base_url, api_key="unused", max_retries=0) as client:
        message = await client.messages.parse(model=NATIVE_CLAUDE, max_tokens=256, output_format=Place,
                                              messages=[{"role": "user", "content": "A city?"}])
    assert message.parsed_output == Place(**PLACE)
    sent = fakes["anthropic"].received[-1].json
    assert "tools" not in sent and sent["output_config"]["format"]["type"] == "json_schema"


class Fruit(enum.Enum):
    APPLE = "apple"
    PEAR = "pear"


@pytest.mark.parametrize("model", ["gpt-4o", OLD_CLAUDE, NATIVE_CLAUDE])
async def test_google_genai_enum_text_comes_back_bare(daemon, fakes, base_url, model):
    """response_mime_type text/x.enum with an Enum to OpenAI and Claude: a JSON string enum there (wrapped
    for OpenAI, the value tool for Claude), and the bare value back, as Gemini answers it, whole and streamed."""
    config = types.GenerateContentConfig(response_mime_type="text/x.enum", response_schema=Fruit)
    whole, chunks = await _generate(base_url, model, "A fruit?", config)
    assert whole.text == "apple" and whole.parsed == Fruit.APPLE
    assert "".join(c.text or "" for c in chunks) == "apple"
    if model.startswith("gpt"):
        value = fakes["openai"].received[-1].json["response_format"]["json_schema"]["schema"]["properties"]["value"]
        assert value["type"] == "string" and value["enum"] == ["apple", "pear"]
    else:
        assert fakes["anthropic"].received[-1].json["tools"][0]["name"] == JSON_VALUE_TOOL


async def test_a_client_tool_named_like_the_json_tool_stays_a_tool_call(daemon, fakes, base_url):
    """A client's own tool named routerd_json_answer beside a response_format to a Claude without the
    native field: routerd's tool takes another name, and the model's call of the client's tool goes back as a
    tool call, not as the answer's text."""
    tool = {"type": "function", "function": {"name": JSON_TOOL, "parameters": {
        "type": "object", "properties": {"city": {"type": "string"}}}}}
    async with _openai(base_url) as client:
        completion = await client.chat.completions.create(
            model=OLD_CLAUDE, messages=[{"role": "user", "content": "A city?"}], tools=[tool],
            response_format={"type": "json_schema", "json_schema": {"name": "P", "schema": Place.model_json_schema()}})
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls" and not choice.message.content
    assert [c.function.name for c in choice.message.tool_calls] == [JSON_TOOL]
    assert json.loads(choice.message.tool_calls[0].function.arguments) == {"city": "Paris"}
    sent = fakes["anthropic"].received[-1].json
    assert [t["name"] for t in sent["tools"]] == [JSON_TOOL, JSON_TOOL + "_2"] and sent["tool_choice"] == {"type": "any"}
