"""Google's ``google-genai`` SDK against routerd's Gemini front, as a user's script calls it:
``genai.Client(api_key=..., http_options=HttpOptions(base_url="http://127.0.0.1:PORT"))``.

The sync client runs in a worker thread, so the same calls run on asyncio and on trio; ``client.aio``
is bound to asyncio (it keys its httpx clients by ``asyncio.get_running_loop()``), so its tests run
on asyncio only. The SDK (3.x) calls ``/v1/...`` by default; older releases, and
``api_version="v1beta"``, call ``/v1beta/...``."""

import base64

import anyio
import pytest
from google import genai
from google.genai import errors, types

from tests.fakes import answers
from tests.gateway.conftest import GATEWAY_KEY, calls

pytestmark = pytest.mark.anyio

ALIAS = '[gateway.aliases]\nquick = "anthropic/claude-sonnet-4-5"\n'
PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489")
USAGE = (answers.INPUT_TOKENS, answers.OUTPUT_TOKENS, answers.INPUT_TOKENS + answers.OUTPUT_TOKENS)


def get_weather(city: str) -> str:
    """Weather for a city."""
    return f"sunny in {city}"


def _client(base_url: str, api_version: str | None = None) -> genai.Client:
    return genai.Client(api_key="dummy", http_options=types.HttpOptions(
        base_url=base_url, api_version=api_version, retry_options=types.HttpRetryOptions(attempts=1)))


async def _sync(base_url: str, call, api_version: str | None = None):
    """``call(client)`` on the sync client, in a worker thread."""
    def run():
        with _client(base_url, api_version) as client:
            return call(client)
    return await anyio.to_thread.run_sync(run)


def _usage(response: types.GenerateContentResponse) -> tuple:
    u = response.usage_metadata
    return u.prompt_token_count, u.candidates_token_count, u.total_token_count


@pytest.mark.gateway_config(ALIAS)
@pytest.mark.parametrize("model, provider", [
    ("gemini-2.5-flash", "gemini"), ("gpt-4o", "openai"), ("quick", "anthropic"), ("auto", None)])
async def test_generate_content_reads_as_gemini_whatever_serves_it(daemon, fakes, base_url, model, provider):
    """A plain generate_content reads text, STOP and usage, and its row carries the fake's usage once."""
    response = await _sync(base_url, lambda c: c.models.generate_content(model=model, contents="hi"))
    [row] = await calls(daemon)
    assert response.text == f"Hello from {row['provider']}."
    assert provider in (None, row["provider"])
    assert response.candidates[0].finish_reason == types.FinishReason.STOP
    assert _usage(response) == USAGE
    assert (row["outcome"], row["input_tokens"], row["output_tokens"]) == ("ok", *USAGE[:2])
    sent = fakes[row["provider"]].received[-1]
    assert "dummy" not in str(sent.headers)


@pytest.mark.parametrize("model", ["gemini-2.5-flash", "gpt-4o", "claude-sonnet-4-5"])
async def test_stream_ends_with_stop_and_usage(daemon, fakes, base_url, model):
    """generate_content_stream (?alt=sse) yields the text in order; the last chunk has STOP and usage."""
    chunks = await _sync(base_url, lambda c: list(c.models.generate_content_stream(model=model, contents="hi")))
    await _check_stream(daemon, fakes, model, chunks)


@pytest.mark.parametrize("api_version", ["v1beta", "v1alpha"])
async def test_other_api_versions_are_served(daemon, fakes, base_url, api_version):
    """api_version v1beta (older SDKs' default) and v1alpha (older guides' choice for thinking): the
    same calls, streamed and listed; a Gemini provider is asked at /v1beta."""
    def run(c: genai.Client):
        return list(c.models.generate_content_stream(model="gemini-2.5-flash", contents="hi")), \
            [m.name for m in c.models.list()]
    chunks, names = await _sync(base_url, run, api_version)
    await _check_stream(daemon, fakes, "gemini-2.5-flash", chunks)
    assert fakes["gemini"].received[-1].path == "/v1beta/models/gemini-2.5-flash:streamGenerateContent"
    assert names[0] == "models/auto"


