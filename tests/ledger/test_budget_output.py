"""A budget reserves the output a request asks for in its dialect's own top-level field, read as
the upstream reads it: a nested ``max_tokens`` (in metadata, a tool's schema) or an earlier
duplicate key does not lower the reservation below what the call may spend."""

from pathlib import Path

import httpx
import openai
import pytest

from routerd.gateway.answers import ProxyRequest
from routerd.gateway.spend import asked_output, output_field
from tests.fakes.upstream import FakeUpstream

pytestmark = pytest.mark.anyio
PROMPT = [{"role": "user", "content": "What is the capital of France?"}]


def _asked(dialect: str, body: bytes) -> int | None:
    return asked_output(ProxyRequest(dialect, b"", b"", {}, body, "m", False, 0.0))


@pytest.mark.parametrize(("dialect", "body", "expected"), [
    ("openai_chat", b'{"metadata": {"max_tokens": 1}, "messages": []}', None),
    ("openai_chat", b'{"max_tokens": 1, "messages": [], "max_tokens": 5000}', 5000),
    ("openai_chat", b'{"max_tokens": 10, "max_completion_tokens": 300}', 300),
    ("openai_chat", b'{"max_output_tokens": 10}', None),
    ("openai_chat", b'{"max_tokens": "10"}', None),
    ("openai_chat", b'{"max_tokens": -1}', None),
    ("openai_chat", b'{"max_tokens": null}', None),
    ("anthropic", b'{"tools": [{"input_schema": {"max_tokens": 1}}], "max_tokens": 4096}', 4096),
    ("responses", b'{"text": {"max_output_tokens": 1}, "input": "hi"}', None),
    ("responses", b'{"max_output_tokens": 700, "max_tokens": 1}', 700),
    ("gemini", b'{"contents": [{"parts": [{"maxOutputTokens": 1}]}], "generationConfig": {"maxOutputTokens": 900}}',
     900),
    ("gemini", b'{"generation_config": {"max_output_tokens": 800}}', 800),
    ("gemini", b'{"maxOutputTokens": 5, "generationConfig": "x"}', None),
    ("gemini", b'not json', None),
])
def test_the_output_asked_for_is_the_dialects_top_level_field(dialect, body, expected):
    """Each dialect's field at the top level only, the last of duplicates, whole positive numbers only."""
    assert _asked(dialect, body) == expected


@pytest.mark.parametrize(("dialect", "body", "expected"), [
    ("openai_chat", b'{"messages": []}', "max_tokens"),
    ("openai_chat", b'{"max_tokens": 10}', "max_tokens"),
    ("openai_chat", b'{"max_completion_tokens": 300}', "max_completion_tokens"),
    ("anthropic", b'{"max_tokens": 4096}', "max_tokens"),
    ("responses", b'{"input": "hi"}', "max_output_tokens"),
    ("gemini", b'{"contents": []}', "generationConfig.maxOutputTokens"),
])
def test_a_refusal_names_the_clients_own_output_field(dialect, body, expected):
    """The field a 402 tells the client to lower is its own API's, not always max_tokens."""
    assert output_field(ProxyRequest(dialect, b"", b"", {}, body, "m", False, 0.0)) == expected


@pytest.fixture
def config_file(daemon_env: Path, upstream: FakeUpstream) -> Path:
    """OpenAI's models and a $0.05 daily cap: gpt-4.1 without max_tokens (its 32,768 output tokens
    reserved, ~$0.26) does not fit it, 100 output tokens do."""
    path = daemon_env / "config.toml"
    path.write_text(f'[http]\nlisten = "127.0.0.1:0"\n[budgets]\ndaily_usd = 0.05\n'
                    f'[providers.openai]\nbase_url = "{upstream.url}/v1"\napi_key = "sk-x"\nmodels = ["gpt-*"]\n')
    return path


