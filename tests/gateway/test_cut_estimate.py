"""A stream cut before its final usage is recorded with the output it streamed, estimated, in every
streaming dialect, whether or not routerd has secrets to look for in it (its local providers may
have no key: then the holdback reads no text and the usage meter alone counts it)."""

import httpx
import pytest

from tests.fakes import answers
from tests.gateway.conftest import calls

pytestmark = pytest.mark.anyio

MESSAGES = {"model": "claude-haiku-4-5", "max_tokens": 50, "messages": [{"role": "user", "content": "hi"}]}
# Each fake as a provider without a key, as a local server is configured.
KEYLESS = """
[gateway]
retries = 0
retry_backoff_s = 0

[providers.local_openai]
kind = "openai"
base_url = "{openai}/v1"
models = ["gpt-*"]
responses = true

[providers.local_anthropic]
kind = "anthropic"
base_url = "{anthropic}"
models = ["claude-*"]

[providers.local_gemini]
kind = "gemini"
base_url = "{gemini}"
models = ["gemini-*"]
"""
# (fake, its dialect, client path, body) for a stream cut mid-answer.
CUT = [("anthropic", "anthropic", "/v1/messages", MESSAGES),
       ("anthropic", "anthropic", "/v1/chat/completions",
        {"model": "claude-haiku-4-5", "messages": [{"role": "user", "content": "hi"}]}),
       ("gemini", "gemini", "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
        {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}),
       ("openai", "responses", "/v1/responses", {"model": "gpt-4o", "input": "hi"}),
       ("openai", "openai_chat", "/v1/chat/completions",
        {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]})]


@pytest.mark.gateway_config(KEYLESS, providers=())
@pytest.mark.parametrize("fake, dialect, path, body", CUT)
async def test_a_cut_stream_from_a_keyless_provider_records_the_output_it_streamed(daemon, fakes, base_url, fake,
                                                                                    dialect, path, body):
    """No secret configured: a stream cut after 10 KB of text is recorded as cut, with the
    streamed text's tokens as its output (estimated), not the 0 or 1 its start reported."""
    text = "x" * 10240
    events = answers.stream(dialect, "m", text, None, pieces=[text[i:i + 512] for i in range(0, len(text), 512)])
    # without the last text chunk (Gemini) or the final events (chat's: finish, usage, [DONE])
    fakes[fake].events(*events[:-3 if dialect == "openai_chat" else -2])
    async with httpx.AsyncClient(timeout=10) as http:
        async with http.stream("POST", base_url + path, json={**body, "stream": True}) as response:
            said = (await response.aread()).decode()
    assert response.status_code == 200 and said.count("x") >= 9 * 1024
    [row] = await calls(daemon)
    assert (row["provider"], row["outcome"], row["estimated"]) == ("local_" + fake, "stream_cut", 1)
    assert 9 * 1024 // 4 <= row["output_tokens"] <= 10240 // 4 and row["input_tokens"] > 0
