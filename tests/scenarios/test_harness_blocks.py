"""What the coding agents write into the person's turn, read from their real requests
(tests/scenarios/harness_captures/*.json, recorded from the CLIs tests/e2e pins at its recording
upstream, as tests/scenarios/captures were): the classifier reads the person's words, and a
background task's report as an agent step.

- ``claude-code-2.1.197-slash-command``: ``claude -p "/explain the retry loop in client.py"`` with a
  project command ``explain.md`` ("Explain $ARGUMENTS in plain words, with one example."): the turn
  holds the command's name, label and arguments in tags, then the expanded prompt.
- ``claude-code-2.1.197-after-local-command``: ``claude -p /cost``, then ``claude -p --continue
  "Say hello"``: the first turn is a caveat and the local command (recorded as ``/usage``), the
  assistant's is Claude Code's "No response requested.", and the asked turn opens with the command's
  output in ``<local-command-stdout>``.
- ``claude-code-2.1.197-task-notification``: the model ran ``Bash`` with ``run_in_background``; the
  call after it ended is a user turn of one ``<task-notification>``.
- ``gemini-cli-0.61-agent-mention``: ``gemini -p "@codebase_investigator where is pong defined"``:
  after the ask, a ``<system_note>`` telling the model to delegate to the agent.
- ``claude-code-2.1.197-bash-mode`` and ``-after-bash-mode``: interactive ``claude`` (in a pty),
  ``!python3 -m pytest -q tests/test_ledger.py``, then "Say hello": bash mode asks the model too
  (a turn of ``<bash-input>`` and ``<bash-stdout>``/``<bash-stderr>``), and the next prompt is a
  turn of its own after the model's answer.
- ``codex-0.169-skill-mention``: ``codex exec "$openai-docs how do I stream responses"``: after the
  ask, a user message of one ``<skill>`` block, the skill's whole ``SKILL.md`` (the last user turn).
"""

import json
from pathlib import Path
from typing import Any

import pytest

from routerd.classify.classifier import classify
from routerd.classify.context import Reading, read
from routerd.classify.cues import default_cues
from routerd.dialects.registry import get as dialect
from routerd.dialects.summary import to_classifier_messages

FOLDER = Path(__file__).with_name("harness_captures")


def _messages(name: str) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """The capture's messages and tools as routing reads them (``routing.types.Conversation``)."""
    raw = json.loads((FOLDER / f"{name}.json").read_text())
    if raw["path"] in ("/v1/messages", "/v1/responses"):
        request = dialect("anthropic" if raw["path"] == "/v1/messages" else "responses").parse_request(raw["body"])
    else:
        request = dialect("gemini").parse_request(raw["body"], model=raw["path"].split("/models/")[1].split(":")[0])
    return to_classifier_messages(request), [{"name": t.name} for t in request.tools]


def _read(messages: list[dict[str, Any]], tools: list[dict[str, str]]) -> Reading:
    return read(messages, tools, default_cues())


def _typed(messages: list[dict[str, Any]], *asks: str) -> list[dict[str, Any]]:
    """``messages`` with the user's turns replaced by what the person typed (``asks``, in order) and
    the harness's turns that held nothing else dropped."""
    system = [m for m in messages if m["role"] in ("system", "developer")]
    return system + [{"role": "user", "content": ask} for ask in asks]


# What the person typed, as the classifier should read each capture's asked turn.
TYPED = {
    "claude-code-2.1.197-slash-command":
        "the retry loop in client.py\n\nExplain the retry loop in client.py in plain words, with one example.",
    "claude-code-2.1.197-after-local-command": "Say hello",
    "gemini-cli-0.61-agent-mention": "@codebase_investigator where is pong defined",
    "codex-0.169-skill-mention": "$openai-docs how do I stream responses",
}


@pytest.mark.parametrize("name", sorted(TYPED))
def test_a_real_turn_reads_as_the_persons_words(name: str) -> None:
    """The asked turn reads as what the person typed (a slash command: its arguments and the prompt
    it expands to), none of the harness's markup, notes or a local command's output."""
    messages, tools = _messages(name)
    reading, alone = _read(messages, tools), _read(_typed(messages, TYPED[name]), tools)
    assert (reading.kind, reading.features) == (alone.kind, alone.features)
    assert not {w for w in reading.features.words if "command" in w or "note" in w or "skill" in w}


def test_a_real_task_notification_is_an_agent_step() -> None:
    """Claude Code's report that a background command finished reads as a step of the task the
    person set, simple as that ask (as a new ask of its own it read complex: p(simple) 0.01)."""
    messages, tools = _messages("claude-code-2.1.197-task-notification")
    reading = _read(messages, tools)
    ask = _read(_typed(messages, "Run a slow command in the background"), tools)
    assert reading.kind == "tool_result" and "tool_output" in reading.features
    assert reading.features.words == ask.features.words
    assert classify(messages, tools).tier == classify(_typed(messages, "Run a slow command in the background"),
                                                      tools).tier == "simple"


def test_a_real_bash_mode_turn_is_output() -> None:
    """Claude Code's ``!`` command and what it printed are read as a tool's result, not as words:
    the turn is a step (of no ask), and "Say hello" after it is an ask of its own, not a follow-up
    of the command line (it read as one, with the words "pytest" and "bash-input")."""
    messages, tools = _messages("claude-code-2.1.197-bash-mode")
    reading = _read(messages, tools)
    assert reading.kind == "tool_result" and not reading.features.words and "tool_output" in reading.features
    messages, tools = _messages("claude-code-2.1.197-after-bash-mode")
    reading = _read(messages, tools)
    assert reading.kind == "ask" and reading.features.words == {"say", "hello"}
