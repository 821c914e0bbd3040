"""The routing view agrees with admission: what ``gateway.guard.admit`` would refuse (a breaker, a
cool-down, on the endpoint a request would use too, every key, a spent bucket) scores 0 for the
balancers, is passed over by the brain, and ``route --explain`` and ``status`` say why in the
words admission uses."""

import json
import time

import pytest
from prometheus_client.parser import text_string_to_metric_families

from routerd.config import parse_config
from routerd.gateway.guard import admit
from routerd.resilience.board import Resilience
from routerd.resilience.health import endpoint_target
from routerd.resilience.keys import PoolKey
from routerd.resilience.limits import Target
from routerd.resilience.refusal import Refusal
from tests.gateway.conftest import calls
from tests.support import connect

pytestmark = pytest.mark.anyio

CONFIG = parse_config('''
[[limits]]
provider = "q"
models = ["m"]
window = "day"
requests = 2

[gateway.aliases.pair]
targets = ["p/m", "q/m"]
strategy = "quota-aware"
''')
NOT_FOUND = {"type": "error", "error": {"type": "not_found_error", "message": "model: claude-haiku-4-5"}}
HAIKU = "anthropic/claude-haiku-4-5"


def _board() -> Resilience:
    return Resilience(CONFIG, {"p": [PoolKey.of("A", "sk-a-secret")], "q": []})


def test_a_model_cooled_on_one_endpoint_is_out_exactly_where_admission_refuses_it():
    """After a 404 on chat completions the model is out for a request that would go there, in
    admission's words, and scores 0; a request that may go to Responses instead is not refused."""
    board = _board()
    board.health.cool(endpoint_target("p", "m", "openai_chat"), 600, 0, "does not serve this model", "model_not_found")
    refused = admit(board, "p", "m", {"requests": 1}, 1, True, "openai_chat")
    assert isinstance(refused, Refusal)
    assert board.refusal("p", "m", 1, ("openai_chat",)) == refused
    assert board.health.score("p", "m", 1, ("openai_chat",)) == 0.0
    assert board.signals("p", "m", 1, ("openai_chat",)).health == 0.0
    assert board.refusal("p", "m", 1, ("openai_chat", "responses")) is None
    assert board.signals("p", "m", 1, ("openai_chat", "responses")).health == 1.0
    assert not isinstance(admit(board, "p", "m", {"requests": 1}, 1, True, "responses"), Refusal)


def test_keys_and_spent_buckets_put_a_target_out_as_admission_would():
    """Every key cooling for the model, or a day's requests used up, refuses every call: the
    routing view says so with the same reason, and the alias puts that member last."""
    board = _board()
    for _ in range(2):
        held = admit(board, "q", "m", {"requests": 1}, 0, False)
        held.settle({"requests": 1})
        held.release()
    refused = admit(board, "q", "m", {"requests": 1}, 0, False)
    assert isinstance(refused, Refusal)
    out = board.refusal("q", "m", 0)
    assert out is not None and (out.target, out.reason) == (refused.target, refused.reason)
    resolve = {"p/m": [Target("p", "m")], "q/m": [Target("q", "m")]}.__getitem__
    assert [t.provider for t in board.expand("pair", resolve, 0)] == ["p", "q"]
    board.pools["p"].cool("A", "m", 30, 0, "rate limited (429)")
    assert isinstance(admit(board, "p", "m", {"requests": 1}, 0, True), Refusal)
    assert board.refusal("p", "m", 0) is not None and board.signals("p", "m", 0).health == 0.0


def test_status_names_a_model_cooled_on_one_endpoint():
    """``routerctl status``'s down line names each target out under its own name."""
    board = _board()
    board.health.cool(endpoint_target("p", "m", "responses"), 600, 0, "does not serve this model", "model_not_found")
    assert board.summary(1)["down"] == "p/m on responses: does not serve this model (retry in 599 s)"


async def test_route_explain_passes_over_a_model_admission_would_refuse_and_says_why(daemon, fakes, base_url):
    """A 404 for Haiku on Anthropic's endpoint cools it there; the brain's next decision passes
    it over (no provider can take it) and ``route --explain`` says why in admission's words."""
    import httpx

    fakes["anthropic"].fail(404, NOT_FOUND)
    async with httpx.AsyncClient(timeout=10) as client:
        answer = await client.post(base_url + "/v1/messages", json={
            "model": "claude-haiku-4-5", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]})
    assert answer.status_code == 404 and len(await calls(daemon)) == 1
    assert endpoint_target("anthropic", "claude-haiku-4-5", "anthropic") in daemon.resilience.health.cooling
    async with connect(daemon.socket_path) as client:
        reply = await client.call({"type": "route", "prompt": "say hi", "explain": True})
    [haiku] = [v for v in reply["verdicts"] if v["model"] == HAIKU]
    assert not haiku["kept"] and HAIKU not in reply["candidates"], json.dumps(haiku)
    assert any(r.startswith("unavailable: anthropic/claude-haiku-4-5 on anthropic: does not serve this model")
               for r in haiku["reasons"]), haiku["reasons"]


