"""Which hosted tools a request offers and which it cannot do without, and which providers run
them (``routerd.routing.hosted``), on the real captures and one request per dialect."""

import msgspec
import pytest

from routerd.dialects.registry import get as dialect
from routerd.routing import hosted
from routerd.routing.types import Candidate
from routerd.scenarios.markers import hosted_tool_types
from tests.scenarios.captures import load


def read(name: str, body: dict) -> hosted.Hosted:
    raw = msgspec.json.encode(body)
    return hosted.read(dialect(name).parse_request(raw), hosted_tool_types(body.get("tools")), raw)


def test_claude_codes_web_search_needs_its_tool() -> None:
    """Claude Code's WebSearch call (the search tool alone, forced) cannot do without it."""
    found = load("claude-code-2.1.197-web-search")
    assert hosted.read(found.request, found.hosted_tools) == \
        hosted.Hosted(("web_search_20250305",), ("web_search_20250305",))


def test_codex_offers_web_search_without_needing_it() -> None:
    """Codex's web_search beside its function tools is offered, not needed."""
    found = load("codex-0.169-main")
    assert hosted.read(found.request, found.hosted_tools) == hosted.Hosted(("web_search",), ())


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


def test_only_a_provider_speaking_the_clients_dialect_runs_its_hosted_tools() -> None:
    """Candidates on providers that would translate the request come after (or are left out)."""
    from routerd.config import parse_config
    from routerd.runtime import build_runtime
    runtime = build_runtime(parse_config("""
[providers.openai]
kind = "responses"
api_key = "k"
[providers.anthropic]
kind = "anthropic"
api_key = "k"
"""), {})
    chain = [Candidate("openai", "gpt-6-luna"), Candidate("anthropic", "claude-haiku-4-5")]
    assert hosted.capable(chain, runtime.providers, "anthropic") == chain[1:]
    assert hosted.capable_first(chain, runtime.providers, "responses") == chain
    assert hosted.capable_first(chain, runtime.providers, "anthropic") == chain[::-1]
    refusal = hosted.unsupported(("web_search_20250305",), "anthropic", chain[:1], {"openai": runtime.providers["openai"]})
    assert refusal.code == "hosted_tool_unsupported" and 'kind = "anthropic"' in refusal.message


@pytest.mark.parametrize("name", ["claude-code-2.1.197-main", "claude-code-2.0.77-main", "claude-code-2.1.197-subagent"])
def test_claude_codes_own_tools_are_not_hosted(name: str) -> None:
    """Claude Code's function tools (name and input_schema, no type) are not read as hosted tools."""
    assert load(name).hosted_tools == ()
