"""The MCP server through the stdio relay, driven by the official ``mcp`` client in both protocol
eras: the 2025-11-25 initialize handshake and 2026-07-28 server/discover with per-request _meta."""

import json
import os
import subprocess

import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from routerd.protocol.codec import ENCODER, REQUEST_DECODER
from routerd.protocol.replies import McpReply
from tests.integrations.support import MCP_RELAY, PYTHON, load_shim
from tests.support import connect

pytestmark = pytest.mark.anyio
relay = load_shim(MCP_RELAY)
TOOLS = {"route", "classify", "ask", "reroute", "rate", "usage", "savings", "budget", "health",
         "providers", "set_profile"}


def _server(app) -> StdioServerParameters:
    return StdioServerParameters(command=PYTHON, args=["-I", "-S", str(MCP_RELAY)],
                                 env={"ROUTERD_SOCKET": str(app.socket_path), "PATH": os.environ["PATH"]})


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_official_client_lists_and_calls_tools(daemon, mode):
    """Both eras: the client connects, sees every tool, routes a prompt and reads the status."""
    async with Client(_server(daemon), mode=mode) as client:
        expected = "2025-11-25" if mode == "legacy" else "2026-07-28"
        assert client.protocol_version == expected
        tools = await client.list_tools()
        assert {t.name for t in tools.tools} == TOOLS
        result = await client.call_tool("route", {"prompt": "what is 2 + 2?"})
        assert not result.is_error
        decision = json.loads(result.content[0].text)
        assert decision["decision_id"]
        status = await client.read_resource("routerd://status")
        assert json.loads(status.contents[0].text)["type"] == "status"
    await daemon.store.flush()
    rows = await daemon.store.read(lambda c: c.execute("SELECT source FROM decisions").fetchall())
    assert rows == [("mcp",)]


async def test_tools_describe_themselves_so_clients_can_auto_approve(daemon):
    """Every tool has a title, annotations (the reports and classify are read-only, ask reaches an
    external model), a description on each parameter and an output schema that the official
    client checks the structured results against."""
    async with Client(_server(daemon), mode="legacy") as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        read_only = {n for n, t in tools.items() if t.annotations.read_only_hint}
        assert read_only == {"classify", "usage", "savings", "budget", "health", "providers"}
        assert tools["ask"].annotations.open_world_hint and not tools["route"].annotations.read_only_hint
        for tool in tools.values():
            assert tool.title and tool.output_schema["type"] == "object"
            assert all(p.get("description") for p in tool.input_schema["properties"].values()), tool.name
        assert "decision_id" in tools["route"].output_schema["properties"]
        routed = await client.call_tool("route", {"prompt": "what is 2 + 2?"})
        assert routed.structured_content["decision_id"]


async def test_bad_arguments_are_is_error_results(daemon):
    """A missing or mistyped argument is an isError result that names it."""
    async with Client(_server(daemon), mode="legacy") as client:
        missing = await client.call_tool("rate", {"decision_id": "x"})
        assert missing.is_error and "rating" in missing.content[0].text
        wrong = await client.call_tool("usage", {"group_by": "colour"})
        assert wrong.is_error and "group_by" in wrong.content[0].text
        ask = await client.call_tool("ask", {"prompt": "hi"})
        assert ask.is_error and "no_route" in ask.content[0].text


async def test_usage_tools_answer_from_the_store(daemon):
    """usage/savings/budget/health/providers answer with structured data."""
    daemon.store.record("calls", {"id": "c1", "ts": 1e9 * 2, "provider": "openai", "model": "gpt-5-mini",
                                  "outcome": "ok", "input_tokens": 10, "output_tokens": 4,
                                  "cost_usd": 0.001, "baseline_cost_usd": 0.004})
    await daemon.store.flush()
    async with Client(_server(daemon), mode="legacy") as client:
        usage = (await client.call_tool("usage", {"group_by": "provider"})).structured_content
        assert usage["groups"][0]["provider"] == "openai" and usage["total"]["input_tokens"] == 10
        savings = (await client.call_tool("savings", {})).structured_content
        assert savings["saved_usd"] == pytest.approx(0.003)
        for name in ("budget", "health", "providers"):
            assert not (await client.call_tool(name, {})).is_error