def test_the_brain_passes_over_a_model_only_when_every_provider_speaking_for_it_refuses_it():
    """A model out on one of two providers that speak for it stays in the ranking; out on both,
    it is passed over with both reasons, and a request the other endpoint may serve keeps it."""
    from routerd.catalogue.builtin import load_catalogue
    from routerd.providers import build_providers
    from routerd.routing.candidates import why_out

    config = parse_config('[providers.one]\nkind = "openai"\nbase_url = "http://127.0.0.1:9/v1"\napi_key = "k1"\n'
                          'models = ["gpt-*"]\nresponses = true\n'
                          '[providers.two]\nkind = "openai"\nbase_url = "http://127.0.0.1:9/v2"\napi_key = "k2"\n'
                          'models = ["gpt-*"]\n')
    providers, catalogue, board = build_providers(config, {}, None), load_catalogue(), Resilience(config, {})

    def out(dialect: str) -> dict[str, str]:
        return why_out(providers, catalogue, board.refusal, frozenset(), board.models_out(1), dialect, 1)

    assert out("openai_chat") == {}
    board.health.cool(endpoint_target("one", "gpt-4.1", "openai_chat"), 60, 0, "does not serve this model", "model_not_found")
    assert out("openai_chat") == {}
    board.health.cool("two/gpt-4.1", 60, 0, "rate limited by the provider", "rate_limited")
    assert out("openai_chat") == {"openai/gpt-4.1": "one/gpt-4.1 on openai_chat: does not serve this model "
                                  "(retry in 59 s); two/gpt-4.1: rate limited by the provider (retry in 59 s)"}
    assert out("responses") == {}


@pytest.mark.resilience_config("[resilience]\nlocal_last_resort = false\n[resilience.breaker]\nfailures = 1\n")
async def test_status_and_health_rows_say_what_admission_does(daemon, fakes, base_url):
    """A provider cooling after a 529 is shown ``out`` with admission's reason on its status row
    (its breaker alone would say only how many failed); a breaker whose cool-down has passed is
    shown half-open, ready for a probe, not "open, probe in -N s"."""
    import httpx

    fakes["anthropic"].fail(529, {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})
    async with httpx.AsyncClient(timeout=10) as client:
        answer = await client.post(base_url + "/v1/messages", json={
            "model": "claude-haiku-4-5", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]})
    assert answer.status_code == 529
    async with connect(daemon.socket_path) as client:
        status = await client.call({"type": "status"})
        row = status["parts"]["gateway"]["providers"]["anthropic"]
        assert row["out"].startswith("anthropic: ") and "overloaded" in row["out"], row
        assert status["parts"]["gateway"]["providers"]["primary"]["out"] is None
        daemon.resilience.health.cooling.clear()
        for breaker in (daemon.resilience.health.breaker("anthropic"),
                        daemon.resilience.health.breaker("anthropic", "claude-haiku-4-5")):
            assert breaker.state == "open"
            breaker.retry_at = 0.0  # the cool-down is over (as if time had passed)
        health = await client.call({"type": "health"})
        status = await client.call({"type": "status"})
    rows = {b["target"]: b for b in health["breakers"]}
    assert [(rows[t]["state"], rows[t]["retry_in_s"]) for t in ("anthropic", "anthropic/claude-haiku-4-5")] == \
        [("half_open", None), ("half_open", None)]
    row = status["parts"]["gateway"]["providers"]["anthropic"]
    assert row["breaker"]["state"] == "half_open" and row["out"] is None


async def test_auto_with_every_model_rate_limited_is_told_when_to_come_back(daemon, fakes, base_url):
    """Every model the brain knows is cooling after a 429: ``auto`` still ranks them, and
    admission answers 429 with the soonest Retry-After (not "no provider can take model auto")."""
    import httpx

    health, runtime = daemon.resilience.health, daemon.runtime
    for model in runtime.catalogue.models:
        for provider in runtime.providers:
            health.cool(f"{provider}/{model.id}", 30, time.time(), "rate limited by the provider", "rate_limited")
    async with httpx.AsyncClient(timeout=10) as client:
        answer = await client.post(base_url + "/v1/messages", json={
            "model": "auto", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]})
    assert answer.status_code == 429 and 25 <= int(answer.headers["retry-after"]) <= 30, answer.text
    assert not any(fake.received for fake in fakes.values())


@pytest.mark.resilience_config("[resilience]\nlocal_last_resort = false\n[resilience.breaker]\nfailures = 1\n")
async def test_http_health_and_the_breaker_metric_show_an_idle_cooled_breaker_half_open(daemon, fakes, base_url):
    """``GET /health`` and ``routerd_breaker_state`` read the breaker as ``routerctl health`` and
    status do: open while it cools, half-open (ready for a probe) once its cool-down has passed."""
    import httpx

    async def views() -> tuple[str, list[str]]:
        health = (await client.get("/health")).json()
        text = (await client.get("/metrics")).text
        states = [s.labels["state"] for f in text_string_to_metric_families(text) for s in f.samples
                  if s.name == "routerd_breaker_state" and s.labels["provider"] == "anthropic" and s.value == 1]
        return health["providers"]["anthropic"], states

    fakes["anthropic"].fail(529, {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        answer = await client.post("/v1/messages", json={
            "model": "claude-haiku-4-5", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]})
        assert answer.status_code == 529
        daemon.resilience.health.cooling.clear()
        assert await views() == ("open", ["open"])
        daemon.resilience.health.breaker("anthropic").retry_at = 0.0  # the cool-down is over
        assert await views() == ("half_open", ["half_open"])
