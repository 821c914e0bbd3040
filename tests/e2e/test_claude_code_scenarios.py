"""Claude Code 2.1.197 routed by scenario: its model slots on routerd's auto names (as
``routerctl install --models`` sets them), a session whose main turns, subagent and background
(a Stop prompt hook on the small/fast slot) land on three differently configured providers.

Each provider is a fake Anthropic upstream of its own, so where a request landed is which fake
received it; the decision rows say the same with the scenario beside the model.
"""

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from routerd.app import App
from routerd.integrations.install import CLAUDE_MAIN_SLOTS
from tests.e2e import clis
from tests.e2e.harness import http_url, write_config
from tests.e2e.upstream import Turn, Upstream, open_upstream
from tests.fakes.search import GEMINI_URIS, SOURCES

pytestmark = pytest.mark.anyio

ROUTES = """
[routing.scenarios]
background = "bg/claude-haiku-4-5"
subagent = "sub/claude-sonnet-4-6"
default = "main/claude-opus-4-8"
"""
FINAL = "FINAL: pong lives in pong.py"


@pytest.fixture
async def three(config_file: Path) -> AsyncIterator[dict[str, Upstream]]:
    """Fake Anthropic providers ``main``, ``sub`` and ``bg``, and the scenario routes onto them."""
    async with open_upstream("anthropic", Turn(tool="Agent", args={
                "description": "find pong", "prompt": "Search for the definition of pong and report the file.",
                "subagent_type": "general-purpose"}), FINAL) as main, \
            open_upstream("anthropic", "pong is defined in pong.py", numbered_after=100) as sub, \
            open_upstream("anthropic", '{"ok": true, "reason": "the answer names the file"}', numbered_after=200) as bg:
        write_config(config_file, providers={"main": ("anthropic", main.url), "sub": ("anthropic", sub.url),
                                             "bg": ("anthropic", bg.url)})
        config_file.write_text(config_file.read_text() + ROUTES)
        yield {"main": main, "sub": sub, "bg": bg}


# Claude Code's model slots on the auto names, as ``routerctl install --models`` sets them.
SLOTS = {**{name: "claude-routerd-auto" for name in CLAUDE_MAIN_SLOTS},
         "ANTHROPIC_DEFAULT_HAIKU_MODEL": "claude-routerd-auto-haiku"}


def claude_home(home: Path) -> dict[str, str]:
    """The model slots, and a Stop hook that asks the small/fast model."""
    (home / ".claude").mkdir(parents=True, exist_ok=True)
    (home / ".claude" / "settings.json").write_text(json.dumps({"hooks": {"Stop": [{"hooks": [
        {"type": "prompt", "prompt": "Did the assistant name the file where pong is defined? $ARGUMENTS"}]}]}}))
    return SLOTS


async def test_main_subagent_and_background_land_on_their_models(claude_cli: Path, home: Path,
                                                                three: dict[str, Upstream], daemon: App) -> None:
    """Main turns, the Agent tool's subagent and the Stop hook's Haiku call reach three providers."""
    env = clis.claude_env(home, http_url(daemon)) | claude_home(home)
    done = await clis.run_cli([claude_cli, "-p", "Find where pong is defined"], env, home / "work")
    assert done.returncode == 0 and FINAL in done.stdout, done.describe()
    landed = {name: [r.json()["model"] for r in fake.calls("/v1/messages")] for name, fake in three.items()}
    assert landed["main"] and set(landed["main"]) == {"claude-opus-4-8"}, landed
    assert landed["sub"] and set(landed["sub"]) == {"claude-sonnet-4-6"}, landed
    assert landed["bg"] and set(landed["bg"]) == {"claude-haiku-4-5"}, landed
    assert all("x-claude-code-agent-id" in r.headers for r in three["sub"].calls("/v1/messages"))
    await daemon.store.flush()
    rows = await daemon.store.read(lambda c: list(c.execute("SELECT scenario, provider FROM decisions")))
    assert {tuple(r) for r in rows} == {("default", "main"), ("subagent", "sub"), ("background", "bg")}


CODEX_ROUTES = """
[routing.scenarios]
subagent = "sub/claude-sonnet-4-6"
default = "main/claude-opus-4-8"
"""


def _tool_results(received) -> list[str]:
    return [str(b.get("content")) for m in received.json()["messages"] if isinstance(m["content"], list)
            for b in m["content"] if b.get("type") == "tool_result"]


def codex_main_turn(received) -> Turn:
    """Codex's root agent: spawn a subagent, wait for it, then answer."""
    results = _tool_results(received)
    if not results:
        return Turn(tool="ns__multi_agent_v1__spawn_agent", args={"message": "Find where pong is defined."})
    if len(results) == 1:
        found = re.search(r'"(?:agent_id|id|target)"\s*:\s*"([^"]+)"', results[0])
        return Turn(tool="ns__multi_agent_v1__wait_agent", call_id="call_e2e_2",
                    args={"targets": [found.group(1) if found else results[0]], "timeout_ms": 30000})
    return Turn(text=FINAL)


