"""Scenario routing through the daemon: routes per scenario from config, the window rule with real
token counts (nothing is sent to a model whose window the request exceeds), long conversations
that move once, refusals in the client's dialect, and the auto names in each dialect's model list."""

import random
import re

import anthropic
import httpx
import openai
import pytest

from routerd.config import parse_config
from routerd.errors import ConfigError
from routerd.runtime import build_runtime
from routerd.scenarios.tokens import load_cl100k
from tests.fakes.upstream import FakeUpstream, Received
from tests.support import connect

pytestmark = pytest.mark.anyio

ROUTES = """
[routing.scenarios]
background = "gpt-6-luna"
subagent = { model = "gemini-2.5-flash", fallbacks = ["gpt-4.1"] }
default = "claude-sonnet-4-6"
"""

# Three OpenAI-served models with small windows, and routes that start on the smallest.
WINDOWS = {"gpt-small": 6_000, "gpt-mid": 30_000, "gpt-large": 120_000}
WINDOW_MODELS = "".join(f"""
[[routing.models]]
id = "{name}"
provider = "openai"
tier = "simple"
context_window = {window}
price_in_per_mtok = {0.1 * (n + 1)}
price_out_per_mtok = {0.4 * (n + 1)}
""" for n, (name, window) in enumerate(WINDOWS.items()))
GROWING = f"""
[routing.scenarios]
long_context_threshold = 3000
default = {{ model = "gpt-small", fallbacks = ["gpt-mid", "gpt-large"] }}
long_context = {{ model = "gpt-mid", fallbacks = ["gpt-large"] }}
{WINDOW_MODELS}
"""
WORDS = ("routing", "window", "context", "session", "provider", "request", "token", "model", "budget",
         "stream", "cache", "gateway", "daemon", "fallback", "scenario", "agent", "prompt", "answer")


@pytest.fixture(scope="module")
def encoding():
    """cl100k, loaded once outside the event loop: the test's own count of what was sent."""
    return load_cl100k()


def model_of(received: Received) -> str:
    """The model an upstream request named (in its body, or in Gemini's path)."""
    found = re.search(r"/models/([^/:]+):", received.path)
    return found.group(1) if found else received.json["model"]


def sent(fakes: dict[str, FakeUpstream]) -> list[Received]:
    return [r for f in fakes.values() for r in f.received if r.method == "POST"]


def turn(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)) + "."


@pytest.mark.gateway_config(ROUTES)
async def test_each_scenario_takes_its_configured_route(daemon, fakes, base_url):
    """Claude Code's small-model slot, a marked subagent and a main turn land on their routes' models."""
    async with anthropic.AsyncAnthropic(base_url=base_url, api_key="unused", max_retries=0) as client:
        async def ask(model: str, **headers: str):
            before = set(map(id, sent(fakes)))
            raw = await client.messages.with_raw_response.create(
                model=model, max_tokens=50, messages=[{"role": "user", "content": "list the files here"}],
                extra_headers=headers)
            assert (await raw.parse()).content
            [upstream] = [r for r in sent(fakes) if id(r) not in before]
            return raw.headers["x-routerd-scenario"], raw.headers["x-routerd-model"], model_of(upstream)

        assert await ask("claude-routerd-auto-haiku") == ("background", "gpt-6-luna", "gpt-6-luna")
        assert await ask("claude-routerd-auto", **{"x-claude-code-agent-id": "a1"}) == \
            ("subagent", "gemini-2.5-flash", "gemini-2.5-flash")
        assert await ask("claude-routerd-auto") == ("default", "claude-sonnet-4-6", "claude-sonnet-4-6")
    await daemon.store.flush()
    rows = await daemon.store.read(lambda c: list(c.execute("SELECT scenario, model FROM decisions ORDER BY ts")))
    assert [tuple(r) for r in rows] == [("background", "gpt-6-luna"), ("subagent", "gemini-2.5-flash"),
                                        ("default", "claude-sonnet-4-6")]
    scenarios = (await daemon.status()).parts["scenarios"]  # what routerctl status shows
    assert scenarios["detected"] == {"background": 1, "subagent": 1, "default": 1} and scenarios["routed"] == 3


@pytest.mark.gateway_config(ROUTES)
async def test_a_failing_route_falls_back_along_its_chain(daemon, fakes, base_url):
    """A scenario route's fallbacks follow its model: the subagent goes to gpt-4.1 when Gemini fails."""
    for _ in range(4):  # more than the retries
        fakes["gemini"].fail(503)
    async with anthropic.AsyncAnthropic(base_url=base_url, api_key="unused", max_retries=0) as client:
        raw = await client.messages.with_raw_response.create(
            model="claude-routerd-auto", max_tokens=50, messages=[{"role": "user", "content": "go"}],
            extra_headers={"x-claude-code-agent-id": "a1"})
    assert raw.headers["x-routerd-model"] == "gpt-4.1"


