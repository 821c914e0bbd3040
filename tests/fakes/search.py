"""What a fake provider answers when a request offers its hosted web search, in each provider's
own shape, whole and streamed: Anthropic's ``server_tool_use`` + ``web_search_tool_result`` blocks
and cited text blocks (usage ``server_tool_use.web_search_requests``); the Responses API's
``web_search_call`` item (its sources only when ``include`` asks for them) and ``url_citation``
annotations, with the ``response.web_search_call.*`` stream events; Gemini's
``groundingMetadata`` (queries, redirect-URI chunks titled by domain, supports in UTF-8 byte
offsets) in the last chunk.

Every answer searches for ``query_of(request)`` (``searches`` times: the first query, then numbered
ones), finds ``SOURCES`` and says ``INTRO`` then ``CITED``, which the first source supports.
"""

import json
from typing import Any

from tests.fakes.answers import INPUT_TOKENS, OUTPUT_TOKENS, _sse

SOURCES = [("https://docs.python.org/3/whatsnew/3.14.html", "What's New In Python 3.14"),
           ("https://peps.python.org/pep-0745/", "PEP 745 – Python 3.14 Release Schedule")]
INTRO = "Voilà, here is what I found. "  # not ASCII: Gemini's offsets count bytes, the others characters
CITED = "Python 3.14.0 was released on 7 October 2025."
SOURCE_TEXT = "Python 3.14.0 is the newest major release of the Python programming language."
# Gemini sends redirect URIs titled by the site's domain.
GEMINI_URIS = [f"https://vertexaisearch.cloud.google.com/grounding-api-redirect/fake{n}" for n in range(2)]


def _is_search(dialect: str, tool: dict) -> bool:
    if dialect == "gemini":
        return "googleSearch" in tool or "google_search" in tool
    prefix = "web_search_" if dialect == "anthropic" else "web_search"
    return str(tool.get("type", "")).startswith(prefix)


def offers_search(dialect: str, request: dict) -> bool:
    """Whether the model searches: the request offers the provider's own hosted web search alone,
    or forces it (a model offered a search beside other tools decides itself: these fakes don't)."""
    tools = request.get("tools") or []
    search = [t for t in tools if isinstance(t, dict) and _is_search(dialect, t)]
    if not search:
        return False
    choice = request.get("tool_choice")
    forced = choice in ("required", "any") or (isinstance(choice, dict) and (
        choice.get("type") in ("any", "allowed_tools") or str(choice.get("type", "")).startswith("web_search")
        or choice.get("name") == "web_search"))
    return forced or len(search) == len(tools)


def query_of(request: dict) -> str:
    """The search the model runs: Claude Code's WebSearch prompt names it, else the last user text."""
    text = json.dumps(request.get("messages") or request.get("input") or request.get("contents"))
    marker = "Perform a web search for the query: "
    if marker in text:
        return text.split(marker, 1)[1].split('"', 1)[0].split("\\", 1)[0]
    return "python 3.14 release date"


def _queries(request: dict, searches: int) -> list[str]:
    query = query_of(request)
    return [query] + [f"{query} {n}" for n in range(1, searches)]


def _id(base: str, n: int) -> str:
    return base if n == 0 else f"{base}{n}"


def body(dialect: str, model: str, request: dict, searches: int = 1) -> dict:
    queries = _queries(request, searches)
    if dialect == "anthropic":
        return {"id": "msg_search", "type": "message", "role": "assistant", "model": model,
                "content": _anthropic_blocks(queries), "stop_reason": "end_turn", "stop_sequence": None,
                "usage": _anthropic_usage(searches)}
    if dialect == "responses":
        return _response(model, request, queries, "completed")
    return {"candidates": [_gemini_candidate(INTRO + CITED, queries)],
            "usageMetadata": _gemini_usage(), "modelVersion": model, "responseId": "gemini_search"}


def stream(dialect: str, model: str, request: dict, searches: int = 1) -> list[bytes]:
    queries = _queries(request, searches)
    if dialect == "anthropic":
        return _anthropic_stream(model, queries)
    if dialect == "responses":
        return _responses_stream(model, request, queries)
    return _gemini_stream(model, queries)


# --- Anthropic -------------------------------------------------------------------------------

def _anthropic_results() -> list[dict]:
    return [{"type": "web_search_result", "url": url, "title": title, "encrypted_content": f"EqgfCioIARgB{n}",
             "page_age": "October 7, 2025"} for n, (url, title) in enumerate(SOURCES)]


def _citation() -> dict:
    url, title = SOURCES[0]
    return {"type": "web_search_result_location", "url": url, "title": title,
            "encrypted_index": "Eo8BCioIAhgBIiQ", "cited_text": SOURCE_TEXT}


