"""Fixtures for the ledger's end-to-end tests: a recording fake Anthropic provider named
``anthropic`` written into routerd's config (request it before ``daemon``)."""

from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest

from tests.e2e.harness import write_config
from tests.e2e.upstream import Upstream, open_upstream
from tests.fakes.upstream import FakeUpstream


@pytest.fixture
async def fake_anthropic(config_file: Path) -> AsyncIterator[Upstream]:
    """A fake Anthropic provider, configured in routerd as ``anthropic``."""
    async with open_upstream("anthropic") as fake:
        write_config(config_file, providers={"anthropic": ("anthropic", fake.url)})
        yield fake


@pytest.fixture
async def upstream(anyio_backend: str) -> AsyncIterator[FakeUpstream]:
    """One fake provider of every dialect (a test writes it into its config)."""
    async with anyio.create_task_group() as tg:
        yield await tg.start(FakeUpstream().serve)
        tg.cancel_scope.cancel()


@pytest.fixture
async def fakes(anyio_backend: str) -> AsyncIterator[dict[str, FakeUpstream]]:
    """Two fake OpenAI providers, ``paid`` and ``box``, each answering with its own name."""
    async with anyio.create_task_group() as tg:
        found = {name: await tg.start(FakeUpstream(f"Hello from {name}.").serve) for name in ("paid", "box")}
        yield found
        tg.cancel_scope.cancel()
