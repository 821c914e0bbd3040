"""A hosted web search across dialects, end to end with the real clients: the anthropic SDK sending
Claude Code's WebSearch call to a provider that runs OpenAI's or Gemini's search, and the openai
SDK's Responses client sending ``web_search`` to Anthropic. Each upstream is a fake that runs its
own search the way the real provider answers one (tests/fakes/search.py); the client must get the
search, its results and the citations in its own dialect, whole and streamed.
"""

import json

import anthropic
import openai
import pytest

from routerd.catalogue.builtin import load_catalogue
from routerd.catalogue.prices import Tokens
from routerd.ledger import costs
from tests.fakes.answers import INPUT_TOKENS, OUTPUT_TOKENS
from tests.fakes.search import CITED, INTRO, SOURCES
from tests.gateway.conftest import calls
from tests.gateway.test_hosted_tools import capture

pytestmark = pytest.mark.anyio
CATALOGUE = load_catalogue()

QUERY = "routerd release date"  # what the captured WebSearch call asks


def claude_codes_web_search() -> dict:
    """Claude Code 2.1.197's WebSearch call, as the SDK's keyword arguments (its 64,000 max_tokens
    made 4,096: the SDK refuses so many without streaming)."""
    _, body = capture("claude-code-2.1.197-web-search", "claude-routerd-auto")
    own = {"model", "messages", "system", "tools", "tool_choice", "metadata", "thinking", "temperature"}
    return {**{k: v for k, v in body.items() if k in own}, "max_tokens": 4096,
            "extra_body": {k: v for k, v in body.items() if k not in own | {"stream", "max_tokens"}}}


def check_anthropic_answer(message: anthropic.types.Message, urls: list[str], *, streamed: bool = False) -> None:
    """The search call, its results and the cited text, as Anthropic's own blocks. A whole answer's
    cited span is a block of its own; a stream's citation joins the text block it arrives in (the
    other providers say which span they cite after sending the text)."""
    call, results, *texts = message.content
    assert (call.type, call.name, call.input) == ("server_tool_use", "web_search", {"query": QUERY})
    assert results.type == "web_search_tool_result" and results.tool_use_id == call.id
    assert [r.url for r in results.content] == urls
    assert "".join(t.text for t in texts) == INTRO + CITED
    cited = [t for t in texts if t.citations]
    assert [(t.text, [c.url for c in t.citations]) for t in cited] == [(INTRO + CITED if streamed else CITED, urls[:1])]
    assert message.usage.server_tool_use.web_search_requests == 1


@pytest.mark.gateway_config("", providers=("openai",))
async def test_claude_codes_web_search_runs_on_openai_through_responses(daemon, fakes, base_url):
    """Claude Code's WebSearch with only OpenAI configured: OpenAI's web_search runs it, and the
    anthropic SDK reads server_tool_use, web_search_tool_result and cited text blocks."""
    async with anthropic.AsyncAnthropic(base_url=base_url, api_key="unused", max_retries=0) as client:
        message = await client.messages.create(**claude_codes_web_search())
        async with client.messages.stream(**claude_codes_web_search()) as stream:
            streamed = await stream.get_final_message()
    urls = [url for url, _ in SOURCES]
    check_anthropic_answer(message, urls)
    check_anthropic_answer(streamed, urls, streamed=True)
    upstream = fakes["openai"].received
    assert [r.path for r in upstream] == ["/v1/responses"] * 2
    assert upstream[0].json["tools"] == [{"type": "web_search"}] and upstream[1].json["stream"] is True


@pytest.mark.gateway_config("", providers=("gemini",))
async def test_claude_codes_web_search_runs_on_gemini_grounding(daemon, fakes, base_url):
    """Claude Code's WebSearch with only Gemini configured: google_search runs it; its grounding
    (queries, chunks, byte-offset supports) comes back as Anthropic's blocks, the cited span a block
    of its own."""
    async with anthropic.AsyncAnthropic(base_url=base_url, api_key="unused", max_retries=0) as client:
        message = await client.messages.create(**claude_codes_web_search())
        async with client.messages.stream(**claude_codes_web_search()) as stream:
            streamed = await stream.get_final_message()
    from tests.fakes.search import GEMINI_URIS
    check_anthropic_answer(message, GEMINI_URIS)
    call, results, *texts = streamed.content  # Gemini grounds the text after it: the search follows it
    assert "".join(t.text for t in [call, results, *texts] if t.type == "text") == INTRO + CITED
    blocks = [b.type for b in streamed.content]
    assert blocks.count("server_tool_use") == 1 and blocks.count("web_search_tool_result") == 1
    cited = [b for b in streamed.content if b.type == "text" and b.citations]
    assert [c.url for b in cited for c in b.citations] == GEMINI_URIS[:1]
    assert streamed.usage.server_tool_use.web_search_requests == 1
    assert [r.json["tools"] for r in fakes["gemini"].received] == [[{"googleSearch": {}}]] * 2