async def grow(client: openai.AsyncOpenAI, encoding, session: str, until_tokens: int,
               step_words: int = 700) -> list[str]:
    """A conversation grown turn by turn until its text passes ``until_tokens``; each answer's model."""
    rng = random.Random(7)
    messages: list[dict[str, str]] = []
    models, tokens = [], 0
    while tokens < until_tokens:
        messages.append({"role": "user", "content": turn(rng, step_words)})
        raw = await client.chat.completions.with_raw_response.create(
            model="routerd-auto", messages=messages, extra_headers={"session-id": session})
        models.append(raw.headers["x-routerd-model"])
        messages.append({"role": "assistant", "content": raw.parse().choices[0].message.content})
        tokens = sum(len(encoding.encode_ordinary(m["content"])) for m in messages)
    return models


def moves(models: list[str]) -> list[str]:
    return [b for a, b in zip(models, models[1:]) if a != b]


@pytest.mark.gateway_config(GROWING)
async def test_a_conversation_crossing_the_threshold_moves_once(daemon, fakes, base_url, encoding):
    """Past the long-context threshold a session moves to a window with room, and stays there."""
    async with openai.AsyncOpenAI(base_url=base_url + "/v1", api_key="unused", max_retries=0) as client:
        models = await grow(client, encoding, "s-once", until_tokens=12_000)
    assert models[0] == "gpt-small" and moves(models) == ["gpt-mid"]
    await daemon.store.flush()
    rows = await daemon.store.read(lambda c: list(c.execute("SELECT scenario, model FROM decisions ORDER BY ts")))
    assert [r[1] for r in rows] == models and rows[-1][0] == "long_context"


@pytest.mark.gateway_config(GROWING)
async def test_no_request_exceeds_the_window_of_the_model_it_is_sent_to(daemon, fakes, base_url, encoding):
    """Grown past every configured window: 0 requests reach a model whose window they exceed."""
    async with openai.AsyncOpenAI(base_url=base_url + "/v1", api_key="unused", max_retries=0) as client:
        models = await grow(client, encoding, "s-grow", until_tokens=WINDOWS["gpt-mid"] + 2_000, step_words=2_000)
        over = [r for r in sent(fakes) if model_of(r) in WINDOWS and WINDOWS[model_of(r)] < sum(
            len(encoding.encode_ordinary(m["content"])) for m in r.json["messages"])]
        assert over == []
        assert moves(models) == ["gpt-mid", "gpt-large"]  # each move forward, never back
        await daemon.store.flush()
        rows = await daemon.store.read(lambda c: [r[0] for r in c.execute("SELECT model FROM decisions ORDER BY ts")])
        assert rows == models  # each decision row names the model its request went to
        rng = random.Random(1)
        huge = [{"role": "user", "content": turn(rng, 30_000)} for _ in range(6)]
        raw = await client.chat.completions.with_raw_response.create(model="routerd-auto", messages=huge)
    # Past every route's window, automatic routing escalates to a catalogue model that holds it.
    assert raw.headers["x-routerd-scenario"] == "long_context" and raw.headers["x-routerd-model"] not in WINDOWS


@pytest.mark.gateway_config(WINDOW_MODELS)
async def test_a_named_model_too_small_is_refused_in_the_clients_dialect(daemon, fakes, base_url):
    """Asked by name for a model whose window it exceeds, the request is refused as Anthropic would."""
    text = turn(random.Random(3), 9_000)
    before = len(sent(fakes))
    async with anthropic.AsyncAnthropic(base_url=base_url, api_key="unused", max_retries=0) as client:
        with pytest.raises(anthropic.BadRequestError) as refused:
            await client.messages.create(model="gpt-small", max_tokens=50,
                                         messages=[{"role": "user", "content": text}])
        assert "prompt is too long" in refused.value.message
        raw = await client.messages.with_raw_response.create(
            model="gpt-large", max_tokens=50, messages=[{"role": "user", "content": text}])
    assert raw.headers["x-routerd-model"] == "gpt-large" and len(sent(fakes)) == before + 1


async def test_auto_names_are_listed_in_each_dialect(daemon, fakes, base_url):
    """/v1/models lists routerd's auto names in OpenAI's, Anthropic's and Gemini's shapes."""
    async with openai.AsyncOpenAI(base_url=base_url + "/v1", api_key="unused", max_retries=0) as client:
        ids = [m.id async for m in client.models.list()]
    assert ids[:3] == ["auto", "routerd-auto", "gpt-routerd-auto"] and "claude-routerd-auto" in ids
    async with anthropic.AsyncAnthropic(base_url=base_url, api_key="unused", max_retries=0) as client:
        ids = [m.id async for m in client.models.list()]
    assert ids[:3] == ["auto", "claude-routerd-auto", "claude-routerd-auto-haiku"]
    async with httpx.AsyncClient(base_url=base_url) as http:
        names = [m["name"] for m in (await http.get("/v1beta/models", headers={"x-goog-api-key": "k"})).json()["models"]]
    assert "models/claude-routerd-auto" in names and "models/routerd-auto" in names


