"""Claude Code's side queries through the gateway: a Stop prompt hook sent without a small-model
slot (on the auto name the main loop uses) takes the background route, not the brain's reading of
the hook's question as the user's ask. The requests are the real ones captured from Claude Code
2.1.197 (tests/scenarios/captures), sent with the headers it sent."""

import json

import httpx
import pytest

from tests.scenarios.captures import FOLDER

pytestmark = pytest.mark.anyio

ROUTES = """
[routing.scenarios]
background = "gpt-6-luna"
default = "claude-sonnet-4-6"
"""


def capture(name: str) -> tuple[dict[str, str], dict]:
    raw = json.loads((FOLDER / f"{name}.json").read_text())
    return raw["headers"], raw["body"]


async def post(base_url: str, headers: dict[str, str], body: dict) -> httpx.Response:
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as http:
        return await http.post("/v1/messages", headers={**headers, "x-api-key": "unused"}, json=body)


@pytest.mark.gateway_config(ROUTES)
async def test_a_stop_hook_on_the_auto_name_takes_the_background_route(daemon, fakes, base_url):
    """The Stop hook's query on claude-routerd-auto goes where background goes; the main turn of the
    same session, also on the auto name, goes where default goes."""
    headers, body = capture("claude-code-2.1.197-stop-hook-auto")
    assert body["model"] == "claude-routerd-auto"
    hook = await post(base_url, headers, body)
    assert hook.status_code == 200, hook.text
    assert (hook.headers["x-routerd-scenario"], hook.headers["x-routerd-model"]) == ("background", "gpt-6-luna")
    headers, body = capture("claude-code-2.1.197-main-no-tools")
    main = await post(base_url, headers, dict(body, model="claude-routerd-auto"))
    assert main.status_code == 200, main.text
    assert (main.headers["x-routerd-scenario"], main.headers["x-routerd-model"]) == ("default", "claude-sonnet-4-6")
