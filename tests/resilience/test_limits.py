"""Rate-limit buckets: windows, reserve-then-settle, learned limits, snapshots."""

import math
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings, strategies as st

from routerd.resilience import windows
from routerd.resilience.limiter import Limiter, Observation
from routerd.resilience.limits import EACH_KEY, Bucket, Reservation, Scope, Target
from routerd.resilience.refusal import Refusal
from routerd.resilience.ratelimit_headers import MAX_RESET_S, read_limits, reset_time

BERLIN = ZoneInfo("Europe/Berlin")
T = Target("openai", "gpt-4o", "KEY_A")


def _at(text: str, tz=BERLIN) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=tz).timestamp()


def test_windows_on_the_clock_and_the_calendar():
    """Seconds and minutes from the epoch; hours, days, weeks, months on the local calendar."""
    assert windows.bounds("second", 12.7) == (12.0, 13.0)
    assert windows.bounds("minute", 125.0) == (120.0, 180.0)
    india = ZoneInfo("Asia/Kolkata")
    start, end = windows.bounds("hour", _at("2025-03-05T10:47:00", india), india)
    assert (start, end) == (_at("2025-03-05T10:00:00", india), _at("2025-03-05T11:00:00", india))
    now = _at("2025-03-05T10:47:00")                   # a Wednesday
    assert windows.bounds("day", now, BERLIN) == (_at("2025-03-05T00:00:00"), _at("2025-03-06T00:00:00"))
    assert windows.bounds("week", now, BERLIN) == (_at("2025-03-03T00:00:00"), _at("2025-03-10T00:00:00"))
    assert windows.bounds("month", now, BERLIN) == (_at("2025-03-01T00:00:00"), _at("2025-04-01T00:00:00"))
    december = _at("2025-12-31T23:59:59")
    assert windows.bounds("month", december, BERLIN)[1] == _at("2026-01-01T00:00:00")


def test_a_day_across_a_daylight_saving_change_is_23_hours():
    """The day clocks go forward lasts 23 hours; its window ends at the next local midnight."""
    start, end = windows.bounds("day", _at("2024-03-31T12:00:00"), BERLIN)
    assert end - start == 23 * 3600
    start, end = windows.bounds("day", _at("2024-10-27T12:00:00"), BERLIN)
    assert end - start == 25 * 3600


def test_system_local_time_by_default():
    """With no zone given, calendar windows follow the system's local time."""
    now = 1_700_000_000.0
    start, end = windows.bounds("day", now)
    local = datetime.fromtimestamp(now)
    assert datetime.fromtimestamp(start) == local.replace(hour=0, minute=0, second=0, microsecond=0)
    assert start <= now < end


def _limiter(*buckets: Bucket) -> Limiter:
    return Limiter(buckets)


def test_reserve_counts_at_once_and_settle_replaces_the_estimate():
    """Reserved amounts hold room until settled; settling charges what was really used."""
    tokens = Bucket(Scope("openai"), "tokens", 1000, "minute")
    limiter = _limiter(tokens)
    first = limiter.reserve(T, {"tokens": 600}, 0)
    assert isinstance(first, Reservation)
    denied = limiter.reserve(T, {"tokens": 600}, 1)
    assert isinstance(denied, Refusal) and denied.retry_in_s == 1     # when calls in flight settle
    first.settle({"tokens": 250})
    first.settle({"tokens": 999})                      # only the first end counts
    assert tokens.used == 250 and tokens.reserved == 0
    second = limiter.reserve(T, {"tokens": 600}, 2)
    assert isinstance(second, Reservation)
    second.settle({"tokens": 600})
    denied = limiter.reserve(T, {"tokens": 600}, 3)
    assert isinstance(denied, Refusal) and denied.retry_in_s == 57    # when the window ends
    assert "tokens limit of 1000 per minute reached" in denied.describe()


