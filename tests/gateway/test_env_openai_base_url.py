"""OPENAI_API_KEY with OPENAI_BASE_URL pointing at a chat-only server (llama.cpp, vLLM, a proxy):
Responses clients are translated to chat for it instead of walking the catalogue into 404s."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.e2e.upstream import Upstream, open_upstream

pytestmark = pytest.mark.anyio


@pytest.fixture
async def chat_only(daemon_env: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Upstream]:
    """A chat-completions-only server (404 for /v1/responses) named by OPENAI_BASE_URL."""
    async with open_upstream("openai", "Hello from a chat-only server.") as fake:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-env-1234")
        monkeypatch.setenv("OPENAI_BASE_URL", fake.url + "/v1")
        yield fake


@pytest.fixture
def config_file(daemon_env: Path, chat_only: Upstream) -> Path:
    path = daemon_env / "config.toml"
    path.write_text('[http]\nlisten = "127.0.0.1:0"\n')  # no providers: they come from the environment
    return path


async def test_responses_client_is_translated_for_a_server_at_openai_base_url(chat_only, daemon):
    """The official SDK's Responses call with model auto reaches the server once, as chat."""
    import openai

    async with openai.AsyncOpenAI(base_url=f"http://{daemon.http_address}/v1", api_key="x",
                                  max_retries=0) as client:
        reply = await client.responses.create(model="auto", input="hi")
    assert reply.output_text == "Hello from a chat-only server."
    assert [r.path for r in chat_only.received] == ["/v1/chat/completions"]