def check_responses_answer(response) -> None:
    """A web_search_call item with the query and the sources, and the text with its url_citation."""
    search, message = response.output
    assert (search.type, search.status, search.action.type, search.action.query) == \
        ("web_search_call", "completed", "search", QUERY)
    assert [s.url for s in search.action.sources] == [url for url, _ in SOURCES]
    [text] = message.content
    assert text.text == INTRO + CITED
    [note] = text.annotations
    assert (note.type, note.url, text.text[note.start_index:note.end_index]) == ("url_citation", SOURCES[0][0], CITED)


@pytest.mark.gateway_config("", providers=("anthropic",))
async def test_a_responses_web_search_runs_on_anthropic(daemon, fakes, base_url):
    """The openai SDK's Responses client offering web_search (with a domain filter and a location)
    reaches Anthropic's web_search tool, and reads back web_search_call items and url_citation
    annotations, whole and streamed."""
    tool = {"type": "web_search", "filters": {"allowed_domains": ["python.org"]},
            "user_location": {"type": "approximate", "city": "Lyon", "country": "FR"}}
    ask = {"model": "routerd-auto", "input": f"Perform a web search for the query: {QUERY}", "tools": [tool],
           "tool_choice": "required", "max_tool_calls": 2}
    async with openai.AsyncOpenAI(base_url=base_url + "/v1", api_key="unused", max_retries=0) as client:
        response = await client.responses.create(**ask)
        async with client.responses.stream(**ask) as stream:
            streamed = await stream.get_final_response()
    check_responses_answer(response)
    check_responses_answer(streamed)
    upstream = fakes["anthropic"].received
    assert [r.json["tools"] for r in upstream] == [[{
        "type": "web_search_20250305", "name": "web_search", "max_uses": 2, "allowed_domains": ["python.org"],
        "user_location": {"type": "approximate", "city": "Lyon", "country": "FR"}}]] * 2


@pytest.mark.gateway_config("", providers=("gemini", "anthropic"))
async def test_a_search_with_a_domain_filter_passes_over_gemini(daemon, fakes, base_url):
    """A search limited to some domains is never sent to Gemini, whose search cannot limit them."""
    kwargs = {**claude_codes_web_search(), "tools": [{"type": "web_search_20250305", "name": "web_search",
                                                       "allowed_domains": ["python.org"]}]}
    async with anthropic.AsyncAnthropic(base_url=base_url, api_key="unused", max_retries=0) as client:
        raw = await client.messages.with_raw_response.create(**kwargs)
    assert raw.headers["x-routerd-provider"] == "anthropic"
    assert fakes["gemini"].received == []


GOOGLE_SEARCH = {"contents": [{"role": "user", "parts": [{"text": f"Perform a web search for the query: {QUERY}"}]}],
                 "tools": [{"googleSearch": {}}]}


def check_grounding(candidate: dict) -> None:
    """Gemini's groundingMetadata: the query, the sources, and a support whose UTF-8 byte offsets
    cut the cited sentence out of the answer's text."""
    text = "".join(p.get("text", "") for p in candidate["content"]["parts"])
    grounding = candidate["groundingMetadata"]
    assert text == INTRO + CITED and grounding["webSearchQueries"] == [QUERY]
    assert [c["web"]["uri"] for c in grounding["groundingChunks"]] == [url for url, _ in SOURCES]
    [support] = grounding["groundingSupports"]
    segment = support["segment"]
    assert text.encode()[segment["startIndex"]:segment["endIndex"]].decode() == CITED == segment["text"]
    assert support["groundingChunkIndices"] == [0]


