"""``GET /v1/models`` (and Gemini's ``/v1beta/models``) lists every model a client can name: the
auto names, then the enabled providers' models (named outright, or catalogue models their
patterns claim), in each dialect's shape, the client's own providers first."""

import anthropic
import httpx
import openai
import pytest

pytestmark = pytest.mark.anyio
BOX = '''
[providers.box]
base_url = "{openai}/v1"
local = true
models = ["llama3", "qwen*"]
'''


@pytest.mark.gateway_config(BOX)
async def test_every_model_a_client_can_name_is_listed_in_each_dialect(daemon, fakes, base_url):
    """OpenAI's list: the auto names, then gpt-* catalogue models (not o3: no pattern claims it),
    Claude and Gemini models and box's llama3 (its glob lists nothing); Anthropic's list: Claude's
    models before OpenAI's; Gemini's: the same names as models/{id}."""
    async with openai.AsyncOpenAI(base_url=base_url + "/v1", api_key="unused", max_retries=0) as client:
        listed = [m async for m in client.models.list()]
    ids = [m.id for m in listed]
    assert ids[0] == "auto" and len(ids) == len(set(ids))
    assert {"gpt-4.1", "gpt-4.1-mini", "claude-sonnet-4-6", "claude-haiku-4-5", "gemini-2.5-flash", "llama3"} <= set(ids)
    assert not {"o3", "qwen*", "deepseek-chat"} & set(ids)
    assert {m.id: m.owned_by for m in listed}["gpt-4.1"] == "openai"
    assert ids.index("gpt-4.1") < ids.index("claude-sonnet-4-6")
    async with anthropic.AsyncAnthropic(base_url=base_url, api_key="unused", max_retries=0) as client:
        claude_ids = [m.id async for m in client.models.list()]
    assert set(claude_ids) == set(ids) and claude_ids.index("claude-sonnet-4-6") < claude_ids.index("gpt-4.1")
    async with httpx.AsyncClient(base_url=base_url) as http:
        gemini = (await http.get("/v1beta/models", headers={"x-goog-api-key": "k"})).json()["models"]
    names = [m["name"] for m in gemini]
    assert {f"models/{i}" for i in ids} == set(names) and names.index("models/gemini-2.5-flash") < names.index("models/gpt-4.1")


async def test_a_listed_model_is_served(daemon, fakes, base_url):
    """A catalogue model the list names (gpt-4.1, through a gpt-* pattern) is served by its provider."""
    async with openai.AsyncOpenAI(base_url=base_url + "/v1", api_key="unused", max_retries=0) as client:
        ids = [m.id async for m in client.models.list()]
        assert "gpt-4.1" in ids
        answer = await client.chat.completions.create(model="gpt-4.1", messages=[{"role": "user", "content": "hi"}])
    assert answer.choices[0].message.content == "Hello from openai."