def test_all_or_nothing_across_buckets():
    """When one covering bucket refuses, no other bucket keeps any of the reservation."""
    requests = Bucket(Scope("openai"), "requests", 100, "minute")
    tokens = Bucket(Scope("openai", ("gpt-4o*",)), "tokens", 500, "minute")
    other = Bucket(Scope("openai", ("o3",)), "tokens", 10, "minute")
    limiter = _limiter(requests, tokens, other)
    assert limiter.covering(T) == (requests, tokens)
    assert isinstance(limiter.reserve(T, {"requests": 1, "tokens": 400}, 0), Reservation)
    assert isinstance(limiter.reserve(T, {"requests": 1, "tokens": 400}, 0), Refusal)
    assert requests.reserved == 1 and tokens.reserved == 400


def test_a_call_larger_than_the_limit_is_refused_for_good():
    """A single call over the whole limit is told waiting will not help."""
    limiter = _limiter(Bucket(Scope("openai"), "tokens", 1000, "minute"))
    denied = limiter.reserve(T, {"tokens": 5000}, 0)
    assert isinstance(denied, Refusal) and denied.never and math.isinf(denied.retry_in_s)


def test_a_reservation_belongs_to_its_window():
    """Settling after the window ended charges nothing to the new one."""
    bucket = Bucket(Scope("openai"), "requests", 2, "minute")
    limiter = _limiter(bucket)
    late = limiter.reserve(T, {"requests": 1}, 59)
    assert isinstance(limiter.reserve(T, {"requests": 1}, 60), Reservation)
    late.settle({"requests": 1})
    assert bucket.used == 0 and bucket.reserved == 1
    cancelled = limiter.reserve(T, {"requests": 1}, 61)
    cancelled.cancel()
    assert bucket.reserved == 1 and bucket.used == 0


def test_one_bucket_per_key_when_the_scope_says_each():
    """A per-key limit gives each key its own bucket; keys do not share the count."""
    limiter = _limiter(Bucket(Scope("openai", key=EACH_KEY), "requests", 1, "minute"))
    a, b = Target("openai", "gpt-4o", "A"), Target("openai", "gpt-4o", "B")
    assert isinstance(limiter.reserve(a, {"requests": 1}, 0), Reservation)
    assert isinstance(limiter.reserve(a, {"requests": 1}, 0), Refusal)
    assert isinstance(limiter.reserve(b, {"requests": 1}, 0), Reservation)
    assert limiter.headroom(a, 0) == 0 and limiter.headroom(b, 0) == 0
    assert limiter.headroom(Target("openai", "gpt-4o", "C"), 0) == 1.0


def test_learned_limits_refill_linearly_until_their_reset():
    """A provider's remaining allowance holds calls back, and comes back as it refills."""
    limiter = Limiter()
    limiter.learn(T, [Observation("requests", 100, 0, reset_at=1010)], now=1000)
    denied = limiter.reserve(T, {"requests": 1}, 1000)
    assert isinstance(denied, Refusal) and "reported by the provider" in denied.reason
    assert denied.retry_in_s == pytest.approx(0.1)
    assert limiter.headroom(T, 1005) == pytest.approx(0.5)
    held = [limiter.reserve(T, {"requests": 1}, 1005) for _ in range(60)]
    assert sum(isinstance(h, Reservation) for h in held) == 50
    assert limiter.headroom(T, 1011) == 0.5          # refilled; the 50 in flight still count
    for reservation in held[:50]:
        reservation.settle({"requests": 1})
    assert limiter.headroom(T, 1011) == 1.0          # and nothing more until the next answer
    other = Target("openai", "gpt-4o-mini", "KEY_A")
    assert limiter.headroom(other, 1000) == 1.0      # learned for this target only


