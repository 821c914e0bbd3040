"""What one attempt holds and what its failure does to breakers, cool-downs, keys and buckets."""

import json

import pytest

from routerd.config import parse_config
from routerd.errors import UpstreamBadResponse, UpstreamRateLimited, UpstreamRejected, UpstreamTimeout, \
    UpstreamUnavailable
from routerd.gateway.guard import Held, admit, classify_failure, verdict_for
from routerd.resilience.board import Resilience
from routerd.resilience.keys import PoolKey
from routerd.resilience.ratelimit_headers import read_limits
from routerd.resilience.refusal import Refusal

CONFIG = parse_config('''
[resilience.breaker]
failures = 2
[resilience.cooldowns]
auth_s = 600
[[limits]]
provider = "p"
window = "minute"
requests = 3
''')


def _board(keys=("A", "B")) -> Resilience:
    return Resilience(CONFIG, {"p": [PoolKey.of(k, f"sk-{k.lower()}-secret") for k in keys], "q": []})


def _error(cls, status, body=None, retry_after=None):
    raw = json.dumps(body or {"error": {"message": "x"}}).encode()
    return cls(f"p: HTTP {status}", status=status, body=raw, retry_after_s=retry_after)


@pytest.mark.parametrize("error, dialect, category", [
    (UpstreamTimeout("p: no answer"), None, "timeout"),
    (UpstreamUnavailable("p: connection refused"), None, "connect_error"),
    (UpstreamBadResponse("p: not JSON", status=200), None, "server_error"),
    (_error(UpstreamUnavailable, 503), "openai_chat", "server_error"),
    (_error(UpstreamRateLimited, 429), "openai_chat", "rate_limited"),
    (_error(UpstreamRejected, 400, {"type": "error", "error": {"type": "invalid_request_error",
                                                               "message": "prompt is too long: 9 > 8"}}),
     "anthropic", "context_too_long"),
    (_error(UpstreamRejected, 401), "openai_chat", "auth"),
])
def test_failures_are_classified(error, dialect, category):
    """Transport failures, statuses and error bodies map to their category."""
    assert classify_failure(error, dialect)[0] == category


def test_admit_holds_all_or_nothing_and_release_gives_it_back():
    """An attempt holds a ticket, a key, a slot and a reservation; release frees them all."""
    board = _board()
    held = admit(board, "p", "m", {"requests": 1}, 0, has_own_key=True)
    assert isinstance(held, Held) and held.key.label in ("A", "B")
    assert board.inflight.busy("p", "m") == 1
    held.release()
    held.release()
    assert board.inflight.busy("p", "m") == 0
    assert board.limiter.headroom(held.target, 0) == 1.0


def test_a_full_bucket_refuses_and_holds_nothing():
    """When a bucket is full, the attempt is refused as rate limited and frees its ticket and slot."""
    board = _board()
    for _ in range(3):
        held = admit(board, "p", "m", {"requests": 1}, 0, True)
        held.settle({})
        held.release()
    refused = admit(board, "p", "m", {"requests": 1}, 0, True)
    assert isinstance(refused, Refusal) and refused.rate_limited and "per minute" in refused.reason
    assert board.inflight.busy("p", "m") == 0


def test_a_rejected_key_leaves_the_rotation_and_the_next_call_takes_another():
    """A 401 takes the key out (logged by label and fingerprint), never trips the breaker."""
    board = _board()
    held = admit(board, "p", "m", {"requests": 1}, 0, True)
    error = _error(UpstreamRejected, 401)
    held.failed(0, verdict_for(board, error, "openai_chat", False), 401, "HTTP 401")
    held.release()
    out = held.key.label
    again = admit(board, "p", "m", {"requests": 1}, 1, True)
    assert again.key.label != out
    stats = {k.label: k for k in board.statistics(1).keys["p"]}
    assert stats[out].state == "out" and "answered 401" in stats[out].status
    assert board.health.breaker("p").consecutive == 0
    again.release()
    assert isinstance(admit(board, "p", "m", {}, 2, True), Held)
    pool = board.pools["p"]
    pool.take_out(again.key.label, 403, 600, 2)
    refused = admit(board, "p", "m", {}, 3, True)
    assert isinstance(refused, Refusal) and "answered" in refused.reason


def test_the_clients_own_credentials_refused_change_nothing():
    """A 401 on a keyless provider (the client's key) cools nothing and trips nothing."""
    board = _board()
    held = admit(board, "q", "m", {}, 0, has_own_key=False)
    verdict = verdict_for(board, _error(UpstreamRejected, 401), "openai_chat", client_credentials=True)
    assert not verdict.action.fall_back
    held.failed(0, verdict, 401, "HTTP 401")
    held.release()
    assert isinstance(admit(board, "q", "m", {}, 0, False), Held)


def test_a_429_cools_the_model_on_one_key_or_the_model_itself():
    """With several keys a 429 cools that key for that model; with one key, the model."""
    board = _board()
    held = admit(board, "p", "m", {}, 0, True)
    held.failed(0, verdict_for(board, _error(UpstreamRateLimited, 429, retry_after=30), "openai_chat", False),
                429, "HTTP 429")
    held.release()
    other = admit(board, "p", "m", {}, 1, True)
    assert isinstance(other, Held) and other.key != held.key
    other.release()
    single = _board(keys=("A",))
    held = admit(single, "p", "m", {}, 0, True)
    held.failed(0, verdict_for(single, _error(UpstreamRateLimited, 429, retry_after=30), "openai_chat", False),
                429, "HTTP 429")
    held.release()
    refused = admit(single, "p", "m", {}, 1, True)
    assert isinstance(refused, Refusal) and refused.rate_limited and refused.retry_in_s == 29
    assert isinstance(admit(single, "p", "other", {}, 1, True), Held)


def test_faults_trip_the_breaker_and_a_half_open_probe_is_freed_by_release():
    """Two 500s open the provider; after the cool-down one probe goes; releasing it frees it."""
    board = _board()
    for n in range(2):
        held = admit(board, "p", "m", {}, n, True)
        held.failed(n, verdict_for(board, _error(UpstreamUnavailable, 500), "openai_chat", False), 500, "HTTP 500")
        held.release()
    assert isinstance(admit(board, "p", "m", {}, 5, True), Refusal)
    probe = admit(board, "p", "m", {}, 31, True)
    assert isinstance(probe, Held) and probe.ticket.is_probe
    probe.release()                           # cancelled: no verdict
    again = admit(board, "p", "m", {}, 31, True)
    assert isinstance(again, Held)
    again.succeeded(32, ttft_s=0.2)
    again.release()
    assert board.health.breaker("p").state == "closed"
    assert board.latency.get("p/m") == 0.2


def test_rate_limit_headers_feed_the_learned_buckets():
    """An answer's x-ratelimit headers limit the next calls to that target."""
    board = _board(keys=("A",))
    held = admit(board, "p", "m", {"requests": 1}, 0, True)
    held.learn(read_limits([(b"x-ratelimit-limit-requests", b"10"), (b"x-ratelimit-remaining-requests", b"0"),
                            (b"x-ratelimit-reset-requests", b"20s")], 0), 0)
    held.succeeded(0)
    held.settle({"requests": 1})
    held.release()
    refused = admit(board, "p", "m", {"requests": 1}, 0, True)
    assert isinstance(refused, Refusal) and "reported by the provider" in refused.reason
