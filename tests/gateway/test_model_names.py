"""Model names as clients write them: routerd's auto names and Claude Code's [1m] decoration."""

import anthropic
import openai
import pytest

pytestmark = pytest.mark.anyio


async def test_decorations_never_reach_the_provider(daemon, fakes, base_url):
    """``claude-sonnet-4-6[1m]`` goes upstream as ``claude-sonnet-4-6``, as the same model."""
    async with anthropic.AsyncAnthropic(base_url=base_url, api_key="unused", max_retries=0) as client:
        raw = await client.messages.with_raw_response.create(
            model="claude-sonnet-4-6[1m]", max_tokens=50, messages=[{"role": "user", "content": "hi"}])
    assert (await raw.parse()).content[0].text == "Hello from anthropic."
    assert fakes["anthropic"].received[-1].json["model"] == "claude-sonnet-4-6"
    assert raw.headers["x-routerd-model"] == "claude-sonnet-4-6"


@pytest.mark.parametrize("name", ["claude-routerd-auto", "claude-routerd-auto-haiku", "claude-routerd-auto[1m]"])
async def test_anthropic_shaped_auto_names(daemon, fakes, base_url, name):
    """Claude Code's auto names are automatic routing: a catalogue model is chosen, never the name."""
    async with anthropic.AsyncAnthropic(base_url=base_url, api_key="unused", max_retries=0) as client:
        raw = await client.messages.with_raw_response.create(
            model=name, max_tokens=50, messages=[{"role": "user", "content": "thanks, that fixed it"}])
    chosen = raw.headers["x-routerd-model"]
    assert (await raw.parse()).content and "routerd" not in chosen
    sent = [r for f in fakes.values() for r in f.received if r.method == "POST"]
    assert sent and all("routerd" not in r.json.get("model", "") for r in sent)


async def test_openai_shaped_auto_name(daemon, fakes, base_url):
    """``routerd-auto`` from an OpenAI SDK is automatic routing too."""
    async with openai.AsyncOpenAI(base_url=base_url + "/v1", api_key="unused", max_retries=0) as client:
        raw = await client.chat.completions.with_raw_response.create(
            model="routerd-auto", messages=[{"role": "user", "content": "hi"}])
    assert raw.parse().choices[0].message.content.startswith("Hello from")
    assert "routerd" not in raw.headers["x-routerd-model"]


@pytest.mark.gateway_config('[routing.scenarios]\nopenai_names = ["team-auto"]\n')
async def test_auto_names_are_configurable(daemon, fakes, base_url):
    """A configured auto name routes; a default one that config replaced is an unknown model."""
    async with openai.AsyncOpenAI(base_url=base_url + "/v1", api_key="unused", max_retries=0) as client:
        raw = await client.chat.completions.with_raw_response.create(
            model="team-auto", messages=[{"role": "user", "content": "hi"}])
        assert raw.parse().choices[0].message.content.startswith("Hello from")
        with pytest.raises(openai.NotFoundError):
            await client.chat.completions.create(model="routerd-auto", messages=[{"role": "user", "content": "hi"}])
