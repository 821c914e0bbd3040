"""Across dialects: the client speaks one dialect, the chosen provider another; both directions,
streaming and not, with tools, and usage recorded from the provider's own answer."""

import anthropic
import openai
import pytest

from tests.fakes import answers
from tests.gateway.conftest import calls
from tests.gateway.test_sdk_clients import WEATHER_ANTHROPIC, WEATHER_OPENAI

pytestmark = [pytest.mark.anyio,
              pytest.mark.filterwarnings("ignore:Async generator:ResourceWarning")]  # the SDK's


def _openai(base_url: str) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=base_url + "/v1", api_key="unused", max_retries=0)


async def test_openai_client_to_anthropic_provider(daemon, fakes, base_url):
    """Chat Completions in, Anthropic Messages out, and the answer back as a chat completion."""
    async with _openai(base_url) as client:
        completion = await client.chat.completions.create(
            model="claude-haiku-4-5", messages=[{"role": "system", "content": "be brief"},
                                                {"role": "user", "content": "hi"}])
    assert completion.choices[0].message.content == "Hello from anthropic."
    sent = fakes["anthropic"].received[-1]
    assert sent.path == "/v1/messages" and sent.json["system"]
    assert sent.headers["anthropic-version"] and sent.headers["x-api-key"] == "sk-ant-secret-9012"
    [row] = await calls(daemon)
    assert (row["provider"], row["input_tokens"], row["output_tokens"]) == \
        ("anthropic", answers.INPUT_TOKENS, answers.OUTPUT_TOKENS)


async def test_openai_client_streams_tools_from_anthropic_provider(daemon, fakes, base_url):
    """A streamed tool call from Anthropic arrives as OpenAI tool-call deltas."""
    async with _openai(base_url) as client:
        async with await client.chat.completions.create(
                model="claude-haiku-4-5", messages=[{"role": "user", "content": "weather?"}],
                tools=WEATHER_OPENAI, stream=True) as stream:
            chunks = [c async for c in stream]
    deltas = [tc for c in chunks if c.choices for tc in c.choices[0].delta.tool_calls or []]
    assert deltas[0].function.name == "get_weather"
    assert "Paris" in "".join(d.function.arguments or "" for d in deltas)
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "tool_calls"


async def test_anthropic_client_to_openai_provider(daemon, fakes, base_url):
    """Anthropic Messages in, Chat Completions out; streaming with tools comes back as Messages."""
    async with anthropic.AsyncAnthropic(base_url=base_url, api_key="x", max_retries=0) as client:
        message = await client.messages.create(model="gpt-4o", max_tokens=20,
                                               messages=[{"role": "user", "content": "hi"}])
        async with client.messages.stream(model="gpt-4o", max_tokens=20, tools=WEATHER_ANTHROPIC,
                                          messages=[{"role": "user", "content": "weather?"}]) as stream:
            final = await stream.get_final_message()
    assert message.content[0].text == "Hello from openai."
    assert fakes["openai"].received[0].path == "/v1/chat/completions"
    assert final.content[0].type == "tool_use" and final.content[0].input == {"city": "Paris"}
    assert final.stop_reason == "tool_use"
    rows = await calls(daemon)
    assert [r["output_tokens"] for r in rows] == [answers.OUTPUT_TOKENS] * 2


async def test_responses_client_to_chat_only_provider(daemon, fakes, base_url):
    """/v1/responses to a provider that only speaks Chat Completions is translated both ways."""
    async with _openai(base_url) as client:
        async with await client.responses.create(model="backup/gpt-4o", input="hi", stream=True) as stream:
            events = [e async for e in stream]
    assert fakes["backup"].received[-1].path == "/v1/chat/completions"
    assert events[-1].type == "response.completed"
    assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == "Hello from backup."
    numbers = [e.sequence_number for e in events]
    assert numbers == sorted(numbers)


async def test_openai_client_to_gemini_provider(daemon, fakes, base_url):
    """Chat Completions to Gemini's generateContent and streamGenerateContent."""
    async with _openai(base_url) as client:
        completion = await client.chat.completions.create(
            model="gemini-2.5-flash", messages=[{"role": "user", "content": "hi"}])
        async with await client.chat.completions.create(
                model="gemini-2.5-flash", messages=[{"role": "user", "content": "hi"}],
                stream=True) as stream:
            text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
    assert completion.choices[0].message.content == "Hello from gemini." == text
    paths = [r.path for r in fakes["gemini"].received]
    assert paths == ["/v1beta/models/gemini-2.5-flash:generateContent",
                     "/v1beta/models/gemini-2.5-flash:streamGenerateContent"]
    assert fakes["gemini"].received[0].headers["x-goog-api-key"] == "gem-secret-3456"


