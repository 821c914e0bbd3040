"""The real Gemini CLI (``gemini -p``, npm ``@google/gemini-cli`` 0.61.0) with the hooks that
``routerctl install --host gemini-cli`` writes, straight to its own (fake) provider or through
routerd's gateway: its AfterAgent hook records the turn's model calls once each."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from routerd.app import App
from tests.e2e import clis
from tests.e2e.harness import http_url, install_gemini_hooks, recorded_calls, write_config
from tests.e2e.upstream import INPUT_TOKENS, OUTPUT_TOKENS, Turn, Upstream, open_upstream

pytestmark = pytest.mark.anyio
ANSWER = "Two files, via the fake Gemini."


@pytest.fixture
async def fake_gemini(config_file: Path) -> AsyncIterator[Upstream]:
    """A fake Gemini provider named ``gemini`` (the catalogue prices its models): a tool call, then
    the answer."""
    async with open_upstream("gemini", Turn(tool="list_directory", args={"dir_path": "."}), ANSWER) as fake:
        write_config(config_file, providers={"gemini": ("gemini", fake.url)})
        yield fake


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.parametrize("through", ["hooks", "gateway"])
async def test_gemini_calls_are_recorded_once_from_its_session_file_or_the_gateway(
        gemini_cli: Path, home: Path, fake_gemini: Upstream, daemon: App, through: str) -> None:
    """Gemini CLI with routerd's hooks, straight to its provider or through routerd: each of the
    turn's two model calls is one priced row, read by the AfterAgent hook from Gemini CLI's session
    file or recorded by the gateway, never both."""
    await install_gemini_hooks(daemon, home)
    base_url = fake_gemini.url if through == "hooks" else http_url(daemon)
    done = await clis.run_gemini(gemini_cli, base_url, "List the files here, then answer", home=home,
                                 model="gemini-2.5-flash",
                                 extra_env={"ROUTERD_SOCKET": str(daemon.socket_path)})
    assert done.returncode == 0 and done.stdout.strip() == ANSWER, done.describe()
    assert daemon.hooks.statistics().by_event.get("AfterAgent") == 1, daemon.hooks.statistics()
    rows = await recorded_calls(daemon)
    source = "hook:gemini-cli" if through == "hooks" else "gateway"
    # the BeforeModel hook switched this easy turn to gemini-2.5-flash-lite
    assert [(r["source"], r["provider"], r["model"], r["input_tokens"], r["output_tokens"]) for r in rows] == \
        [(source, "gemini", "gemini-2.5-flash-lite", INPUT_TOKENS, OUTPUT_TOKENS)] * 2, rows
    assert all(r["cost_usd"] > 0 for r in rows) and len({r["response_id"] for r in rows}) == 2, rows
    if through == "gateway":  # the gateway's rows carry the provider's answer ids
        assert [r["response_id"] for r in rows] == ["gemini_e2e_1", "gemini_e2e_2"], rows
