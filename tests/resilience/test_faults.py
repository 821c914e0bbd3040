"""Fault injection against fake providers over real HTTP: every request gets an answer through
fallback or a clean error in its dialect, breakers open and close as configured, nothing stays
held (slots, reservations, probes), and every attempt is a row in ``calls``."""

import os
import sys
import time
from pathlib import Path

import anyio
import httpx
import pytest

from tests.gateway.conftest import calls

pytestmark = pytest.mark.anyio

CHAT = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
MESSAGES = {"model": "claude-haiku-4-5", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}
ROUTERCTL = Path(sys.executable).parent / "routerctl"


async def _post(base_url: str, body: dict, path: str = "/v1/chat/completions") -> httpx.Response:
    async with httpx.AsyncClient(timeout=10) as client:
        return await client.post(base_url + path, json=body)


async def _routerctl(*args: str) -> str:
    done = await anyio.run_process([str(ROUTERCTL), *args], env=dict(os.environ), check=False)
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout.decode()


async def _rows(app) -> list[tuple[str, str]]:
    return [(r["provider"], r["outcome"]) for r in await calls(app)]


def _settled(app) -> None:
    """Nothing is held once every request has ended: no request or call in flight, no
    connection in use, no reservation in a bucket, no half-open probe left out."""
    assert all(p.pool.in_use == 0 for p in app.gateway.statistics().providers.values())
    board = app.resilience
    flight = board.inflight.statistics()
    assert flight.requests == 0 and not flight.providers
    assert all(b.reserved == 0 for b in board.limiter.statistics(time.time()))
    for table in (board.health.providers, board.health.models):
        assert not any(b.state == "half_open" and b.unavailable_for(0) for b in table.values())


def _received(fake) -> int:
    return len(fake.received)


async def test_a_429_storm_with_retry_after_leaves_the_primary_alone_until_then(daemon, fakes, base_url):
    """The first 429 cools the primary's model for its Retry-After; meanwhile every request goes
    to the backup without touching the primary, and its breaker stays closed."""
    fakes["openai"].fail(429, retry_after=30)
    answers = [await _post(base_url, CHAT) for _ in range(5)]
    assert [r.headers["x-routerd-provider"] for r in answers] == ["backup"] * 5
    assert _received(fakes["openai"]) == 1
    assert daemon.resilience.health.breaker("primary").state == "closed"
    assert await _rows(daemon) == [("primary", "rate_limited")] + [("backup", "ok")] * 5
    _settled(daemon)


@pytest.mark.resilience_config("[resilience]\nlocal_last_resort = false\n[resilience.cooldowns]\nrate_limited_s = 60\n")
async def test_a_429_storm_without_retry_after_cools_for_the_configured_time(daemon, fakes, base_url):
    """Without Retry-After the cool-down is ``resilience.cooldowns.rate_limited_s``; with no other
    provider left the client gets 429 with that Retry-After in its own dialect."""
    fakes["openai"].fail(429)
    fakes["backup"].fail(429)
    first = await _post(base_url, CHAT)
    assert first.status_code == 429
    again = await _post(base_url, CHAT)
    assert again.status_code == 429 and int(again.headers["retry-after"]) in range(55, 61)
    assert again.json()["error"]["type"] and "rate limited" in again.json()["error"]["message"]
    assert _received(fakes["openai"]) == 1 and _received(fakes["backup"]) == 1
    _settled(daemon)


@pytest.mark.resilience_config("[resilience]\nlocal_last_resort = false\n[resilience.cooldowns]\nrate_limited_s = 60\n")
async def test_openais_please_try_again_in_is_the_cool_down_when_no_header_says(daemon, fakes, base_url):
    """OpenAI's 429 saying "Please try again in 7.2s" without a Retry-After header cools the model
    for that long, not the configured 60 s, and the client is told so; a header says otherwise."""
    def rate_limited(wait: str) -> dict:
        return {"error": {"message": f"Rate limit reached for gpt-4o in organization org-abc on requests per min "
                                     f"(RPM): Limit 3, Used 3, Requested 1. Please try again in {wait}. Visit "
                                     "https://platform.openai.com/account/rate-limits to learn more.",
                          "type": "requests", "param": None, "code": "rate_limit_exceeded"}}
    fakes["openai"].fail(429, rate_limited("7.2s"))
    fakes["backup"].fail(429, rate_limited("20ms"), retry_after=40)
    assert (await _post(base_url, CHAT)).status_code == 429
    cooling = daemon.resilience.health.cooling
    assert sorted(round(c.until - time.time()) for c in cooling.values()) == [7, 40], cooling
    again = await _post(base_url, CHAT)  # admission refuses both; the client comes back at the soonest
    assert again.status_code == 429 and again.headers["retry-after"] == "7", again.headers


