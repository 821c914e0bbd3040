"""Real requests captured from the coding agents (tests/scenarios/captures/*.json), parsed.

Each file is one request a real CLI sent to tests/e2e's recording upstream (``open_upstream``),
kept whole apart from headers that identify nothing routing needs: Claude Code 2.1.197 (the
version tests/e2e pins) and 2.0.77 (before it marked subagents in headers) with
``ANTHROPIC_BASE_URL`` at the recorder, Codex 0.169 with a ``[model_providers]`` entry there. The
file name says what the request is: a main turn, a subagent's turn (the Agent/Task tool, Codex's
``spawn_agent``), a warm-up of a built-in agent, a prompt hook on the ``haiku`` slot and on the main
model (``stop-hook``: Claude Code's default model; ``stop-hook-auto``: ``ANTHROPIC_MODEL`` set to
routerd's auto name, no Haiku slot), an agent hook's turn (a Stop hook of type ``agent``, on the auto
name), a main turn with every tool off (``--tools=``), the request behind Claude Code's WebSearch
tool.
"""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from routerd.dialects.registry import get as dialect
from routerd.dialects.canonical import ChatRequest
from routerd.scenarios.markers import offered_hosted

anthropic = dialect("anthropic")
responses = dialect("responses")

FOLDER = Path(__file__).with_name("captures")
PARSERS = {"/v1/messages": anthropic.parse_request, "/v1/responses": responses.parse_request}


@dataclass(frozen=True)
class Capture:
    name: str
    headers: dict[str, str]
    body: dict[str, Any]
    request: ChatRequest
    hosted_tools: tuple[str, ...]

    @property
    def model(self) -> str:
        return self.body["model"]


def load(name: str) -> Capture:
    raw = json.loads((FOLDER / f"{name}.json").read_text())
    request = PARSERS[raw["path"]](raw["body"])
    return Capture(name, raw["headers"], raw["body"], request, offered_hosted(msgspec.json.encode(raw["body"].get("tools"))))


def names() -> list[str]:
    return sorted(p.stem for p in FOLDER.glob("*.json"))
