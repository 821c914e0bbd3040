"""The real Claude Code CLI through routerd to an OpenAI-only config: its Messages request
(adaptive thinking, effort, max_tokens 32,000 for ``--model auto`` and 64,000 for its default Opus)
reaches o3 and gpt-4.1 as one each takes, where the fake OpenAI refuses what the real API refuses."""

from pathlib import Path

import pytest

from routerd.app import App
from tests.e2e import clis
from tests.e2e.harness import CLAUDE_DEFAULT_MODEL, http_url
from tests.gateway.test_valid_targets import GPT41, O3

pytestmark = pytest.mark.anyio


async def _ask(claude_cli: Path, home: Path, daemon: App, *args: str, **env: str) -> None:
    done = await clis.run_cli([claude_cli, "-p", *args, "Say pong"],
                              clis.claude_env(home, http_url(daemon)) | env, home / "work")
    assert done.returncode == 0 and "Hello from openai." in done.stdout, (done.stdout, done.stderr)


@pytest.mark.gateway_config(O3, providers=())
async def test_claude_code_auto_to_o3(claude_cli: Path, home: Path, daemon: App, fakes) -> None:
    """``--model auto`` to o3, thinking or not (``MAX_THINKING_TOKENS=0``): max_completion_tokens
    (Claude Code's 32,000), never the max_tokens o3 refuses."""
    await _ask(claude_cli, home, daemon, "--model", "auto")
    thinking = fakes["openai"].received[-1].json
    await _ask(claude_cli, home, daemon, "--model", "auto", MAX_THINKING_TOKENS="0")
    plain = fakes["openai"].received[-1].json
    assert thinking["reasoning_effort"] in ("low", "medium", "high") and "reasoning_effort" not in plain
    for sent in (thinking, plain):
        assert sent["model"] == "o3" and sent["max_completion_tokens"] == 32_000 and "max_tokens" not in sent


@pytest.mark.gateway_config(GPT41 + f'\n[gateway.aliases]\n"{CLAUDE_DEFAULT_MODEL}" = "only/gpt-4.1"\n', providers=())
async def test_claude_code_default_model_to_gpt41(claude_cli: Path, home: Path, daemon: App, fakes) -> None:
    """Its default Opus aliased to gpt-4.1: 64,000 output tokens asked, 32,768 sent, no reasoning_effort."""
    await _ask(claude_cli, home, daemon)
    sent = fakes["openai"].received[-1].json
    assert sent["model"] == "gpt-4.1" and "reasoning_effort" not in sent
    assert sent.get("max_completion_tokens", sent.get("max_tokens")) == 32_768
