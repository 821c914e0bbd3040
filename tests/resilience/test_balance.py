"""Balancing strategies, aliases and key pools."""

from collections import Counter

import pytest

from routerd.resilience.aliases import Alias, AliasTable
from routerd.resilience.balance import Balancer, Latency, Signals
from routerd.resilience.keys import KeyPool, PoolKey, fingerprint

OK = Signals()
DOWN = Signals(health=0.0)


def _firsts(balancer: Balancer, signals, n: int) -> list[int]:
    return [balancer.order(signals)[0] for _ in range(n)]


def test_weighted_interleaves_like_nginx():
    """Weights 5, 1, 1 give a a b a c a a: smooth, never a run of b or c, exact shares."""
    balancer = Balancer("weighted", [5, 1, 1])
    assert _firsts(balancer, [OK] * 3, 7) == [0, 0, 1, 0, 2, 0, 0]
    shares = Counter(_firsts(balancer, [OK] * 3, 700))
    assert shares == {0: 500, 1: 100, 2: 100}


def test_weighted_3_to_1_alternates_rather_than_running():
    """Weights 3, 1: the light member comes once in every four, never two in a row."""
    picks = _firsts(Balancer("weighted", [3, 1]), [OK, OK], 40)
    assert picks.count(1) == 10 and all(not (a == b == 1) for a, b in zip(picks, picks[1:]))
    assert max(len(run) for run in "".join(map(str, picks)).split("1")) <= 3


def test_members_that_cannot_take_calls_go_last_in_every_strategy():
    """An open or cooling member is never first, but stays listed for dispatch to name."""
    for strategy in ("ordered", "round-robin", "weighted", "quota-aware", "least-busy", "latency", "auto"):
        order = Balancer(strategy, [1, 1, 1]).order([DOWN, OK, OK])
        assert order[0] != 0 and order[-1] == 0 and sorted(order) == [0, 1, 2], strategy


def test_ordered_and_round_robin():
    """ordered keeps the list; round-robin starts one further along each call."""
    assert _firsts(Balancer("ordered", [1, 1, 1]), [OK] * 3, 4) == [0, 0, 0, 0]
    balancer = Balancer("round-robin", [1, 1, 1])
    assert [balancer.order([OK] * 3) for _ in range(3)] == [[0, 1, 2], [1, 2, 0], [2, 0, 1]]


def test_quota_aware_follows_headroom():
    """A member with a quarter of its quota left gets a quarter of an equal member's share; none
    left, none at all (until every member is out, when the list order stands)."""
    balancer = Balancer("quota-aware", [1, 1])
    shares = Counter(_firsts(balancer, [Signals(headroom=1.0), Signals(headroom=0.25)], 500))
    assert shares == {0: 400, 1: 100}
    assert set(_firsts(balancer, [Signals(headroom=0.0), OK], 20)) == {1}
    assert balancer.order([Signals(headroom=0.0), Signals(headroom=0.0)]) == [0, 1]


def test_least_busy_and_latency():
    """least-busy takes the fewest in flight per weight; latency the fastest, unmeasured first."""
    busy = Balancer("least-busy", [1, 2, 1])
    assert busy.order([Signals(in_flight=3), Signals(in_flight=4), Signals(in_flight=1)]) == [2, 1, 0]
    fast = Balancer("latency", [1, 1, 1])
    assert fast.order([Signals(ttft_s=0.4), Signals(ttft_s=0.1), Signals(ttft_s=None)]) == [2, 1, 0]


def test_auto_weighs_speed_load_and_quota_without_starving_anyone():
    """auto sends most calls to the member better on every signal, yet not all of them."""
    balancer = Balancer("auto", [1, 1])
    good, worse = Signals(ttft_s=0.1, headroom=1.0), Signals(ttft_s=0.3, headroom=0.5)
    shares = Counter(_firsts(balancer, [good, worse], 700))
    assert shares[0] == 600 and shares[1] == 100                     # 1 : 1/6
    busy = Counter(_firsts(balancer, [Signals(in_flight=5), OK], 70))
    assert busy[1] == 60


def test_latency_is_an_exponential_moving_average():
    """New samples move the average by alpha of the difference."""
    latency = Latency(alpha=0.5)
    latency.observe("a", 1.0)
    latency.observe("a", 0.0)
    assert latency.get("a") == 0.5 and latency.get("b") is None
    assert latency.statistics() == {"a": 500.0}


def _resolve(member: str) -> list[str]:
    served = {"gpt-4o": ["openai/gpt-4o", "azure/gpt-4o"]}
    return served.get(member, [member] if "/" in member else [])


def test_an_alias_expands_to_concrete_targets_with_nested_aliases_in_place():
    """Members resolve in the balancer's order; a nested alias and a multi-provider model expand
    in place; each concrete target appears once."""
    table = AliasTable({
        "pool": Alias("pool", ("gpt-4o", "cheap", "openai/gpt-4o"), "ordered"),
        "cheap": Alias("cheap", ("groq/llama", "deepseek/chat"), "round-robin", (1, 1)),
    })
    signals = lambda target: OK  # noqa: E731
    assert table.expand("pool", _resolve, signals) == ["openai/gpt-4o", "azure/gpt-4o", "groq/llama",
                                                        "deepseek/chat"]
    assert table.expand("pool", _resolve, signals)[2:] == ["deepseek/chat", "groq/llama"]


