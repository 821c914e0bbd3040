"""Claude Code (``claude -p``, npm ``@anthropic-ai/claude-code`` 2.1.197) pointed at routerd.

What Claude Code 2.1.197 sends, as first observed with the recording upstream (``upstream.py``),
with ``ANTHROPIC_BASE_URL``, ``ANTHROPIC_API_KEY=dummy`` and
``CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1`` in an empty HOME:

- ``HEAD /`` first (a reachability probe; any status will do, the answer is ignored).
- Then exactly one ``POST /v1/messages?beta=true`` per model turn, always ``"stream": true``, with
  headers ``anthropic-version: 2023-06-01``, ``x-api-key: dummy``, ``x-app: cli``,
  ``X-Claude-Code-Session-Id: <uuid>``, ``anthropic-dangerous-direct-browser-access: true``,
  ``X-Stainless-*`` (the TS SDK 0.94), ``User-Agent: claude-cli/2.1.197 (external, sdk-cli)`` and
  ``anthropic-beta: claude-code-20250219,context-1m-2025-08-07,interleaved-thinking-2025-05-14,
  thinking-token-count-2026-05-13,context-management-2025-06-27,prompt-caching-scope-2026-01-05,
  mid-conversation-system-2026-04-07,effort-2025-11-24`` (``context-1m`` only for the default model).
- The body: ``model`` (default ``claude-opus-4-8``; ``--model X`` is sent verbatim, so
  ``--model provider/model`` reaches routerd unchanged), ``max_tokens: 64000``, ``system`` as a list
  of text blocks (the first is an ``x-anthropic-billing-header`` line, others carry
  ``cache_control``), ~24 ``tools`` with JSON schemas, ``metadata.user_id`` (a JSON string), and
  fields beyond the public Messages API: ``thinking: {"type": "adaptive"}``,
  ``context_management: {"edits": [...]}``, ``output_config: {"effort": "high"}``.
- ``messages`` holds, after the user turn, a ``{"role": "system", "content": "..."}`` entry (the
  ``mid-conversation-system`` beta): the conversation may even end with it. A translator must cope.
- No ``count_tokens`` call and no haiku title request in ``-p`` mode, even without
  ``CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC``; it prints the text of the last turn and exits 0.
- A ``tool_use`` answer for ``Read`` (allowed without a prompt inside the working directory) is run
  and sent back as a ``tool_result`` block in the next request's last user message.
"""

import json
from pathlib import Path

import anyio
import pytest

from routerd.app import App
from tests.e2e import clis
from tests.e2e.harness import (CLAUDE_DEFAULT_MODEL, UPSTREAM_KEY,
                               check_recorded, http_url, recorded_calls, recorded_decision,
                               status_of)
from tests.e2e.upstream import INPUT_TOKENS, OUTPUT_TOKENS, Turn, Upstream, open_upstream

pytestmark = pytest.mark.anyio

ANSWER = "PONG from the fake upstream 7f3a"
# Exactly what 2.1.197 sends for its default model (see the docstring).
CLAUDE_BETAS = {"claude-code-20250219", "context-1m-2025-08-07", "interleaved-thinking-2025-05-14",
                "thinking-token-count-2026-05-13", "context-management-2025-06-27",
                "prompt-caching-scope-2026-01-05", "mid-conversation-system-2026-04-07",
                "effort-2025-11-24"}
CLAUDE_EXTRA_FIELDS = {"thinking", "context_management", "output_config", "metadata"}