async def _check_stream(daemon, fakes, model: str, chunks: list) -> None:
    """The streamed text, STOP and usage in the last chunk, one row with the fake's usage."""
    [row] = await calls(daemon)
    assert "".join(c.text or "" for c in chunks) == f"Hello from {row['provider']}."
    assert chunks[-1].candidates[0].finish_reason == types.FinishReason.STOP
    assert _usage(chunks[-1]) == USAGE
    assert (row["input_tokens"], row["output_tokens"]) == USAGE[:2]
    if model.startswith("gemini"):
        assert fakes["gemini"].received[-1].query == "alt=sse"


async def test_system_turns_and_inline_image_translate(daemon, fakes, base_url):
    """system_instruction, a multi-turn history and an inline PNG (sent as inlineData {"mime_type"})
    reach Anthropic as system, turns and an image/png block."""
    contents = [types.Content(role="user", parts=[types.Part(text="hi")]),
                types.Content(role="model", parts=[types.Part(text="hello")]),
                types.Content(role="user", parts=[types.Part(text="what is this?"),
                                                  types.Part.from_bytes(data=PNG, mime_type="image/png")])]
    response = await _sync(base_url, lambda c: c.models.generate_content(
        model="claude-sonnet-4-5", contents=contents,
        config=types.GenerateContentConfig(system_instruction="be brief")))
    assert response.text == "Hello from anthropic."
    sent = fakes["anthropic"].received[-1].json
    assert sent["system"] == "be brief"
    assert [m["role"] for m in sent["messages"]] == ["user", "assistant", "user"]
    image = sent["messages"][-1]["content"][-1]
    assert image["source"] == {"type": "base64", "media_type": "image/png",
                               "data": base64.b64encode(PNG).decode()}


async def test_file_uri_part_translates(daemon, fakes, base_url):
    """A file_uri part (sent as fileData {"file_uri", "mime_type"}) reaches OpenAI as an image URL."""
    part = types.Part.from_uri(file_uri="https://example.com/cat.png", mime_type="image/png")
    response = await _sync(base_url, lambda c: c.models.generate_content(model="gpt-4o", contents=["cat?", part]))
    assert response.text == "Hello from openai."
    content = fakes["openai"].received[-1].json["messages"][-1]["content"]
    assert {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}} in content


@pytest.mark.parametrize("model, provider", [("gpt-4o", "openai"), ("claude-sonnet-4-5", "anthropic")])
async def test_function_calling_without_automatic_calls(daemon, fakes, base_url, model, provider):
    """A Python function as a tool (its schema sent as parameters_json_schema) reaches the provider
    with its parameters; the call comes back as a function_call the SDK reads."""
    config = types.GenerateContentConfig(
        tools=[get_weather], automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True))
    response = await _sync(base_url, lambda c: c.models.generate_content(
        model=model, contents="weather in Paris?", config=config))
    [call] = response.function_calls
    assert (call.name, call.args) == ("get_weather", {"city": "Paris"})
    sent = fakes[provider].received[-1].json["tools"][0]
    schema = sent["function"]["parameters"] if provider == "openai" else sent["input_schema"]
    assert schema["properties"] == {"city": {"type": "string"}} and schema["required"] == ["city"]
    [row] = await calls(daemon)
    assert (row["input_tokens"], row["output_tokens"]) == USAGE[:2]


