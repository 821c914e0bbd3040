"""Claude Code 2.1.197's own turns through routerd's brain (``gateway.downshift``: every call is the
brain's to read): what Claude Code writes into a user turn is not read as the person's ask
(``routerd.classify.text``'s table of harness blocks; ``tests/scenarios/test_harness_blocks.py``
reads the same kinds of body, captured).

- A ``Bash`` call with ``run_in_background`` answers at once ("Command running in background with
  ID: ..."); when the command ends Claude Code sends a user turn of one ``<task-notification>``
  (its id, output file, status and summary), in ``-p`` mode too, before it exits.
- ``claude -p /cost`` runs a local command without calling the model; ``claude -p --continue``
  then sends the caveat, the command (``/usage``), Claude Code's assistant turn "No response
  requested." and, in the asked turn, ``<local-command-stdout>`` with the cost table before the ask.
"""

import json
from pathlib import Path

import pytest

from routerd.app import App
from tests.e2e import clis
from tests.e2e.harness import http_url, recorded_calls, recorded_decision
from tests.e2e.upstream import Turn, Upstream

pytestmark = pytest.mark.anyio

ANSWER = "Done: the background command printed finished 5d1e."


async def _details(daemon: App) -> list[str]:
    """Each stored call's decision detail, oldest first."""
    return [(await recorded_decision(daemon, call["decision_id"]))["detail"] for call in await recorded_calls(daemon)]


async def test_a_background_task_report_is_read_as_an_agent_step(claude_cli: Path, home: Path,
                                                                 fake_anthropic_downshift: Upstream,
                                                                 daemon: App) -> None:
    """The call Claude Code makes when a background command has finished reads as a step of the
    task the person set (``kind:tool_result``), not as a new ask of its own (read as one, it was
    complex at p(simple) 0.01 and took the session from Haiku to Opus)."""
    fake = fake_anthropic_downshift
    fake.script[:] = [Turn(tool="Bash", args={"command": "echo finished", "run_in_background": True,
                                              "description": "print finished"}),
                      Turn(text="Started it."), Turn(text=ANSWER)]
    done = await clis.run_claude(claude_cli, http_url(daemon), "Run echo finished in the background", home=home)
    assert done.returncode == 0, done.describe()
    sent = [r.json()["messages"] for r in fake.calls("/v1/messages")]
    details = await _details(daemon)
    assert len(details) == len(sent)
    notified = [i for i, messages in enumerate(sent) if "<task-notification>" in json.dumps(messages[-2:])]
    assert notified, [json.dumps(m[-1])[:300] for m in sent]
    for index in notified:
        assert "kind:tool_result" in details[index] and "kind:ask" not in details[index], details[index]


async def test_a_local_commands_output_is_not_the_ask(claude_cli: Path, home: Path,
                                                      fake_anthropic_downshift: Upstream, daemon: App) -> None:
    """After ``/cost``, "Say hello" reads as those two words: simple, as it reads alone (the cost
    table read as the ask made it moderate, p(simple) 0.13, and sent it to Sonnet)."""
    fake_anthropic_downshift.script[:] = [Turn(text="Hello!")]
    url = http_url(daemon)
    assert (await clis.run_claude(claude_cli, url, "/cost", home=home)).returncode == 0
    done = await clis.run_claude(claude_cli, url, "Say hello", home=home, args=("--continue",))
    assert done.returncode == 0 and done.stdout.strip() == "Hello!", done.describe()
    [call] = fake_anthropic_downshift.calls("/v1/messages")
    assert "<local-command-stdout>" in json.dumps(call.json()["messages"])
    [row] = await recorded_calls(daemon)
    decision = await recorded_decision(daemon, row["decision_id"])
    assert decision["tier"] == "simple" and "kind:ask" in decision["detail"], decision["detail"]