def _check(done: clis.Finished, answer: str) -> None:
    assert done.returncode == 0, done.describe()
    assert done.stdout.strip() == answer, done.describe()


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_claude_code_request_shape(claude_cli: Path, home: Path) -> None:
    """Claude Code 2.1.197 sends what this module's docstring says (the contract routerd serves)."""
    async with open_upstream("anthropic", ANSWER) as fake:
        done = await clis.run_claude(claude_cli, fake.url, "Say pong", home=home)
    _check(done, ANSWER)
    # No count_tokens call, no title request: a reachability probe at most, and one turn.
    assert {(r.method, r.path) for r in fake.received} <= {("HEAD", "/"), ("POST", "/v1/messages")}
    [call] = fake.calls("/v1/messages")
    assert call.query == "beta=true"
    assert set(call.headers["anthropic-beta"].split(",")) == CLAUDE_BETAS
    assert call.headers["x-api-key"] == "dummy" and "x-claude-code-session-id" in call.headers
    body = call.json()
    assert body["model"] == CLAUDE_DEFAULT_MODEL
    assert body["stream"] is True and CLAUDE_EXTRA_FIELDS <= body.keys()
    assert any(m["role"] == "system" for m in body["messages"])


async def test_claude_code_through_routerd_passthrough(claude_cli: Path, home: Path,
                                                       fake_anthropic: Upstream, daemon: App) -> None:
    """Anthropic in, Anthropic out: betas, unknown fields and the stream survive; the call is stored."""
    fake_anthropic.script[:] = [Turn(text=ANSWER)]
    done = await clis.run_claude(claude_cli, http_url(daemon), "Say pong", home=home)
    _check(done, ANSWER)
    [call] = fake_anthropic.calls("/v1/messages")
    assert call.query == "beta=true"
    assert set(call.headers["anthropic-beta"].split(",")) == CLAUDE_BETAS
    assert call.headers["anthropic-version"] == "2023-06-01"
    assert call.headers["x-api-key"] == UPSTREAM_KEY
    body = call.json()
    session = json.loads(body["metadata"]["user_id"])["session_id"]
    assert call.headers["x-claude-code-session-id"] == session
    assert body["model"] == CLAUDE_DEFAULT_MODEL and body["stream"] is True
    assert CLAUDE_EXTRA_FIELDS <= body.keys()
    assert any(m["role"] == "system" for m in body["messages"])
    check_recorded(await recorded_calls(daemon), "fakeanth", CLAUDE_DEFAULT_MODEL)
    status = await status_of(daemon)
    gateway = status["parts"]["gateway"]
    assert gateway["streams"] >= 1 and gateway["providers"]["fakeanth"]["requests"] == 1
    assert UPSTREAM_KEY not in json.dumps(status)


async def test_claude_code_stream_is_not_buffered(claude_cli: Path, home: Path,
                                                  fake_anthropic: Upstream, daemon: App) -> None:
    """Claude Code shows the first words while the upstream still holds back the rest of its
    stream, so nothing between them (routerd) waits for the whole answer."""
    released = anyio.Event()
    fake_anthropic.script[:] = [Turn(text="FIRSTWORDS and then the rest")]
    fake_anthropic.hold = (b"FIRSTWORDS", released)

    def on_line(line: str) -> None:
        if "text_delta" in line and "FIRSTWORDS" in line:
            released.set()

    done = await clis.run_claude_streaming(claude_cli, http_url(daemon), "Say pong", home=home,
                                           on_line=on_line)
    assert done.returncode == 0 and released.is_set(), done.describe()
    result = json.loads(done.stdout.splitlines()[-1])
    assert result["type"] == "result" and result["result"] == "FIRSTWORDS and then the rest"


async def test_claude_code_downshifted(claude_cli: Path, home: Path,
                                      fake_anthropic_downshift: Upstream, daemon: App) -> None:
    """With ``gateway.downshift``, a trivial prompt for Claude Code's premium default goes to a
    cheaper model that routerd's brain picked, and the decision is stored with the call."""
    fake_anthropic_downshift.script[:] = [Turn(text=ANSWER)]
    done = await clis.run_claude(claude_cli, http_url(daemon), "Say pong", home=home)
    _check(done, ANSWER)
    [call] = fake_anthropic_downshift.calls("/v1/messages")
    chosen = call.json()["model"]
    assert chosen.startswith("claude-") and chosen != CLAUDE_DEFAULT_MODEL
    [row] = await recorded_calls(daemon)
    assert (row["provider"], row["model"], row["outcome"]) == ("anthropic", chosen, "ok")
    decision = await recorded_decision(daemon, row["decision_id"])
    assert decision["model"] == chosen and decision["tier"]
    # Opus-only settings did not travel to the cheaper model (the fake refuses them as the API
    # does); what that model takes did.
    body, betas = call.json(), call.headers["anthropic-beta"]
    assert "output_config" not in body and (body.get("thinking") or {}).get("type") != "adaptive"
    assert "context-1m" not in betas and "claude-code-20250219" in betas and "context_management" in body


