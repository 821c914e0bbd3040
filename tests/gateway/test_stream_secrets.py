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
OPENAI_KEY = "sk-openai-secret-1234"  # the openai fake's
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


def _annotated_responses_stream(pieces: list[str]) -> list[bytes]:
    """A Responses stream of ``pieces`` with a url_citation over the first piece announced right
    after it, as OpenAI sends one once the text it cites has streamed."""
    seq = iter(range(100))

    def event(name: str, data: dict) -> bytes:
        return answers._sse(name, {"type": name, "sequence_number": next(seq), **data})

    text, head = "".join(pieces), {"item_id": "msg_1", "output_index": 0, "content_index": 0}
    cite = {"type": "url_citation", "start_index": 0, "end_index": len(pieces[0]), "url": "https://example.com/",
            "title": "Example"}
    part = {"type": "output_text", "text": text, "annotations": [cite]}
    item = {"id": "msg_1", "type": "message", "role": "assistant", "status": "completed", "content": [part]}
    response = {"id": "resp_1", "object": "response", "created_at": 1, "model": "gpt-4o", "status": "in_progress",
                "output": [], "parallel_tool_calls": True, "tool_choice": "auto", "tools": []}
    return [event("response.created", {"response": response}),
            event("response.output_item.added", {"output_index": 0, "item": {**item, "status": "in_progress",
                                                                              "content": []}}),
            event("response.content_part.added", {**head, "part": {**part, "text": "", "annotations": []}}),
            event("response.output_text.delta", {**head, "delta": pieces[0], "logprobs": []}),
            event("response.output_text.annotation.added", {**head, "annotation_index": 0, "annotation": cite}),
            *[event("response.output_text.delta", {**head, "delta": p, "logprobs": []}) for p in pieces[1:]],
            event("response.output_text.done", {**head, "text": text, "logprobs": []}),
            event("response.content_part.done", {**head, "part": part}),
            event("response.output_item.done", {"output_index": 0, "item": item}),
            event("response.completed", {"response": {**response, "status": "completed", "output": [item]}})]


# (the upstream's text deltas, what the client reads before the annotation, and in all): a start of
# a key of a kind's few characters is shown before it, a longer one blanked (the one mask the key
# gets), the rest blanked after.
ANNOTATED = [(["See the docs s", "o you know."], "See the docs s", "See the docs so you know."),
             (["key sk-openai-se", "cret-1234 end"], "key ***", "key *** end"),
             (["key sk-o", "p", "enai-secret-1234 end"], "key sk-o", "key sk-o*** end")]


@pytest.mark.parametrize("pieces, before, whole", ANNOTATED)
async def test_an_annotation_follows_the_text_it_cites_and_no_secret_leaks(daemon, fakes, base_url, pieces,
                                                                             before, whole):
    """A Responses annotation after a text delta whose end was kept back (it could start a key)
    reaches the openai SDK after that text (it used to come first), a key split around it is
    still never read whole, and the final response says what the deltas said (it used to be
    blanked apart: 'key *** end' against the deltas' 'key ****** end')."""
    fakes["openai"].events(*_annotated_responses_stream(pieces))
    async with openai.AsyncOpenAI(base_url=base_url + "/v1", api_key="unused", max_retries=0) as sdk:
        async with sdk.responses.stream(model="gpt-4o", input="hi") as stream:
            read, cited_after = "", None
            async for event in stream:
                if event.type == "response.output_text.delta":
                    read += event.delta
                elif event.type == "response.output_text.annotation.added":
                    cited_after = read
            final = await stream.get_final_response()
    assert (cited_after, read) == (before, whole)
    assert final.output_text == read and final.output[0].content[0].text == read


def _chat_chunk(*choices: tuple[int, str | None, str | None]) -> bytes:
    """An OpenAI chat chunk with one entry per (index, content, finish_reason)."""
    return answers._sse(None, {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o",
                               "choices": [{"index": i, "delta": {} if t is None else {"content": t},
                                            "finish_reason": f} for i, t, f in choices]})


@pytest.mark.gateway_config("[gateway]\nretries = 0\nretry_backoff_s = 0\n", providers=("openai",))
async def test_a_choice_that_goes_on_after_its_finish_cannot_complete_a_key(daemon, fakes, base_url):
    """n=2: a chunk finishes both choices, the first ending in a key's first characters (shown), the
    second in none; text that then goes on in the first is refused, so the openai SDK, joining each
    choice's deltas, never reads the key (the second choice's end used to clear the first's)."""
    fakes["openai"].events(_chat_chunk((0, "a " + OPENAI_KEY[:SHOWN_AT_END], "stop"), (1, "hi", "stop")),
                           _chat_chunk((0, OPENAI_KEY[SHOWN_AT_END:] + " x", None)), answers._sse(None, "[DONE]"))
    said: dict[int, str] = {}
    async with openai.AsyncOpenAI(base_url=base_url + "/v1", api_key="unused", max_retries=0) as sdk:
        with pytest.raises(openai.APIError, match="after its end"):
            stream = await sdk.chat.completions.create(model="gpt-4o", n=2, stream=True,
                                                       messages=[{"role": "user", "content": "hi"}])
            async for chunk in stream:
                for choice in chunk.choices:
                    said[choice.index] = said.get(choice.index, "") + (choice.delta.content or "")
    # the refusal ends the stream, or, when both chunks came in one read, is the answer (502)
    assert said in ({}, {0: "a " + OPENAI_KEY[:SHOWN_AT_END], 1: "hi"})
    [row] = await calls(daemon)
    assert "after its end" in row["error"]


@pytest.mark.parametrize("model", ["gpt-4o", "claude-haiku-4-5"])
async def test_a_responses_stream_writes_out_its_text_as_its_deltas_said(daemon, fakes, base_url, model):
    """A text ending in most of a key has it blanked in the deltas, and the same in every copy of
    the text the stream writes out when done (text done, part done, item done, the response), which
    used to hold the key's start in the clear; passed through and translated from Anthropic."""
    fake, dialect = _upstream("responses", model)
    key = OPENAI_KEY if fake == "openai" else ANT_KEY
    fakes[fake].events(*answers.stream(dialect, model, "", None, pieces=["key ", key[:-1]]))
    copies = []
    async with openai.AsyncOpenAI(base_url=base_url + "/v1", api_key="unused", max_retries=0) as sdk:
        async with sdk.responses.stream(model=model, input="hi") as stream:
            read = ""
            async for event in stream:
                if event.type == "response.output_text.delta":
                    read += event.delta
                elif event.type == "response.output_text.done":
                    copies.append(event.text)
                elif event.type == "response.content_part.done":
                    copies.append(event.part.text)
                elif event.type == "response.output_item.done":
                    copies.append(event.item.content[0].text)
            copies.append((await stream.get_final_response()).output_text)
    assert read == "key ***" and copies == [read] * 4