def _anthropic_blocks(queries: list[str]) -> list[dict]:
    searched = []
    for n, query in enumerate(queries):
        call_id = _id("srvtoolu_01Fake", n)
        searched += [{"type": "server_tool_use", "id": call_id, "name": "web_search", "input": {"query": query}},
                     {"type": "web_search_tool_result", "tool_use_id": call_id, "content": _anthropic_results()}]
    return [*searched, {"type": "text", "text": INTRO}, {"type": "text", "text": CITED, "citations": [_citation()]}]


def anthropic_refusal(request: dict) -> str | None:
    """What Anthropic's API says (a 400) to a history whose web search blocks it did not sign: a
    ``web_search_tool_result`` item without its ``encrypted_content``, a citation without its
    ``encrypted_index``, which it verifies when they come back; None for a request it takes."""
    for m, message in enumerate(request.get("messages") or []):
        blocks = message.get("content") if isinstance(message, dict) else None
        for b, block in enumerate(blocks if isinstance(blocks, list) else []):
            where = f"messages.{m}.content.{b}"
            if block.get("type") == "web_search_tool_result" and isinstance(block.get("content"), list):
                for r, item in enumerate(block["content"]):
                    if not item.get("encrypted_content"):
                        return f"{where}.content.{r}.encrypted_content: Invalid encrypted content"
            for c, citation in enumerate(block.get("citations") or []):
                if citation.get("type") == "web_search_result_location" and not citation.get("encrypted_index"):
                    return f"{where}.citations.{c}.encrypted_index: Invalid encrypted index"
    return None


def _anthropic_usage(searches: int) -> dict:
    return {"input_tokens": INPUT_TOKENS, "output_tokens": OUTPUT_TOKENS,
            "server_tool_use": {"web_search_requests": searches}}


def _anthropic_stream(model: str, queries: list[str]) -> list[bytes]:
    def event(name: str, data: dict) -> bytes:
        return _sse(name, {"type": name, **data})

    out = [event("message_start", {"message": {
        "id": "msg_search", "type": "message", "role": "assistant", "model": model, "content": [],
        "stop_reason": None, "stop_sequence": None, "usage": {"input_tokens": INPUT_TOKENS, "output_tokens": 1}}})]
    for n, query in enumerate(queries):
        call_id, arguments, at = _id("srvtoolu_01Fake", n), json.dumps({"query": query}), 2 * n
        out += [
            event("content_block_start", {"index": at, "content_block": {
                "type": "server_tool_use", "id": call_id, "name": "web_search", "input": {}}}),
            event("content_block_delta", {"index": at, "delta": {"type": "input_json_delta",
                                                                 "partial_json": arguments[:9]}}),
            event("content_block_delta", {"index": at, "delta": {"type": "input_json_delta",
                                                                 "partial_json": arguments[9:]}}),
            event("content_block_stop", {"index": at}),
            event("content_block_start", {"index": at + 1, "content_block": {
                "type": "web_search_tool_result", "tool_use_id": call_id, "content": _anthropic_results()}}),
            event("content_block_stop", {"index": at + 1})]
    at = 2 * len(queries)
    out += [
        event("content_block_start", {"index": at, "content_block": {"type": "text", "text": ""}}),
        event("content_block_delta", {"index": at, "delta": {"type": "text_delta", "text": INTRO}}),
        event("content_block_stop", {"index": at}),
        event("content_block_start", {"index": at + 1, "content_block": {"type": "text", "text": "", "citations": []}}),
        event("content_block_delta", {"index": at + 1, "delta": {"type": "citations_delta", "citation": _citation()}}),
        event("content_block_delta", {"index": at + 1, "delta": {"type": "text_delta", "text": CITED[:20]}}),
        event("content_block_delta", {"index": at + 1, "delta": {"type": "text_delta", "text": CITED[20:]}}),
        event("content_block_stop", {"index": at + 1}),
        event("message_delta", {"delta": {"stop_reason": "end_turn", "stop_sequence": None},
                                "usage": {"output_tokens": OUTPUT_TOKENS,
                                          "server_tool_use": {"web_search_requests": len(queries)}}}),
        event("message_stop", {})]
    return out


# --- Responses -------------------------------------------------------------------------------

def _search_item(request: dict, query: str, status: str = "completed", item_id: str = "ws_fake") -> dict:
    action: dict[str, Any] = {"type": "search", "query": query}
    if "web_search_call.action.sources" in (request.get("include") or []):
        action["sources"] = [{"type": "url", "url": url} for url, _ in SOURCES]
    return {"id": item_id, "type": "web_search_call", "status": status, "action": action}


def _annotation() -> dict:
    url, title = SOURCES[0]
    return {"type": "url_citation", "start_index": len(INTRO), "end_index": len(INTRO + CITED), "url": url,
            "title": title}