@pytest.mark.resilience_config("[resilience]\nlocal_last_resort = false\n[resilience.breaker]\nfailures = 2\ncooldown_s = 600\n")
async def test_5xx_opens_the_breaker_and_routerctl_breaker_reset_closes_it(daemon, fakes, base_url):
    """Two server errors open the primary's breaker (each request still answered by the backup);
    later requests skip it; ``routerctl health`` shows it open and ``routerctl breaker reset``
    closes it, after which the primary serves again."""
    for status in (500, 503):
        fakes["openai"].fail(status)
        assert (await _post(base_url, CHAT)).headers["x-routerd-provider"] == "backup"
    assert (await _post(base_url, CHAT)).headers["x-routerd-provider"] == "backup"
    assert _received(fakes["openai"]) == 2
    health = await _routerctl("health")
    assert "breaker primary" in health and "open, probe in" in health
    assert "primary" in await _routerctl("breaker", "reset", "primary")
    assert (await _post(base_url, CHAT)).headers["x-routerd-provider"] == "primary"
    assert [o for _, o in await _rows(daemon)].count("ok") == 4
    _settled(daemon)


async def test_routerctl_breaker_reset_names_an_unknown_target(daemon, fakes):
    """``routerctl breaker reset nope`` (or ``nope/gpt-4o``) says no provider has that name and
    which do, and exits non-zero; a known provider with nothing open is "nothing was open"."""
    for target in ("nope", "nope/gpt-4o"):
        done = await anyio.run_process([str(ROUTERCTL), "breaker", "reset", target], env=dict(os.environ),
                                       check=False)
        assert done.returncode == 1, done
        err = done.stderr.decode()
        assert "unknown" in err and "'nope'" in err and "primary" in err and "backup" in err, err
    assert await _routerctl("breaker", "reset", "primary/gpt-4o") == "nothing was open or cooling\n"


@pytest.mark.resilience_config("[resilience]\nlocal_last_resort = false\n[resilience.breaker]\nfailures = 1\ncooldown_s = 0.05\n")
async def test_a_half_open_probe_that_succeeds_closes_the_breaker(daemon, fakes, base_url):
    """After the cool-down one probe goes to the primary; its success closes the circuit, so
    traffic returns to the primary within one cool-down."""
    fakes["openai"].reset()
    assert (await _post(base_url, CHAT)).headers["x-routerd-provider"] == "backup"
    health = daemon.resilience.health
    breakers = [health.breaker("primary"), health.breaker("primary", "gpt-4o")]
    assert [b.state for b in breakers] == ["open", "open"]
    for breaker in breakers:
        breaker.retry_at = 0.0  # the cool-down is over (as if time had passed)
    assert (await _post(base_url, CHAT)).headers["x-routerd-provider"] == "primary"
    assert [b.state for b in breakers] == ["closed", "closed"]
    assert await _rows(daemon) == [("primary", "upstream_unavailable"), ("backup", "ok"), ("primary", "ok")]
    _settled(daemon)


@pytest.mark.resilience_config('[providers.dead]\nkind = "openai"\nbase_url = "http://127.0.0.1:9/v1"\n'
                               'api_key = "sk-dead-0000"\nmodels = ["gpt-*"]\nconnect_timeout_s = 1\n')
