"""Gemini CLI (``gemini -p``, npm ``@google/gemini-cli`` 0.61.0) against routerd's Gemini endpoint,
and with the hooks that ``routerctl install --host gemini-cli`` writes.

What Gemini CLI 0.61.0 needs and sends, as first observed with the fake provider:

- Headless it refuses to start without an auth method picked in ``~/.gemini/settings.json``
  (``security.auth.selectedType = "gemini-api-key"``, with ``GEMINI_API_KEY`` set) and outside a
  trusted folder (``GEMINI_CLI_TRUST_WORKSPACE=true``). ``clis.GEMINI_SETTINGS`` also turns off usage
  statistics, telemetry and update checks: it then connects to its base URL only.
- One ``POST /v1beta/models/{model}:streamGenerateContent?alt=sse`` per model turn to
  ``GOOGLE_GEMINI_BASE_URL``, with ``x-goog-api-key``, a ``systemInstruction``, ``contents`` whose
  first user part is a ``<session_context>`` block, and its tools as ``functionDeclarations``.
- Command hooks from ``settings.json`` run by default (``hooksConfig.enabled`` is true); a
  ``BeforeModel`` hook's ``hookSpecificOutput.llm_request.model`` replaces the model of that call.
"""

from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest

from routerd.app import App
from tests.e2e import clis
from tests.e2e.harness import UPSTREAM_KEY, http_url, install_gemini_hooks, recorded_calls, recorded_decision
from tests.fakes.upstream import FakeUpstream

pytestmark = pytest.mark.anyio
ANSWER = "Hello from the fake Gemini 41c2."


@pytest.fixture
async def fake_gemini(config_file: Path) -> AsyncIterator[FakeUpstream]:
    """A fake Gemini provider ``fakegem`` serving ``gemini-*`` (request it before ``daemon``)."""
    async with anyio.create_task_group() as tg:
        fake = await tg.start(FakeUpstream(ANSWER).serve)
        config_file.write_text(config_file.read_text() + (
            f'\n[providers.fakegem]\nkind = "gemini"\nbase_url = "{fake.url}"\n'
            f'api_key = "{UPSTREAM_KEY}"\nmodels = ["gemini-*"]\n'))
        yield fake
        tg.cancel_scope.cancel()


async def test_gemini_cli_through_routerd(gemini_cli: Path, home: Path, fake_gemini: FakeUpstream,
                                          daemon: App) -> None:
    """Gemini in, Gemini out: the CLI streams the fake's answer through routerd, the provider gets
    routerd's key (never the client's), and the call is stored."""
    done = await clis.run_gemini(gemini_cli, http_url(daemon), "Say hello", home=home,
                                 model="gemini-2.5-flash")
    assert done.returncode == 0 and done.stdout.strip() == ANSWER, done.describe()
    [call] = [r for r in fake_gemini.received if ":streamGenerateContent" in r.path]
    assert call.path == "/v1beta/models/gemini-2.5-flash:streamGenerateContent" and "alt=sse" in call.query
    assert call.headers["x-goog-api-key"] == UPSTREAM_KEY and "Say hello" in call.body.decode()
    [row] = await recorded_calls(daemon)
    assert (row["provider"], row["model"], row["outcome"]) == ("fakegem", "gemini-2.5-flash", "ok")


async def test_gemini_cli_before_model_hook_switches_the_model(gemini_cli: Path, home: Path,
                                                               fake_gemini: FakeUpstream,
                                                               daemon: App) -> None:
    """With the hooks routerctl install wrote, a trivial prompt asked of gemini-2.5-pro goes out as
    the cheap model routerd's BeforeModel hook picked, with SessionStart's summary naming Gemini's
    models, and the hook's decision is stored."""
    await install_gemini_hooks(daemon, home)
    done = await clis.run_gemini(gemini_cli, http_url(daemon), "thanks!", home=home, model="gemini-2.5-pro",
                                 extra_env={"ROUTERD_SOCKET": str(daemon.socket_path)})
    assert done.returncode == 0 and done.stdout.strip() == ANSWER, done.describe()
    models = [r.path.split("/models/")[1].split(":")[0] for r in fake_gemini.received
              if ":streamGenerateContent" in r.path]
    assert models == ["gemini-2.5-flash-lite"], models
    # SessionStart's summary reached the model, in Gemini CLI's terms (it has no Agent tool)
    sent = fake_gemini.received[-1].body.decode()
    assert "Simple turns go to gemini-2.5-flash-lite" in sent and "Agent tool" not in sent, sent
    events = daemon.hooks.statistics().by_event
    assert events.get("BeforeModel") == 1 and events.get("BeforeAgent") == 1, events
    calls = await recorded_calls(daemon)
    decision = await recorded_decision(daemon, calls[-1]["decision_id"])
    assert decision["model"] == "gemini-2.5-flash-lite"
