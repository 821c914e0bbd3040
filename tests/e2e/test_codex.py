"""The Codex CLI (``codex exec``, npm ``@openai/codex`` 0.169.0, whose native binary ships inside
the npm package ``@openai/codex-linux-x64``) with a ``[model_providers.routerd]`` entry
(``wire_api = "responses"``) pointed at routerd.

What Codex 0.169.0 sends, as first observed with the recording upstream (``upstream.py``):

- No probe and no ``/v1/models`` call: one ``POST /v1/responses`` per model turn, always
  ``"stream": true`` with ``accept: text/event-stream``, ``authorization: Bearer <env_key value>``,
  ``originator: codex_exec``, ``session-id``/``thread-id``/``x-client-request-id`` (the session's
  uuid), ``x-codex-window-id``, ``x-codex-turn-metadata`` (JSON) and
  ``x-codex-beta-features: remote_compaction_v2``.
- The body: ``model`` (from config, verbatim), ``instructions`` null, ``input`` as message items
  whose roles are ``developer`` (Codex's own instructions, permissions) and ``user`` (environment
  context, then the prompt), ``tools`` with ``function`` tools (``exec_command``, ``write_stdin``,
  ...) but also a ``namespace`` tool and a ``web_search`` tool, which a translator to another
  dialect must drop or map; ``tool_choice: auto``, ``parallel_tool_calls: true``,
  ``reasoning: {"summary": "auto"}``, ``store: false``, ``include:
  ["reasoning.encrypted_content"]``, ``prompt_cache_key`` and ``client_metadata``.
- With ``store: false`` nothing is referenced by id: after a tool call the next request repeats the
  whole history, including the ``function_call`` item and a ``function_call_output`` item with the
  same ``call_id``.
- Beyond the provider, Codex looks up api.github.com, chatgpt.com and ab.chatgpt.com (update check,
  plugins/apps, analytics) unless ``clis.CODEX_OFFLINE``'s settings turn those off; Claude Code with
  ``CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1`` connects to nothing but its base URL (checked
  with ``strace -e connect,sendto``).
- For a model it knows (its default ``gpt-6.1-sol``) the body differs: no top-level ``tools``; the
  first input item is ``{"type": "additional_tools", "role": "developer", "tools": [...]}`` with
  its tools in namespaces (``functions``: a freeform ``exec``, ``wait``, ...; ``collaboration``),
  and ``reasoning`` carries ``"context": "all_turns"``.
- The final message's text is printed on stdout; the transcript goes to stderr. A model name it does
  not know only gives a warning ("Model metadata ... not found").
"""

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from routerd.app import App
from tests.e2e import clis
from tests.e2e.harness import (UPSTREAM_KEY, check_recorded, http_url, recorded_calls,
                               recorded_decision, write_config)
from tests.e2e.upstream import Turn, Upstream, open_upstream

pytestmark = pytest.mark.anyio

ANSWER = "PONG from the fake upstream c0d3"
CODEX_EXTRA_FIELDS = {"client_metadata", "prompt_cache_key", "include", "store", "reasoning"}


def _check(done: clis.Finished, answer: str) -> None:
    assert done.returncode == 0, done.describe()
    assert done.stdout.strip() == answer, done.describe()


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_codex_request_shape(codex_cli: Path, home: Path) -> None:
    """Codex 0.169.0 sends what this module's docstring says (the contract routerd serves)."""
    async with open_upstream("responses", ANSWER) as fake:
        done = await clis.run_codex(codex_cli, fake.url, "Say pong", home=home, model="gpt-e2e")
    _check(done, ANSWER)
    assert [r.target for r in fake.received] == ["/v1/responses"]
    [call] = fake.received
    assert call.headers["authorization"] == "Bearer dummy"
    body = call.json()
    assert body["model"] == "gpt-e2e" and body["stream"] is True
    assert CODEX_EXTRA_FIELDS <= body.keys()
    assert {t["type"] for t in body["tools"]} >= {"function", "namespace", "web_search"}
    assert [i["role"] for i in body["input"]][-1] == "user"