async def test_a_nested_max_tokens_does_not_shrink_the_reservation(daemon, upstream):
    """gpt-4.1 without max_tokens is refused (402) with or without ``metadata.max_tokens = 1`` (chat)
    or a nested ``max_output_tokens`` (Responses); with max_tokens 100 it is served."""
    async with openai.AsyncOpenAI(base_url=f"http://{daemon.http_address}/v1", api_key="x",
                                  max_retries=0) as client:
        for extra in ({}, {"metadata": {"max_tokens": 1}}):
            with pytest.raises(openai.APIStatusError) as caught:
                await client.chat.completions.create(model="gpt-4.1", messages=PROMPT, extra_body=extra)
            assert caught.value.status_code == 402
        with pytest.raises(openai.APIStatusError) as caught:
            await client.responses.create(model="gpt-4.1", input="hi", extra_body={"text": {"max_output_tokens": 1}})
        assert caught.value.status_code == 402
        assert not upstream.received
        answer = await client.chat.completions.create(model="gpt-4.1", messages=PROMPT, max_tokens=100)
        assert answer.choices[0].message.content and len(upstream.received) == 1


async def test_a_duplicate_max_tokens_reserves_the_last(daemon, upstream):
    """``"max_tokens": 1`` then ``"max_tokens": 100000`` (parsers keep the last): refused, 402."""
    body = b'{"model": "gpt-4.1", "max_tokens": 1, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 100000}'
    async with httpx.AsyncClient(base_url=f"http://{daemon.http_address}") as client:
        response = await client.post("/v1/chat/completions", content=body,
                                     headers={"content-type": "application/json"})
    assert response.status_code == 402 and not upstream.received
    assert "max_tokens 100,000" in response.json()["error"]["message"]


def test_rate_limit_buckets_reserve_the_same_output_as_budgets():
    """A token bucket's reservation reads the output the same way (it read the first max_tokens
    anywhere in the body: a nested one made it reserve 1 output token for a call asking 5,000)."""
    from routerd.gateway.dispatch import _estimate

    body = b'{"metadata": {"max_tokens": 1}, "max_tokens": 5000, "messages": []}'
    amounts = _estimate(frozenset({"output_tokens"}), ProxyRequest("openai_chat", b"", b"", {}, body, "m", False, 0.0))
    assert amounts["output_tokens"] == 5000


async def test_a_responses_refusal_names_max_output_tokens(daemon, upstream):
    """A Responses request refused (402) is told of max_output_tokens, the field it can set, with or
    without one."""
    async with openai.AsyncOpenAI(base_url=f"http://{daemon.http_address}/v1", api_key="x",
                                  max_retries=0) as client:
        with pytest.raises(openai.APIStatusError) as caught:
            await client.responses.create(model="gpt-4.1", input="hi", max_output_tokens=100_000)
        message = caught.value.body["message"]
        assert "max_output_tokens 100,000" in message and "a smaller max_output_tokens reserves less" in message
        with pytest.raises(openai.APIStatusError) as caught:
            await client.responses.create(model="gpt-4.1", input="hi")
        message = caught.value.body["message"]
        assert "sets no max_output_tokens" in message and "set max_output_tokens to reserve less" in message
    assert "max_tokens" not in message.replace("max_output_tokens", "") and not upstream.received


async def test_a_request_without_max_tokens_reserves_the_models_own_output_limit(daemon, upstream):
    """gpt-4.1 without max_tokens reserves its documented 32,768 output tokens: more than the
    8,192 default, and no more than the model can write."""
    async with openai.AsyncOpenAI(base_url=f"http://{daemon.http_address}/v1", api_key="x",
                                  max_retries=0) as client:
        with pytest.raises(openai.APIStatusError) as caught:
            await client.chat.completions.create(model="gpt-4.1", messages=PROMPT)
    assert caught.value.status_code == 402 and not upstream.received
    assert "the model's whole output limit of 32,768 tokens, since the request sets no max_tokens" \
        in caught.value.body["message"]
