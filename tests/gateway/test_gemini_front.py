"""The Gemini front (``/v1beta/models/{model}:generateContent`` and friends), as Gemini CLI and the
google-genai SDK call it: passed through to a Gemini provider, translated to the others."""

import json

import httpx
import pytest

from tests.fakes import answers
from tests.gateway.conftest import calls

pytestmark = pytest.mark.anyio

BODY = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}],
        "generationConfig": {"temperature": 0.2, "futureKnob": 1}}


async def _post(base_url: str, path: str, body: dict, **kw) -> httpx.Response:
    async with httpx.AsyncClient(timeout=10) as client:
        return await client.post(base_url + path, json=body, **kw)


async def test_gemini_passthrough_keeps_the_body_and_replaces_the_key(daemon, fakes, base_url):
    """Same dialect: the body goes as sent, the model in the path, the provider's key in a header."""
    response = await _post(base_url, "/v1beta/models/gemini-2.5-flash:generateContent?key=client-key",
                           BODY, headers={"x-goog-api-key": "client-key"})
    assert response.status_code == 200
    assert response.json()["candidates"][0]["content"]["parts"][0]["text"] == "Hello from gemini."
    sent = fakes["gemini"].received[-1]
    assert sent.path == "/v1beta/models/gemini-2.5-flash:generateContent" and sent.query == ""
    assert sent.headers["x-goog-api-key"] == "gem-secret-3456" and sent.json == BODY


async def test_gemini_client_streams_from_an_openai_provider(daemon, fakes, base_url):
    """streamGenerateContent?alt=sse for a GPT model: translated both ways, Gemini SSE chunks back."""
    async with httpx.AsyncClient(timeout=10) as client:
        async with client.stream("POST", base_url + "/v1beta/models/gpt-4o:streamGenerateContent?alt=sse",
                                 json=BODY) as response:
            text = (await response.aread()).decode()
    chunks = [json.loads(line[6:]) for line in text.splitlines() if line.startswith("data: ")]
    said = "".join(p.get("text", "") for c in chunks for cand in c.get("candidates", [])
                   for p in cand["content"]["parts"])
    assert said == "Hello from openai."
    assert fakes["openai"].received[-1].path == "/v1/chat/completions"
    [row] = await calls(daemon)
    assert (row["provider"], row["output_tokens"]) == ("openai", answers.OUTPUT_TOKENS)


async def test_gemini_stream_without_sse_is_refused_in_gemini_shape(daemon, base_url):
    """A stream without ?alt=sse gets a Gemini-shaped 400 saying what to add."""
    response = await _post(base_url, "/v1beta/models/gemini-2.5-flash:streamGenerateContent", BODY)
    assert response.status_code == 400
    assert response.json()["error"]["status"] == "INVALID_ARGUMENT"
    assert "alt=sse" in response.json()["error"]["message"]


async def test_gemini_count_tokens_estimated_for_other_providers(daemon, fakes, base_url):
    """countTokens for a model on a non-Gemini provider is a local estimate in Gemini's shape."""
    response = await _post(base_url, "/v1beta/models/gpt-4o:countTokens",
                           {"contents": [{"role": "user", "parts": [{"text": "word " * 200}]}]})
    assert response.status_code == 200 and 150 <= response.json()["totalTokens"] <= 400
    assert not fakes["openai"].received