async def test_schema_declaration_reaches_openai_as_json_schema(daemon, fakes, base_url):
    """A FunctionDeclaration written with types.Schema (OpenAPI: "OBJECT", nullable, max_length)
    reaches OpenAI as JSON Schema; a forced call (mode ANY, one name) becomes its tool_choice."""
    decl = types.FunctionDeclaration(name="get_weather", description="Weather", parameters=types.Schema(
        type=types.Type.OBJECT, required=["city"], property_ordering=["city", "units"], properties={
            "city": types.Schema(type=types.Type.STRING, max_length=40),
            "units": types.Schema(type=types.Type.STRING, enum=["C", "F"], nullable=True),
            "days": types.Schema(type=types.Type.ARRAY, items=types.Schema(type=types.Type.INTEGER))}))
    config = types.GenerateContentConfig(
        tools=[types.Tool(function_declarations=[decl])],
        tool_config=types.ToolConfig(function_calling_config=types.FunctionCallingConfig(
            mode=types.FunctionCallingConfigMode.ANY, allowed_function_names=["get_weather"])))
    response = await _sync(base_url, lambda c: c.models.generate_content(
        model="gpt-4o", contents="weather in Paris?", config=config))
    assert response.function_calls[0].args == {"city": "Paris"}
    sent = fakes["openai"].received[-1].json
    assert sent["tools"][0]["function"]["parameters"] == {
        "type": "object", "required": ["city"], "properties": {
            "city": {"type": "string", "maxLength": 40},
            "units": {"type": ["string", "null"], "enum": ["C", "F"]},
            "days": {"type": "array", "items": {"type": "integer"}}}}
    assert sent["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}


async def test_automatic_function_calling_round_trip(daemon, fakes, base_url):
    """With automatic function calling the SDK runs the function and sends its result back; the
    provider sees the call and the result paired, and the SDK returns the final text."""
    response = await _sync(base_url, lambda c: c.models.generate_content(
        model="gpt-4o", contents="weather in Paris?", config=types.GenerateContentConfig(tools=[get_weather])))
    assert response.text == "Hello from openai."
    messages = fakes["openai"].received[-1].json["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "tool"]
    assert messages[1]["tool_calls"][0]["id"] == messages[2]["tool_call_id"]
    assert "sunny in Paris" in messages[2]["content"]
    rows = await calls(daemon)
    assert [(r["input_tokens"], r["output_tokens"]) for r in rows] == [USAGE[:2]] * 2


async def test_thinking_budget_reaches_anthropic(daemon, fakes, base_url):
    """thinking_config (sent as {"thinking_budget", "include_thoughts"}) keeps its budget when routed."""
    config = types.GenerateContentConfig(
        thinking_config=types.ThinkingConfig(thinking_budget=2048, include_thoughts=True))
    response = await _sync(base_url, lambda c: c.models.generate_content(
        model="claude-sonnet-4-5", contents="hi", config=config))
    assert response.text == "Hello from anthropic."
    assert fakes["anthropic"].received[-1].json["thinking"] == {"type": "enabled", "budget_tokens": 2048}


async def test_json_mode_passes_through_to_gemini(daemon, fakes, base_url):
    """response_mime_type and a JSON schema go to a Gemini provider as sent."""
    schema = {"type": "object", "properties": {"a": {"type": "string"}}}
    await _sync(base_url, lambda c: c.models.generate_content(model="gemini-2.5-flash", contents="hi",
                config=types.GenerateContentConfig(response_mime_type="application/json",
                                                   response_json_schema=schema)))
    gen = fakes["gemini"].received[-1].json["generationConfig"]
    assert gen == {"responseMimeType": "application/json", "responseJsonSchema": schema}


async def test_count_tokens_for_a_routed_model(daemon, fakes, base_url):
    """count_tokens for a model on another provider is answered locally, in the shape the SDK reads."""
    counted = await _sync(base_url, lambda c: c.models.count_tokens(model="gpt-4o", contents="word " * 100))
    assert 50 <= counted.total_tokens <= 200
    assert not fakes["openai"].received


async def test_count_tokens_for_a_gemini_model_asks_gemini(daemon, fakes, base_url):
    """count_tokens for a Gemini model (the SDK calls /v1/...:countTokens) is Gemini's own count, asked
    at /v1beta; a count is no call and leaves no row."""
    fakes["gemini"].fail(200, {"totalTokens": 5})
    counted = await _sync(base_url, lambda c: c.models.count_tokens(model="gemini-2.5-flash", contents="hi"))
    assert counted.total_tokens == 5
    assert fakes["gemini"].received[-1].path == "/v1beta/models/gemini-2.5-flash:countTokens"
    assert await calls(daemon) == []


async def test_errors_read_as_gemini_errors(daemon, fakes, base_url):
    """An unknown model and a provider's 429 reach the SDK as ClientErrors with code and status."""
    with pytest.raises(errors.ClientError) as unknown:
        await _sync(base_url, lambda c: c.models.generate_content(model="nope-1", contents="hi"))
    assert (unknown.value.code, unknown.value.status) == (404, "NOT_FOUND")
    fakes["anthropic"].fail(429, {"type": "error", "error": {"type": "rate_limit_error", "message": "slow"}})
    with pytest.raises(errors.ClientError) as limited:
        await _sync(base_url, lambda c: c.models.generate_content(model="claude-sonnet-4-5", contents="hi"))
    assert (limited.value.code, limited.value.status) == (429, "RESOURCE_EXHAUSTED")


async def test_stream_cut_midway_raises_after_the_text_so_far(daemon, fakes, base_url):
    """A routed stream the provider cuts after some text: the SDK yields that text, then raises the
    error event routerd ends the stream with (502 UNAVAILABLE); the row is stream_cut."""
    fakes["openai"].cut(after=5)
    got: list[str] = []

    def read(c: genai.Client) -> None:
        got.extend(chunk.text for chunk in c.models.generate_content_stream(model="gpt-4o", contents="hi"))
    with pytest.raises(errors.ServerError) as cut:
        await _sync(base_url, read)
    assert "".join(got) == "Hello from openai."[:len("".join(got))] and got
    assert (cut.value.code, cut.value.status) == (502, "UNAVAILABLE")
    [row] = await calls(daemon)
    assert row["outcome"] == "stream_cut"


@pytest.mark.gateway_config(http='gateway_key_env = "ROUTERD_TEST_GATEWAY_KEY"')
async def test_gateway_key_is_the_sdk_api_key(daemon, fakes, base_url, monkeypatch):
    """With a gateway key set, the SDK's api_key is it (sent as x-goog-api-key, never upstream); a
    wrong one is a 401 the SDK reads as UNAUTHENTICATED, saying how a Gemini client sends the key."""
    monkeypatch.setenv("ROUTERD_TEST_GATEWAY_KEY", GATEWAY_KEY)

    def ask(key: str):
        with genai.Client(api_key=key, http_options=types.HttpOptions(
                base_url=base_url, retry_options=types.HttpRetryOptions(attempts=1))) as client:
            return client.models.generate_content(model="gemini-2.5-flash", contents="hi")
    assert (await anyio.to_thread.run_sync(ask, GATEWAY_KEY)).text == "Hello from gemini."
    assert fakes["gemini"].received[-1].headers["x-goog-api-key"] == "gem-secret-3456"
    with pytest.raises(errors.ClientError) as refused:
        await anyio.to_thread.run_sync(ask, "wrong")
    assert (refused.value.code, refused.value.status) == (401, "UNAUTHENTICATED")
    assert "x-goog-api-key" in refused.value.message


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_async_client_generates_and_streams(daemon, fakes, base_url):
    """client.aio: generate_content and generate_content_stream on asyncio, each recorded once."""
    client = _client(base_url)
    try:
        response = await client.aio.models.generate_content(model="claude-sonnet-4-5", contents="hi")
        chunks = [c async for c in await client.aio.models.generate_content_stream(model="gpt-4o", contents="hi")]
    finally:
        await client.aio.aclose()
        client.close()
    assert response.text == "Hello from anthropic." and _usage(response) == USAGE
    assert "".join(c.text or "" for c in chunks) == "Hello from openai." and _usage(chunks[-1]) == USAGE
    rows = await calls(daemon)
    assert [(r["provider"], r["input_tokens"], r["output_tokens"]) for r in rows] == \
        [("anthropic", *USAGE[:2]), ("openai", *USAGE[:2])]