async def test_connection_refused_falls_back(daemon, fakes, base_url):
    """A provider that refuses connections is passed over for the next one, and the attempt is
    recorded."""
    response = await _post(base_url, CHAT)
    assert response.status_code == 200 and response.headers["x-routerd-provider"] == "primary"
    rows = await _rows(daemon)
    assert rows == [("dead", "upstream_unavailable"), ("primary", "ok")]
    _settled(daemon)


@pytest.mark.resilience_config(primary_timeout_s=0.5)
async def test_a_timeout_before_headers_falls_back(daemon, fakes, base_url):
    """A primary that sends no head within its timeout is abandoned for the backup."""
    fakes["openai"].hang()
    response = await _post(base_url, CHAT)
    assert response.headers["x-routerd-provider"] == "backup"
    assert await _rows(daemon) == [("primary", "upstream_timeout"), ("backup", "ok")]
    _settled(daemon)


# openai's AsyncStream leaves its SSE generator at [DONE] unclosed; trio warns when it is collected
# (the SDK's, not routerd's: tests/gateway/test_sdk_clients.py lets it through the same way).
@pytest.mark.filterwarnings("ignore:Async generator:ResourceWarning")
@pytest.mark.resilience_config(primary_timeout_s=0.5)
async def test_a_stream_whose_first_byte_never_comes_falls_back(daemon, fakes, base_url):
    """A stream whose head arrived but whose first event did not is still before the client's
    first byte: it falls back, with the real OpenAI client reading the backup's stream."""
    import openai

    fakes["openai"].stall()
    async with openai.AsyncOpenAI(base_url=base_url + "/v1", api_key="x", max_retries=0) as client:
        async with await client.chat.completions.create(**CHAT, stream=True) as stream:
            text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
    assert text == "Hello from backup."
    assert await _rows(daemon) == [("primary", "upstream_timeout"), ("backup", "ok")]
    _settled(daemon)


@pytest.mark.resilience_config("[resilience]\nlocal_last_resort = false\n[resilience.breaker]\nfailures = 1\n")
async def test_a_stream_cut_midway_ends_with_an_error_event_and_counts_against_the_breaker(daemon, fakes,
                                                                                            base_url):
    """After the first byte there is no fallback: the Anthropic client sees the stream end with
    an error event, the attempt is recorded as cut, and the breaker hears the failure."""
    import anthropic

    fakes["anthropic"].cut(after=2)
    async with anthropic.AsyncAnthropic(base_url=base_url, api_key="x", max_retries=0) as client:
        async with client.messages.stream(**MESSAGES) as stream:
            with pytest.raises(anthropic.APIStatusError) as raised:
                await stream.get_final_message()
    assert "upstream stream interrupted" in raised.value.message
    assert await _rows(daemon) == [("anthropic", "stream_cut")]
    assert daemon.resilience.health.breaker("anthropic").state == "open"
    _settled(daemon)


async def test_malformed_json_falls_back(daemon, fakes, base_url):
    """An answer that is not JSON is the provider's fault: the backup answers."""
    fakes["openai"].garbage()
    response = await _post(base_url, CHAT)
    assert response.json()["choices"][0]["message"]["content"] == "Hello from backup."
    assert await _rows(daemon) == [("primary", "upstream_bad_response"), ("backup", "ok")]
    _settled(daemon)


async def test_an_auth_error_takes_the_key_out_while_others_work(daemon, fakes, base_url):
    """A 401 on the primary falls back at once, takes its key out of rotation with a status line
    naming its label (never its value), and trips no breaker."""
    fakes["openai"].fail(401, {"error": {"message": "Incorrect API key provided", "type": "invalid_request_error",
                                         "code": "invalid_api_key"}})
    for _ in range(3):
        assert (await _post(base_url, CHAT)).headers["x-routerd-provider"] == "backup"
    assert _received(fakes["openai"]) == 1
    health = await _routerctl("health")
    assert "key primary api_key" in health and "answered 401" in health
    assert "sk-primary-secret-1234" not in health
    assert daemon.resilience.health.breaker("primary").state == "closed"
    _settled(daemon)