async def test_upstream_error_translated_to_the_clients_dialect(daemon, fakes, base_url):
    """An Anthropic error answering an OpenAI client arrives in OpenAI's error shape, same status."""
    fakes["anthropic"].fail(400, {"type": "error", "error": {"type": "invalid_request_error",
                                                             "message": "prompt is too long"}})
    async with _openai(base_url) as client:
        with pytest.raises(openai.BadRequestError, match="prompt is too long"):
            await client.chat.completions.create(model="claude-haiku-4-5",
                                                 messages=[{"role": "user", "content": "hi"}])


async def test_streaming_usage_recorded_without_client_asking(daemon, fakes, base_url):
    """routerd asks OpenAI for the usage chunk to record tokens, and keeps it from the client."""
    async with _openai(base_url) as client:
        async with await client.chat.completions.create(
                model="gpt-4o", messages=[{"role": "user", "content": "hi"}], stream=True) as stream:
            chunks = [c async for c in stream]
    assert all(c.choices for c in chunks)
    assert fakes["openai"].received[-1].json["stream_options"] == {"include_usage": True}
    [row] = await calls(daemon)
    assert row["output_tokens"] == answers.OUTPUT_TOKENS


@pytest.mark.gateway_config('[gateway.aliases]\n"claude-haiku-4-5" = "openai/gpt-4o-mini"\n')
async def test_count_tokens_without_an_anthropic_provider_is_estimated(daemon, fakes, base_url):
    """count_tokens for a model served by a non-Anthropic provider is answered with a local estimate."""
    async with anthropic.AsyncAnthropic(base_url=base_url, api_key="x", max_retries=0) as client:
        counted = await client.messages.count_tokens(
            model="claude-haiku-4-5", messages=[{"role": "user", "content": "word " * 400}])
    assert 300 <= counted.input_tokens <= 700
    assert not fakes["openai"].received and not fakes["anthropic"].received


@pytest.mark.gateway_config("[gateway]\ndownshift = true\nretry_backoff_s = 0\n")
async def test_downshift_lets_the_brain_pick_a_cheaper_model(daemon, fakes, base_url):
    """With gateway.downshift, a simple prompt naming a premium model goes to a cheaper one, and the
    requested model is the baseline that savings are counted against."""
    async with anthropic.AsyncAnthropic(base_url=base_url, api_key="x", max_retries=0) as client:
        raw = await client.messages.with_raw_response.create(
            model="claude-opus-4-8", max_tokens=20, messages=[{"role": "user", "content": "hi"}])
    assert raw.headers["x-routerd-model"] != "claude-opus-4-8"
    [row] = await calls(daemon)
    assert row["cost_usd"] is not None and row["baseline_cost_usd"] > row["cost_usd"]


@pytest.mark.gateway_config("[gateway]\ndownshift = true\nretry_backoff_s = 0\n")
async def test_downshift_never_moves_a_request_up(daemon, fakes, base_url):
    """A hard prompt naming gpt-6.1-sol (moderate): the brain would pick a complex model, which is
    no downshift, so the request goes to the model named (it went to o3, a tier up), and the stored
    decision says so."""
    hard = ("Design a lock-free multi-producer multi-consumer queue in C++ and prove it linearizable "
            "under the C++ memory model, with the ABA problem handled")
    async with openai.AsyncOpenAI(base_url=f"{base_url}/v1", api_key="x", max_retries=0) as client:
        raw = await client.chat.completions.with_raw_response.create(
            model="gpt-6.1-sol", messages=[{"role": "user", "content": hard}])
    assert raw.headers["x-routerd-model"] == "gpt-6.1-sol"
    decision_id = raw.headers["x-routerd-decision-id"]
    await daemon.store.flush()
    stored = await daemon.store.read(lambda c: c.execute(
        "SELECT tier, model FROM decisions WHERE id = ?", (decision_id,)).fetchone())
    assert stored == ("complex", "gpt-6.1-sol")
    async with openai.AsyncOpenAI(base_url=f"{base_url}/v1", api_key="x", max_retries=0) as client:
        raw = await client.chat.completions.with_raw_response.create(
            model="gpt-6.1-sol", messages=[{"role": "user", "content": "thanks!"}])
    assert raw.headers["x-routerd-model"] not in ("gpt-6.1-sol", "o3", "gpt-6-astra")  # down it may go


@pytest.mark.gateway_config("[gateway]\ndownshift = true\nretry_backoff_s = 0\n")
async def test_a_baseline_routerd_never_routes_to_is_priced_as_itself(daemon, fakes, base_url):
    """An older model the client names (claude-opus-4-1, not in the routing lineup) is the baseline
    at its own price from the snapshot ($15/$75), not zero and not its successor's."""
    async with anthropic.AsyncAnthropic(base_url=base_url, api_key="x", max_retries=0) as client:
        await client.messages.create(
            model="claude-opus-4-1", max_tokens=20, messages=[{"role": "user", "content": "hi"}])
    [row] = await calls(daemon)
    expected = (row["input_tokens"] * 15.0 + row["output_tokens"] * 75.0) / 1e6
    assert row["baseline_cost_usd"] == pytest.approx(expected) and expected > 0
