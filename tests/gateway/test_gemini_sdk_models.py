"""Google's ``google-genai`` SDK listing and reading routerd's models: ``models.list`` and
``models.get``, on the SDK's default ``/v1`` paths (3.x) and on ``/v1beta``. ``/v1/models`` is also
OpenAI's: routerd tells the SDK apart by its ``x-goog-*`` headers."""

import openai
import pytest
from google import genai
from google.genai import errors

from tests.gateway.test_gemini_sdk import ALIAS, _sync

pytestmark = pytest.mark.anyio


@pytest.mark.gateway_config(ALIAS)
@pytest.mark.parametrize("api_version", [None, "v1beta"])
async def test_models_list_and_get(daemon, base_url, api_version):
    """models.list names auto, the alias and the providers' models; models.get reads one of them."""
    def look(c: genai.Client):
        return [m.name for m in c.models.list()], c.models.get(model="gpt-4o"), c.models.get(model="quick")
    names, gpt, alias = await _sync(base_url, look, api_version)
    assert names[:1] == ["models/auto"] and "models/quick" in names
    assert all(any(n.startswith(f"models/{maker}-") for n in names) for maker in ("gpt", "claude", "gemini"))
    assert (gpt.name, alias.name) == ("models/gpt-4o", "models/quick")
    assert "generateContent" in gpt.supported_actions


async def test_models_get_a_name_a_pattern_or_a_provider_claims(daemon, base_url):
    """models.get reads a model no list names but a provider's pattern serves (gpt-*), and a
    provider/model name, as generate_content takes them."""
    def get(c: genai.Client):
        return c.models.get(model="gpt-9-new").name, c.models.get(model="anthropic/claude-sonnet-4-5").name
    assert await _sync(base_url, get) == ("models/gpt-9-new", "models/anthropic/claude-sonnet-4-5")


@pytest.mark.parametrize("api_version", [None, "v1beta"])
async def test_models_get_unknown_is_a_gemini_404(daemon, base_url, api_version):
    """models.get for a model nobody serves is a 404 the SDK reads as NOT_FOUND."""
    with pytest.raises(errors.ClientError) as raised:
        await _sync(base_url, lambda c: c.models.get(model="nope-1"), api_version)
    assert (raised.value.code, raised.value.status) == (404, "NOT_FOUND")
    assert "nope-1" in raised.value.message


async def test_an_endpoint_routerd_lacks_is_a_gemini_404(daemon, base_url):
    """embed_content (/v1/models/{m}:batchEmbedContents, which routerd does not serve) is a 404 the
    SDK reads as NOT_FOUND, not an OpenAI-shaped error."""
    with pytest.raises(errors.ClientError) as raised:
        await _sync(base_url, lambda c: c.models.embed_content(model="gemini-embedding-001", contents="hi"))
    assert (raised.value.code, raised.value.status) == (404, "NOT_FOUND")


async def test_openai_client_still_gets_its_own_shapes(daemon, base_url):
    """The same paths from OpenAI's SDK: its list and retrieve shapes, its 404."""
    async with openai.AsyncOpenAI(base_url=base_url + "/v1", api_key="unused", max_retries=0) as client:
        listed = [m.id async for m in client.models.list()]
        model = await client.models.retrieve("gpt-4o")
        with pytest.raises(openai.NotFoundError):
            await client.models.retrieve("nope-1")
    assert listed[0] == "auto" and (model.id, model.owned_by) == ("gpt-4o", "openai")
