"""Gemini's hosted web search (``google_search``) in requests and answers <-> canonical.

A request offers it as a tool ``{"googleSearch": {}}`` (``google_search`` in snake case); its one
option that another dialect can state is Vertex AI's ``excludeDomains`` (blocked domains). A search
from another dialect goes as ``{"googleSearch": {}}``: a cap, a location and a context size have no
equivalent and are dropped (Gemini decides how many queries to run), and a request with domain
filters never comes here (``dialects.hosted`` keeps it away). An answer
reports what the search did in the candidate's ``groundingMetadata``: ``webSearchQueries``,
``groundingChunks`` (``{"web": {"uri", "title"}}``: the sources) and ``groundingSupports`` (a
``segment`` of the answer's text, ``startIndex``/``endIndex`` in UTF-8 bytes of the text, and the
``groundingChunkIndices`` that support it). Gemini does not say which query found which source:
all the sources go with the last query. A stream carries the metadata in its last chunks; the
fields are read whole and each query, source and support taken once.
"""

from __future__ import annotations

from typing import Any

import msgspec

from routerd.dialects.canonical import (
    Citation, SearchCallPart, SearchResultsPart, TextPart, WebSearch, WebSource,
)
from routerd.dialects.hosted import web_search_types

_SEARCHES = web_search_types("gemini")
_EXCLUDE = ("excludeDomains", "exclude_domains")


class _Web(msgspec.Struct):
    uri: str = ""
    title: str = ""


class _Chunk(msgspec.Struct):
    web: _Web | None = None


class _Segment(msgspec.Struct, rename="camel"):
    start_index: int = 0
    end_index: int = 0
    text: str = ""


class _Support(msgspec.Struct, rename="camel"):
    segment: _Segment | None = None
    grounding_chunk_indices: list[int] = []


class Grounding(msgspec.Struct, rename="camel"):
    web_search_queries: list[str] = []
    grounding_chunks: list[_Chunk] = []
    grounding_supports: list[_Support] = []


def web_search(tools: Any) -> WebSearch | None:
    """The hosted search a raw ``tools`` array offers, if any."""
    for tool in tools if isinstance(tools, list) else ():
        if not isinstance(tool, dict):
            continue
        for key in _SEARCHES & tool.keys():
            options = tool[key] if isinstance(tool[key], dict) else {}
            blocked: list[Any] = next((options[k] for k in _EXCLUDE if isinstance(options.get(k), list)), [])
            return WebSearch(blocked_domains=[str(d) for d in blocked],
                             unmapped=[k for k in options if k not in _EXCLUDE])
    return None


def char_at(text_bytes: bytes, index: int) -> int:
    """The character offset of UTF-8 byte ``index`` of a text."""
    return len(text_bytes[:max(0, index)].decode("utf-8", "ignore"))


def cited(grounding: Grounding, text: str, seen: set[tuple[int, int, str]] | None = None) -> list[Citation]:
    """The supports' citations of ``text`` (spans in its characters); ``seen``: those already
    taken, left out and added to."""
    raw = text.encode()
    chunks = grounding.grounding_chunks
    out = []
    for support in grounding.grounding_supports:
        segment = support.segment or _Segment()
        for i in support.grounding_chunk_indices:
            web = chunks[i].web if 0 <= i < len(chunks) else None
            if web is None or not web.uri:
                continue
            key = (segment.start_index, segment.end_index, web.uri)
            if seen is not None:
                if key in seen:
                    continue
                seen.add(key)
            out.append(Citation(web.uri, web.title, start=char_at(raw, segment.start_index),
                                end=char_at(raw, segment.end_index)))
    return out


def sources(grounding: Grounding) -> list[WebSource]:
    return [WebSource(c.web.uri, c.web.title) for c in grounding.grounding_chunks if c.web is not None and c.web.uri]


def search_parts(grounding: Grounding, salt: str) -> list[Any]:
    """The searches of a whole answer: each query a call, the sources with the last."""
    queries = grounding.web_search_queries or ([""] if grounding.grounding_chunks else [])
    out: list[Any] = []
    for n, query in enumerate(queries):
        call_id = f"gs_{salt}_{n}" if salt else f"gs_{n}"
        out += [SearchCallPart(call_id, query),
                SearchResultsPart(call_id, sources(grounding) if n == len(queries) - 1 else [])]
    return out


def cite(content: list[Any], grounding: Grounding) -> list[Any]:
    """``content`` with the supports' citations on the text parts they fall in (offsets count the
    answer's visible text; each part's citations count from its own start)."""
    texts = [p for p in content if isinstance(p, TextPart)]
    found = cited(grounding, "".join(p.text for p in texts))
    if not found:
        return content
    out, at = [], 0
    for part in content:
        if isinstance(part, TextPart):
            end = at + len(part.text)
            mine = [msgspec.structs.replace(c, start=(c.start or 0) - at, end=min(c.end or end, end) - at)
                    for c in found if at <= (c.start or 0) < end or (not part.text and c.start == at)]
            part = TextPart(part.text, [*part.citations, *mine])
            at = end
        out.append(part)
    return out


class Collector:
    """What a Gemini answer's metadata says, gathered from canonical parts or events: the queries,
    the sources and the supports (byte offsets into the answer's visible text)."""

    def __init__(self) -> None:
        self.queries: list[str] = []
        self.chunks: dict[str, tuple[int, str]] = {}  # url -> (index, title)
        self.supports: list[dict[str, Any]] = []

    def chunk(self, url: str, title: str) -> int:
        if url not in self.chunks:
            self.chunks[url] = (len(self.chunks), title)
        return self.chunks[url][0]

    def results(self, found: list[WebSource]) -> None:
        for source in found:
            self.chunk(source.url, source.title)

    def support(self, citation: Citation, before: str, text: str) -> None:
        """``citation`` of ``text`` (its span counts characters of it), which follows ``before``."""
        start = 0 if citation.start is None else max(0, min(citation.start, len(text)))
        end = len(text) if citation.end is None else max(start, min(citation.end, len(text)))
        base = len(before.encode())
        self.supports.append({"segment": {"startIndex": base + len(text[:start].encode()),
                                          "endIndex": base + len(text[:end].encode()), "text": text[start:end]},
                              "groundingChunkIndices": [self.chunk(citation.url, citation.title)]})

    def metadata(self) -> dict[str, Any] | None:
        if not (self.queries or self.chunks or self.supports):
            return None
        chunks = [{"web": {"uri": url, "title": title or url}} for url, (_, title) in self.chunks.items()]
        return {"webSearchQueries": self.queries, "groundingChunks": chunks, "groundingSupports": self.supports}


def metadata(content: list[Any]) -> dict[str, Any] | None:
    """A whole answer's ``groundingMetadata`` from its canonical parts (None: it searched nothing)."""
    collector, text = Collector(), ""
    for part in content:
        if isinstance(part, SearchCallPart):
            collector.queries.append(part.query)
        elif isinstance(part, SearchResultsPart):
            collector.results(part.results)
        elif isinstance(part, TextPart):
            for c in part.citations:
                collector.support(c, text, part.text)
            text += part.text
    return collector.metadata()