def _message_item(status: str = "completed") -> dict:
    return {"id": "msg_fake", "type": "message", "role": "assistant", "status": status,
            "content": [{"type": "output_text", "text": INTRO + CITED, "annotations": [_annotation()]}]
            if status == "completed" else []}


def _response(model: str, request: dict, queries: list[str], status: str) -> dict:
    done = status == "completed"
    searched = [_search_item(request, query, item_id=_id("ws_fake", n)) for n, query in enumerate(queries)]
    return {"id": "resp_search", "object": "response", "created_at": 1, "model": model, "status": status,
            "output": [*searched, _message_item()] if done else [],
            "parallel_tool_calls": True, "tool_choice": "auto", "tools": request.get("tools") or [],
            "usage": {"input_tokens": INPUT_TOKENS, "output_tokens": OUTPUT_TOKENS,
                      "total_tokens": INPUT_TOKENS + OUTPUT_TOKENS, "input_tokens_details": {"cached_tokens": 0},
                      "output_tokens_details": {"reasoning_tokens": 0}} if done else None}


def _responses_stream(model: str, request: dict, queries: list[str]) -> list[bytes]:
    seq = iter(range(1000))

    def event(name: str, data: dict) -> bytes:
        return _sse(name, {"type": name, "sequence_number": next(seq), **data})

    text = INTRO + CITED
    at = len(queries)  # the message's output index, after the searches
    head = {"item_id": "msg_fake", "output_index": at, "content_index": 0}
    out = [event("response.created", {"response": _response(model, request, queries, "in_progress")}),
           event("response.in_progress", {"response": _response(model, request, queries, "in_progress")})]
    for n, query in enumerate(queries):
        item_id = _id("ws_fake", n)
        out += [
            event("response.output_item.added", {"output_index": n, "item": {
                "id": item_id, "type": "web_search_call", "status": "in_progress"}}),
            event("response.web_search_call.in_progress", {"item_id": item_id, "output_index": n}),
            event("response.web_search_call.searching", {"item_id": item_id, "output_index": n}),
            event("response.web_search_call.completed", {"item_id": item_id, "output_index": n}),
            event("response.output_item.done", {"output_index": n, "item": _search_item(request, query,
                                                                                         item_id=item_id)})]
    return out + [
        event("response.output_item.added", {"output_index": at, "item": _message_item("in_progress")}),
        event("response.content_part.added", {**head, "part": {"type": "output_text", "text": "", "annotations": []}}),
        event("response.output_text.delta", {**head, "delta": INTRO, "logprobs": []}),
        event("response.output_text.delta", {**head, "delta": CITED, "logprobs": []}),
        event("response.output_text.annotation.added", {**head, "annotation_index": 0, "annotation": _annotation()}),
        event("response.output_text.done", {**head, "text": text, "logprobs": []}),
        event("response.content_part.done", {**head, "part": _message_item()["content"][0]}),
        event("response.output_item.done", {"output_index": at, "item": _message_item()}),
        event("response.completed", {"response": _response(model, request, queries, "completed")}),
    ]


# --- Gemini ----------------------------------------------------------------------------------

def _grounding(queries: list[str]) -> dict:
    start = len(INTRO.encode())
    return {"webSearchQueries": queries,
            "searchEntryPoint": {"renderedContent": "<style>.container{}</style><div class=\"container\"></div>"},
            "groundingChunks": [{"web": {"uri": uri, "title": url.split("/")[2]}}
                                for uri, (url, _) in zip(GEMINI_URIS, SOURCES)],
            "groundingSupports": [{"segment": {"startIndex": start, "endIndex": start + len(CITED.encode()),
                                               "text": CITED}, "groundingChunkIndices": [0],
                                   "confidenceScores": [0.97]}]}


def _gemini_candidate(text: str, queries: list[str] | None) -> dict:
    candidate: dict = {"content": {"role": "model", "parts": [{"text": text}]}, "index": 0}
    if queries is not None:
        candidate["finishReason"] = "STOP"
        candidate["groundingMetadata"] = _grounding(queries)
    return candidate


def _gemini_usage() -> dict:
    return {"promptTokenCount": INPUT_TOKENS, "candidatesTokenCount": OUTPUT_TOKENS,
            "toolUsePromptTokenCount": 120, "totalTokenCount": INPUT_TOKENS + OUTPUT_TOKENS + 120}


def _gemini_stream(model: str, queries: list[str]) -> list[bytes]:
    first = {"candidates": [_gemini_candidate(INTRO, None)], "modelVersion": model, "responseId": "gemini_search"}
    last = {"candidates": [_gemini_candidate(CITED, queries)], "usageMetadata": _gemini_usage(),
            "modelVersion": model, "responseId": "gemini_search"}
    return [_sse(None, first), _sse(None, last)]