@pytest.mark.resilience_config(pool=True)
async def test_a_key_revoked_mid_run_leaves_the_pool_and_the_other_key_serves(daemon, fakes, base_url):
    """With two keys, the one answered 401 leaves the rotation: the request falls back, and the
    primary's later calls all carry the other key."""
    for _ in range(2):
        assert (await _post(base_url, CHAT)).headers["x-routerd-provider"] == "primary"
    sent = {r.headers["authorization"] for r in fakes["openai"].received}
    assert sent == {"Bearer sk-primary-one-1111", "Bearer sk-primary-two-2222"}  # rotated
    fakes["openai"].fail(401)
    revoked = None
    for _ in range(2):
        response = await _post(base_url, CHAT)
        if response.headers["x-routerd-provider"] == "backup":
            revoked = fakes["openai"].received[-1].headers["authorization"]
    assert revoked is not None
    fakes["openai"].received.clear()
    for _ in range(4):
        assert (await _post(base_url, CHAT)).headers["x-routerd-provider"] == "primary"
    assert {r.headers["authorization"] for r in fakes["openai"].received} == sent - {revoked}
    _settled(daemon)


async def test_a_client_bad_request_neither_falls_back_nor_trips_a_breaker(daemon, fakes, base_url):
    """A 400 that is the client's own error is returned as it is; nothing else is tried."""
    import openai

    fakes["openai"].fail(400, {"error": {"message": "messages: field required", "type": "invalid_request_error"}})
    async with openai.AsyncOpenAI(base_url=base_url + "/v1", api_key="x", max_retries=0) as client:
        with pytest.raises(openai.BadRequestError) as raised:
            await client.chat.completions.create(**CHAT)
    assert "field required" in raised.value.message
    assert _received(fakes["backup"]) == 0
    breaker = daemon.resilience.health.breaker("primary")
    assert breaker.state == "closed" and breaker.failures == 0
    _settled(daemon)


@pytest.mark.resilience_config('[gateway]\nretry_backoff_s = 0\n[gateway.fallbacks]\n'
                               '"claude-haiku-4-5" = ["claude-3-5-haiku", "claude-sonnet-4-6"]\n')
async def test_context_too_long_moves_to_a_larger_window(daemon, fakes, base_url):
    """A prompt too long for a 200k model skips the fallback with the same window and goes to
    the 1M one."""
    fakes["anthropic"].fail(400, {"type": "error", "error": {
        "type": "invalid_request_error", "message": "prompt is too long: 250000 tokens > 200000 maximum"}})
    response = await _post(base_url, MESSAGES, "/v1/messages")
    assert response.status_code == 200
    assert [r.json["model"] for r in fakes["anthropic"].received] == ["claude-haiku-4-5", "claude-sonnet-4-6"]
    _settled(daemon)


@pytest.mark.resilience_config("[resilience]\nmax_in_flight = 1\nlocal_last_resort = false\n")
async def test_beyond_the_in_flight_bound_the_answer_is_429_with_retry_after_at_once(daemon, fakes, base_url):
    """With one request in flight and a bound of one, the next gets 429 with Retry-After in its
    own dialect (the Anthropic client's RateLimitError) instead of waiting."""
    import anthropic

    fakes["anthropic"].hold()
    async with httpx.AsyncClient(timeout=10) as http, anyio.create_task_group() as tg:
        async def first() -> None:
            async with http.stream("POST", base_url + "/v1/messages", json={**MESSAGES, "stream": True}) as r:
                async for _ in r.aiter_bytes():
                    pass

        tg.start_soon(first)
        await fakes["anthropic"].holding.wait()
        async with anthropic.AsyncAnthropic(base_url=base_url, api_key="x", max_retries=0) as client:
            with pytest.raises(anthropic.RateLimitError) as raised:
                await client.messages.create(**MESSAGES)
        fakes["anthropic"].release.set()
    assert raised.value.response.headers["retry-after"] == "1"
    assert "in flight" in raised.value.message
    assert daemon.resilience.inflight.statistics().refused == 1
    _settled(daemon)


