"""``auto`` when admission refuses every provider: the client is told admission's reason and when
to come back, never that the routing brain knows no model."""

import httpx
import pytest

pytestmark = pytest.mark.anyio

ASK = {"max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}


@pytest.mark.gateway_config('[[limits]]\nprovider = "anthropic"\nwindow = "day"\nrequests = 1\n',
                            providers=("anthropic",))
async def test_auto_with_its_providers_bucket_used_up_says_the_bucket(daemon, fakes, base_url):
    """A daily request limit over the whole (only) provider used up: ``auto`` gets 429 naming the
    limit with its Retry-After, not "no model the routing brain knows"."""
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as http:
        first = await http.post("/v1/messages", json={"model": "auto", **ASK})
        assert first.status_code == 200, first.text
        second = await http.post("/v1/messages", json={"model": "auto", **ASK})
    message = second.json()["error"]["message"]
    assert second.status_code == 429 and int(second.headers["retry-after"]) > 60, second.text
    assert "requests limit of 1 per day reached" in message and "routing brain" not in message, message
    assert message.count("anthropic/requests/day:") == 1, message  # once, not once per candidate model
    assert len(fakes["anthropic"].received) == 1


@pytest.mark.gateway_config('[[limits]]\nprovider = "*"\nwindow = "day"\nrequests = 1\n')
async def test_auto_with_a_bucket_over_every_provider_used_up_says_the_bucket(daemon, fakes, base_url):
    """The same with one limit over all four providers, named once."""
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as http:
        assert (await http.post("/v1/messages", json={"model": "auto", **ASK})).status_code == 200
        second = await http.post("/v1/messages", json={"model": "auto", **ASK})
    message = second.json()["error"]["message"]
    assert second.status_code == 429 and int(second.headers["retry-after"]) > 60, second.text
    assert "requests limit of 1 per day reached" in message and "routing brain" not in message, message
    assert message.count("*/requests/day:") == 1, message  # once, not once per provider and model