def test_an_unhealthy_member_is_tried_last():
    """When a member's first target is down, the alias puts the member after the others."""
    table = AliasTable({"pool": Alias("pool", ("a/x", "b/y"), "ordered", (1, 1))})
    order = table.expand("pool", _resolve, lambda t: DOWN if t == "a/x" else OK)
    assert order == ["b/y", "a/x"]


def test_match_globs_make_claude_codes_names_mean_an_alias():
    """An alias whose match globs take Claude Code's model ids is found by those ids."""
    table = AliasTable({"sonnet-pool": Alias("sonnet-pool", ("a/x",), match=("claude-sonnet-*",))})
    assert table.lookup("claude-sonnet-4-5-20250929").name == "sonnet-pool"
    assert table.lookup("sonnet-pool").name == "sonnet-pool"
    assert table.lookup("claude-opus-4") is None


def test_a_reload_keeps_the_turn_of_unchanged_aliases():
    """An alias defined the same way keeps its balancer; a changed one starts afresh."""
    first = AliasTable({"a": Alias("a", ("p/1", "p/2"), "round-robin", (1, 1)),
                        "b": Alias("b", ("p/1", "p/2"), "round-robin", (1, 1))})
    first.expand("a", _resolve, lambda t: OK)
    first.expand("b", _resolve, lambda t: OK)
    second = AliasTable({"a": Alias("a", ("p/1", "p/2"), "round-robin", (1, 1)),
                         "b": Alias("b", ("p/2", "p/1"), "round-robin", (1, 1))}, previous=first)
    assert second.expand("a", _resolve, lambda t: OK)[0] == "p/2"
    assert second.expand("b", _resolve, lambda t: OK)[0] == "p/2"
    assert second.statistics()["a"] == {"p/1": 1, "p/2": 1}


def _pool() -> KeyPool:
    return KeyPool("openai", [PoolKey.of("KEY_A", "sk-aaaa"), PoolKey.of("KEY_B", "sk-bbbb"),
                              PoolKey.of("KEY_C", "sk-cccc")])


def test_keys_rotate_by_headroom_and_take_turns_when_equal():
    """The key with most headroom is chosen; equal keys share the calls evenly."""
    pool = _pool()
    room = {"KEY_A": 0.2, "KEY_B": 0.9, "KEY_C": 0.5}
    assert pool.choose("m", 0, room.__getitem__).label == "KEY_B"
    picks = Counter(pool.choose("m", 0, lambda label: 1.0).label for _ in range(30))
    assert picks == {"KEY_A": 10, "KEY_B": 10, "KEY_C": 10}


def test_a_refused_key_is_taken_out_with_a_status_line_that_never_shows_it():
    """401 takes the key out until its cool-down or a reset; the line names label and fingerprint."""
    pool = _pool()
    line = pool.take_out("KEY_B", 401, 3600, 0, "invalid x-api-key")
    assert "KEY_B" in line and fingerprint("sk-bbbb") in line and "sk-bbbb" not in line
    assert "answered 401" in line and "routerctl breaker reset openai" in line
    assert {pool.choose("m", 10, lambda label: 1.0).label for _ in range(20)} == {"KEY_A", "KEY_C"}
    stats = {s.label: s for s in pool.statistics(10)}
    assert stats["KEY_B"].state == "out" and stats["KEY_B"].status == line
    assert "sk-" not in repr(pool.keys) and "sk-" not in repr(pool.statistics(10))
    assert pool.reset() == ["KEY_B"] and pool.statistics(10)[1].state == "in rotation"


def test_a_rate_limited_key_cools_for_that_model_only():
    """A 429 on one key and model leaves that key for other models and other keys for the model."""
    pool = KeyPool("openai", [PoolKey.of("KEY_A", "sk-aaaa"), PoolKey.of("KEY_B", "sk-bbbb")])
    pool.cool("KEY_A", "gpt-4o", 30, 0, "rate limited")
    assert {pool.choose("gpt-4o", 1, lambda label: 1.0).label for _ in range(4)} == {"KEY_B"}
    assert {pool.choose("o3", 1, lambda label: 1.0).label for _ in range(4)} == {"KEY_A", "KEY_B"}
    pool.cool("KEY_B", None, 10, 0, "rate limited")
    assert pool.choose("gpt-4o", 1, lambda label: 1.0) is None
    why, seconds = pool.unavailable("gpt-4o", 1)
    assert seconds == 9 and "rate limited" in why
    assert pool.choose("gpt-4o", 10, lambda label: 1.0).label == "KEY_B"


def test_a_reload_keeps_the_state_of_the_same_keys():
    """A key still configured stays out after a reload; a replaced key comes in fresh."""
    old = _pool()
    old.take_out("KEY_A", 401, 3600, 0)
    old.take_out("KEY_B", 403, 3600, 0)
    new = KeyPool("openai", [PoolKey.of("KEY_A", "sk-aaaa"), PoolKey.of("KEY_B", "sk-new")])
    new.carry_from(old)
    assert [s.state for s in new.statistics(1)] == ["out", "in rotation"]


@pytest.mark.parametrize("secret", ["sk-ant-api03-xyz", "AIzaSyD-123"])
def test_fingerprints_are_short_and_one_way(secret):
    """A fingerprint is sha256: plus 8 hex digits and contains no part of the key."""
    fp = fingerprint(secret)
    assert fp.startswith("sha256:") and len(fp) == 15 and secret[-4:] not in fp