def test_snapshot_and_restore_keep_long_windows_across_a_restart():
    """A day's count survives a restart in the same day; a minute's is not kept; a stale day is dropped."""
    def fresh():
        return _limiter(Bucket(Scope("openai"), "requests", 1000, "day", BERLIN),
                        Bucket(Scope("openai"), "requests", 10, "minute"),
                        Bucket(Scope("openai", key=EACH_KEY), "tokens", 10**6, "month", BERLIN))
    now = _at("2025-03-05T10:00:00")
    before = fresh()
    for _ in range(7):
        before.reserve(T, {"requests": 1, "tokens": 100}, now).settle({"tokens": 90})
    saved = before.snapshot(now + 1)
    assert sorted(s.name for s in saved) == ["openai/requests/day", "openai@each/tokens/month|KEY_A"]
    after = fresh()
    assert after.restore(saved, now + 60) == 2
    stats = {s.name: s for s in after.statistics(now + 60)}
    assert stats["openai/requests/day"].used == 7 and stats["openai/requests/minute"].used == 0
    assert stats["openai@each/tokens/month|KEY_A"].used == 630
    tomorrow = fresh()
    assert tomorrow.restore(saved, _at("2025-03-06T00:00:01")) == 1   # the month still holds


def test_a_reload_keeps_the_counts_of_unchanged_buckets():
    """Replacing the buckets keeps those with the same scope, metric and window, with new limits."""
    old = Bucket(Scope("openai"), "requests", 10, "minute")
    limiter = _limiter(old)
    held = limiter.reserve(T, {"requests": 1}, 0)
    limiter.replace([Bucket(Scope("openai"), "requests", 20, "minute"),
                     Bucket(Scope("openai"), "tokens", 100, "minute")])
    assert old.limit == 20 and len(limiter.covering(T)) == 2
    held.settle({"requests": 1})
    assert old.used == 1 and old.reserved == 0


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 31), st.sampled_from(["reserve", "settle", "cancel"]),
                          st.integers(1, 400), st.floats(0, 1)), min_size=1, max_size=300),
       st.integers(1, 5))
def test_concurrent_calls_never_overshoot(steps, seconds_per_step):
    """32 callers reserving and settling in any interleaving never charge a window past its limit
    (requests exactly; tokens whenever the estimate bounds the real use)."""
    requests = Bucket(Scope("p"), "requests", 20, "minute")
    tokens = Bucket(Scope("p"), "tokens", 3000, "minute")
    limiter = _limiter(requests, tokens)
    target = Target("p", "m")
    held: dict[int, Reservation] = {}
    charged: dict[tuple[str, float], float] = {}
    for n, (caller, op, estimate, share) in enumerate(steps):
        now = n * seconds_per_step / 10
        if op == "reserve" and caller not in held:
            got = limiter.reserve(target, {"requests": 1, "tokens": estimate}, now)
            if isinstance(got, Reservation):
                held[caller] = got
        elif caller in held:
            reservation = held.pop(caller)
            if op == "settle":
                reservation.settle({"requests": 1, "tokens": int(reservation.amounts["tokens"] * share)})
            else:
                reservation.cancel()
        for bucket in (requests, tokens):
            bucket.roll(now)
            assert bucket.used + bucket.reserved <= bucket.limit
            charged[(bucket.metric, bucket.start)] = bucket.used
    assert all(v <= (20 if metric == "requests" else 3000) for (metric, _), v in charged.items())


def test_rate_limit_headers_of_each_provider():
    """Anthropic's RFC 3339 resets, OpenAI's durations and OpenRouter's epoch milliseconds."""
    now = 1_755_780_000.0
    anthropic = [(b"anthropic-ratelimit-requests-limit", b"1000"),
                 (b"anthropic-ratelimit-requests-remaining", b"999"),
                 (b"anthropic-ratelimit-requests-reset", b"2025-08-21T12:40:59Z"),
                 (b"anthropic-ratelimit-input-tokens-limit", b"80000"),
                 (b"anthropic-ratelimit-input-tokens-remaining", b"70000"),
                 (b"anthropic-ratelimit-input-tokens-reset", b"2025-08-21T12:41:00Z"),
                 (b"anthropic-ratelimit-output-tokens-limit", b"16000"),   # no remaining: skipped
                 (b"content-type", b"application/json")]
    seen = {o.metric: o for o in read_limits(anthropic, now)}
    assert set(seen) == {"requests", "input_tokens"}
    assert seen["requests"] == Observation("requests", 1000, 999, datetime.fromisoformat(
        "2025-08-21T12:40:59+00:00").timestamp())
    openai = [(b"X-RateLimit-Limit-Requests", b"5000"), (b"x-ratelimit-remaining-requests", b"4999"),
              (b"x-ratelimit-reset-requests", b"12ms"), (b"x-ratelimit-limit-tokens", b"160000"),
              (b"x-ratelimit-remaining-tokens", b"159976"), (b"x-ratelimit-reset-tokens", b"6m0.5s")]
    seen = {o.metric: o for o in read_limits(openai, now)}
    assert seen["requests"].reset_at == pytest.approx(now + 0.012)
    assert seen["tokens"].reset_at == pytest.approx(now + 360.5) and seen["tokens"].remaining == 159976
    openrouter = [(b"x-ratelimit-limit", b"20"), (b"x-ratelimit-remaining", b"19"),
                  (b"x-ratelimit-reset", b"1755780060000")]
    assert read_limits(openrouter, now) == [Observation("requests", 20, 19, now + 60)]