async def test_codex_through_routerd_passthrough(codex_cli: Path, home: Path,
                                                 fake_responses: Upstream, daemon: App) -> None:
    """Responses in, Responses out: the body's extra fields survive and the call is stored."""
    fake_responses.script[:] = [Turn(text=ANSWER)]
    done = await clis.run_codex(codex_cli, http_url(daemon), "Say pong", home=home, model="gpt-e2e")
    _check(done, ANSWER)
    [call] = fake_responses.calls("/v1/responses")
    assert call.headers["authorization"] == f"Bearer {UPSTREAM_KEY}"
    body = call.json()
    assert body["model"] == "gpt-e2e" and body["stream"] is True
    assert CODEX_EXTRA_FIELDS <= body.keys()
    assert {t["type"] for t in body["tools"]} >= {"function", "namespace", "web_search"}
    check_recorded(await recorded_calls(daemon), "fakeresp", "gpt-e2e")


async def test_codex_through_routerd_translated(codex_cli: Path, home: Path,
                                                fake_anthropic: Upstream, daemon: App) -> None:
    """Responses in, Anthropic Messages out: Codex prints the fake's streamed text."""
    fake_anthropic.script[:] = [Turn(text=ANSWER)]
    done = await clis.run_codex(codex_cli, http_url(daemon), "Say pong", home=home,
                                model="fakeanth/claude-e2e")
    _check(done, ANSWER)
    [call] = fake_anthropic.calls("/v1/messages")
    assert call.headers["x-api-key"] == UPSTREAM_KEY
    body = call.json()
    assert body["model"] == "claude-e2e" and body["stream"] is True
    assert "Codex CLI" in str(body["system"])
    assert any("Say pong" in str(m["content"]) for m in body["messages"] if m["role"] == "user")
    assert "exec_command" in {t["name"] for t in body["tools"]}
    check_recorded(await recorded_calls(daemon), "fakeanth", "claude-e2e")


async def test_codex_tool_round_trip_translated(codex_cli: Path, home: Path,
                                                fake_anthropic: Upstream, daemon: App) -> None:
    """A tool_use from an Anthropic upstream runs in Codex; its output returns as a tool_result."""
    (home / "work").mkdir()
    (home / "work" / "note.txt").write_text("the note says 5150\n")
    fake_anthropic.script[:] = [Turn(tool="exec_command", args={"cmd": "cat note.txt"}),
                                Turn(text="The note says 5150.")]
    done = await clis.run_codex(codex_cli, http_url(daemon), "What does note.txt say?", home=home,
                                model="fakeanth/claude-e2e")
    _check(done, "The note says 5150.")
    first, second = fake_anthropic.calls("/v1/messages")
    blocks = [b for m in second.json()["messages"] if isinstance(m["content"], list)
              for b in m["content"] if b.get("type") == "tool_result"]
    assert [b["tool_use_id"] for b in blocks] == [fake_anthropic.script[0].call_id]
    assert "5150" in str(blocks[0]["content"])
    assert len(await recorded_calls(daemon)) == 2


async def test_codex_namespace_tools_survive_translation(codex_cli: Path, home: Path,
                                                         fake_anthropic: Upstream, daemon: App) -> None:
    """Codex's namespaced tools (its sub-agent tools) reach an Anthropic upstream flat, and a call
    to one comes back to Codex with its namespace, so Codex runs it instead of answering
    "unsupported call"; the session id Codex sends is stored with the decision."""
    fake_anthropic.script[:] = [Turn(tool="ns__multi_agent_v1__close_agent", args={"target": "nobody"}),
                                Turn(text=ANSWER)]
    done = await clis.run_codex(codex_cli, http_url(daemon), "Close the agent nobody", home=home,
                                model="fakeanth/claude-e2e")
    _check(done, ANSWER)
    first, second = fake_anthropic.calls("/v1/messages")
    assert {"ns__multi_agent_v1__spawn_agent", "ns__multi_agent_v1__close_agent"} <= \
        {t["name"] for t in first.json()["tools"]}
    results = [b for m in second.json()["messages"] if isinstance(m["content"], list)
               for b in m["content"] if b.get("type") == "tool_result"]
    assert "unsupported call" not in str(results) and "invalid agent id nobody" in str(results)
    calls = await recorded_calls(daemon)
    decision = await recorded_decision(daemon, calls[0]["decision_id"])
    assert decision["session_id"] and len(decision["session_id"]) >= 32


