"""A hosted web search translated between the dialects that run one (Anthropic, Responses, Gemini):
the request's tool and options, and the answer's search call, results and citations, whole and
streamed, for every pair. The upstream answers are those of tests/fakes/search.py, in each
provider's own shape."""

import itertools
import json

import msgspec
import pytest

from routerd.dialects import hosted
from routerd.dialects.canonical import (
    CitationDelta, MessageStop, SearchCall, SearchCallPart, SearchResults, SearchResultsPart, TextDelta, TextPart,
)
from routerd.dialects.registry import get
from routerd.dialects.translate import StreamTranslator, translate_request, translate_response
from tests.dialects.test_streams import decode
from tests.fakes import search

SEARCHING = ("anthropic", "responses", "gemini")
QUERY = "pong latest release"
ASKED = {  # a search request in each dialect, asking for QUERY
    "anthropic": {"model": "m", "max_tokens": 99, "messages": [
        {"role": "user", "content": f"Perform a web search for the query: {QUERY}"}],
        "tools": [{"type": "web_search_20250305", "name": "web_search", "max_uses": 8}]},
    "responses": {"model": "m", "input": f"Perform a web search for the query: {QUERY}",
                  "tools": [{"type": "web_search"}], "include": ["web_search_call.action.sources"]},
    "gemini": {"contents": [{"role": "user", "parts": [{"text": f"Perform a web search for the query: {QUERY}"}]}],
               "tools": [{"googleSearch": {}}]},
}


def urls(dialect: str) -> list[str]:
    return search.GEMINI_URIS if dialect == "gemini" else [url for url, _ in search.SOURCES]


@pytest.mark.parametrize(("upstream", "front"), list(itertools.permutations(SEARCHING, 2)))
def test_a_whole_answers_search_and_citations_reach_the_client(upstream: str, front: str) -> None:
    """The search's query, its sources, the text, and the citation over exactly the cited span."""
    body = translate_response(upstream, front, search.body(upstream, "m", ASKED[upstream]), "routed")
    answer = get(front).parse_response(body)
    calls = [p for p in answer.content if isinstance(p, SearchCallPart)]
    found = [r.url for p in answer.content if isinstance(p, SearchResultsPart) for r in p.results]
    assert [c.query for c in calls] == [QUERY] and found == urls(upstream)
    texts = [p for p in answer.content if isinstance(p, TextPart)]
    text, at, spans = "", 0, []
    for part in texts:
        spans += [(c.url, part.text[c.start or 0:len(part.text) if c.end is None else c.end]) for c in part.citations]
        text += part.text
        at += len(part.text)
    assert text == search.INTRO + search.CITED
    assert spans == [(urls(upstream)[0], search.CITED)]
    assert answer.usage.web_search_requests == 1
    cited_title = [r.title for p in answer.content if isinstance(p, SearchResultsPart) for r in p.results][0]
    assert cited_title == {"gemini": "docs.python.org"}.get(upstream, search.SOURCES[0][1])  # OpenAI's via its citation


@pytest.mark.parametrize(("upstream", "front"), list(itertools.permutations(SEARCHING, 2)))
def test_a_streamed_answers_search_and_citations_reach_the_client(upstream: str, front: str) -> None:
    """Streamed: the search call and results, the text, a citation, and one search in the usage. The
    cited span is exact for Responses and Gemini clients; Anthropic's citations cite the block they
    arrive in."""
    translator = StreamTranslator(upstream, front, "routed")
    out = b"".join(translator.feed(chunk) for chunk in search.stream(upstream, "m", ASKED[upstream]))
    events = decode(front, out + translator.close())
    assert [e.query for e in events if isinstance(e, SearchCall)] == [QUERY]
    assert [r.url for e in events if isinstance(e, SearchResults) for r in e.results] == urls(upstream)
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert text == search.INTRO + search.CITED
    [cited] = [e.citation for e in events if isinstance(e, CitationDelta)]
    assert cited.url == urls(upstream)[0]
    if front != "anthropic":
        assert text[cited.start:cited.end] == search.CITED
    [stop] = [e for e in events if isinstance(e, MessageStop)]
    assert stop.usage is not None and stop.usage.web_search_requests == 1
    assert translator.usage is not None and translator.usage.web_search_requests == 1


LOCATION = {"city": "Lyon", "region": "Auvergne-Rhône-Alpes", "country": "FR", "timezone": "Europe/Paris"}


