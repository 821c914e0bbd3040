"""A real model behind routerd: the ``openai`` and ``anthropic`` packages -> routerd -> llama.cpp's
OpenAI-compatible server running SmolLM2-135M on this CPU (see ``tests/e2e/llama.py``), same
dialect (chat completions) and translated (Messages, Responses).

The model's words are not predictable, so the tests pin what is: an answer with text, the model
routerd says it used, and the usage tokens routerd recorded, which must be the server's own count
where the server gives one (not in its streams: it ignores ``stream_options.include_usage``).
"""

import anthropic
import openai
import pytest

from routerd.app import App
from tests.e2e.harness import http_url, recorded_calls

pytestmark = pytest.mark.anyio

PROMPT = [{"role": "user", "content": "Name one colour of the sky."}]


async def test_local_model_chat(local_model: str, daemon: App) -> None:
    """A non-streaming chat completion through routerd gets the local model's answer and usage."""
    async with openai.AsyncOpenAI(base_url=http_url(daemon) + "/v1", api_key="dummy",
                                  max_retries=0) as client:
        raw = await client.chat.completions.with_raw_response.create(
            model=local_model, messages=PROMPT, max_tokens=12, temperature=0)
    reply = raw.parse()
    assert reply.choices[0].message.content.strip()
    assert raw.headers["x-routerd-model"].endswith("smollm2-135m")
    assert reply.usage.prompt_tokens > 0 and reply.usage.completion_tokens > 0
    [row] = await recorded_calls(daemon)
    assert (row["provider"], row["outcome"]) == ("local", "ok")
    assert (row["input_tokens"], row["output_tokens"]) == (reply.usage.prompt_tokens,
                                                           reply.usage.completion_tokens)
    assert row["cost_usd"] == 0.0 and not row["estimated"]  # configured local = true


# On trio the SDK drops its own SSE generators unclosed after [DONE]; that warning is not routerd's.
@pytest.mark.filterwarnings("ignore:Async generator:ResourceWarning")
async def test_local_model_chat_streaming(local_model: str, daemon: App) -> None:
    """A streamed chat completion arrives in pieces; usage is recorded though llama.cpp's stream has
    none (it ignores ``stream_options.include_usage``), so routerd must count or estimate it."""
    async with openai.AsyncOpenAI(base_url=http_url(daemon) + "/v1", api_key="dummy",
                                  max_retries=0) as client:
        stream = await client.chat.completions.create(
            model=local_model, messages=PROMPT, max_tokens=12, temperature=0, stream=True)
        chunks = [chunk async for chunk in stream]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.strip() and len(chunks) > 2
    [row] = await recorded_calls(daemon)
    assert (row["provider"], row["outcome"]) == ("local", "ok")
    assert row["input_tokens"] > 0 and row["output_tokens"] > 0 and row["estimated"]
    assert row["ttft_ms"] is not None and row["ttft_ms"] <= row["latency_ms"]


async def test_local_model_from_anthropic_client(local_model: str, daemon: App) -> None:
    """The ``anthropic`` package's Messages call is translated to llama.cpp's chat API and back."""
    async with anthropic.AsyncAnthropic(base_url=http_url(daemon), api_key="dummy",
                                        max_retries=0) as client:
        reply = await client.messages.create(model=local_model, messages=PROMPT, max_tokens=12)
    assert reply.content[0].type == "text" and reply.content[0].text.strip()
    assert reply.stop_reason in ("end_turn", "max_tokens")
    [row] = await recorded_calls(daemon)
    assert (row["provider"], row["outcome"]) == ("local", "ok")
    assert (row["input_tokens"], row["output_tokens"]) == (reply.usage.input_tokens,
                                                           reply.usage.output_tokens)
    assert reply.usage.input_tokens > 0 and reply.usage.output_tokens > 0


@pytest.mark.filterwarnings("ignore:Async generator:ResourceWarning")
async def test_local_model_from_responses_client(local_model: str, daemon: App) -> None:
    """A streamed Responses call (as Codex makes) is translated to llama.cpp's chat stream and back."""
    async with openai.AsyncOpenAI(base_url=http_url(daemon) + "/v1", api_key="dummy",
                                  max_retries=0) as client:
        stream = await client.responses.create(model=local_model, input="Name one colour of the sky.",
                                               max_output_tokens=16, temperature=0,
                                               stream=True)
        events = [event async for event in stream]
    kinds = [e.type for e in events]
    # "incomplete" when the answer reached max_output_tokens (llama.cpp's finish_reason "length")
    assert kinds[0] == "response.created" and kinds[-1] in ("response.completed", "response.incomplete")
    assert [e.sequence_number for e in events] == list(range(len(events)))
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert text.strip() and events[-1].response.output_text == text
    [row] = await recorded_calls(daemon)
    assert (row["provider"], row["outcome"]) == ("local", "ok")
    assert row["input_tokens"] > 0 and row["output_tokens"] > 0
