"""The daemon's resilience state as a whole: signals, reloads, resets, in-flight bounds."""

from routerd.config import parse_config
from routerd.resilience.board import Resilience
from routerd.resilience.health import Ticket
from routerd.resilience.inflight import InFlight
from routerd.resilience.keys import PoolKey
from routerd.resilience.limits import Reservation, Target

CONFIG = '''
[resilience.breaker]
failures = 2
cooldown_s = 10

[[limits]]
provider = "openai"
key = "each"
requests = 2

[gateway.aliases.pool]
targets = ["openai/gpt-4o", "anthropic/claude"]
strategy = "quota-aware"
'''
KEYS = {"openai": [PoolKey.of("A", "sk-a"), PoolKey.of("B", "sk-b")], "anthropic": []}


def test_signals_read_health_headroom_load_and_speed():
    """A target's signals come from its breakers, its best key's buckets, calls in flight and TTFT."""
    board = Resilience(parse_config(CONFIG), KEYS)
    target = Target("openai", "gpt-4o", "A")
    assert isinstance(board.limiter.reserve(target, {"requests": 1}, 0), Reservation)
    assert board.signals("openai", "gpt-4o", 0).headroom == 1.0       # key B is untouched
    board.limiter.reserve(Target("openai", "gpt-4o", "B"), {"requests": 1}, 0)
    assert board.signals("openai", "gpt-4o", 0).headroom == 0.5
    board.inflight.acquire("openai", "gpt-4o")
    board.latency.observe("openai/gpt-4o", 0.25)
    signals = board.signals("openai", "gpt-4o", 0)
    assert signals.in_flight == 1 and signals.ttft_s == 0.25 and signals.health == 1.0
    for label in ("A", "B"):
        board.pools["openai"].take_out(label, 401, 60, 0)
    assert board.signals("openai", "gpt-4o", 1).health == 0.0


def test_the_alias_prefers_the_member_with_quota_left():
    """quota-aware sends the next call to the member whose buckets have room."""
    board = Resilience(parse_config(CONFIG), KEYS)
    for key in ("A", "B"):
        for _ in range(2):
            board.limiter.reserve(Target("openai", "gpt-4o", key), {"requests": 1}, 0)
    resolve = lambda member: [tuple(member.split("/"))]  # noqa: E731
    order = board.aliases.expand("pool", resolve, lambda t: board.signals(*t, 0))
    assert order == [("anthropic", "claude"), ("openai", "gpt-4o")]


def test_a_reload_keeps_state_and_reset_brings_everything_back():
    """reconfigure keeps open breakers, counts and keys out; reset closes and restores them."""
    board = Resilience(parse_config(CONFIG), KEYS)
    for _ in range(2):
        board.health.admit("openai", "gpt-4o", 0).failed(0, "HTTP 500")
    board.pools["openai"].take_out("A", 401, 3600, 0)
    board.limiter.reserve(Target("openai", "gpt-4o", "B"), {"requests": 1}, 0).settle({})
    board.reconfigure(parse_config(CONFIG.replace("failures = 2", "failures = 7")), KEYS)
    stats = board.statistics(1)
    assert stats.breakers.providers["openai"].state == "open"
    assert [k.state for k in stats.keys["openai"]] == ["out", "in rotation"]
    assert {b.name: b.used for b in stats.buckets}["openai@each/requests/minute|B"] == 1
    assert board.reset("openai") == ["openai", "openai/gpt-4o", "openai key A"]
    assert isinstance(board.health.admit("openai", "gpt-4o", 2), Ticket)
    assert board.reset() == []


def test_in_flight_is_bounded_overall_and_per_provider():
    """Past the overall bound a request is refused; a full provider refuses its next call."""
    gate = InFlight(max_total=2, max_per_provider=1)
    assert gate.admit() and gate.admit() and not gate.admit()
    assert gate.acquire("p", "m") and not gate.acquire("p", "n") and gate.acquire("q", "m")
    assert gate.busy("p", "m") == 1
    gate.release("p", "m")
    gate.done()
    assert gate.admit() and gate.acquire("p", "n")
    stats = gate.statistics()
    assert (stats.requests, stats.peak, stats.refused, stats.provider_refusals) == (2, 2, 1, {"p": 1})


def test_a_provider_is_unavailable_while_open_cooling_or_without_keys():
    """The brain hears a provider is down while its breaker is open, it cools, or no key is in."""
    board = Resilience(parse_config(CONFIG), KEYS)
    assert board.unavailable("openai", 0) is None
    board.health.cool("anthropic", 30, 0, "overloaded", "overloaded")
    assert board.unavailable("anthropic", 10) == ("overloaded", 20)
    for label in ("A", "B"):
        board.pools["openai"].take_out(label, 401, 60, 0)
    why, seconds = board.unavailable("openai", 1)
    assert "answered 401" in why and seconds == 59


def test_the_summary_names_what_is_down_out_and_how_full():
    """routerctl status's lines: open circuits and cool-downs with their reason, keys out, buckets."""
    board = Resilience(parse_config(CONFIG), KEYS)
    for _ in range(2):
        board.health.admit("openai", "gpt-4o", 0).failed(0, "HTTP 500")
    board.health.cool("anthropic/claude", 30, 0, "rate limited by the provider", "rate_limited")
    board.pools["openai"].take_out("A", 401, 60, 0)
    board.limiter.reserve(Target("openai", "gpt-4o", "B"), {"requests": 1}, 0)
    summary = board.summary(1)
    assert "openai: circuit open: 2 failures in a row (last: HTTP 500) (retry in 9 s)" in summary["down"]
    assert "anthropic/claude: rate limited by the provider (retry in 29 s)" in summary["down"]
    assert "openai key A" in summary["keys_out"] and "sk-a" not in str(summary)
    assert summary["buckets"] == "openai@each/requests/minute|B 1/2"