def test_claude_codes_search_options_map_to_openais_and_gemini_drops_the_harmless_ones() -> None:
    """max_uses -> max_tool_calls, allowed_domains -> filters, user_location as is; a forced search
    is allowed_tools; Gemini states none of them (and cannot force it)."""
    body = {**ASKED["anthropic"], "tool_choice": {"type": "tool", "name": "web_search"},
            "tools": [{"type": "web_search_20250305", "name": "web_search", "max_uses": 3,
                       "allowed_domains": ["python.org"], "user_location": {"type": "approximate", **LOCATION}}]}
    openai = msgspec.json.decode(translate_request("anthropic", "responses", body, "gpt"))
    assert {k: openai[k] for k in ("tools", "tool_choice", "max_tool_calls", "include")} == {
        "tools": [{"type": "web_search", "filters": {"allowed_domains": ["python.org"]},
                   "user_location": {"type": "approximate", **LOCATION}}],
        "tool_choice": {"type": "allowed_tools", "mode": "required", "tools": [{"type": "web_search"}]},
        "max_tool_calls": 3, "include": ["web_search_call.action.sources"]}
    google = msgspec.json.decode(translate_request("anthropic", "gemini", {**body, "tools": [
        {"type": "web_search_20250305", "name": "web_search", "max_uses": 3}]}, "gemini-2.5-flash"))
    assert google["tools"] == [{"googleSearch": {}}] and "toolConfig" not in google


def test_openais_search_maps_to_anthropics() -> None:
    """A Responses web_search (preview or not) with filters, location and a cap of hosted calls, forced."""
    body = {"model": "m", "input": "q", "max_tool_calls": 4, "tool_choice": {"type": "web_search_preview"},
            "tools": [{"type": "web_search_preview", "search_context_size": "high",
                       "user_location": {"type": "approximate", **LOCATION}},
                      {"type": "function", "name": "f", "parameters": {"type": "object"}}]}
    claude = msgspec.json.decode(translate_request("responses", "anthropic", body, "claude"))
    assert claude["tools"][1:] == [{"type": "web_search_20250305", "name": "web_search", "max_uses": 4,
                                    "user_location": {"type": "approximate", **LOCATION}}]
    assert claude["tool_choice"] == {"type": "tool", "name": "web_search"}


def test_a_cap_on_every_hosted_tool_is_no_cap_on_the_search_alone() -> None:
    """max_tool_calls counts every hosted tool's calls: beside another hosted tool it is not max_uses."""
    body = {"model": "m", "input": "q", "max_tool_calls": 4,
            "tools": [{"type": "web_search"}, {"type": "code_interpreter", "container": {"type": "auto"}}]}
    assert get("responses").parse_request(body).web_search.max_uses is None


@pytest.mark.parametrize(("front", "body", "served", "target", "kept"), [
    ("anthropic", {**ASKED["anthropic"], "tools": [{"type": "web_search_20250305", "name": "web_search",
                                                     "blocked_domains": ["example.com"]}]},
     ("openai_chat", "responses"), "openai_chat", False),
    ("anthropic", ASKED["anthropic"], ("openai_chat", "responses"), "responses", True),
    ("anthropic", {**ASKED["anthropic"], "tools": [{"type": "web_search_20250305", "name": "web_search",
                                                     "allowed_domains": ["python.org"]}]}, ("gemini",), "gemini", False),
    ("responses", {**ASKED["responses"], "tools": [{"type": "web_search", "external_web_access": False}]},
     ("anthropic",), "anthropic", False),
    ("anthropic", {**ASKED["anthropic"], "tools": [*ASKED["anthropic"]["tools"], {
        "name": "Read", "input_schema": {"type": "object"}}]}, ("gemini",), "gemini", False),
    ("gemini", {**ASKED["gemini"], "tools": [{"googleSearch": {"excludeDomains": ["example.com"]}}]},
     ("anthropic",), "anthropic", True),
])
def test_the_translation_goes_where_the_search_runs_as_asked(front, body, served, target, kept) -> None:
    """An OpenAI provider takes a search on /responses; a search whose options a dialect cannot state
    is not sent there half-honoured (routing passed over such a provider when the search was needed)."""
    name, req = hosted.translation(front, served, get(front).parse_request(body))
    assert (name, req.web_search is not None) == (target, kept)


