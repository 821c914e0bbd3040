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


# The main turn asks something hard (the capture's ask replaced); the captured agent step after it
# ("subagent answer: pong is in pong.py") reads as simple alone, so only the session's tier holds it.
HARD_ASK = ("Find the data race in the lock-free ring buffer's compare-and-swap loop under the weak memory "
            "model, prove the fix linearizable and keep the wait-free progress guarantee")


@pytest.mark.parametrize("side", ["claude-code-2.1.197-stop-hook-auto", "claude-code-2.1.197-subagent",
                                  "claude-code-2.1.197-agent-hook"])
async def test_a_side_call_leaves_the_main_loops_sticky_tier(daemon, fakes, base_url, side):
    """A prompt hook, a subagent or an agent hook in the same session neither reads nor overwrites
    the session's tier: the main loop's next agent step still holds the tier its ask was given."""
    headers, body = capture("claude-code-2.1.197-main")
    session = headers["x-claude-code-session-id"]
    body = json.loads(json.dumps(body).replace("Find where pong is defined", HARD_ASK))
    main = await post(base_url, headers, dict(body, model="claude-routerd-auto"))
    step_headers, step_body = capture("claude-code-2.1.197-after-subagent")
    step_body = dict(step_body, model="claude-routerd-auto")
    held = await post(base_url, step_headers, step_body)
    assert held.headers["x-routerd-model"] == main.headers["x-routerd-model"], held.text
    side_headers, side_body = capture(side)
    call = await post(base_url, dict(side_headers, **{"x-claude-code-session-id": session}),
                      dict(side_body, model="claude-routerd-auto"))
    assert call.headers["x-routerd-scenario"] in ("background", "subagent")
    assert call.headers["x-routerd-model"] != main.headers["x-routerd-model"]  # routed on its own
    reasons = await decision_reasons(daemon, call.headers["x-routerd-decision-id"])
    assert not [r for r in reasons if "sticky" in r], reasons
    after = await post(base_url, step_headers, step_body)
    assert after.headers["x-routerd-model"] == main.headers["x-routerd-model"]
    assert any("agent step: the session's tier" in r
               for r in await decision_reasons(daemon, after.headers["x-routerd-decision-id"]))


async def decision_reasons(app, decision_id: str) -> list[str]:
    """The reasons stored with a decision."""
    await app.store.flush()
    row = await app.store.read(lambda conn: conn.execute("SELECT detail FROM decisions WHERE id = ?",
                                                         (decision_id,)).fetchone())
    return json.loads(row[0])["reasons"]


def subagent_step(body: dict) -> dict:
    """The captured subagent turn continued by one agent step, its Grep call and the result (its
    ask as captured: an easy one, so that only the subagent's tier holds the step)."""
    return dict(body, messages=[*body["messages"],
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_grep1", "name": "Grep",
                                           "input": {"pattern": "def pong"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_grep1",
                                      "content": "pong.py:1:def pong():"}]}])


async def test_a_subagents_steps_hold_its_own_tier_apart_from_the_main_loops(daemon, fakes, base_url):
    """A subagent (its agent id) keeps its own sticky tier: its agent step after a hard ask holds
    that tier, and the main loop's easy turn and its agent step keep theirs, untouched by it."""
    headers, body = capture("claude-code-2.1.197-main")
    session = headers["x-claude-code-session-id"]
    main = await post(base_url, headers, dict(body, model="claude-routerd-auto"))
    sub_headers, sub_body = capture("claude-code-2.1.197-subagent")
    assert sub_headers["x-claude-code-session-id"] == session and sub_headers["x-claude-code-agent-id"]
    sub_body = dict(sub_body, model="claude-routerd-auto")
    hard = json.loads(json.dumps(sub_body).replace(
        "Search the repository for the definition of pong and report the file.", HARD_ASK))
    sub = await post(base_url, sub_headers, hard)
    assert sub.headers["x-routerd-scenario"] == "subagent", sub.text
    assert sub.headers["x-routerd-model"] != main.headers["x-routerd-model"]  # the hard ask's tier
    step = await post(base_url, sub_headers, subagent_step(sub_body))
    assert step.headers["x-routerd-model"] == sub.headers["x-routerd-model"], step.text
    assert any("agent step: the session's tier" in r
               for r in await decision_reasons(daemon, step.headers["x-routerd-decision-id"]))
    assert any("agent step: the session's tier" in r
               for r in await decision_reasons(daemon, step.headers["x-routerd-decision-id"]))
    step_headers, step_body = capture("claude-code-2.1.197-after-subagent")
    after = await post(base_url, step_headers, dict(step_body, model="claude-routerd-auto"))
    assert after.headers["x-routerd-model"] == main.headers["x-routerd-model"], after.text