async def test_a_moved_request_is_adapted_to_the_model_it_lands_on(fake_anthropic_downshift: Upstream,
                                                                   daemon: App) -> None:
    """The anthropic SDK asks Opus for more output tokens than Haiku can give, with effort, adaptive
    thinking and the 1M-context beta; downshifted to Haiku, each is adapted so the API accepts it
    (adaptive thinking as the budget Haiku 4.5 takes: effort high's, 24,576)."""
    import anthropic

    fake_anthropic_downshift.script[:] = [Turn(text=ANSWER)]
    async with anthropic.AsyncAnthropic(base_url=http_url(daemon), api_key="x", max_retries=0,
                                        timeout=60) as client:  # a set timeout: no streaming demanded
        reply = await client.messages.create(
            model=CLAUDE_DEFAULT_MODEL, max_tokens=100_000, messages=[{"role": "user", "content": "thanks!"}],
            extra_body={"output_config": {"effort": "high"}, "thinking": {"type": "adaptive"}},
            extra_headers={"anthropic-beta": "context-1m-2025-08-07,interleaved-thinking-2025-05-14"})
    assert reply.content[0].text == ANSWER
    [call] = fake_anthropic_downshift.calls("/v1/messages")
    body = call.json()
    assert body["model"] == "claude-haiku-4-5" and body["max_tokens"] == 64_000
    assert "output_config" not in body and body["thinking"] == {"type": "enabled", "budget_tokens": 24_576}
    assert call.headers["anthropic-beta"] == "interleaved-thinking-2025-05-14"


async def test_claude_code_survives_an_overloaded_provider(
        claude_cli: Path, home: Path, failing_anthropic: Upstream, fake_anthropic: Upstream,
        daemon: App) -> None:
    """The first provider answers 529 overloaded; routerd falls back and Claude Code never sees it."""
    fake_anthropic.script[:] = [Turn(text=ANSWER)]
    done = await clis.run_claude(claude_cli, http_url(daemon), "Say pong", home=home)
    _check(done, ANSWER)
    assert failing_anthropic.calls("/v1/messages") and len(fake_anthropic.calls("/v1/messages")) == 1
    calls = await recorded_calls(daemon)
    assert [c["provider"] for c in calls][-1] == "fakeanth" and calls[-1]["outcome"] == "ok"
    failed = calls[:-1]
    assert failed and {(c["provider"], c["status"]) for c in failed} == {("primary", 529)}
    assert len({c["decision_id"] for c in calls}) == 1


async def test_claude_code_through_routerd_translated(claude_cli: Path, home: Path,
                                                      fake_openai: Upstream, daemon: App) -> None:
    """Anthropic in, OpenAI chat out: the fake's streamed text is what Claude Code prints."""
    fake_openai.script[:] = [Turn(text=ANSWER)]
    done = await clis.run_claude(claude_cli, http_url(daemon), "Say pong", home=home)
    _check(done, ANSWER)
    [call] = fake_openai.calls("/v1/chat/completions")
    assert call.headers["authorization"] == f"Bearer {UPSTREAM_KEY}"
    body = call.json()
    assert body["model"] == "gpt-e2e" and body["stream"] is True
    assert body["messages"][0]["role"] == "system"
    assert any("Say pong" in str(m["content"]) for m in body["messages"] if m["role"] == "user")
    assert {t["function"]["name"] for t in body["tools"]} >= {"Bash", "Read"}
    check_recorded(await recorded_calls(daemon), "fakeoai", "gpt-e2e")