async def test_codex_calls_carry_its_session_like_its_decisions(codex_cli: Path, home: Path,
                                                               fake_responses: Upstream, daemon: App) -> None:
    """Each call of a Codex session is stored under the session id its decisions have (Codex's
    ``session-id`` header), so that ``report --by session`` and session budgets see Codex's turns."""
    fake_responses.script[:] = [Turn(tool="exec_command", args={"cmd": "true"}), Turn(text=ANSWER)]
    done = await clis.run_codex(codex_cli, http_url(daemon), "Run true, then say pong", home=home,
                                model="fakeresp/gpt-e2e")
    _check(done, ANSWER)
    calls = await recorded_calls(daemon)
    assert len(calls) == 2, calls
    sessions = {(await recorded_decision(daemon, row["decision_id"]))["session_id"] for row in calls}
    [session] = sessions
    assert session and [row["session_id"] for row in calls] == [session, session], calls



# A model Codex 0.169.0 knows (its default). For it Codex sends its tools in an
# ``additional_tools`` input item (namespaced, ``exec`` freeform) and no top-level ``tools``.
CODEX_KNOWN_MODEL = "gpt-6.1-sol"


@pytest.fixture
def known_model_to_anthropic(config_file: Path, fake_anthropic: Upstream) -> Upstream:
    """``fake_anthropic``, with Codex's own default model name an alias of it (request before ``daemon``)."""
    write_config(config_file, providers={}, aliases={CODEX_KNOWN_MODEL: "fakeanth/claude-e2e"})
    return fake_anthropic


async def test_codex_on_a_model_it_knows_translated(codex_cli: Path, home: Path,
                                                    known_model_to_anthropic: Upstream, daemon: App) -> None:
    """Codex on its own default model offers its tools in an ``additional_tools`` item: they reach an
    Anthropic upstream as tools, and the turn is answered (it was refused as an unknown item)."""
    fake = known_model_to_anthropic
    fake.script[:] = [Turn(text=ANSWER)]
    done = await clis.run_codex(codex_cli, http_url(daemon), "Say pong", home=home, model=CODEX_KNOWN_MODEL)
    _check(done, ANSWER)
    [call] = fake.calls("/v1/messages")
    body = call.json()
    assert body["model"] == "claude-e2e"
    assert "ns__functions__exec" in {t["name"] for t in body["tools"]}
    assert any("Say pong" in str(m["content"]) for m in body["messages"] if m["role"] == "user")


@pytest.fixture
async def openai_responses_downshift(config_file: Path) -> AsyncIterator[Upstream]:
    """A fake Responses provider named ``openai`` (the catalogue's) with ``gateway.downshift`` on."""
    async with open_upstream("responses") as fake:
        write_config(config_file, providers={"openai": ("responses", fake.url + "/v1")}, downshift=True)
        yield fake


async def test_codex_on_a_model_it_knows_is_read_by_the_brain(codex_cli: Path, home: Path,
                                                              openai_responses_downshift: Upstream,
                                                              daemon: App) -> None:
    """With ``gateway.downshift``, Codex's default model is the brain's to move: it reads the
    prompt from Codex's items (a conversation it could not parse read as empty: ``kind:empty``)."""
    fake = openai_responses_downshift
    fake.script[:] = [Turn(text=ANSWER)]
    done = await clis.run_codex(codex_cli, http_url(daemon), "Say pong", home=home, model=CODEX_KNOWN_MODEL)
    _check(done, ANSWER)
    [call] = fake.calls("/v1/responses")
    assert call.json()["input"][0]["type"] == "additional_tools"
    [row] = await recorded_calls(daemon)
    decision = await recorded_decision(daemon, row["decision_id"])
    assert decision["model"] == call.json()["model"] and decision["prompt_len"] > 0
    assert "kind:ask" in decision["detail"] and "kind:empty" not in decision["detail"]


