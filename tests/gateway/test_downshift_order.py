"""``gateway.downshift`` moves a request naming a model only to the brain's own pick below it: where
the request's tier has no model on the providers (Gemini has none at complex), the brain's list is
its fallbacks, weakest last, and the request stays on the model it named instead of going to the
first cheaper fallback. The official ``openai`` client names Gemini models, served by the Gemini
fake alone."""

import openai
import pytest

from tests.gateway.conftest import calls

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.gateway_config("[gateway]\ndownshift = true\nretry_backoff_s = 0\n", providers=("gemini",)),
]
HARD = ("Find the data race in the lock-free ring buffer's compare-and-swap loop under the weak memory "
        "model, prove the fix linearizable and keep the wait-free progress guarantee")


async def ask(base_url: str, model: str, words: str) -> str:
    async with openai.AsyncOpenAI(base_url=f"{base_url}/v1", api_key="x", max_retries=0) as client:
        raw = await client.chat.completions.with_raw_response.create(
            model=model, messages=[{"role": "user", "content": words}])
    return raw.headers["x-routerd-model"]


async def test_a_hard_request_stays_on_the_model_it_named_when_its_tier_has_none(daemon, fakes, base_url):
    """Complex, with no complex Gemini model: gemini-2.5-pro, as named (it went to flash-lite, the
    cheapest of the brain's fallbacks), and the decision stored says where it went."""
    assert await ask(base_url, "gemini-2.5-pro", HARD) == "gemini-2.5-pro"
    [row] = await calls(daemon)
    stored = await daemon.store.read(lambda c: c.execute(
        "SELECT tier, model FROM decisions WHERE id = ?", (row["decision_id"],)).fetchone())
    assert stored == ("complex", "gemini-2.5-pro")


async def test_a_simple_request_still_goes_down(daemon, fakes, base_url):
    """The same model named for a trivial ask: the brain's cheaper pick."""
    assert await ask(base_url, "gemini-2.5-pro", "thanks!") in ("gemini-2.5-flash-lite", "gemini-2.5-flash")
