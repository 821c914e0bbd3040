"""Claude Code's HTTP hooks served by the daemon: POST /hooks/claude-code/<event> answers with the
JSON a command hook would print, and stores the decision."""


import httpx
import pytest

from tests.integrations.support import claude_payload

pytestmark = pytest.mark.anyio


async def post(app, path: str, body: bytes) -> httpx.Response:
    async with httpx.AsyncClient(base_url=f"http://{app.http_address}") as client:
        return await client.post(path, content=body, headers={"content-type": "application/json"})


async def test_prompt_hook_over_http_advises_and_stores(daemon):
    """UserPromptSubmit over HTTP: additionalContext naming haiku; one decision stored."""
    response = await post(daemon, "/hooks/claude-code/UserPromptSubmit",
                          claude_payload("UserPromptSubmit", prompt="what is the capital of France?"))
    assert response.status_code == 200
    context = response.json()["hookSpecificOutput"]["additionalContext"]
    assert 'model "haiku"' in context
    await daemon.store.flush()
    rows = await daemon.store.read(lambda c: c.execute("SELECT source FROM decisions").fetchall())
    assert rows == [("hook:claude-code",)]


async def test_nothing_to_say_is_an_empty_object(daemon):
    """A tool call with no pending route: 200 with {} (allow, no output)."""
    response = await post(daemon, "/hooks/claude-code/PreToolUse",
                          claude_payload("PreToolUse", tool_name="Bash", tool_input={}))
    assert (response.status_code, response.json()) == (200, {})


@pytest.mark.parametrize("path, body", [
    ("/hooks/vim/UserPromptSubmit", b"{}"),
    ("/hooks/claude-code/UserPromptSubmit", b"not json"),
    ("/hooks/", b"{}"),
])
async def test_bad_hook_requests_are_400(daemon, path, body):
    """Unknown host, bad JSON or no host: 400 (Claude Code then carries on: fail open)."""
    response = await post(daemon, path, body)
    assert response.status_code == 400