async def test_a_gemini_clients_google_search_runs_on_openai(daemon, fakes, base_url):
    """A Gemini client's googleSearch for a GPT model runs as OpenAI's web_search on /v1/responses,
    and comes back as groundingMetadata, whole and streamed."""
    import httpx

    async with httpx.AsyncClient(base_url=base_url, timeout=10) as http:
        whole = await http.post("/v1beta/models/gpt-4.1:generateContent", json=GOOGLE_SEARCH)
        streamed = await http.post("/v1beta/models/gpt-4.1:streamGenerateContent?alt=sse", json=GOOGLE_SEARCH)
    check_grounding(whole.json()["candidates"][0])
    chunks = [json.loads(line[6:]) for line in streamed.text.splitlines() if line.startswith("data: ")]
    parts = [p for c in chunks for p in c["candidates"][0]["content"]["parts"]]
    [last] = [c["candidates"][0] for c in chunks if "groundingMetadata" in c["candidates"][0]]
    check_grounding({**last, "content": {"parts": parts}})
    assert [r.path for r in fakes["openai"].received] == ["/v1/responses"] * 2


@pytest.mark.gateway_config("", providers=("openai", "anthropic"))
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
async def test_a_search_another_provider_ran_goes_back_to_anthropic_as_text(daemon, fakes, base_url, stream):
    """A conversation whose search turn ran on OpenAI (its blocks carry no Anthropic signature:
    encrypted_content "") and goes on with a Claude model passed through to Anthropic as asked: the
    fake, like the API, refuses unsigned results and citations, so routerd sends the results as a
    text block listing them, drops their call and the unsigned citations, and the turn is answered."""
    first = {**claude_codes_web_search(), "model": "gpt-4.1"}
    async with anthropic.AsyncAnthropic(base_url=base_url, api_key="unused", max_retries=0) as client:
        searched = await client.messages.create(**first)
        assert [b.type for b in searched.content][:2] == ["server_tool_use", "web_search_tool_result"]
        history = [*first["messages"], {"role": "assistant", "content": [
            b.model_dump(exclude_none=True) for b in searched.content]}, {"role": "user", "content": "Thanks!"}]
        # without the effort Claude Code asks its Opus for (Haiku 4.5 refuses it, as the fake does)
        ask = {**first, "model": "claude-haiku-4-5", "messages": history, "extra_body": {}}
        if stream:
            async with client.messages.stream(**ask) as answer:
                reply = await answer.get_final_message()
        else:
            reply = await client.messages.create(**ask)
    assert reply.content[-1].type == "text" and reply.usage.server_tool_use.web_search_requests == 1
    [sent] = fakes["anthropic"].received
    turn = sent.json["messages"][-2]["content"]
    assert [b["type"] for b in turn] == ["text"] * len(turn) and "citations" not in json.dumps(turn)
    assert turn[0]["text"].startswith("Web search results:\n- What's New In Python 3.14 (https://docs.python.org")


@pytest.mark.gateway_config("", providers=("openai",))
@pytest.mark.parametrize("tool, model, per_search_usd", [("web_search_preview", "gpt-4o", 0.025),
                                                         ("web_search_preview_2025_03_11", "gpt-4.1-mini", 0.025),
                                                         ("web_search", "gpt-4o", 0.01),
                                                         ("web_search_preview", "gpt-5", 0.01)])
async def test_a_web_search_preview_call_is_priced_as_openai_bills_it(daemon, fakes, base_url, tool, model,
                                                                      per_search_usd):
    """OpenAI bills web_search_preview at $25 per 1,000 calls on its non-reasoning models (and
    web_search's $10 on reasoning ones): the row's cost is the tokens plus that (it was $10)."""
    async with openai.AsyncOpenAI(base_url=base_url + "/v1", api_key="unused", max_retries=0) as client:
        await client.responses.create(model=model, input=f"Perform a web search for the query: {QUERY}",
                                      tools=[{"type": tool}])
    [row] = await calls(daemon)
    words = costs.price(CATALOGUE, ("openai", model), Tokens(input=INPUT_TOKENS, output=OUTPUT_TOKENS))
    assert row["web_searches"] == 1 and row["cost_usd"] == pytest.approx(words + per_search_usd)