async def test_codex_through_routerd_translated_to_chat(codex_cli: Path, home: Path,
                                                        fake_openai: Upstream, daemon: App) -> None:
    """Responses in, OpenAI chat out: only function tools go upstream, and Codex prints the answer."""
    fake_openai.script[:] = [Turn(text=ANSWER)]
    done = await clis.run_codex(codex_cli, http_url(daemon), "Say pong", home=home,
                                model="fakeoai/gpt-e2e")
    _check(done, ANSWER)
    [call] = fake_openai.calls("/v1/chat/completions")
    body = call.json()
    assert body["model"] == "gpt-e2e" and body["stream"] is True
    assert {m["role"] for m in body["messages"]} <= {"system", "developer", "user"}
    assert {t["type"] for t in body["tools"]} == {"function"}
    assert "exec_command" in {t["function"]["name"] for t in body["tools"]}
    check_recorded(await recorded_calls(daemon), "fakeoai", "gpt-e2e")


async def test_codex_auto_model_is_routed(codex_cli: Path, home: Path,
                                          fake_openai_responses: Upstream, daemon: App) -> None:
    """``model = "auto"``: routerd's brain picks a real model, sends it upstream and stores why."""
    fake_openai_responses.script[:] = [Turn(text=ANSWER)]
    done = await clis.run_codex(codex_cli, http_url(daemon), "Say pong", home=home, model="auto")
    _check(done, ANSWER)
    [call] = fake_openai_responses.calls("/v1/responses")
    chosen = call.json()["model"]
    assert chosen and chosen != "auto"
    [row] = await recorded_calls(daemon)
    assert (row["provider"], row["model"], row["outcome"]) == ("openai", chosen, "ok")
    decision = await recorded_decision(daemon, row["decision_id"])
    assert decision["model"] == chosen and decision["tier"]


async def test_codex_falls_back_across_dialects(codex_cli: Path, home: Path,
                                                failing_responses: Upstream, fake_anthropic: Upstream,
                                                daemon: App) -> None:
    """The Responses provider answers 503; routerd falls back to an Anthropic one, translating."""
    fake_anthropic.script[:] = [Turn(text=ANSWER)]
    done = await clis.run_codex(codex_cli, http_url(daemon), "Say pong", home=home, model="gpt-e2e")
    _check(done, ANSWER)
    assert failing_responses.calls("/v1/responses")
    [call] = fake_anthropic.calls("/v1/messages")
    assert call.json()["model"] == "gpt-e2e"
    calls = await recorded_calls(daemon)
    assert (calls[-1]["provider"], calls[-1]["outcome"]) == ("fakeanth", "ok")
    assert {(c["provider"], c["status"]) for c in calls[:-1]} == {("primary", 503)}
    assert len({c["decision_id"] for c in calls}) == 1


async def test_codex_tool_round_trip_translated_to_chat(codex_cli: Path, home: Path,
                                                        fake_openai: Upstream, daemon: App) -> None:
    """A chat tool call runs in Codex; its output returns as a ``tool`` message with the same id."""
    (home / "work").mkdir()
    (home / "work" / "note.txt").write_text("the note says 5150\n")
    fake_openai.script[:] = [Turn(tool="exec_command", args={"cmd": "cat note.txt"}),
                             Turn(text="The note says 5150.")]
    done = await clis.run_codex(codex_cli, http_url(daemon), "What does note.txt say?", home=home,
                                model="fakeoai/gpt-e2e")
    _check(done, "The note says 5150.")
    first, second = fake_openai.calls("/v1/chat/completions")
    messages = second.json()["messages"]
    [asked] = [m for m in messages if m.get("tool_calls")]
    assert [c["id"] for c in asked["tool_calls"]] == [fake_openai.script[0].call_id]
    results = [m for m in messages if m["role"] == "tool"]
    assert [m["tool_call_id"] for m in results] == [fake_openai.script[0].call_id]
    assert "5150" in str(results[0]["content"])
    assert len(await recorded_calls(daemon)) == 2


