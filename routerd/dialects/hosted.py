"""Hosted (server-side) tools of each dialect, and what each is in the others. Pure data and the
few readers routing and the gateway ask it through.

A hosted tool runs on the provider's servers: the model calls it and the provider answers it in
the same response. ``HOSTED`` lists every hosted tool type (or Gemini tool key) of each dialect
with the canonical kind it carries across dialects, or None when no other dialect has it (code
execution, file search, ...: a request that needs one stays in its dialect). A hosted tool of a
type the table does not know is read as one with no equivalent: it stays in its dialect too. Only
the web search maps today: Anthropic's ``web_search_*``, the Responses API's ``web_search`` /
``web_search_preview``, Gemini's ``google_search``. Chat completions has a search only on search
models (the ``web_search_options`` field), so it takes none from another dialect.

``RUNS`` says which dialects run a kind, and ``refusal`` whether a particular search, with its
options, can go to one of them: an option with an equivalent there is mapped (by the dialect's
request module), one that can be dropped without harm is dropped (Gemini has no user location and
no search cap), and one whose loss would change the answer (a domain filter the target cannot
state, Codex's cached-only search) keeps the request away from that dialect. ``translation`` picks
the dialect a provider is sent a request in (an OpenAI provider's ``/responses`` for a search).
"""

from collections.abc import Iterable, Sequence
from typing import Any

import msgspec

from routerd.dialects.canonical import ChatRequest, WebSearch

WEB_SEARCH = "web_search"

# dialect -> hosted tool type (or Gemini tool key) -> the canonical kind it maps to (None: none).
HOSTED: dict[str, dict[str, str | None]] = {
    "anthropic": {
        "web_search_20250305": WEB_SEARCH, "web_search_20260209": WEB_SEARCH,
        "web_fetch_20250910": None, "web_fetch_20260209": None,
        "code_execution_20250522": None, "code_execution_20250825": None,
        "bash_20250124": None, "text_editor_20250124": None, "text_editor_20250429": None,
        "text_editor_20250728": None, "computer_20250124": None, "memory_20250818": None,
        "tool_search_tool_regex_20251119": None, "tool_search_tool_bm25_20251119": None,
        "mcp_toolset": None,
    },
    "responses": {
        "web_search": WEB_SEARCH, "web_search_2025_08_26": WEB_SEARCH,
        "web_search_preview": WEB_SEARCH, "web_search_preview_2025_03_11": WEB_SEARCH,
        "file_search": None, "code_interpreter": None, "image_generation": None,
        "computer_use_preview": None, "computer_use": None, "mcp": None, "tool_search": None,
        "local_shell": None, "shell": None, "apply_patch": None,
    },
    "gemini": {
        "google_search": WEB_SEARCH, "googleSearch": WEB_SEARCH,
        "google_search_retrieval": WEB_SEARCH, "googleSearchRetrieval": WEB_SEARCH,  # Gemini 1.5's
        "code_execution": None, "codeExecution": None, "url_context": None, "urlContext": None,
        "google_maps": None, "googleMaps": None, "computer_use": None, "computerUse": None,
        "file_search": None, "fileSearch": None, "enterprise_web_search": None,
        "enterpriseWebSearch": None, "retrieval": None,
    },
    "openai_chat": {"web_search_options": None},  # a search model's request field, not a tool
}

# canonical kind -> the dialects that run it when a request is translated to them
RUNS: dict[str, frozenset[str]] = {WEB_SEARCH: frozenset({"anthropic", "responses", "gemini"})}

# target dialect -> the search options it has no way to state, whose loss would change the answer
_WITHOUT: dict[str, frozenset[str]] = {
    "anthropic": frozenset(),
    "responses": frozenset({"blocked_domains"}),
    "gemini": frozenset({"allowed_domains", "blocked_domains"}),
}


def kind_of(dialect: str, tool_type: str) -> str | None:
    """The canonical kind of ``dialect``'s hosted tool ``tool_type`` (None: it has none)."""
    return HOSTED.get(dialect, {}).get(tool_type)


def web_search_types(dialect: str) -> frozenset[str]:
    """``dialect``'s tool types (or keys) that are a web search."""
    return frozenset(t for t, kind in HOSTED.get(dialect, {}).items() if kind == WEB_SEARCH)


WEB_SEARCH_TYPES = frozenset(t for table in HOSTED.values() for t, kind in table.items() if kind == WEB_SEARCH)


def refusal(front: str, target: str, tools: Iterable[str], search: WebSearch | None,
            functions: bool = False) -> str | None:
    """Why a ``front`` request with the hosted ``tools`` (and the web ``search`` its body states;
    ``functions``: function tools beside it) cannot be translated to ``target`` without losing one,
    or None when it can."""
    if target == front:
        return None
    for tool in tools:
        kind = kind_of(front, tool)
        if kind is None or target not in RUNS.get(kind, frozenset()):
            return f"the {target} API has no {tool}"
    if search is None:
        return None
    if target not in RUNS[WEB_SEARCH]:
        return f"the {target} API runs no web search"
    if search.unmapped:
        return f"the {target} API's web search has no {' or '.join(search.unmapped)}"
    if functions and target in _ALONE:
        return f"the {target} API's web search does not go beside function tools"
    lost = [name for name in sorted(_WITHOUT.get(target, frozenset())) if _set(getattr(search, name))]
    return f"the {target} API's web search has no {' or '.join(lost)}" if lost else None

# Dialects whose search a request may not combine with function tools: Gemini's generateContent
# refuses google_search beside functionDeclarations on the 2.x models (Gemini 3 previews allow it).
_ALONE = frozenset({"gemini"})


def _set(value: Any) -> bool:
    return value is not None and value != [] and value != {}


def able(front: str, tools: Iterable[str], search: WebSearch | None, dialects: Iterable[str],
         functions: bool = False) -> frozenset[str]:
    """Those of ``dialects`` (and ``front``) that a ``front`` request with the hosted ``tools`` and
    web ``search`` (and ``functions`` beside them) can go to without losing any of them."""
    tools = tuple(tools)
    return frozenset({front, *(d for d in dialects if refusal(front, d, tools, search, functions) is None)})


def translation(front: str, served: Sequence[str], req: ChatRequest) -> tuple[str, ChatRequest]:
    """The dialect to translate a ``front`` request to, of those a provider ``served`` (the first
    is its own): the first that runs the request's web search, else its own; and the request as
    it goes there: without a search that dialect cannot run as asked (routing has already passed
    over such a provider when the search was needed, and noted it when only offered)."""
    search = req.web_search
    if search is None:
        return served[0], req
    for dialect in served:
        if refusal(front, dialect, (), search, bool(req.tools)) is None:
            return dialect, req
    return served[0], msgspec.structs.replace(req, web_search=None)
