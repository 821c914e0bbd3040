"""Fixtures for the real-client tests: recording fake providers that write themselves into
routerd's config (request them before ``daemon``), and the local llama.cpp model. The npm CLIs and
a private HOME per test come from tests/conftest.py."""

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.e2e import llama
from tests.e2e.harness import CLAUDE_DEFAULT_MODEL, write_config
from tests.e2e.upstream import Turn, Upstream, open_upstream


@pytest.fixture
async def fake_anthropic(config_file: Path) -> AsyncIterator[Upstream]:
    """A fake Anthropic provider, configured in routerd as ``fakeanth`` (request it before ``daemon``)."""
    async with open_upstream("anthropic") as fake:
        write_config(config_file, providers={"fakeanth": ("anthropic", fake.url)})
        yield fake


@pytest.fixture
async def fake_openai(config_file: Path) -> AsyncIterator[Upstream]:
    """A fake OpenAI chat provider ``fakeoai``; Claude Code's default model is aliased to it."""
    async with open_upstream("openai") as fake:
        write_config(config_file, providers={"fakeoai": ("openai", fake.url + "/v1")},
                     aliases={CLAUDE_DEFAULT_MODEL: "fakeoai/gpt-e2e"})
        yield fake


@pytest.fixture
async def fake_responses(config_file: Path) -> AsyncIterator[Upstream]:
    """A fake OpenAI Responses provider, configured in routerd as ``fakeresp``."""
    async with open_upstream("responses") as fake:
        write_config(config_file, providers={"fakeresp": ("responses", fake.url + "/v1")})
        yield fake


@pytest.fixture(scope="session")
def llama_upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A llama.cpp server with SmolLM2-135M on loopback, shared by the session; its /v1 base URL."""
    model = llama.ensure_installed()
    log_path = tmp_path_factory.mktemp("llama") / "server.log"
    with llama.open_llama_server(model, log_path) as base_url:
        yield base_url


@pytest.fixture
def local_model(config_file: Path, llama_upstream: str) -> str:
    """routerd configured with the llama server as provider ``local`` (``local = true``: its calls
    are free); the model name to ask for."""
    write_config(config_file, providers={"local": ("openai", llama_upstream)}, local=("local",))
    return "local/smollm2-135m"


@pytest.fixture
async def fake_openai_responses(config_file: Path) -> AsyncIterator[Upstream]:
    """A fake Responses provider named ``openai``, so that the brain's catalogue knows its models."""
    async with open_upstream("responses") as fake:
        write_config(config_file, providers={"openai": ("responses", fake.url + "/v1")})
        yield fake


@pytest.fixture
async def fake_anthropic_named(config_file: Path) -> AsyncIterator[Upstream]:
    """A fake provider named ``anthropic`` (a catalogue name, so that ``auto`` can land on it)."""
    async with open_upstream("anthropic") as fake:
        write_config(config_file, providers={"anthropic": ("anthropic", fake.url)})
        yield fake


@pytest.fixture
async def fake_anthropic_downshift(config_file: Path) -> AsyncIterator[Upstream]:
    """A fake provider named ``anthropic`` (a catalogue name) with ``gateway.downshift`` on."""
    async with open_upstream("anthropic") as fake:
        write_config(config_file, providers={"anthropic": ("anthropic", fake.url)}, downshift=True)
        yield fake


@pytest.fixture
async def failing_anthropic(config_file: Path) -> AsyncIterator[Upstream]:
    """An Anthropic provider ``primary`` that is always overloaded (529); request it before the
    provider it should fall back to, so that it comes first in the config."""
    async with open_upstream("anthropic", Turn(status=529)) as fake:
        write_config(config_file, providers={"primary": ("anthropic", fake.url)})
        yield fake


@pytest.fixture
async def failing_responses(config_file: Path) -> AsyncIterator[Upstream]:
    """A Responses provider ``primary`` that always answers 503; request it before the fallback."""
    async with open_upstream("responses", Turn(status=503)) as fake:
        write_config(config_file, providers={"primary": ("responses", fake.url + "/v1")})
        yield fake
