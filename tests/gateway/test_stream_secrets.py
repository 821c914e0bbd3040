"""A key an upstream streams in pieces never reaches the client whole, in any dialect, passed through
or translated, read by the real SDKs; text that holds no start of a secret streams as it came."""

import json

import anthropic
import httpx
import openai
import pytest

from routerd.gateway.holdback import SHOWN_AT_END
from tests.fakes import answers
from tests.gateway.conftest import calls

pytestmark = [
    pytest.mark.anyio,
    # openai's AsyncStream leaves its SSE generator at [DONE] unclosed; trio warns when it is collected.
    pytest.mark.filterwarnings("ignore:Async generator:ResourceWarning"),
]

ANT_KEY = "sk-ant-secret-9012"  # the anthropic fake's key, in the gateway's config
SAID = f"key {ANT_KEY} end"
SPLITS = {"two": ["key sk-ant-se", "cret-9012 end"], "many": list(SAID)}
GEMINI_BODY = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}
# (client's API, model): the first four pass through, the rest are translated.
ROUTES = [("chat", "gpt-4o"), ("responses", "gpt-4o"), ("messages", "claude-haiku-4-5"),
          ("gemini", "gemini-2.5-flash"), ("messages", "gpt-4o"), ("chat", "claude-haiku-4-5"),
          ("responses", "claude-haiku-4-5"), ("gemini", "gpt-4o"), ("chat", "gemini-2.5-flash")]


def _upstream(client: str, model: str) -> tuple[str, str]:
    """(fake, dialect) that serves ``model`` for ``client``."""
    if model.startswith("gpt"):
        return "openai", "responses" if client == "responses" else "openai_chat"
    return ("anthropic", "anthropic") if model.startswith("claude") else ("gemini", "gemini")


async def _streamed_text(base_url: str, client: str, model: str) -> str:
    """The text a real client reads from a streamed answer."""
    if client == "chat":
        async with openai.AsyncOpenAI(base_url=base_url + "/v1", api_key="unused", max_retries=0) as sdk:
            stream = await sdk.chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}],
                                                       stream=True)
            return "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
    if client == "responses":
        async with openai.AsyncOpenAI(base_url=base_url + "/v1", api_key="unused", max_retries=0) as sdk:
            async with sdk.responses.stream(model=model, input="hi") as stream:
                deltas = "".join([e.delta async for e in stream if e.type == "response.output_text.delta"])
                assert (await stream.get_final_response()).output_text == deltas
                return deltas
    if client == "messages":
        async with anthropic.AsyncAnthropic(base_url=base_url, api_key="unused", max_retries=0) as sdk:
            async with sdk.messages.stream(model=model, max_tokens=50,
                                           messages=[{"role": "user", "content": "hi"}]) as stream:
                deltas = "".join([text async for text in stream.text_stream])
                final = await stream.get_final_message()
                assert final.content[0].text == deltas
                return deltas
    async with httpx.AsyncClient(timeout=10) as http:
        response = await http.post(f"{base_url}/v1beta/models/{model}:streamGenerateContent?alt=sse",
                                   json=GEMINI_BODY)
    chunks = [json.loads(line[6:]) for line in response.text.splitlines() if line.startswith("data: ")]
    return "".join(p.get("text", "") for c in chunks for cand in c.get("candidates", [])
                   for p in cand["content"]["parts"])


@pytest.mark.parametrize("split", SPLITS)
@pytest.mark.parametrize("client, model", ROUTES)
async def test_a_key_streamed_in_pieces_reaches_no_client(daemon, fakes, base_url, client, model, split):
    """The key cut across two text deltas, or one character a delta, is blanked whole: the client
    reads the text around it and not one character of it; the call is recorded once."""
    fake, dialect = _upstream(client, model)
    fakes[fake].events(*answers.stream(dialect, model, SAID, None, pieces=SPLITS[split]))
    assert await _streamed_text(base_url, client, model) == "key *** end"
    [row] = await calls(daemon)
    assert (row["provider"], row["outcome"], row["output_tokens"]) == (fake, "ok", answers.OUTPUT_TOKENS)


async def _raw_stream(base_url: str, path: str, body: dict) -> bytes:
    async with httpx.AsyncClient(timeout=10) as http:
        async with http.stream("POST", base_url + path, json=body) as response:
            return await response.aread()


# (path, body, fake, dialect, model) of a stream passed through as it came.
PASSED = [("/v1/chat/completions", {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}],
                                    "stream": True, "stream_options": {"include_usage": True}},
           "openai", "openai_chat", "gpt-4o"),
          ("/v1/responses", {"model": "gpt-4o", "input": "hi", "stream": True}, "openai", "responses", "gpt-4o"),
          ("/v1/messages", {"model": "claude-haiku-4-5", "max_tokens": 50, "stream": True,
                            "messages": [{"role": "user", "content": "hi"}]}, "anthropic", "anthropic",
           "claude-haiku-4-5"),
          ("/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", GEMINI_BODY, "gemini", "gemini",
           "gemini-2.5-flash")]


@pytest.mark.parametrize("path, body, fake, dialect, model", PASSED)
async def test_ordinary_text_streams_byte_for_byte(daemon, fakes, base_url, path, body, fake, dialect, model):
    """A passed-through stream whose deltas end in no secret's first characters reaches the client
    as the very bytes the upstream sent."""
    events = answers.stream(dialect, model, "Hello from the router, friend", None)
    fakes[fake].events(*events)
    assert await _raw_stream(base_url, path, body) == b"".join(events)


@pytest.mark.parametrize("client, model", ROUTES[:4])
async def test_text_ending_in_a_secrets_start_arrives_whole(daemon, fakes, base_url, client, model):
    """Deltas that end in what starts a key ("s", "sk-a") lose nothing: the client reads the text
    as it was written, the kept-back characters a delta later."""
    fake, dialect = _upstream(client, model)
    said = "it works as sk-a said, yes"
    fakes[fake].events(*answers.stream(dialect, model, said, None, pieces=["it works", " as", " sk-a", " said, yes"]))
    assert await _streamed_text(base_url, client, model) == said


@pytest.mark.parametrize("path, body, fake, dialect, model", PASSED)
async def test_a_stream_cut_after_most_of_a_key_shows_none_of_it(daemon, fakes, base_url, path, body, fake,
                                                                   dialect, model):
    """An upstream that sends a key all but its last character and then breaks off leaves the client
    the text before it, "***", and the error event; the call is recorded once, as cut. (Gemini's
    chunk with the key is its last: the stream ends there, whole.)"""
    events = answers.stream(dialect, model, "", None, pieces=["key ", ANT_KEY[:-1]])
    fakes[fake].events(*events[:next(i for i, e in enumerate(events) if ANT_KEY[:-1].encode() in e) + 1])
    raw = (await _raw_stream(base_url, path, body)).decode()
    cut = dialect != "gemini"  # Gemini's last chunk, the one with the key, ends its stream
    assert ANT_KEY[:SHOWN_AT_END + 1] not in raw and "***" in raw and ("interrupted" in raw) == cut
    [row] = await calls(daemon)
    assert (row["provider"], row["outcome"]) == (fake, "stream_cut" if cut else "ok")