async def test_codex_reaches_routerds_mcp_server_with_its_bare_environment(codex_cli: Path, home: Path,
                                                                            daemon: App) -> None:
    """Codex starts MCP servers with only HOME, LANG, PATH, SHELL and TERM; the server entry that
    routerctl install wrote carries the socket path, so the relay finds the daemon and Codex offers
    routerd's tools to the model."""
    import os
    import sys

    import anyio

    codex_home = home / ".codex"
    codex_home.mkdir()
    async with open_upstream("responses", ANSWER) as fake:
        (codex_home / "config.toml").write_text(
            'model = "gpt-e2e"\nmodel_provider = "fake"\n' + clis.CODEX_OFFLINE +
            f'\n[model_providers.fake]\nname = "fake"\nbase_url = "{fake.url}/v1"\nwire_api = "responses"\n'
            'env_key = "ROUTERD_E2E_KEY"\nrequest_max_retries = 0\nstream_max_retries = 0\n')
        env = {**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
               "ROUTERD_SOCKET": str(daemon.socket_path), "ROUTERD_CONFIG": str(daemon.runtime.config_path)}
        await anyio.run_process([sys.executable, "-m", "routerctl.main", "install", "--host", "codex"], env=env)
        (home / "work").mkdir()
        run_env = clis.base_env(home) | {"CODEX_HOME": str(codex_home), "ROUTERD_E2E_KEY": "dummy"}
        done = await clis.run_cli([codex_cli, "exec", "--skip-git-repo-check", "Say pong"], run_env, home / "work")
    _check(done, ANSWER)
    tools = json.dumps(fake.calls("/v1/responses")[0].json()["tools"])
    assert "Recommend the cheapest model" in tools and "routerd" in tools, tools[:2000]


GATEWAY_KEY = "e2e-gateway-key-0f3c"


@pytest.fixture
def gateway_key(config_file: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """routerd asks for a gateway key (``http.gateway_key_env``, set in its environment), as it
    may on loopback and must beyond it (request it before ``daemon``)."""
    monkeypatch.setenv("ROUTERD_E2E_GATEWAY_KEY", GATEWAY_KEY)
    config_file.write_text(config_file.read_text().replace(
        "[http]\n", '[http]\ngateway_key_env = "ROUTERD_E2E_GATEWAY_KEY"\n', 1))
    return GATEWAY_KEY


async def test_codex_sends_the_gateway_key_routerctl_install_named(codex_cli: Path, home: Path, gateway_key: str,
                                                                   fake_responses: Upstream, daemon: App) -> None:
    """With a gateway key configured, the provider routerctl install wrote sends it from its
    variable (env_key), so Codex's turn is answered rather than refused with a 401."""
    import os
    import sys

    import anyio

    fake_responses.script[:] = [Turn(text=ANSWER)]
    env = {**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
           "ROUTERD_SOCKET": str(daemon.socket_path), "ROUTERD_CONFIG": str(daemon.runtime.config_path)}
    installed = await anyio.run_process([sys.executable, "-m", "routerctl.main", "install", "--host", "codex",
                                         "--http-url", http_url(daemon)], env=env)
    assert b"export it where you run codex" in installed.stdout
    codex_home = home / ".codex"
    config = codex_home / "config.toml"
    config.write_text('model = "gpt-e2e"\nmodel_provider = "routerd"\n' + clis.CODEX_OFFLINE + config.read_text())
    (home / "work").mkdir()
    run_env = clis.base_env(home) | {"CODEX_HOME": str(codex_home), "ROUTERD_E2E_GATEWAY_KEY": gateway_key}
    done = await clis.run_cli([codex_cli, "exec", "--skip-git-repo-check", "Say pong"], run_env, home / "work")
    _check(done, ANSWER)
    check_recorded(await recorded_calls(daemon), "fakeresp", "gpt-e2e")
    assert gateway_key not in config.read_text()
