"""Fixtures for the ledger's end-to-end tests: a recording fake Anthropic provider named
``anthropic`` written into routerd's config (request it before ``daemon``)."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.e2e.harness import write_config
from tests.e2e.upstream import Upstream, open_upstream


@pytest.fixture
async def fake_anthropic(config_file: Path) -> AsyncIterator[Upstream]:
    """A fake Anthropic provider, configured in routerd as ``anthropic``."""
    async with open_upstream("anthropic") as fake:
        write_config(config_file, providers={"anthropic": ("anthropic", fake.url)})
        yield fake
