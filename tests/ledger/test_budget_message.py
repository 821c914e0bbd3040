"""What a budget's refusal says: its amounts in one money format (``$0.05``, never ``0.05 usd``),
and "free local models still serve" only when a free local provider is configured, in the 402 and
in the hook's context alike."""

import re
import time
from pathlib import Path

import openai
import pytest

from routerd.store.ledger import CallRow, record_call
from tests.fakes.upstream import FakeUpstream

pytestmark = pytest.mark.anyio
PROMPT = [{"role": "user", "content": "What is the capital of France?"}]


@pytest.fixture(params=[False, True], ids=["paid-only", "with-local"])
def local(request: pytest.FixtureRequest) -> bool:
    return request.param


@pytest.fixture
def config_file(daemon_env: Path, upstream: FakeUpstream, local: bool) -> Path:
    """OpenAI's models under a $0.05 daily cap; ``local``: a free local provider too."""
    path = daemon_env / "config.toml"
    path.write_text(f'[http]\nlisten = "127.0.0.1:0"\n[budgets]\ndaily_usd = 0.05\n'
                    f'[providers.openai]\nbase_url = "{upstream.url}/v1"\napi_key = "sk-x"\nmodels = ["gpt-*"]\n'
                    + (f'[providers.box]\nbase_url = "{upstream.url}/v1"\nlocal = true\n' if local else ""))
    return path


async def test_a_refusal_says_dollars_one_way_and_free_local_models_only_when_there_are(daemon, upstream, local):
    """$0.0335 of $0.05 spent: gpt-4.1 with max_tokens 3,000 (~$0.024) is refused; the 402 says
    what is left and the limit as dollars, and names free local models only with a local provider;
    the capped hook context says the same."""
    record_call(daemon.store, CallRow(id="c1", ts=time.time() - 30, source="gateway", provider="openai",
                                      model="gpt-4.1", outcome="ok", input_tokens=10, output_tokens=10,
                                      cost_usd=0.0335))
    await daemon.spending.sync()
    async with openai.AsyncOpenAI(base_url=f"http://{daemon.http_address}/v1", api_key="x",
                                  max_retries=0) as client:
        with pytest.raises(openai.APIStatusError) as caught:
            await client.chat.completions.create(model="gpt-4.1", messages=PROMPT, max_tokens=3000)
    assert caught.value.status_code == 402 and not upstream.received
    message = caught.value.body["message"]
    assert "openai/gpt-4.1 would reserve $0.024" in message
    assert "daily usd (all): $0.0165 of the $0.05 limit left this day, less than the call needs" in message
    assert not re.search(r"\d usd", message)
    assert ("free local models still serve" in message) == local
    note = daemon.spending.note(daemon.runtime, None)
    assert note is not None and "(capped): paid calls are refused" in note
    assert ("free local models still serve" in note) == local


async def test_a_call_larger_than_the_whole_limit_says_so_in_dollars(daemon, upstream, local):
    """gpt-4.1 without max_tokens reserves its 32,768 output tokens (~$0.2622): more than the $0.05 limit."""
    async with openai.AsyncOpenAI(base_url=f"http://{daemon.http_address}/v1", api_key="x",
                                  max_retries=0) as client:
        with pytest.raises(openai.APIStatusError) as caught:
            await client.chat.completions.create(model="gpt-4.1", messages=PROMPT)
    message = caught.value.body["message"]
    assert re.search(r"would reserve \$0\.2622 .*; daily usd \(all\): one call needs \$0\.2622, more than the "
                     r"whole limit of \$0\.05;", message), message
    assert ("free local models still serve" in message) == local
