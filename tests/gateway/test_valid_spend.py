"""A budget reserves the output routerd sends the model, capped to its limit, not what the client
asked its own model for."""

import openai
import pytest

pytestmark = pytest.mark.anyio

# gpt-4.1 alone behind a $0.50 daily budget: its 32,768 output tokens ($8/Mtok: ~$0.26) fit it,
# the 100,000 the request asks for (~$0.80) would not.
GPT41_BUDGET = """
[budgets]
daily_usd = 0.5

[gateway]
retries = 0
retry_backoff_s = 0

[providers.only]
kind = "openai"
base_url = "{openai}/v1"
api_key = "sk-test-secret-0000"
models = ["gpt-4.1"]
"""


@pytest.mark.gateway_config(GPT41_BUDGET, providers=())
async def test_a_budget_reserves_the_capped_output(daemon, fakes, base_url):
    """``auto`` asking 100,000 output tokens goes to gpt-4.1 asking 32,768, and the budget holds
    that, so the call fits a budget the uncapped figure would not."""
    async with openai.AsyncOpenAI(base_url=base_url + "/v1", api_key="unused", max_retries=0) as client:
        completion = await client.chat.completions.create(
            model="auto", max_tokens=100_000, messages=[{"role": "user", "content": "hi"}])
    assert completion.choices[0].message.content == "Hello from openai."
    assert fakes["openai"].received[-1].json["max_tokens"] == 32_768


@pytest.mark.gateway_config(GPT41_BUDGET.replace("0.5", "0.1"), providers=())
async def test_a_refusal_says_the_output_asked_and_the_cap(daemon, fakes, base_url):
    """Refused even capped, the 402 names what the client asked and the model's limit it holds."""
    async with openai.AsyncOpenAI(base_url=base_url + "/v1", api_key="unused", max_retries=0) as client:
        with pytest.raises(openai.APIStatusError) as caught:
            await client.chat.completions.create(
                model="auto", max_tokens=100_000, messages=[{"role": "user", "content": "hi"}])
    assert caught.value.status_code == 402
    assert "max_tokens 100,000, at most the model's 32,768" in caught.value.body["message"]
    assert not fakes["openai"].received



@pytest.mark.gateway_config(GPT41_BUDGET.replace("[budgets]\ndaily_usd = 0.5\n",
                                                 '[[limits]]\nprovider = "only"\nwindow = "day"\noutput_tokens = 50000\n'),
                            providers=())
async def test_a_token_bucket_holds_the_capped_output(daemon, fakes, base_url):
    """A 50,000 output-token bucket takes ``auto`` asking 100,000 of gpt-4.1, which gets 32,768."""
    async with openai.AsyncOpenAI(base_url=base_url + "/v1", api_key="unused", max_retries=0) as client:
        completion = await client.chat.completions.create(
            model="auto", max_tokens=100_000, messages=[{"role": "user", "content": "hi"}])
    assert completion.choices[0].message.content == "Hello from openai."
