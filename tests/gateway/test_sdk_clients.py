"""The official ``openai`` and ``anthropic`` SDKs against routerd, streaming and not, with tools."""

import anthropic
import openai
import pytest

from tests.fakes import answers
from tests.gateway.conftest import calls

pytestmark = [
    pytest.mark.anyio,
    # openai's AsyncStream breaks out of its SSE generator at [DONE] without closing it; trio warns
    # when such a generator is collected. That is the SDK's, not the gateway's, so it is let through.
    pytest.mark.filterwarnings(
        "ignore:Async generator:ResourceWarning"),
]

WEATHER_OPENAI = [{"type": "function", "function": {
    "name": "get_weather", "description": "Weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]
WEATHER_ANTHROPIC = [{"name": "get_weather", "description": "Weather for a city",
                      "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}]


def _openai(base_url: str) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=base_url + "/v1", api_key="unused", max_retries=0)


def _anthropic(base_url: str) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(base_url=base_url, api_key="unused", max_retries=0)


async def test_openai_chat_roundtrip(daemon, fakes, base_url):
    """A chat completion goes to the provider serving the model and comes back with routing headers."""
    async with _openai(base_url) as client:
        raw = await client.chat.completions.with_raw_response.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    completion = raw.parse()
    assert completion.choices[0].message.content == "Hello from openai."
    assert raw.headers["x-routerd-model"] == "gpt-4o-mini"
    assert raw.headers["x-routerd-decision-id"]
    assert float(raw.headers["x-routerd-overhead-ms"]) >= 0
    sent = fakes["openai"].received[-1]
    assert sent.path == "/v1/chat/completions"
    assert sent.headers["authorization"] == "Bearer sk-openai-secret-1234"
    [row] = await calls(daemon)
    assert (row["provider"], row["outcome"], row["input_tokens"], row["output_tokens"]) == \
        ("openai", "ok", answers.INPUT_TOKENS, answers.OUTPUT_TOKENS)
    assert row["decision_id"] == raw.headers["x-routerd-decision-id"]


async def test_openai_streaming_with_tools(daemon, fakes, base_url):
    """A streamed tool call arrives intact and its usage is recorded."""
    async with _openai(base_url) as client:
        async with await client.chat.completions.create(
                model="gpt-4o", messages=[{"role": "user", "content": "weather in Paris?"}],
                tools=WEATHER_OPENAI, stream=True) as stream:
            chunks = [chunk async for chunk in stream]
    calls_seen = [tc for c in chunks if c.choices for tc in c.choices[0].delta.tool_calls or []]
    assert calls_seen[0].function.name == "get_weather"
    assert "Paris" in "".join(tc.function.arguments or "" for tc in calls_seen)
    [row] = await calls(daemon)
    assert (row["outcome"], row["input_tokens"], row["output_tokens"]) == \
        ("ok", answers.INPUT_TOKENS, answers.OUTPUT_TOKENS)
    assert row["ttft_ms"] is not None


async def test_openai_streaming_text(daemon, fakes, base_url):
    """Streamed text is relayed in order."""
    async with _openai(base_url) as client:
        async with await client.chat.completions.create(
                model="gpt-4o", messages=[{"role": "user", "content": "hi"}], stream=True) as stream:
            text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
    assert text == "Hello from openai."


async def test_openai_models_list(daemon, base_url):
    """GET /v1/models lists auto and the configured models."""
    async with _openai(base_url) as client:
        page = await client.models.list()
    assert "auto" in [m.id for m in page.data]


async def test_anthropic_messages_roundtrip(daemon, fakes, base_url):
    """A Messages call reaches the Anthropic provider with its own key and version header."""
    async with _anthropic(base_url) as client:
        message = await client.messages.create(model="claude-haiku-4-5", max_tokens=50,
                                               messages=[{"role": "user", "content": "hi"}])
    assert message.content[0].text == "Hello from anthropic."
    sent = fakes["anthropic"].received[-1]
    assert sent.headers["x-api-key"] == "sk-ant-secret-9012"
    assert sent.headers["anthropic-version"]


async def test_anthropic_streaming_tools_and_beta(daemon, fakes, base_url):
    """Streaming with beta headers, ?beta=true and tools: headers, query and tool call survive."""
    async with _anthropic(base_url) as client:
        async with client.beta.messages.stream(
                model="claude-sonnet-4-6", max_tokens=100, tools=WEATHER_ANTHROPIC,
                messages=[{"role": "user", "content": "weather?"}],
                betas=["interleaved-thinking-2025-05-14", "fine-grained-tool-streaming-2025-05-14"],
                extra_headers={"X-Claude-Code-Session-Id": "sess-1"},
                extra_query={"beta": "true"}) as stream:
            final = await stream.get_final_message()
    assert final.content[0].type == "tool_use" and final.content[0].input == {"city": "Paris"}
    sent = fakes["anthropic"].received[-1]
    assert sent.query == "beta=true"
    assert sent.headers["anthropic-beta"] == \
        "interleaved-thinking-2025-05-14,fine-grained-tool-streaming-2025-05-14"
    assert sent.headers["x-claude-code-session-id"] == "sess-1"
    [row] = await calls(daemon)
    assert (row["input_tokens"], row["output_tokens"]) == (answers.INPUT_TOKENS, answers.OUTPUT_TOKENS)


async def test_anthropic_count_tokens(daemon, fakes, base_url):
    """count_tokens is forwarded to an Anthropic provider."""
    async with _anthropic(base_url) as client:
        counted = await client.messages.count_tokens(model="claude-haiku-4-5",
                                                     messages=[{"role": "user", "content": "hi"}])
    assert counted.input_tokens == answers.INPUT_TOKENS
    assert fakes["anthropic"].received[-1].path == "/v1/messages/count_tokens"
    # Counting is no model call: nothing is recorded or priced (it was a call of the counted tokens).
    await daemon.inflight.wait_idle()
    assert await calls(daemon) == []


async def test_responses_streaming(daemon, fakes, base_url):
    """/v1/responses streams events in order to a provider that serves Responses."""
    async with _openai(base_url) as client:
        async with await client.responses.create(model="gpt-5", input="hi", stream=True) as stream:
            events = [event async for event in stream]
    assert events[-1].type == "response.completed"
    assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == \
        "Hello from openai."
    assert fakes["openai"].received[-1].path == "/v1/responses"


async def test_auto_is_routed_by_the_brain_and_costed(daemon, fakes, base_url):
    """model=auto: the brain picks a catalogue model on a configured provider; the decision and
    the call are stored, with the call's cost and the premium baseline from catalogue prices."""
    async with _openai(base_url) as client:
        raw = await client.chat.completions.with_raw_response.create(
            model="auto", messages=[{"role": "user", "content": "What is the capital of France?"}])
    assert raw.parse().choices[0].message.content.startswith("Hello from")
    decision_id = raw.headers["x-routerd-decision-id"]
    [row] = await calls(daemon)
    assert row["decision_id"] == decision_id and row["model"] == raw.headers["x-routerd-model"]
    assert row["cost_usd"] is not None and row["baseline_cost_usd"] >= row["cost_usd"]

    def decision(conn):
        return conn.execute("SELECT source, tier FROM decisions WHERE id = ?", (decision_id,)).fetchone()

    source, tier = await daemon.store.read(decision)
    assert source == "http" and tier in ("simple", "moderate", "complex")


@pytest.mark.parametrize(("client", "maker"), [("anthropic", "anthropic"), ("openai", "openai")])
async def test_auto_is_compared_with_the_priciest_model_of_the_clients_own_maker(daemon, fakes, base_url,
                                                                                 client, maker):
    """With OpenAI's, Anthropic's and Google's models all on providers, an Anthropic SDK client's
    ``auto`` call is compared with the priciest Anthropic model the brain would accept, not with
    another company's priciest (which made "hi there" save ~99%); an OpenAI client's with OpenAI's."""
    messages = [{"role": "user", "content": "hi there"}]
    if client == "anthropic":
        async with _anthropic(base_url) as anthropic_client:
            await anthropic_client.messages.create(model="auto", max_tokens=50, messages=messages)
    else:
        async with _openai(base_url) as openai_client:
            await openai_client.chat.completions.create(model="auto", messages=messages)
    await daemon.inflight.wait_idle()
    [row] = await calls(daemon)
    priciest = max((m for m in daemon.runtime.catalogue.models if m.provider == maker),
                   key=lambda m: m.cost_per_mtok() or 0.0)
    assert row["baseline_model"] == f"{maker}/{priciest.id}"