@pytest.fixture
def openai_from_env(daemon_env, monkeypatch: pytest.MonkeyPatch) -> None:
    """A provider enabled from the environment only (the config file names none)."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-env")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:5399/v1")  # never called


async def test_providers_tool_lists_providers_enabled_from_the_environment(openai_from_env, daemon):
    """The providers tool shows what the daemon enabled, env-key providers too, without the key."""
    async with Client(_server(daemon), mode="legacy") as client:
        result = (await client.call_tool("providers", {})).structured_content
    [openai] = result["providers"]
    assert (openai["name"], openai["kind"], openai["key_set"]) == ("openai", "openai", True)
    assert "sk-test-env" not in json.dumps(result)


async def test_modern_requests_with_an_unknown_version_are_refused(daemon):
    """2026-07-28 envelope with an unknown version: -32022 listing the versions served."""
    line = json.dumps({"jsonrpc": "2.0", "id": 7, "method": "tools/list",
                       "params": {"_meta": {"io.modelcontextprotocol/protocolVersion": "2099-01-01"}}})
    async with connect(daemon.socket_path) as client:
        reply = await client.call({"type": "mcp", "message": json.loads(line)})
    error = reply["message"]["error"]
    assert error["code"] == -32022 and "2026-07-28" in error["data"]["supported"]


async def test_notifications_get_no_reply_message(daemon):
    """notifications/initialized: the daemon answers the frame but with no JSON-RPC message."""
    async with connect(daemon.socket_path) as client:
        reply = await client.call({"type": "mcp", "message": {"jsonrpc": "2.0",
                                                              "method": "notifications/initialized"}})
    assert reply["type"] == "mcp_reply" and "message" not in reply


def test_relay_bytes_match_the_protocol():
    """The relay's hand-built request decodes; its slice of a reply is the reply's message."""
    request = REQUEST_DECODER.decode(relay.build_request(b"s1", b'{"jsonrpc":"2.0","id":1}'))
    assert bytes(request.message) == b'{"jsonrpc":"2.0","id":1}' and request.session == "s1"
    import msgspec

    body = ENCODER.encode(McpReply(message=msgspec.Raw(b'{"a":"}\\"message\\":"}')))
    assert relay.reply_message(body) == b'{"a":"}\\"message\\":"}'
    assert relay.reply_message(ENCODER.encode(McpReply())) is None


def test_relay_answers_an_error_when_the_daemon_is_down(tmp_path):
    """No daemon: a request gets a JSON-RPC error at once naming the socket and how to start
    routerd; a notification gets nothing."""
    env = {"ROUTERD_SOCKET": str(tmp_path / "none.sock"), "PATH": os.environ["PATH"]}
    lines = b'{"jsonrpc":"2.0","method":"notifications/initialized"}\n{"jsonrpc":"2.0","id":3,"method":"tools/list"}\n'
    proc = subprocess.run([PYTHON, "-I", "-S", str(MCP_RELAY)], input=lines, capture_output=True,
                          env=env, timeout=20)
    (only,) = proc.stdout.splitlines()
    assert json.loads(only)["id"] == 3 and json.loads(only)["error"]["code"] == -32000
    assert json.loads(only)["error"]["message"] == (
        f"routerd is not reachable at {tmp_path / 'none.sock'} (No such file or directory); "
        "start it with `routerctl start`")


def test_relay_gives_up_on_a_hung_daemon(tmp_path):
    """A daemon that accepts but never answers: the handshake gets a JSON-RPC error after the
    relay's short deadline instead of holding the client's start up."""
    import socket

    hung = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    hung.bind(str(tmp_path / "hung.sock"))
    hung.listen(4)  # never accepted, never answered
    try:
        env = {"ROUTERD_SOCKET": str(tmp_path / "hung.sock"), "PATH": os.environ["PATH"]}
        line = b'{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}\n'
        proc = subprocess.run([PYTHON, "-I", "-S", str(MCP_RELAY)], input=line, capture_output=True,
                              env=env, timeout=20)
    finally:
        hung.close()
    error = json.loads(proc.stdout)["error"]
    assert error["code"] == -32000 and "did not answer within 2 s" in error["message"]


async def test_classify_and_explained_routes_say_what_moved_the_score(daemon):
    """MCP's classify, and route with explain, say in words what made the prompt harder or easier
    (checked by the official client against the output schema), beside the raw signals; a plain
    route says nothing."""
    prompt = "prove that sqrt 2 is irrational"
    async with Client(_server(daemon), mode="legacy") as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        assert "explanation" in tools["classify"].output_schema["properties"]
        classified = (await client.call_tool("classify", {"prompt": prompt})).structured_content
        explained = (await client.call_tool("route", {"prompt": prompt, "explain": True})).structured_content
        plain = (await client.call_tool("route", {"prompt": prompt})).structured_content
    for reply in (classified, explained):
        first = reply["explanation"][0]
        assert first["says"] == 'asks for a proof ("prove")' and first["weight"] > 0
        assert first["features"] == ["cue:proof_verb", "cue:proof_verb@short"]
        assert any(s.startswith("cue:proof_verb:") for s in reply["signals"])
    assert "explanation" not in plain


async def test_brain_tools_run_the_routing_handlers(daemon):
    """classify, rate, reroute and set_profile answer through the brain's handlers."""
    async with Client(_server(daemon), mode="auto") as client:
        classified = json.loads((await client.call_tool("classify", {"prompt": "hi"})).content[0].text)
        assert classified["tier"] in ("simple", "moderate", "complex")
        routed = json.loads((await client.call_tool("route", {"prompt": "what is 2 + 2?"})).content[0].text)
        rated = await client.call_tool("rate", {"decision_id": routed["decision_id"], "rating": "good"})
        assert not rated.is_error, rated.content[0].text
        rerouted = await client.call_tool("reroute", {"decision_id": routed["decision_id"], "to": "complex"})
        assert not rerouted.is_error, rerouted.content[0].text
        nowhere = await client.call_tool("reroute", {"decision_id": routed["decision_id"], "to": "galaxy"})
        assert nowhere.is_error and "to: 'galaxy' is neither a tier" in nowhere.content[0].text
        assert "--to" not in nowhere.content[0].text
        profile = await client.call_tool("set_profile", {"profile": "budget"})
        assert not profile.is_error, profile.content[0].text
        bad = await client.call_tool("set_profile", {"profile": "cheapest"})
        assert bad.is_error and "profile" in bad.content[0].text
    await daemon.store.flush()
    kinds = await daemon.store.read(lambda c: c.execute("SELECT kind FROM feedback ORDER BY ts").fetchall())
    assert len(kinds) == 2