@pytest.fixture
async def codex_two(config_file: Path) -> AsyncIterator[tuple[Upstream, Upstream]]:
    """Fake Anthropic providers ``main`` (Codex's root agent) and ``sub``, with the routes onto them."""
    async with open_upstream("anthropic") as main, \
            open_upstream("anthropic", "pong is in pong.py", numbered_after=100) as sub:
        main.choose = codex_main_turn
        write_config(config_file, providers={"main": ("anthropic", main.url), "sub": ("anthropic", sub.url)})
        config_file.write_text(config_file.read_text() + CODEX_ROUTES)
        yield main, sub


async def test_codex_subagent_lands_on_its_route(codex_cli: Path, home: Path, codex_two: tuple[Upstream, Upstream],
                                                 daemon: App) -> None:
    """Codex on ``routerd-auto``: its root turns and the subagent it spawns reach two providers."""
    main, sub = codex_two
    done = await clis.run_codex(codex_cli, http_url(daemon), "Find where pong is defined", home=home,
                                model="routerd-auto")
    assert done.returncode == 0 and FINAL in done.stdout, done.describe()
    assert {r.json()["model"] for r in main.calls("/v1/messages")} == {"claude-opus-4-8"}
    assert sub.calls("/v1/messages") and {r.json()["model"] for r in sub.calls("/v1/messages")} == \
        {"claude-sonnet-4-6"}


LONG_ROUTES = """
[routing.scenarios]
long_context_threshold = 25000
default = "main/claude-opus-4-8"
long_context = "big/claude-sonnet-4-6"
"""


@pytest.fixture
async def main_and_big(config_file: Path, home: Path) -> AsyncIterator[tuple[Upstream, Upstream]]:
    """``main`` has Claude Code read a ~15,000-token file; ``big`` (the long-context route) then
    has it read a small one and answers."""
    work = home / "work"
    work.mkdir(parents=True, exist_ok=True)
    words = ("routing", "window", "context", "session", "provider", "request", "token", "model")
    (work / "big.txt").write_text("\n".join(" ".join(words[(i + j) % 8] for j in range(12)) for i in range(1300)))
    (work / "small.txt").write_text("pong is defined in pong.py\n")
    async with open_upstream("anthropic", Turn(tool="Read", args={"file_path": str(work / "big.txt")})) as main, \
            open_upstream("anthropic", Turn(tool="Read", args={"file_path": str(work / "small.txt")},
                                            call_id="call_e2e_2"), FINAL, numbered_after=100) as big:
        write_config(config_file, providers={"main": ("anthropic", main.url), "big": ("anthropic", big.url)})
        config_file.write_text(config_file.read_text() + LONG_ROUTES)
        yield main, big


async def test_a_claude_code_session_crossing_the_threshold_moves_once(
        claude_cli: Path, home: Path, main_and_big: tuple[Upstream, Upstream], daemon: App) -> None:
    """A tool result that takes the conversation past the threshold moves it to the long-context
    route's model, and the turns after it stay there."""
    main, big = main_and_big
    env = clis.claude_env(home, http_url(daemon)) | SLOTS
    done = await clis.run_cli([claude_cli, "-p", "Where is pong defined? Read big.txt first."], env, home / "work")
    assert done.returncode == 0 and FINAL in done.stdout, done.describe()
    assert len(main.calls("/v1/messages")) == 1 and len(big.calls("/v1/messages")) == 2
    # Each answer its own assistant turn: the last request holds both Reads, one after the other.
    last = big.calls("/v1/messages")[-1].json()["messages"]
    assert [b["id"] for m in last if m["role"] == "assistant" for b in m["content"]] == ["call_e2e_1", "call_e2e_2"]
    assert sum(m["role"] == "assistant" for m in last) == 2
    await daemon.store.flush()
    rows = await daemon.store.read(lambda c: [tuple(r) for r in c.execute(
        "SELECT scenario, provider FROM decisions ORDER BY ts")])
    # Claude Code also asks count_tokens about the tool result (small: default, on main).
    assert rows[0] == ("default", "main") and rows.count(("long_context", "big")) == 2
    assert set(rows) == {("default", "main"), ("long_context", "big")}


SEARCH_FINAL = "FINAL: pong 2.0 is the latest release"


def web_search_session(received) -> Turn:
    """Claude Code's main turns ask for a web search, then answer (the search call itself is answered
    by the fake provider's own search: tests/fakes/search.py)."""
    body = received.json()
    if not body.get("tools"):  # title and other housekeeping calls
        return Turn(text='{"title": "pong release"}')
    return Turn(text=SEARCH_FINAL) if _answered(received) else Turn(tool="WebSearch", args={"query": "pong latest release"})


def _answered(received) -> bool:
    """Whether a main turn holds a tool's result (in any dialect's words)."""
    raw = received.body.decode()
    return "function_call_output" in raw or "functionResponse" in raw or (
        "messages" in received.json() and bool(_tool_results(received)))


