"""The Responses API's hosted web search <-> canonical: the request's tool, and the answer's parts.

The tool is ``{"type": "web_search"}`` with ``filters.allowed_domains``, ``user_location`` and
``search_context_size``; ``max_tool_calls`` (top level) caps every hosted tool's calls, and a
search is forced with ``tool_choice: {"type": "allowed_tools", "mode": "required", ...}``.

A search is a ``web_search_call`` output item whose ``action`` (``type: search``) holds the
``query`` and, when the request asked for ``include: ["web_search_call.action.sources"]``, the
``sources`` (``{"type": "url", "url"}``: no titles). The answer's ``output_text`` parts cite
them with ``url_citation`` annotations (url, title, ``start_index``/``end_index`` in characters of
that text). Streams add ``response.web_search_call.in_progress|searching|completed`` around the
item and ``response.output_text.annotation.added`` for each annotation. Usage does not count
searches: each ``web_search_call`` that searched is one.
"""

from __future__ import annotations

from typing import Any

import msgspec

from routerd.dialects.canonical import (
    SEARCH_TOOL, ChatRequest, Citation, SearchCallPart, SearchResultsPart, TextPart, WebSearch, WebSource,
)


def item_parts(item_id: str, action: dict[str, Any] | None) -> list[Any]:
    """A ``web_search_call`` item as a call and its results (an ``open_page`` or ``find_in_page``
    action is no search: nothing)."""
    action = action or {}
    if action.get("type", "search") != "search":
        return []
    queries = action.get("queries") or []
    query = action.get("query") or (queries[0] if queries else "")
    sources = [WebSource(str(s["url"]), str(s.get("title") or ""))
               for s in action.get("sources") or () if isinstance(s, dict) and isinstance(s.get("url"), str)]
    return [SearchCallPart(item_id, str(query)), SearchResultsPart(item_id, sources)]


def titled(content: list[Any]) -> list[Any]:
    """A whole answer's parts with each source titled as a citation of it is (the sources of a
    ``web_search_call`` carry no titles; a stream's are sent before the citations and stay bare)."""
    titles = {c.url: c.title for p in content if isinstance(p, TextPart) for c in p.citations if c.title}
    if not titles:
        return content
    return [SearchResultsPart(p.call_id, [msgspec.structs.replace(r, title=r.title or titles.get(r.url, ""))
                                          for r in p.results], p.error)
            if isinstance(p, SearchResultsPart) else p for p in content]


def citation(raw: dict[str, Any], base: int = 0) -> Citation | None:
    """A ``url_citation`` annotation as a citation (its span moved by ``base``); None for the
    file annotations."""
    if raw.get("type") != "url_citation" or not isinstance(raw.get("url"), str):
        return None
    start, end = raw.get("start_index"), raw.get("end_index")
    return Citation(raw["url"], str(raw.get("title") or ""),
                    start=start + base if isinstance(start, int) else None,
                    end=end + base if isinstance(end, int) else None)


def text_part(text: str, annotations: list[dict[str, Any]]) -> TextPart:
    found = [c for c in (citation(a) for a in annotations if isinstance(a, dict)) if c is not None]
    return TextPart(text, found)


def annotation(c: Citation, length: int) -> dict[str, Any]:
    """A citation as a ``url_citation`` over its span of a ``length``-character text."""
    start = min(max(c.start or 0, 0), length)
    end = min(max(length if c.end is None else c.end, start), length)
    return {"type": "url_citation", "start_index": start, "end_index": end, "url": c.url, "title": c.title or c.url}


def item_id(call_id: str) -> str:
    return call_id if call_id.startswith("ws_") else f"ws_{call_id}"


def call_item(call_id: str, query: str, sources: list[WebSource] | None, status: str = "completed") -> dict[str, Any]:
    """A ``web_search_call`` item; ``sources`` None: not known yet (the item is in progress)."""
    action: dict[str, Any] = {"type": "search", "query": query}
    if sources is not None:
        action["sources"] = [{"type": "url", "url": s.url} for s in sources]
    return {"id": item_id(call_id), "type": "web_search_call", "status": status, "action": action}


def call_items(content: list[Any]) -> dict[str, dict[str, Any]]:
    """Each search call of an answer's parts as its item (with what its results found), by call id."""
    found = {p.call_id: p.results for p in content if isinstance(p, SearchResultsPart)}
    return {p.id: call_item(p.id, p.query, found.get(p.id, [])) for p in content if isinstance(p, SearchCallPart)}


def searches(items: list[Any]) -> int:
    """How many searches an answer's output items ran."""
    return sum(1 for item in items if item.type == "web_search_call"
               and (item.action or {}).get("type", "search") == "search")


def joined(parts: list[TextPart]) -> TextPart:
    """Consecutive text parts as one (a message item's one ``output_text``), each citation's span
    moved to where its part's text lands (a whole-part citation spans its part)."""
    citations, at = [], 0
    for part in parts:
        for c in part.citations:
            start = at + (c.start or 0)
            citations.append(msgspec.structs.replace(
                c, start=start, end=at + (len(part.text) if c.end is None else c.end)))
        at += len(part.text)
    return TextPart("".join(p.text for p in parts), citations)


def max_tool_calls(body: Any) -> int | None:
    value = body.get("max_tool_calls") if isinstance(body, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def web_search_tool(search: WebSearch) -> dict[str, Any]:
    """A canonical web search as the Responses API's hosted tool."""
    tool: dict[str, Any] = {"type": "web_search"}
    if search.allowed_domains:
        tool["filters"] = {"allowed_domains": search.allowed_domains}
    if search.user_location:
        tool["user_location"] = {"type": "approximate", **search.user_location}
    if search.context_size:
        tool["search_context_size"] = search.context_size
    return tool


def render(req: ChatRequest, search: WebSearch, body: dict[str, Any]) -> None:
    """The search tool, its cap, its sources asked for (the client's answer lists them), and a
    forced search as ``allowed_tools`` (``tool_choice`` names no web_search of its own)."""
    body.setdefault("tools", []).append(web_search_tool(search))
    if search.max_uses is not None:
        body["max_tool_calls"] = search.max_uses
    body["include"] = ["web_search_call.action.sources"]
    choice = req.tool_choice
    if choice is not None and choice.mode == "tool" and choice.name == SEARCH_TOOL and \
            all(t.name != SEARCH_TOOL for t in req.tools):
        body["tool_choice"] = {"type": "allowed_tools", "mode": "required", "tools": [{"type": "web_search"}]}


class _Tools(msgspec.Struct):
    tools: Any = None


_TOOLS = msgspec.json.Decoder(_Tools)


def offers_preview(body: bytes) -> bool:
    """Whether a Responses request offers OpenAI's ``web_search_preview`` tool (which bills its
    searches at a price of its own on some models), not the ``web_search`` routerd renders."""
    if b"web_search_preview" not in body:
        return False
    try:
        tools = _TOOLS.decode(body).tools
    except (msgspec.DecodeError, msgspec.ValidationError):
        return False
    return isinstance(tools, list) and any(
        isinstance(t, dict) and str(t.get("type", "")).startswith("web_search_preview") for t in tools)

