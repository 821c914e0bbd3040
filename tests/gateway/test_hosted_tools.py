"""Hosted tools under automatic routing: a request's server-side tools (Anthropic's web search,
the Responses API's) reach a provider that runs them, never a translation that drops them, and
a request that needs one no provider can run is refused in the client's dialect.

The requests are the real ones: Claude Code 2.1.197's WebSearch call and Codex 0.169's turn, as
captured in tests/scenarios/captures, with the model set to an auto name.
"""

import json

import httpx
import pytest

from tests.fakes.upstream import FakeUpstream, Received
from tests.scenarios.captures import FOLDER

pytestmark = pytest.mark.anyio


def capture(name: str, model: str) -> tuple[dict[str, str], dict]:
    raw = json.loads((FOLDER / f"{name}.json").read_text())
    return raw["headers"], {**raw["body"], "model": model}


def sent(fakes: dict[str, FakeUpstream]) -> dict[str, list[Received]]:
    return {name: [r for r in fake.received if r.method == "POST"] for name, fake in fakes.items()}


async def post(base_url: str, path: str, headers: dict[str, str], body: dict) -> httpx.Response:
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as http:
        return await http.post(path, headers={**headers, "x-api-key": "unused"}, json=body)


@pytest.mark.gateway_config("", providers=("anthropic", "backup"))
async def test_claude_codes_web_search_on_auto_goes_where_it_runs(daemon, fakes, base_url):
    """Claude Code's WebSearch call on claude-routerd-auto reaches Anthropic with its search tool, not
    the chat-completions provider, whose API has no hosted search."""
    headers, body = capture("claude-code-2.1.197-web-search", "claude-routerd-auto")
    reply = await post(base_url, "/v1/messages", headers, body)
    assert reply.status_code == 200
    assert (reply.headers["x-routerd-scenario"], reply.headers["x-routerd-provider"]) == ("web_search", "anthropic")
    got = sent(fakes)
    assert [r.json["tools"] for r in got["anthropic"]] == [body["tools"]]
    assert got["backup"] == []


WEB_SEARCH_ON_GPT = """
[routing.scenarios]
web_search = { model = "gpt-4.1", fallbacks = ["gemini-2.5-flash"] }
"""


@pytest.mark.gateway_config(WEB_SEARCH_ON_GPT)
async def test_a_web_search_route_to_gpt_runs_the_search_through_responses(daemon, fakes, base_url):
    """Claude Code's WebSearch on a route to gpt-4.1 goes to OpenAI's /v1/responses with its web_search
    tool, forced, capped at its max_uses, asking for the sources; not to chat completions."""
    headers, body = capture("claude-code-2.1.197-web-search", "claude-routerd-auto")
    reply = await post(base_url, "/v1/messages", headers, body)
    assert reply.status_code == 200
    assert (reply.headers["x-routerd-provider"], reply.headers["x-routerd-model"]) == ("openai", "gpt-4.1")
    [upstream] = sent(fakes)["openai"]
    assert upstream.path == "/v1/responses"
    assert {k: upstream.json[k] for k in ("tools", "tool_choice", "max_tool_calls", "include")} == {
        "tools": [{"type": "web_search"}], "max_tool_calls": 8, "include": ["web_search_call.action.sources"],
        "tool_choice": {"type": "allowed_tools", "mode": "required", "tools": [{"type": "web_search"}]}}


@pytest.mark.gateway_config(WEB_SEARCH_ON_GPT, providers=("backup", "anthropic"))
async def test_a_web_search_route_that_cannot_run_it_escalates_to_one_that_can(daemon, fakes, base_url):
    """A web_search route whose model is only on a chat-completions provider is passed over for one
    that runs the search."""
    headers, body = capture("claude-code-2.1.197-web-search", "claude-routerd-auto")
    reply = await post(base_url, "/v1/messages", headers, body)
    assert reply.status_code == 200 and reply.headers["x-routerd-provider"] == "anthropic"
    assert [r.json["tools"] for r in sent(fakes)["anthropic"]] == [body["tools"]]
    await daemon.store.flush()
    rows = await daemon.store.read(lambda c: list(c.execute("SELECT provider, model, scenario FROM decisions")))
    assert [tuple(r) for r in rows] == [("anthropic", reply.headers["x-routerd-model"], "web_search")]


@pytest.mark.gateway_config(WEB_SEARCH_ON_GPT)
async def test_a_responses_web_search_takes_its_route_where_it_runs_natively(daemon, fakes, base_url):
    """A Responses client's web search routed to gpt-4.1 goes to the provider serving /v1/responses."""
    body = {"model": "routerd-auto", "input": "what changed in the news today?", "tools": [{"type": "web_search"}]}
    reply = await post(base_url, "/v1/responses", {}, body)
    assert reply.status_code == 200
    assert (reply.headers["x-routerd-provider"], reply.headers["x-routerd-model"]) == ("openai", "gpt-4.1")
    [upstream] = sent(fakes)["openai"]
    assert upstream.path == "/v1/responses" and upstream.json["tools"] == [{"type": "web_search"}]