def search_calls(fake: Upstream, path: str) -> list[dict]:
    return [r.json() for r in fake.calls(path) if any(str(t.get("type", "")).startswith("web_search")
                                                      for t in r.json().get("tools") or [])]


def search_results_seen(requests: list) -> bool:
    """Whether one of the main turns ``requests`` holds Claude Code's WebSearch result naming the
    source the search found: Claude Code read the search blocks routerd gave it."""
    return any(SOURCES[0][0] in r.body.decode() or GEMINI_URIS[0] in r.body.decode()
               for r in requests if _answered(r))


@pytest.fixture
async def anthropic_and_openai(config_file: Path) -> AsyncIterator[tuple[Upstream, Upstream]]:
    """A fake Anthropic provider named ``anthropic`` and a fake Responses one named ``openai``."""
    async with open_upstream("anthropic") as anthropic, open_upstream("responses", numbered_after=100) as openai:
        anthropic.choose = openai.choose = web_search_session
        write_config(config_file, providers={"anthropic": ("anthropic", anthropic.url),
                                             "openai": ("responses", openai.url + "/v1")})
        yield anthropic, openai


async def test_claude_codes_web_search_reaches_a_provider_that_runs_it(
        claude_cli: Path, home: Path, anthropic_and_openai: tuple[Upstream, Upstream], daemon: App) -> None:
    """Claude Code's WebSearch call on the auto names reaches a provider with its hosted search, in
    that provider's own form (never translated to a dialect that drops it), and Claude Code reads
    the results."""
    anthropic, openai = anthropic_and_openai
    env = clis.claude_env(home, http_url(daemon)) | SLOTS
    done = await clis.run_cli([claude_cli, "-p", "--allowedTools=WebSearch",
                                 "Search the web for the latest pong release"], env, home / "work")
    assert done.returncode == 0 and SEARCH_FINAL in done.stdout, done.describe()
    searches = search_calls(anthropic, "/v1/messages") + search_calls(openai, "/v1/responses")
    assert len(searches) == 1
    assert all(r.json().get("tools") for r in openai.calls("/v1/responses"))  # no search stripped to tools=[]
    assert search_results_seen(anthropic.calls("/v1/messages") + openai.calls("/v1/responses"))
    await daemon.store.flush()
    rows = await daemon.store.read(lambda c: list(c.execute("SELECT scenario, provider FROM decisions")))
    assert {p for s, p in rows if s == "web_search"} <= {"anthropic", "openai"}


@pytest.fixture
async def only_openai(config_file: Path) -> AsyncIterator[Upstream]:
    """A fake Responses provider named ``openai``, the only one."""
    async with open_upstream("responses") as openai:
        openai.choose = web_search_session
        write_config(config_file, providers={"openai": ("responses", openai.url + "/v1")})
        yield openai


async def test_claude_codes_web_search_runs_on_openai(
        claude_cli: Path, home: Path, only_openai: Upstream, daemon: App) -> None:
    """With only OpenAI configured, Claude Code's WebSearch runs as OpenAI's web_search on
    /v1/responses, and Claude Code reads the translated server_tool_use and web_search_tool_result
    blocks: its next turn carries the source the search found."""
    env = clis.claude_env(home, http_url(daemon)) | SLOTS
    done = await clis.run_cli([claude_cli, "-p", "--allowedTools=WebSearch",
                                 "Search the web for the latest pong release"], env, home / "work")
    assert done.returncode == 0 and SEARCH_FINAL in done.stdout, done.describe()
    [search] = search_calls(only_openai, "/v1/responses")
    assert [t["type"] for t in search["tools"]] == ["web_search"] and search["max_tool_calls"] == 8
    assert search_results_seen(only_openai.calls("/v1/responses"))


@pytest.fixture
async def only_gemini(config_file: Path) -> AsyncIterator[Upstream]:
    """A fake Gemini provider named ``gemini``, the only one."""
    async with open_upstream("gemini") as gemini:
        gemini.choose = web_search_session
        write_config(config_file, providers={"gemini": ("gemini", gemini.url)})
        yield gemini


async def test_claude_codes_web_search_runs_on_gemini(
        claude_cli: Path, home: Path, only_gemini: Upstream, daemon: App) -> None:
    """With only Gemini configured, Claude Code's WebSearch runs as Google Search grounding, and
    Claude Code reads the grounding translated to its search blocks: its next turn carries the
    source Gemini grounded the answer on."""
    env = clis.claude_env(home, http_url(daemon)) | SLOTS
    done = await clis.run_cli([claude_cli, "-p", "--allowedTools=WebSearch",
                                 "Search the web for the latest pong release"], env, home / "work")
    assert done.returncode == 0 and SEARCH_FINAL in done.stdout, done.describe()
    searches = [r for r in only_gemini.received if r.json().get("tools") == [{"googleSearch": {}}]]
    assert len(searches) == 1 and searches[0].path.endswith(":streamGenerateContent")
    assert search_results_seen(only_gemini.received)