@pytest.mark.resilience_config("[resilience]\nlocal_last_resort = true\n")
async def test_the_local_model_serves_when_every_paid_candidate_is_down(daemon, fakes, base_url):
    """Primary and backup both failing (the backup, the last paid candidate, through its retry):
    the configured local provider answers as the last resort."""
    fakes["openai"].fail(500)
    fakes["backup"].fail(502)
    fakes["backup"].fail(503)
    response = await _post(base_url, CHAT)
    assert response.status_code == 200 and response.headers["x-routerd-provider"] == "local"
    assert fakes["gemini"].received[-1].json["model"] == "qwen-local"
    assert [p for p, _ in await _rows(daemon)] == ["primary", "backup", "backup", "local"]
    _settled(daemon)


@pytest.mark.resilience_config('[gateway]\nretry_backoff_s = 0\n[gateway.aliases.team]\n'
                               'targets = ["primary/gpt-4o", "backup/gpt-4o"]\nstrategy = "weighted"\n'
                               'weights = [3, 1]\nmatch = ["claude-sonnet-*"]\n')
async def test_an_alias_balances_by_weight_and_takes_claude_code_model_names(daemon, fakes, base_url):
    """A weighted alias spreads calls 3:1, interleaved rather than in runs, and a Claude Code
    model name its ``match`` takes is served by it."""
    order = [(await _post(base_url, {**CHAT, "model": "team"})).headers["x-routerd-provider"] for _ in range(8)]
    assert order.count("primary") == 6 and order.count("backup") == 2
    assert order[:4].count("backup") == 1
    moved = await _post(base_url, {**MESSAGES, "model": "claude-sonnet-4-6"}, "/v1/messages")
    assert moved.status_code == 200 and moved.headers["x-routerd-provider"] in ("primary", "backup")
    _settled(daemon)


@pytest.mark.resilience_config('[[limits]]\nprovider = "primary"\nwindow = "month"\nrequests = 3\n')
async def test_a_bucket_under_32_concurrent_requests_overshoots_nothing(daemon, fakes, base_url):
    """32 requests at once against a limit of 3 per month: exactly 3 reach the primary (one that
    timed out on a busy machine counts too), every request is answered, and the bucket shows 3
    used."""
    answers: list[str] = []

    async def one() -> None:
        answers.append((await _post(base_url, CHAT)).headers["x-routerd-provider"])

    async with anyio.create_task_group() as tg:
        for _ in range(32):
            tg.start_soon(one)
    assert len(answers) == 32 and answers.count("primary") <= 3
    assert _received(fakes["openai"]) == 3
    health = await _routerctl("health")
    assert "bucket primary/requests/month" in health and "3 used + 0 reserved of 3" in health
    _settled(daemon)


@pytest.mark.resilience_config("[resilience]\nlocal_last_resort = false\n[resilience.cooldowns]\nrate_limited_s = 0\n")
async def test_limits_in_a_providers_headers_become_a_bucket(daemon, fakes, base_url):
    """A 429 whose rate-limit headers say none of 10 requests remain for a minute fills a learned
    bucket: with no cool-down of its own, the primary is still left alone, and health shows it."""
    fakes["openai"].fail(429, headers={"x-ratelimit-limit-requests": "10", "x-ratelimit-remaining-requests": "0",
                                       "x-ratelimit-reset-requests": "1m0s"})
    for _ in range(3):
        assert (await _post(base_url, CHAT)).headers["x-routerd-provider"] == "backup"
    assert _received(fakes["openai"]) == 1
    health = await _routerctl("health")
    assert "bucket primary[gpt-4o]@api_key/requests/learned" in health and "of 10" in health
    _settled(daemon)


@pytest.mark.resilience_config('[[limits]]\nprovider = "primary"\nwindow = "month"\nrequests = 1\n',
                                primary_timeout_s=0.5)
async def test_an_attempt_that_timed_out_still_counts_against_the_bucket(daemon, fakes, base_url):
    """A call that timed out may have reached the provider: it keeps its place in the bucket, so
    the next request is not sent to the primary at all."""
    fakes["openai"].hang()
    for _ in range(2):
        assert (await _post(base_url, CHAT)).headers["x-routerd-provider"] == "backup"
    assert _received(fakes["openai"]) == 1
    _settled(daemon)