def test_a_failed_search_and_a_page_visit_translate() -> None:
    """Anthropic's web_search_tool_result_error stays an error for an Anthropic client; a Responses
    open_page action is no search."""
    failed = {"id": "m", "type": "message", "role": "assistant", "model": "c", "stop_reason": "end_turn",
              "usage": {"input_tokens": 1, "output_tokens": 1}, "content": [
                  {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {"query": "q"}},
                  {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1",
                   "content": {"type": "web_search_tool_result_error", "error_code": "max_uses_exceeded"}}]}
    parsed = get("anthropic").parse_response(failed)
    assert parsed.content[1] == SearchResultsPart("srvtoolu_1", error="max_uses_exceeded")
    assert get("anthropic").render_response(parsed, "c")["content"][1]["content"] == failed["content"][1]["content"]
    visit = {"id": "r", "status": "completed", "output": [
        {"type": "web_search_call", "id": "ws_1", "status": "completed",
         "action": {"type": "open_page", "url": "https://example.com"}}]}
    parsed = get("responses").parse_response(visit)
    assert parsed.content == [] and parsed.usage.web_search_requests == 0


def test_another_providers_search_blocks_go_back_to_anthropic_as_it_accepts_them() -> None:
    """A history holding the search blocks routerd made from OpenAI's answer (no encrypted content or
    index) reaches an Anthropic model with the results as text and the citations dropped; Anthropic's
    own search blocks are left as they are."""
    from routerd.catalogue.models import ModelInfo
    from routerd.dialects.anthropic.adapt import adapt_anthropic

    foreign = msgspec.json.decode(translate_response("responses", "anthropic", search.body(
        "responses", "m", ASKED["responses"]), "claude"))["content"]
    own = search.body("anthropic", "m", ASKED["anthropic"])["content"]
    question = {"role": "user", "content": "and then?"}
    body = {"model": "c", "max_tokens": 99, "messages": [
        ASKED["anthropic"]["messages"][0], {"role": "assistant", "content": foreign},
        question, {"role": "assistant", "content": own}, question]}
    out, _ = adapt_anthropic(msgspec.json.encode(body), [], ModelInfo(id="c", provider="anthropic", tier="simple"))
    messages = msgspec.json.decode(out)["messages"]
    assert messages[3]["content"] == own
    (first, title), (second, _) = search.SOURCES  # OpenAI's sources untitled, but for the one cited
    listing = f"Web search results:\n- {title} ({first})\n- {second} ({second})"
    assert messages[1]["content"] == [{"type": "text", "text": listing},
                                      {"type": "text", "text": search.INTRO},
                                      {"type": "text", "text": search.CITED}]


def test_a_request_passed_through_as_asked_has_unsigned_search_blocks_made_text_and_no_other_change() -> None:
    """Not moved to another model (no adapting), a request is still rid of the unsigned search
    blocks, however its JSON is spaced; one without them, Anthropic's own signed ones included, is
    left as its very bytes (None)."""
    from routerd.dialects.anthropic.adapt import unsigned_history

    foreign = msgspec.json.decode(translate_response("responses", "anthropic", search.body(
        "responses", "m", ASKED["responses"]), "claude"))["content"]
    own = search.body("anthropic", "m", ASKED["anthropic"])["content"]
    for content, changed in [(foreign, True), (own, False)]:
        body = {"model": "c", "max_tokens": 99, "messages": [
            ASKED["anthropic"]["messages"][0], {"role": "assistant", "content": content}]}
        spaced = json.dumps(body).encode()  # '"encrypted_content": ""', as Python's json writes it
        out = unsigned_history(spaced)
        assert (out is not None) == changed
        if out is not None:
            assert search.anthropic_refusal(msgspec.json.decode(out)) is None
            assert search.anthropic_refusal(body) is not None


def test_text_after_a_streamed_citation_starts_a_block_of_its_own() -> None:
    """An annotation sent as soon as its sentence is (inline) cites that block, not the text after it."""
    from routerd.dialects.canonical import Citation, MessageStart

    encoder = get("anthropic").stream_encoder("claude")
    events = [MessageStart("m"), TextDelta("Cited sentence."), CitationDelta(Citation("https://a.example", "A")),
              CitationDelta(Citation("https://b.example", "B")), TextDelta(" Uncited."), MessageStop()]
    pairs = [pair for event in events for pair in encoder.feed(event)]
    blocks: list[dict] = []
    for name, data in pairs:
        event = msgspec.json.decode(data)
        if name == "content_block_start":
            blocks.append({"text": "", "citations": []})
        elif name == "content_block_delta":
            delta = event["delta"]
            blocks[-1]["text"] += delta.get("text", "")
            blocks[-1]["citations"] += [delta["citation"]["url"]] if "citation" in delta else []
    assert blocks == [{"text": "Cited sentence.", "citations": ["https://a.example", "https://b.example"]},
                      {"text": " Uncited.", "citations": []}]