def test_rate_limit_headers_that_are_no_numbers_or_too_far_are_not_learned():
    """inf and nan are no limit, remaining or reset; a reset is at most MAX_RESET_S ahead."""
    now = 1_755_780_000.0
    odd = [(b"x-ratelimit-limit-requests", b"inf"), (b"x-ratelimit-remaining-requests", b"nan"),
           (b"x-ratelimit-reset-requests", b"1s"), (b"x-ratelimit-limit-tokens", b"100"),
           (b"x-ratelimit-remaining-tokens", b"0"), (b"x-ratelimit-reset-tokens", b"99999999999h")]
    assert read_limits(odd, now) == [Observation("tokens", 100, 0, now + MAX_RESET_S)]
    assert reset_time("1e999", now) is None and reset_time("1e308", now) == now + MAX_RESET_S
    assert reset_time("9999-12-31T23:59:59-01:00", now) in (None, now + MAX_RESET_S)


def test_each_vendors_rate_limit_headers_count_only_from_a_provider_of_its_kind():
    """An OpenAI-kind provider's anthropic-ratelimit-* headers are not its limits, and the reverse."""
    now = 1_755_780_000.0
    anthropic = [(b"anthropic-ratelimit-requests-limit", b"10"), (b"anthropic-ratelimit-requests-remaining", b"0"),
                 (b"anthropic-ratelimit-requests-reset", b"2025-08-21T12:40:59Z")]
    openai = [(b"x-ratelimit-limit-requests", b"10"), (b"x-ratelimit-remaining-requests", b"0"),
              (b"x-ratelimit-reset-requests", b"1s")]
    assert read_limits(anthropic, now, "openai") == read_limits(openai, now, "anthropic") == []
    assert len(read_limits(anthropic, now, "anthropic")) == len(read_limits(openai, now, "openai")) == 1


@given(st.lists(st.tuples(st.sampled_from([b"x-ratelimit-limit-tokens", b"x-ratelimit-remaining-tokens",
                                           b"x-ratelimit-reset-tokens", b"anthropic-ratelimit-tokens-reset",
                                           b"anthropic-ratelimit-tokens-limit",
                                           b"anthropic-ratelimit-tokens-remaining"]),
                          st.binary(max_size=24)), max_size=8))
def test_rate_limit_headers_never_raise(headers):
    """Any header values read without an exception; what is read is a sane observation."""
    for seen in read_limits(headers, 1000.0):
        assert 0 <= seen.remaining <= seen.limit and seen.limit > 0


def test_metrics_say_when_tokens_need_estimating():
    """Only a target some bucket counts tokens for needs a token estimate."""
    limiter = _limiter(Bucket(Scope("openai"), "requests", 10, "minute"),
                       Bucket(Scope("openai", ("gpt-4o*",), EACH_KEY), "tokens", 1000, "minute"))
    assert limiter.metrics_for("openai", "gpt-4o") == {"requests", "tokens"}
    assert limiter.metrics_for("openai", "o3") == {"requests"}
    assert limiter.metrics_for("anthropic", "claude") == frozenset()
    limiter.learn(Target("anthropic", "claude", "K"), [Observation("input_tokens", 10, 5, 100)], 0)
    assert limiter.metrics_for("anthropic", "claude") == {"input_tokens"}
