"""Which hosted tools a request offers and which it cannot do without, and which providers run
them (``routerd.routing.hosted``), on the real captures and one request per dialect."""

import msgspec
import pytest

from routerd.dialects.registry import get as dialect
from routerd.routing import hosted
from routerd.routing.types import Candidate
from routerd.scenarios.markers import offered_hosted
from tests.scenarios.captures import load


def read(name: str, body: dict) -> hosted.Hosted:
    raw = msgspec.json.encode(body)
    return hosted.read(dialect(name).parse_request(raw), offered_hosted(msgspec.json.encode(body.get("tools"))), raw, name)


SEARCHING = frozenset({"anthropic", "responses", "gemini"})


def test_claude_codes_web_search_needs_its_tool() -> None:
    """Claude Code's WebSearch call (the search tool alone, forced) cannot do without it; every
    dialect with a hosted search runs it (its max_uses maps or is dropped harmlessly)."""
    found = load("claude-code-2.1.197-web-search")
    assert hosted.read(found.request, found.hosted_tools, dialect="anthropic") == \
        hosted.Hosted(("web_search_20250305",), ("web_search_20250305",), SEARCHING, SEARCHING,
                      ("the openai_chat API has no web_search_20250305",))


def test_codex_offers_web_search_without_needing_it() -> None:
    """Codex's web_search beside its function tools is offered, not needed; it asks for cached
    pages only (external_web_access: false), which no other provider's search can promise."""
    found = load("codex-0.169-main")
    assert hosted.read(found.request, found.hosted_tools, dialect="responses") == \
        hosted.Hosted(("web_search",), (), frozenset({"anthropic", "gemini", "openai_chat", "responses"}),
                      frozenset({"responses"}))


@pytest.mark.parametrize(("name", "body", "needed"), [
    ("anthropic", {"model": "m", "max_tokens": 9, "messages": [{"role": "user", "content": "q"}],
                   "tools": [{"name": "f", "input_schema": {"type": "object"}},
                             {"type": "web_search_20250305", "name": "web_search"}],
                   "tool_choice": {"type": "tool", "name": "web_search"}}, ("web_search_20250305",)),
    ("anthropic", {"model": "m", "max_tokens": 9, "messages": [{"role": "user", "content": "q"}],
                   "tools": [{"name": "f", "input_schema": {"type": "object"}},
                             {"type": "web_search_20250305", "name": "web_search"}],
                   "tool_choice": {"type": "tool", "name": "f"}}, ()),
    ("responses", {"model": "m", "input": "q", "tools": [{"type": "web_search"}]}, ("web_search",)),
    ("openai_chat", {"model": "m", "messages": [{"role": "user", "content": "q"}], "web_search_options": {}},
     ("web_search_options",)),
    ("openai_chat", {"model": "m", "messages": [{"role": "user", "content": "web_search_options?"}]}, ()),
])
def test_a_forced_or_lone_hosted_tool_is_needed(name: str, body: dict, needed: tuple[str, ...]) -> None:
    """A hosted tool forced by tool_choice, or with no function tool beside it, is needed."""
    assert read(name, body).needed == needed


SEARCH = {"type": "web_search_20250305", "name": "web_search"}


