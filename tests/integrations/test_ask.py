"""Answers through a routed external model: the MCP ``ask`` tool and zero_claude hook mode, both
dispatched by the gateway to a fake OpenAI provider on 127.0.0.1."""

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.e2e.harness import write_config
from tests.e2e.upstream import Upstream, open_upstream
from tests.integrations.support import claude_payload
from tests.support import connect

pytestmark = pytest.mark.anyio
ANSWER = "Paris (from the fake provider)"


@pytest.fixture
async def fake_openai(config_file: Path) -> AsyncIterator[Upstream]:
    async with open_upstream("openai", ANSWER) as fake:
        write_config(config_file, providers={"fakeoai": ("openai", fake.url + "/v1")})
        with config_file.open("a") as f:  # the provider's models make it a candidate for "auto"
            f.write('models = ["gpt-mini-e2e"]\n')
        yield fake


async def call(app, request: dict) -> dict:
    async with connect(app.socket_path) as client:
        return await client.call(request)


async def test_mcp_ask_answers_through_the_gateway(fake_openai: Upstream, daemon):
    """tools/call ask: the routed model's text comes back; the call is recorded in calls."""
    message = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
               "params": {"name": "ask", "arguments": {"prompt": "capital of France?", "complexity": "simple"}}}
    reply = await call(daemon, {"type": "mcp", "message": message})
    result = reply["message"]["result"]
    assert not result["isError"], result
    assert result["structuredContent"]["text"] == ANSWER
    [sent] = fake_openai.calls("/v1/chat/completions")
    assert sent.json()["messages"] == [{"role": "user", "content": "capital of France?"}]
    await daemon.store.flush()
    rows = await daemon.store.read(lambda c: c.execute("SELECT provider, outcome FROM calls").fetchall())
    assert rows == [("fakeoai", "ok")]


async def test_zero_claude_answers_the_prompt_and_blocks_it_from_claude(fake_openai: Upstream, daemon):
    """zero_claude: the external answer is the block reason the user sees; `claude:` passes through."""
    await call(daemon, {"type": "hook_mode", "mode": "zero_claude"})
    async with connect(daemon.socket_path) as client:
        replies = await client.stream_call({"type": "hook", "host": "claude-code", "event": "UserPromptSubmit",
                                            "payload": json.loads(claude_payload("UserPromptSubmit",
                                                                                 prompt="capital of France?"))})
    assert [r.get("final", True) for r in replies] == [False, True]  # the shim is told to wait
    out = json.loads(replies[-1]["stdout"])
    assert out["decision"] == "block" and out["reason"].startswith(ANSWER)
    passed = await call(daemon, {"type": "hook", "host": "claude-code", "event": "UserPromptSubmit",
                                 "payload": json.loads(claude_payload("UserPromptSubmit", prompt="claude: hi"))})
    assert passed.get("stdout", "") == ""