async def test_codex_offering_web_search_goes_first_where_it_keeps_it(daemon, fakes, base_url):
    """Codex's turn on auto (web_search beside its functions) goes to a Responses provider first."""
    headers, body = capture("codex-0.169-main", "routerd-auto")
    reply = await post(base_url, "/v1/responses", headers, body)
    assert reply.status_code == 200 and reply.headers["x-routerd-provider"] == "openai"
    [upstream] = sent(fakes)["openai"]
    assert upstream.path == "/v1/responses" and "web_search" in [t["type"] for t in upstream.json["tools"]]


@pytest.mark.gateway_config("", providers=("backup",))
async def test_a_web_search_nothing_can_run_is_refused_in_anthropics_words(daemon, fakes, base_url):
    """With only a chat-completions provider, Claude Code's web search is a 400 naming the tool, not a
    made-up answer."""
    headers, body = capture("claude-code-2.1.197-web-search", "claude-routerd-auto")
    reply = await post(base_url, "/v1/messages", headers, body)
    assert reply.status_code == 400
    error = reply.json()
    assert error["type"] == "error" and error["error"]["type"] == "invalid_request_error"
    assert "web_search_20250305" in error["error"]["message"] and "anthropic" in error["error"]["message"]
    assert all(r == [] for r in sent(fakes).values())


@pytest.mark.gateway_config("", providers=("anthropic", "backup", "gemini"))
async def test_a_responses_web_search_nothing_can_run_is_refused_in_openais_words(daemon, fakes, base_url):
    """With no provider serving /v1/responses, a Responses web search limited to cached pages
    (external_web_access: false, which no other search can promise) is refused, not widened."""
    body = {"model": "routerd-auto", "input": "latest pong release?",
            "tools": [{"type": "web_search", "external_web_access": False}]}
    reply = await post(base_url, "/v1/responses", {}, body)
    assert reply.status_code == 400
    assert reply.json()["error"]["code"] == "hosted_tool_unsupported"
    assert all(r == [] for r in sent(fakes).values())


async def test_codex_offering_web_search_in_additional_tools_goes_first_where_it_keeps_it(daemon, fakes, base_url):
    """Codex's tools in an additional_tools input item (as it sends them for models it knows) count too:
    its cached-only web search keeps the turn on the Responses provider."""
    headers, body = capture("codex-0.169-main", "routerd-auto")
    body["input"] = [{"type": "additional_tools", "tools": body.pop("tools")}, *body["input"]]
    reply = await post(base_url, "/v1/responses", headers, body)
    assert reply.status_code == 200 and reply.headers["x-routerd-provider"] == "openai"
    [upstream] = sent(fakes)["openai"]
    assert upstream.path == "/v1/responses" and upstream.json["input"][0]["type"] == "additional_tools"


@pytest.mark.gateway_config("", providers=("openai", "gemini"))
async def test_a_search_no_provider_can_honour_is_refused_saying_why(daemon, fakes, base_url):
    """Claude Code's search excluding a domain, with only OpenAI and Gemini configured: both run a web
    search, neither can exclude a domain, so the 400 says so instead of searching everywhere."""
    headers, body = capture("claude-code-2.1.197-web-search", "claude-routerd-auto")
    body["tools"] = [{**body["tools"][0], "blocked_domains": ["example.com"]}]
    reply = await post(base_url, "/v1/messages", headers, body)
    assert reply.status_code == 400
    message = reply.json()["error"]["message"]
    assert "the responses API's web search has no blocked_domains" in message
    assert "the gemini API's web search has no blocked_domains" in message
    assert all(r == [] for r in sent(fakes).values())


async def test_a_hosted_tool_that_is_not_a_search_keeps_its_request_where_it_runs(daemon, fakes, base_url):
    """A Responses request whose only tool is code_interpreter goes to the Responses provider: no
    other API has it, and a translation would drop it."""
    body = {"model": "routerd-auto", "input": "plot sin(x) from 0 to 10",
            "tools": [{"type": "code_interpreter", "container": {"type": "auto"}}]}
    reply = await post(base_url, "/v1/responses", {}, body)
    assert reply.status_code == 200 and reply.headers["x-routerd-provider"] == "openai"
    [upstream] = sent(fakes)["openai"]
    assert upstream.path == "/v1/responses" and upstream.json["tools"] == body["tools"]