async def test_claude_code_tool_round_trip_translated(claude_cli: Path, home: Path,
                                                      fake_openai: Upstream, daemon: App) -> None:
    """A tool call from an OpenAI upstream reaches Claude Code; its result returns as a tool message."""
    note = home / "work" / "note.txt"
    note.parent.mkdir(parents=True)
    note.write_text("the note says 5150\n")
    fake_openai.script[:] = [Turn(tool="Read", args={"file_path": str(note)}),
                             Turn(text="The note says 5150.")]
    done = await clis.run_claude(claude_cli, http_url(daemon), "What does note.txt say?", home=home)
    _check(done, "The note says 5150.")
    first, second = fake_openai.calls("/v1/chat/completions")
    results = [m for m in second.json()["messages"] if m["role"] == "tool"]
    assert [m["tool_call_id"] for m in results] == [fake_openai.script[0].call_id]
    assert "5150" in str(results[0]["content"])
    assert len(await recorded_calls(daemon)) == 2



@pytest.mark.parametrize("model", ["auto", "claude-sonnet-4-6"])
async def test_claude_code_sends_one_request_per_turn(claude_cli: Path, home: Path, model: str,
                                                      fake_anthropic_named: Upstream, daemon: App) -> None:
    """``--model auto`` and a named model alike: one upstream request per model turn, one stored
    call each. A second request follows only a tool call, and carries its result: answered with a
    tool call whose input Claude Code refuses (the gateway fake's ``{"city": "Paris"}`` for its first
    tool, Agent), Claude Code sends the refusal back as an ``is_error`` tool_result (what looked like
    a repeated request: docs/claude_code.md)."""
    fake_anthropic_named.script[:] = [Turn(text=ANSWER)]
    done = await clis.run_claude(claude_cli, http_url(daemon), "Say pong", home=home, args=("--model", model))
    _check(done, ANSWER)
    [call] = fake_anthropic_named.calls("/v1/messages")
    [row] = await recorded_calls(daemon)
    assert (row["provider"], row["model"], row["outcome"]) == ("anthropic", call.json()["model"], "ok")

    fake_anthropic_named.received.clear()
    fake_anthropic_named.answered = 0
    fake_anthropic_named.script[:] = [Turn(tool="Agent", args={"city": "Paris"}), Turn(text=ANSWER)]
    done = await clis.run_claude(claude_cli, http_url(daemon), "Say pong", home=home, args=("--model", model))
    _check(done, ANSWER)
    first, second = (r.json() for r in fake_anthropic_named.calls("/v1/messages"))
    told, answered = second["messages"][len(first["messages"]):]
    # A thinking budget (Claude Code's adaptive thinking, moved by auto to Haiku 4.5, which takes
    # budgets only) is off in the tool loop's second step: the fake's tool call came without the
    # signed thinking block Anthropic then requires (routerd/dialects/anthropic/adapt.py).
    differ = {k for k in first.keys() | second.keys() if first.get(k) != second.get(k)}
    assert differ == {"messages"} or (differ == {"messages", "thinking"} and first["thinking"]["type"] == "enabled"
                                      and "thinking" not in second and told["content"][0]["type"] != "thinking")
    assert told["role"] == "assistant" and told["content"][-1]["input"] == {"city": "Paris"}
    [result] = answered["content"]
    assert result["type"] == "tool_result" and result["is_error"] and "InputValidationError" in str(result["content"])
    rows = (await recorded_calls(daemon))[1:]
    assert [(r["outcome"], r["input_tokens"], r["output_tokens"]) for r in rows] == [("ok", INPUT_TOKENS, OUTPUT_TOKENS)] * 2
    assert len({r["decision_id"] for r in rows}) == 2 and len({r["response_id"] for r in rows}) == 2