@pytest.mark.parametrize(("name", "body", "needed_by"), [
    ("anthropic", {"model": "m", "max_tokens": 9, "messages": [{"role": "user", "content": "q"}],
                   "tools": [{**SEARCH, "max_uses": 3, "user_location": {"type": "approximate", "city": "Oslo"}}]},
     SEARCHING),
    ("anthropic", {"model": "m", "max_tokens": 9, "messages": [{"role": "user", "content": "q"}],
                   "tools": [{**SEARCH, "allowed_domains": ["python.org"]}]}, {"anthropic", "responses"}),
    ("anthropic", {"model": "m", "max_tokens": 9, "messages": [{"role": "user", "content": "q"}],
                   "tools": [{**SEARCH, "blocked_domains": ["example.com"]}]}, {"anthropic"}),
    ("anthropic", {"model": "m", "max_tokens": 9, "messages": [{"role": "user", "content": "q"}],
                   "tools": [SEARCH, {"type": "code_execution_20250825", "name": "code_execution"}]}, {"anthropic"}),
    ("responses", {"model": "m", "input": "q", "tools": [{"type": "web_search_preview"}]}, SEARCHING),
    ("responses", {"model": "m", "input": "q", "tool_choice": {"type": "web_search_preview"},
                   "tools": [{"type": "web_search_preview"}, {"type": "function", "name": "f", "parameters": {}}]},
     {"responses", "anthropic"}),
    ("responses", {"model": "m", "input": "q", "tools": [{"type": "web_search", "external_web_access": False}]},
     {"responses"}),
    ("gemini", {"contents": [{"role": "user", "parts": [{"text": "q"}]}], "tools": [{"googleSearch": {}}]},
     SEARCHING),
    ("gemini", {"contents": [{"role": "user", "parts": [{"text": "q"}]}],
                "tools": [{"googleSearch": {"timeRangeFilter": {"startTime": "2026-01-01T00:00:00Z"}}}]}, {"gemini"}),
    ("openai_chat", {"model": "m", "messages": [{"role": "user", "content": "q"}], "web_search_options": {}},
     {"openai_chat"}),
])
def test_a_search_goes_to_the_dialects_that_run_it_with_its_options(name: str, body: dict, needed_by: set) -> None:
    """A needed search runs where its options have an equivalent or are harmless to drop (and, for
    Gemini, with no function tool beside it); any other hosted tool, an option with no equivalent
    and chat's web_search_options keep it in its dialect."""
    assert read(name, body).needed_by == needed_by


def test_a_provider_runs_the_hosted_tools_when_it_speaks_a_dialect_that_runs_them() -> None:
    """Candidates on providers whose dialects would lose the tools come after (or are left out)."""
    from routerd.config import parse_config
    from routerd.runtime import build_runtime
    runtime = build_runtime(parse_config("""
[providers.openai]
kind = "openai"
api_key = "k"
[providers.anthropic]
kind = "anthropic"
api_key = "k"
"""), {})
    chain = [Candidate("openai", "gpt-6-luna"), Candidate("anthropic", "claude-haiku-4-5")]
    assert hosted.capable(chain, runtime.providers, SEARCHING) == chain[1:]  # chat completions runs no search
    assert hosted.capable_first(chain, runtime.providers, frozenset({"openai_chat"})) == chain
    assert hosted.capable_first(chain, runtime.providers, SEARCHING) == chain[::-1]
    refusal = hosted.unsupported(("web_search_20250305",), "anthropic", chain[:1], {"openai": runtime.providers["openai"]},
                                 SEARCHING)
    assert refusal.code == "hosted_tool_unsupported" and 'kind = "anthropic"' in refusal.message
    assert "anthropic API (or gemini or responses)" in refusal.message


@pytest.mark.parametrize("name", ["claude-code-2.1.197-main", "claude-code-2.0.77-main", "claude-code-2.1.197-subagent"])
def test_claude_codes_own_tools_are_not_hosted(name: str) -> None:
    """Claude Code's function tools (name and input_schema, no type) are not read as hosted tools."""
    assert load(name).hosted_tools == ()


def test_every_hosted_tool_is_read_from_tools_and_additional_tools() -> None:
    """Any hosted tool, not only a search, and those Codex offers in an additional_tools input item."""
    from routerd.scenarios.markers import offered_hosted

    body = msgspec.json.decode(msgspec.json.encode(load("codex-0.169-main").body))
    tools = body.pop("tools")
    body["input"] = [{"type": "additional_tools", "tools": tools}, *body["input"]]
    assert offered_hosted(b"", msgspec.json.encode(body)) == ("web_search",)
    interpreter = [{"type": "function", "name": "f", "parameters": {}}, {"type": "code_interpreter", "container": {}}]
    assert offered_hosted(msgspec.json.encode(interpreter)) == ("code_interpreter",)
    gemini = [{"functionDeclarations": [{"name": "f"}]}, {"codeExecution": {}}, {"urlContext": {}}]
    assert offered_hosted(msgspec.json.encode(gemini)) == ("codeExecution", "urlContext")
    assert offered_hosted(msgspec.json.encode(load("claude-code-2.1.197-main").body["tools"])) == ()
