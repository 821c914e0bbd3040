"""What coding agents put in a request that says which kind of request it is: pure tests over the
canonical request and the raw headers (names lower-cased), each returning the evidence it found.

Every marker below was seen in a real request (captured with tests/e2e's recording upstream) or is
documented by the client's source; the tests replay those captures.

- Claude Code 2.1.197 subagents: header ``x-claude-code-agent-id`` (and ``x-claude-code-parent-agent-id``
  when nested), and ``cc_is_subagent=true`` in the ``x-anthropic-billing-header`` line that opens the
  system prompt. Claude Code 2.0.x sent neither: its general-purpose subagent's prompt opens "You are
  an agent for Claude Code", its built-in agents "You are a <role> specialist for Claude Code" (the
  main loop's opens "You are an interactive ...", its hook evaluators say "in Claude Code").
  claude-code-router users mark agent prompts with ``<CCR-SUBAGENT-MODEL>model</CCR-SUBAGENT-MODEL>``.
- Claude Code's small/fast slot (titles, hook prompts, summaries) asks for a Haiku model, or for
  whatever ``ANTHROPIC_DEFAULT_HAIKU_MODEL`` / ``ANTHROPIC_SMALL_FAST_MODEL`` name. Through a gateway
  without them, 2.1.197 sends its main model for those calls, and the request's shape says what it
  is: Claude Code makes every such side query (prompt hooks, titles, WebFetch's reading of a page,
  summaries) with no tools and thinking off (``disabled``, or left out for a model it does not know,
  such as routerd's auto names), where its agent loop, main or subagent, offers its tools (and the
  WebSearch call its one hosted tool) and, on those models, adaptive thinking. Claude Code is known
  by the billing line that opens its system prompt (2.1.x) or by its ``x-app: cli`` header (2.0.x
  too). Run with every tool off (``--tools=``) and thinking off (``MAX_THINKING_TOKENS=0``), its
  main loop has that shape too, and reads as background. An agent hook (a Stop hook of type
  ``agent``) runs an agent of its own, with tools: it is known by the ``StructuredOutput`` tool its
  verdict is returned through, without the Agent tool and without thinking (the main loop run with
  ``--json-schema`` has that tool too, beside the Agent tool, and thinks), and reads as a subagent.
- Codex 0.169: ``x-openai-subagent`` (``collab_spawn`` for a spawned agent, ``review`` for /review,
  ``compact`` and ``memory_consolidation`` for housekeeping), ``x-codex-parent-thread-id``, and
  ``thread_source: "subagent"`` in the ``x-codex-turn-metadata`` JSON; ``x-openai-memgen-request``.
- Web search: Anthropic's server tool ``web_search_20250305`` (Claude Code's WebSearch tool sends it
  alone, forced by ``tool_choice``), the Responses API's ``web_search``/``web_search_preview`` (Codex
  offers it beside its function tools on every turn), chat completions' ``web_search_options``,
  Gemini's ``google_search``/``googleSearch``.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from typing import Any

import msgspec

from routerd.dialects.canonical import ChatRequest, ImagePart, ToolResultPart
from routerd.dialects.hosted import WEB_SEARCH_TYPES

Headers = Mapping[str, str]

# Codex x-openai-subagent values that are housekeeping, not a delegated task.
CODEX_BACKGROUND = frozenset({"compact", "memory_consolidation"})
_HAIKU = re.compile(r"(?:^|[-/_.])haiku(?:$|[-_.\[])", re.IGNORECASE)
_CC_AGENT_PROMPT = re.compile(
    r"You are (?:an agent|an? [^.\n]{1,80}? (?:specialist|agent|assistant)) for Claude Code\b")
_CCR_TAG = re.compile(r"<CCR-SUBAGENT-MODEL>\s*([^<\s]+)\s*</CCR-SUBAGENT-MODEL>")
# Where the markers sit: the billing line and the role line come first; 4 KB leaves room for the
# identity line and a few reminders without scanning a 100 KB system prompt for every request.
_SYSTEM_HEAD = 4096
# The line that opens Claude Code 2.1.x's system prompt on every request.
_CC_BILLING = "x-anthropic-billing-header: cc_version="
_DELEGATING = frozenset({"Agent", "Task"})  # Claude Code's subagent tool, by version


# The request headers the markers read (lower-case), and Codex's thread-id (a subagent's thread
# within the session): the rest of a request's headers are not copied.
MARKER_HEADERS = (b"x-claude-code-agent-id", b"x-openai-subagent", b"x-openai-memgen-request",
                  b"x-codex-parent-thread-id", b"x-codex-turn-metadata", b"thread-id", b"x-app")


def marker_headers(headers: Mapping[bytes, bytes]) -> dict[str, str]:
    """The marker headers present in ``headers`` (lower-case byte names, as the HTTP front keeps
    them), as text."""
    return {name.decode(): value.decode("utf-8", "replace") for name in MARKER_HEADERS
            if (value := headers.get(name)) is not None}


def is_haiku(model: str) -> bool:
    """Whether ``model`` names a Haiku (Claude's small/fast slot), as an id, alias or custom name."""
    return bool(_HAIKU.search(model))


def codex_metadata(headers: Headers) -> dict[str, Any]:
    """Codex's ``x-codex-turn-metadata`` header as a dict ({} when absent or not JSON)."""
    raw = headers.get("x-codex-turn-metadata")
    if not raw:
        return {}
    try:
        value = msgspec.json.decode(raw)
    except msgspec.DecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def background_marker(model: str, headers: Headers, req: ChatRequest | None = None,
                      hosted_tools: Collection[str] = ()) -> str | None:
    """Why this is a background (small-model slot, housekeeping or side query) call, or None."""
    if is_haiku(model):
        return f"the client asked for its small-model slot ({model})"
    kind = headers.get("x-openai-subagent", "").strip().lower()
    if kind in CODEX_BACKGROUND:
        return f"Codex housekeeping (x-openai-subagent: {kind})"
    if headers.get("x-openai-memgen-request", "").lower() == "true":
        return "Codex memory generation (x-openai-memgen-request)"
    if req is not None and is_claude_code(req, headers) and is_side_query(req, hosted_tools):
        return "Claude Code side query (no tools, no thinking: a hook prompt, title or summary)"
    return None


def is_claude_code(req: ChatRequest, headers: Headers) -> bool:
    """Whether Claude Code sent ``req``: its billing line opens the system prompt, or ``x-app: cli``."""
    return headers.get("x-app", "").strip().lower() == "cli" or (req.system or "").startswith(_CC_BILLING)


def is_side_query(req: ChatRequest, hosted_tools: Collection[str] = ()) -> bool:
    """Whether ``req`` has the shape of an agent's side query: an answer asked for (``max_tokens``:
    Claude Code's ``count_tokens`` calls, which it sends with no tools either, ask for none), no tool
    of any kind offered, and no thinking (none, or Anthropic's ``thinking: {"type": "disabled"}``)."""
    return (req.max_tokens is not None and not req.tools and not hosted_tools and req.web_search is None
            and _no_thinking(req))


def subagent_marker(req: ChatRequest, headers: Headers) -> str | None:
    """Why this is a subagent's call, or None (most certain markers first)."""
    if headers.get("x-claude-code-agent-id"):
        return "Claude Code subagent (x-claude-code-agent-id)"
    system = req.system or ""
    if system.find("cc_is_subagent=true", 0, _SYSTEM_HEAD) >= 0:
        return "Claude Code subagent (cc_is_subagent in the billing header)"
    kind = headers.get("x-openai-subagent", "").strip().lower()
    if kind and kind not in CODEX_BACKGROUND:
        return f"Codex subagent (x-openai-subagent: {kind})"
    if headers.get("x-codex-parent-thread-id") or codex_metadata(headers).get("thread_source") == "subagent":
        return "Codex subagent (parent thread)"
    if system.find(" for Claude Code", 0, _SYSTEM_HEAD) >= 0 and _CC_AGENT_PROMPT.search(system, 0, _SYSTEM_HEAD):
        return "Claude Code subagent (its agent system prompt)"
    if system.find("<CCR-SUBAGENT-MODEL>", 0, _SYSTEM_HEAD) >= 0:
        return "subagent marked with <CCR-SUBAGENT-MODEL>"
    if is_claude_code(req, headers) and is_hook_agent(req):
        return "Claude Code agent hook (a StructuredOutput tool, no Agent tool, no thinking)"
    return None


def is_hook_agent(req: ChatRequest) -> bool:
    """Whether ``req`` has the shape of Claude Code's agent hook: its verdict tool
    (``StructuredOutput``) offered, the Agent tool (Task before 2.1) not, and no thinking."""
    names = {tool.name for tool in req.tools}
    return "StructuredOutput" in names and not names & _DELEGATING and _no_thinking(req)


def _no_thinking(req: ChatRequest) -> bool:
    """No thinking asked for: none, or Anthropic's ``thinking: {"type": "disabled"}``."""
    reasoning = req.reasoning
    return reasoning is None or (reasoning.effort == "none" and reasoning.budget_tokens is None)


def pinned_model(req: ChatRequest) -> str | None:
    """The model a ``<CCR-SUBAGENT-MODEL>`` tag in the system prompt names, if any."""
    system = req.system or ""
    match = _CCR_TAG.search(system, 0, _SYSTEM_HEAD) if system.find("<CCR-SUBAGENT-MODEL>", 0, _SYSTEM_HEAD) >= 0 \
        else None
    return match.group(1) if match else None


def is_web_search_tool(kind: str) -> bool:
    """Whether a hosted tool's type (or Gemini tool key) is a web search (``dialects.hosted``)."""
    return kind in WEB_SEARCH_TYPES


def web_search_marker(req: ChatRequest, hosted_tools: Collection[str]) -> tuple[str | None, bool]:
    """(why this request is a web search, whether a web search is at least offered).

    A search tool offered beside other tools (Codex offers one on every turn) is a capability the
    model may use, not the request's kind: only a search tool that is alone or forced by
    ``tool_choice`` makes the request a web search."""
    search = [k for k in hosted_tools if is_web_search_tool(k)]
    if not search and (req.extra or {}).get("web_search_options") is None:
        return None, False
    if not search:
        return "web_search_options (a search model's request)", True
    choice = req.tool_choice
    if choice is not None and choice.mode == "tool" and is_web_search_tool(choice.name or ""):
        return f"web search forced by tool_choice ({search[0]})", True
    if not req.tools and len(hosted_tools) == len(search):
        return f"the only tool is a web search ({search[0]})", True
    return None, True


def _has_image(parts: Sequence[object]) -> bool:
    for part in parts:
        if isinstance(part, ImagePart):
            return True
        if isinstance(part, ToolResultPart) and any(isinstance(p, ImagePart) for p in part.content):
            return True
    return False


def image_marker(req: ChatRequest) -> tuple[str | None, bool]:
    """(why this request is about an image, whether any image is in the conversation).

    The request is about an image when the last user message carries one; images only earlier in
    the history still need a model that reads them."""
    last_user = next((m for m in reversed(req.messages) if m.role == "user"), None)
    if last_user is not None and _has_image(last_user.content):
        return "an image in the latest user message", True
    return None, any(_has_image(m.content) for m in req.messages)


_FUNCTION_TYPES = frozenset({"function", "custom", "namespace"})
_GEMINI_FUNCTIONS = frozenset({"functionDeclarations", "function_declarations"})


def _hosted(keys: Collection[str], kind: str | None) -> list[str]:
    """The hosted tools one tool object (its ``keys``, its ``type``) is."""
    if kind is not None:
        return [kind] if kind not in _FUNCTION_TYPES and "input_schema" not in keys else []
    if "name" in keys or "input_schema" in keys:  # an Anthropic custom tool has no type
        return []
    return [key for key in keys if key not in _GEMINI_FUNCTIONS]


_TOOLS = msgspec.json.Decoder(list[dict[str, msgspec.Raw]] | None)  # the schemas are skipped, not built
_TYPE = msgspec.json.Decoder()


class _Item(msgspec.Struct):
    type: str = "message"
    tools: msgspec.Raw = msgspec.Raw(b"[]")


class _Input(msgspec.Struct):
    input: list[_Item] | str = []


_INPUT = msgspec.json.Decoder(_Input)


def offered_hosted(tools: bytes, body: bytes = b"") -> tuple[str, ...]:
    """The hosted tools a request offers: those of its raw ``tools`` array, and those of the
    Responses API's ``additional_tools`` input items (Codex offers its tools there for the models it
    knows) in its ``body``. Decoding the tools skips their schemas: ~20 us for Claude Code's
    60 KB of tools, a third of what building them costs. A body that does not decode offers none
    (the dialect's parser refuses it)."""
    try:
        out = _offered(tools) if tools else ()
        if b'"additional_tools"' in body and isinstance(items := _INPUT.decode(body).input, list):
            for item in items:
                out += _offered(bytes(item.tools)) if item.type == "additional_tools" else ()
    except (msgspec.DecodeError, RecursionError):
        return ()
    return out


def _offered(tools: bytes) -> tuple[str, ...]:
    out: list[str] = []
    for tool in _TOOLS.decode(tools) or ():
        raw = tool.get("type")
        kind = _TYPE.decode(raw) if raw is not None else None
        out += _hosted(tool.keys(), kind if isinstance(kind, str) else None)
    return tuple(out)
