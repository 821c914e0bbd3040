"""The real Codex CLI (``codex exec``, model ``auto``) through routerd to gpt-4.1 on an OpenAI-only
config: its Responses request (reasoning, the include of encrypted reasoning) reaches gpt-4.1,
which does not reason, as one it takes, where the fake refuses what the real API refuses."""

from pathlib import Path

import pytest

from routerd.app import App
from tests.e2e import clis
from tests.e2e.harness import http_url
from tests.gateway.test_valid_targets import GPT41

pytestmark = pytest.mark.anyio


@pytest.mark.gateway_config(GPT41, providers=())
async def test_codex_auto_to_gpt41(codex_cli: Path, home: Path, daemon: App, fakes) -> None:
    """No reasoning and no include of reasoning.encrypted_content reach gpt-4.1; Codex prints its answer."""
    done = await clis.run_codex(codex_cli, http_url(daemon), "Say pong", home=home, model="auto")
    assert done.returncode == 0 and "Hello from openai." in done.stdout, done.describe()
    sent = fakes["openai"].received[-1]
    assert sent.path == "/v1/responses" and sent.json["model"] == "gpt-4.1"
    assert "reasoning" not in sent.json and "reasoning.encrypted_content" not in sent.json.get("include", [])