@pytest.mark.gateway_config(ROUTES)
async def test_route_explain_shows_the_scenario(daemon, fakes):
    """``route --explain`` for a Haiku-slot request names the scenario, its evidence and its route."""
    async with connect(daemon.socket_path) as client:
        reply = await client.call({"type": "route", "prompt": "rename this file", "model": "claude-haiku-4-5",
                                   "explain": True})
    assert reply["scenario"] == "background"
    assert any("small-model slot" in r for r in reply["scenario_reasons"])
    assert "[routing.scenarios] background" in reply["scenario_reasons"]


@pytest.mark.parametrize("route", ['background = "no-such-model"', 'subagent = { tier = "moderate", fallbacks = ["nope/x"] }'])
def test_a_route_naming_nothing_reachable_is_refused_at_load(route):
    """A scenario route must name a tier, a known model or alias, or provider/model: a typo fails the load."""
    with pytest.raises(ConfigError, match="routing.scenarios"):
        build_runtime(parse_config(f"[routing.scenarios]\n{route}\n"), None, {})


@pytest.mark.gateway_config(ROUTES)
async def test_routes_change_with_a_reload_and_a_bad_one_changes_nothing(daemon, fakes, base_url, config_file):
    """A reload moves a scenario's route; a reload naming an unknown model keeps the routes as they were."""
    async with anthropic.AsyncAnthropic(base_url=base_url, api_key="unused", max_retries=0) as client:
        async def background() -> str:
            raw = await client.messages.with_raw_response.create(
                model="claude-routerd-auto-haiku", max_tokens=50, messages=[{"role": "user", "content": "title"}])
            return raw.headers["x-routerd-model"]

        assert await background() == "gpt-6-luna"
        config_file.write_text(config_file.read_text().replace('background = "gpt-6-luna"',
                                                               'background = "claude-haiku-4-5"'))
        assert (await daemon.reload("test")).ok
        assert await background() == "claude-haiku-4-5"
        config_file.write_text(config_file.read_text().replace('background = "claude-haiku-4-5"',
                                                               'background = "claude-haiku-9-typo"'))
        result = await daemon.reload("test")
        assert not result.ok and "routing.scenarios.background" in result.message
        assert await background() == "claude-haiku-4-5"


MORE_ROUTES = """
[routing.scenarios]
web_search = "gpt-4.1"
image = "gemini-2.5-flash"
think = { tier = "complex" }
default = "claude-haiku-4-5"
"""
PIXEL = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="


@pytest.mark.gateway_config(MORE_ROUTES)
async def test_web_search_image_and_think_take_their_routes(daemon, fakes, base_url):
    """A request whose only tool is a hosted web search, one with an image, one asking to think hard."""
    async with anthropic.AsyncAnthropic(base_url=base_url, api_key="unused", max_retries=0) as client:
        async def ask(**kwargs) -> tuple[str, str]:
            kwargs.setdefault("messages", [{"role": "user", "content": "what changed in the news today?"}])
            kwargs.setdefault("max_tokens", 2048)
            raw = await client.messages.with_raw_response.create(model="claude-routerd-auto", **kwargs)
            return raw.headers["x-routerd-scenario"], raw.headers["x-routerd-model"]

        # gpt-4.1 runs Anthropic's hosted search as OpenAI's, through /v1/responses
        # (tests/gateway/test_hosted_search.py).
        scenario, model = await ask(tools=[{"type": "web_search_20250305", "name": "web_search"}])
        assert (scenario, model) == ("web_search", "gpt-4.1")
        image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PIXEL}}
        assert await ask(messages=[{"role": "user", "content": [image, {"type": "text", "text": "what is this?"}]}]) \
            == ("image", "gemini-2.5-flash")
        scenario, model = await ask(thinking={"type": "enabled", "budget_tokens": 16000}, max_tokens=20000)
        assert scenario == "think" and model in {m.id for m in daemon.runtime.catalogue.models if m.tier == "complex"}
        assert await ask() == ("default", "claude-haiku-4-5")


ALIAS_ROUTE = """
[routing.scenarios]
background = { model = "smallpool", fallbacks = ["gpt-4.1"] }

[gateway.aliases.smallpool]
targets = ["anthropic/claude-haiku-4-5", "gemini/gemini-2.5-flash"]
strategy = "ordered"
"""


@pytest.mark.gateway_config(ALIAS_ROUTE)
async def test_a_route_may_name_an_alias_group(daemon, fakes, base_url):
    """A scenario route naming a [gateway.aliases] group goes where the group's balancer sends it."""
    async with anthropic.AsyncAnthropic(base_url=base_url, api_key="unused", max_retries=0) as client:
        raw = await client.messages.with_raw_response.create(
            model="claude-routerd-auto-haiku", max_tokens=50, messages=[{"role": "user", "content": "a title"}])
    assert (raw.headers["x-routerd-scenario"], raw.headers["x-routerd-provider"], raw.headers["x-routerd-model"]) \
        == ("background", "anthropic", "claude-haiku-4-5")
