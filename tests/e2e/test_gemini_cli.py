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
- A tool round trip is one conversation: the call after the tool ran repeats the system
  instruction and the first user turn (the ``<session_context>`` block and the prompt, two parts of
  one content) and adds the model's ``functionCall`` and a user ``functionResponse``. No session id
  is sent, so routerd keeps the conversation's model by that opening. Two ``gemini -p`` runs are two
  conversations (each opens with its own prompt).
- Command hooks from ``settings.json`` run by default (``hooksConfig.enabled`` is true); a
  ``BeforeModel`` hook's ``hookSpecificOutput.llm_request.model`` replaces the model of that call.
"""

from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest

from routerd.app import App
from tests.e2e import clis
from tests.e2e.harness import (UPSTREAM_KEY, http_url, install_gemini_hooks, recorded_calls, recorded_decision,
                               write_config)
from tests.e2e.upstream import Turn, Upstream, open_upstream
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


# The prompt reads as a moderate ask; the step after the tool ran, whose output is a passing test
# run, reads as simple alone (p(simple) 0.69 against 0.40 for the ask, as the classifier reads them
# without Gemini CLI's system prompt and tools).
TESTS_PROMPT = "Read test-output.txt and explain whether the race in our cache invalidation is fixed."
TESTS_OUTPUT = "1 passed in 0.01s"


@pytest.fixture
async def gemini_tool_round(config_file: Path) -> AsyncIterator[Upstream]:
    """A fake provider named ``gemini`` (a catalogue name, so that the brain knows its models) that
    calls ``read_file`` once, then answers, with ``gateway.downshift`` on (request it before ``daemon``)."""
    async with open_upstream("gemini", Turn(tool="read_file", args={"file_path": "test-output.txt"}),
                             Turn(text=ANSWER)) as fake:
        write_config(config_file, providers={"gemini": ("gemini", fake.url)}, downshift=True)
        yield fake


async def test_gemini_cli_tool_round_keeps_one_model(gemini_cli: Path, home: Path, gemini_tool_round: Upstream,
                                                     daemon: App) -> None:
    """Gemini CLI sends no session id: its call after a tool ran keeps the model its ask got (the
    step alone reads simple and would go to flash-lite), by the conversation's opening; both are
    stored without a session."""
    (home / "work").mkdir(parents=True, exist_ok=True)
    (home / "work" / "test-output.txt").write_text(TESTS_OUTPUT + "\n")
    done = await clis.run_gemini(gemini_cli, http_url(daemon), TESTS_PROMPT, home=home, model="gemini-2.5-pro")
    assert done.returncode == 0 and done.stdout.strip() == ANSWER, done.describe()
    sent = [r for r in gemini_tool_round.received if ":streamGenerateContent" in r.path]
    assert len(sent) == 2 and TESTS_OUTPUT in sent[1].body.decode(), [r.path for r in sent]
    models = [r.path.split("/models/")[1].split(":")[0] for r in sent]
    assert models == ["gemini-2.5-pro", "gemini-2.5-pro"], models
    calls = await recorded_calls(daemon)
    assert [c["session_id"] for c in calls] == [None, None], calls
    step = await recorded_decision(daemon, calls[-1]["decision_id"])
    assert step["session_id"] is None and "no session id: conversation" in step["detail"], step
