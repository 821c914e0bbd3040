"""Anthropic's hosted web search in answers <-> canonical parts.

Anthropic answers a search with a ``server_tool_use`` block (``name: web_search``, ``input.query``),
then a ``web_search_tool_result`` block (``content``: ``web_search_result`` items with url, title,
page_age and ``encrypted_content``, or a ``web_search_tool_result_error``), then text blocks whose
``citations`` (``web_search_result_location``: url, title, ``cited_text``, ``encrypted_index``) cite
the whole block. Searches are billed by ``usage.server_tool_use.web_search_requests``.

Content that came from another provider has no Anthropic ``encrypted_content`` or
``encrypted_index``: they are sent empty (the SDKs read them as opaque strings).
"""

from __future__ import annotations

from typing import Any

from routerd.dialects.anthropic.request import _CONVERT, _ServerToolUse, _Text, _WebResults, _web_results
from routerd.dialects.canonical import (
    Citation, SearchCallPart, SearchResultsPart, TextPart, WebSource,
)


def _citation(raw: Any) -> Citation | None:
    if not isinstance(raw, dict) or not isinstance(raw.get("url"), str):
        return None  # a document's char/page location: no web source to give another dialect
    return Citation(raw["url"], str(raw.get("title") or ""), str(raw.get("cited_text") or ""))


def citations(raw: list[Any] | None) -> list[Citation]:
    """The web citations of a text block (or a ``citations_delta``'s one)."""
    return [c for c in map(_citation, raw or ()) if c is not None]


def _text(block: _Text) -> TextPart:
    return TextPart(block.text, citations(block.citations))


def query_of(value: Any) -> str:
    """The ``query`` of a search call's input ("" when it has none)."""
    query = value.get("query") if isinstance(value, dict) else None
    return query if isinstance(query, str) else ""


def _call(block: _ServerToolUse) -> SearchCallPart | None:
    if block.name != "web_search":
        return None
    return SearchCallPart(block.id, query_of(block.input))


def results(tool_use_id: str, content: Any) -> SearchResultsPart:
    """A ``web_search_tool_result``'s content as canonical results."""
    if isinstance(content, dict):  # web_search_tool_result_error
        return SearchResultsPart(tool_use_id, error=str(content.get("error_code") or "unavailable"))
    found = [WebSource(str(r["url"]), str(r.get("title") or ""), r.get("page_age"),
                       r.get("encrypted_content"))
             for r in content or () if isinstance(r, dict) and isinstance(r.get("url"), str)]
    return SearchResultsPart(tool_use_id, found)


# Answers keep the search and its citations; requests (``request._CONVERT``) fold them into text.
ANSWER: dict[type, Any] = {**_CONVERT, _Text: _text, _ServerToolUse: _call,
                           _WebResults: lambda b: results(b.tool_use_id, b.content)}


def call_block(part: SearchCallPart) -> dict[str, Any]:
    return {"type": "server_tool_use", "id": part.id, "name": "web_search", "input": {"query": part.query}}


def result_content(part: SearchResultsPart) -> Any:
    if part.error is not None:
        return {"type": "web_search_tool_result_error", "error_code": part.error}
    return [{"type": "web_search_result", "url": r.url, "title": r.title or r.url, "encrypted_content": r.encrypted or "",
             "page_age": r.page_age} for r in part.results]


def results_block(part: SearchResultsPart) -> dict[str, Any]:
    return {"type": "web_search_tool_result", "tool_use_id": part.call_id, "content": result_content(part)}


def citation_out(c: Citation) -> dict[str, Any]:
    return {"type": "web_search_result_location", "url": c.url, "title": c.title, "cited_text": c.cited_text,
            "encrypted_index": ""}


def text_blocks(part: TextPart) -> list[dict[str, Any]]:
    """A cited text part as text blocks: Anthropic's citations cite a whole block, so a span cited
    in another dialect becomes a block of its own (a span overlapping the one before joins it)."""
    text, n = part.text, len(part.text)
    spans: list[tuple[int, int, list[Citation]]] = []
    for c in sorted(part.citations, key=lambda c: (c.start or 0, c.end if c.end is not None else n)):
        start, end = max(0, min(c.start or 0, n)), max(0, min(n if c.end is None else c.end, n))
        if spans and start < spans[-1][1]:
            spans[-1][2].append(c)
        elif end > start:
            spans.append((start, end, [c]))
    blocks: list[dict[str, Any]] = []
    at = 0
    for start, end, cited in spans:
        if start > at:
            blocks.append({"type": "text", "text": text[at:start]})
        blocks.append({"type": "text", "text": text[start:end], "citations": [citation_out(c) for c in cited]})
        at = end
    if at < n:
        blocks.append({"type": "text", "text": text[at:]})
    return blocks


def answer_blocks(part: Any) -> list[dict[str, Any]] | None:
    """A search part or a cited text part as answer blocks; None: not one of them."""
    if isinstance(part, SearchCallPart):
        return [call_block(part)]
    if isinstance(part, SearchResultsPart):
        return [results_block(part)]
    if isinstance(part, TextPart) and part.citations:
        return text_blocks(part)
    return None


def searches(content: list[Any]) -> int:
    """How many web searches an answer's parts ran."""
    return sum(isinstance(p, SearchCallPart) for p in content)


def unsign_foreign(messages: Any) -> bool:
    """Make a history's search blocks from another provider acceptable to Anthropic, in place;
    whether anything changed. routerd gave the client those blocks without Anthropic's
    ``encrypted_content`` and ``encrypted_index`` (they were sent empty), which Anthropic verifies
    when they come back: such results become a text block listing them (their call is dropped),
    and such citations are dropped from the text they cite."""
    changed = False
    for message in messages if isinstance(messages, list) else ():
        blocks = message.get("content") if isinstance(message, dict) else None
        if not isinstance(blocks, list):
            continue
        foreign = {b.get("tool_use_id") for b in blocks if isinstance(b, dict) and _foreign_results(b)}
        out = []
        for block in blocks:
            if not isinstance(block, dict):
                out.append(block)
            elif block.get("type") == "server_tool_use" and block.get("id") in foreign:
                changed = True
            elif _foreign_results(block):
                out.append(render_listing(block.get("content")))
                changed = True
            elif block.get("type") == "text" and isinstance(block.get("citations"), list):
                kept = [c for c in block["citations"] if not (isinstance(c, dict) and c.get("encrypted_index") == "")]
                changed |= len(kept) != len(block["citations"])
                out.append({**block, "citations": kept} if kept else {k: v for k, v in block.items() if k != "citations"})
            else:
                out.append(block)
        message["content"] = out
    return changed


def _foreign_results(block: dict[str, Any]) -> bool:
    content = block.get("content")
    return block.get("type") == "web_search_tool_result" and isinstance(content, list) and any(
        isinstance(r, dict) and r.get("encrypted_content") == "" for r in content)


def render_listing(content: Any) -> dict[str, Any]:
    """Search results as the text block a request to another dialect gets for them."""
    return {"type": "text", "text": _web_results(_WebResults(content)).text}
