"""Circuit breakers per provider and per model, cool-downs, and the probe tickets."""

from routerd.resilience.breaker import Breaker, BreakerSettings
from routerd.resilience.health import Health, Ticket, endpoint_target
from routerd.resilience.refusal import Refusal

QUICK = BreakerSettings(failures=2, failure_rate=1.0, window=10, min_calls=10, cooldown_s=10,
                        max_cooldown_s=40)


def _health(settings: BreakerSettings = QUICK) -> Health:
    return Health(lambda target: settings)


def test_closed_open_half_open_closed():
    """N failures in a row open it; after the cool-down one probe goes; its success closes it."""
    breaker = Breaker(QUICK)
    assert breaker.allow(0)
    breaker.failure(0, "HTTP 500")
    assert breaker.state == "closed"
    breaker.failure(1, "HTTP 502")
    assert breaker.state == "open" and not breaker.allow(5)
    assert breaker.unavailable_for(5)[0] == "circuit open: 2 failures in a row (last: HTTP 502)"
    assert breaker.allow(11) and breaker.is_probe and breaker.state == "half_open"
    assert not breaker.allow(11)                     # one probe at a time
    breaker.success(12)
    assert breaker.state == "closed" and breaker.allow(12) and breaker.statistics().opened == 1


def test_a_failed_probe_doubles_the_cool_down_up_to_its_cap():
    """Each failed probe reopens for twice as long, never past max_cooldown_s; success resets it."""
    breaker = Breaker(QUICK)
    breaker.failure(0)
    breaker.failure(0)
    waits = []
    now = 0.0
    for _ in range(4):
        now = breaker.retry_at
        assert breaker.allow(now) and breaker.is_probe
        breaker.failure(now, "timeout")
        waits.append(breaker.retry_at - now)
    assert waits == [20, 40, 40, 40]
    assert breaker.unavailable_for(now)[0].startswith("circuit open: its probe call failed")
    assert breaker.allow(breaker.retry_at)
    breaker.success(breaker.retry_at)
    assert breaker.cooldown_s == 10


def test_the_failure_rate_opens_it_without_a_run_of_failures():
    """Half the last calls failing opens it even when failures and successes alternate."""
    breaker = Breaker(BreakerSettings(failures=5, failure_rate=0.5, window=10, min_calls=6))
    for n in range(5):
        (breaker.failure if n % 2 == 0 else breaker.success)(n)
    assert breaker.state == "closed"                 # 3 of 5: not enough calls yet
    breaker.success(5)
    assert breaker.state == "closed"                 # 3 of 6 = 0.5 is reached only by a failure
    breaker.failure(6)
    assert breaker.state == "open"
    assert "of the last 7 calls failed" in breaker.unavailable_for(6)[0]


def test_a_verdict_from_before_the_last_change_moves_nothing():
    """A slow call admitted before the circuit opened neither closes it nor, later, reopens it."""
    breaker = Breaker(QUICK)
    old = breaker.generation
    breaker.failure(0)
    breaker.failure(0)
    breaker.success(1, generation=old)               # started before the outage
    assert breaker.state == "open"
    assert breaker.allow(10)
    breaker.success(10, generation=breaker.generation)
    breaker.failure(11, generation=old)              # a slow failure from before the probe
    assert breaker.state == "closed" and breaker.consecutive == 0
    assert breaker.statistics().calls == 5


def test_the_probe_is_released_on_every_way_out():
    """A probe that ends without a verdict frees half-open for the next caller."""
    health = _health()
    for _ in range(2):
        health.admit("p", "m", 0).failed(0, "HTTP 500")
    assert isinstance(health.admit("p", "m", 5), Refusal)
    ticket = health.admit("p", "m", 10)
    assert isinstance(ticket, Ticket) and ticket.is_probe
    assert isinstance(health.admit("p", "m", 10), Refusal)        # probe in flight
    ticket.released()                                                # cancelled, say
    again = health.admit("p", "m", 10)
    assert isinstance(again, Ticket) and again.is_probe
    again.succeeded(11)
    again.released()                                                 # after a verdict: nothing
    assert health.breaker("p").state == "closed" and health.breaker("p", "m").state == "closed"


def test_a_broken_model_opens_alone_while_the_provider_serves_its_others():
    """Failures on one model open its breaker; the provider stays closed while others succeed."""
    health = _health(BreakerSettings(failures=3, failure_rate=1.0, min_calls=20, cooldown_s=10))
    for n in range(3):
        health.admit("p", "broken", n).failed(n, "HTTP 500")
        health.admit("p", "fine", n).succeeded(n)
    refusal = health.admit("p", "broken", 4)
    assert isinstance(refusal, Refusal) and refusal.target == "p/broken"
    assert isinstance(health.admit("p", "fine", 4), Ticket)
    assert health.breaker("p").state == "closed"


def test_a_provider_down_opens_for_all_its_models():
    """Failures spread over several models open the provider's breaker, refusing every model."""
    health = _health(BreakerSettings(failures=3, failure_rate=1.0, min_calls=20, cooldown_s=10))
    for n, model in enumerate(["a", "b", "c"]):
        health.admit("p", model, n).failed(n, "connection refused")
    refusal = health.admit("p", "d", 4)
    assert isinstance(refusal, Refusal) and refusal.target == "p"
    assert health.unavailable("p", None, 4) is not None


def test_a_model_refusal_frees_the_provider_probe_it_took():
    """When the provider's probe is taken but the model's breaker says no, the probe goes back."""
    health = _health()
    for _ in range(2):
        health.admit("p", "m", 0).failed(0)
    assert isinstance(health.admit("p", "m", 10), Ticket)   # both half-open: probe of both
    health.breaker("p").release()                           # provider probe freed, model's still out
    assert isinstance(health.admit("p", "m", 10), Refusal)  # the model's probe is in flight
    assert health.breaker("p").is_probe is False


def test_cool_downs_keep_a_target_out_without_counting_as_failures():
    """A 429's cool-down refuses the model until its time, says rate limited, trips nothing."""
    health = _health()
    health.cool("p/m", 2.5, 100, "rate limited by the provider", "rate_limited")
    refusal = health.admit("p", "m", 101)
    assert isinstance(refusal, Refusal) and refusal.rate_limited and refusal.retry_in_s == 1.5
    assert isinstance(health.admit("p", "other", 101), Ticket)
    assert isinstance(health.admit("p", "m", 102.5), Ticket)
    assert health.breaker("p").consecutive == 0
    health.cool("p", 5, 200, "overloaded", "overloaded")
    assert health.score("p", "other", 201) == 0.0 and health.score("p", "other", 206) == 1.0


def test_a_model_cooled_on_one_endpoint_is_served_on_the_others():
    """A model missing on one endpoint (its 404) is refused there alone, and an operator's reset
    of the model (or its provider) ends that cool-down too."""
    health = _health()
    health.cool(endpoint_target("p", "m", "openai_chat"), 600, 0, "does not serve this model", "model_not_found")
    refusal = health.admit("p", "m", 1, "openai_chat")
    assert isinstance(refusal, Refusal) and refusal.target == "p/m on openai_chat"
    assert isinstance(health.admit("p", "m", 1, "responses"), Ticket)
    assert health.reset("p/m") == ["p/m on openai_chat"]
    assert isinstance(health.admit("p", "m", 2, "openai_chat"), Ticket)


def test_reset_closes_what_the_operator_names():
    """reset(provider) closes it and its models and ends their cool-downs; reset() closes all."""
    health = Health(lambda target: QUICK if "/" in target else BreakerSettings(failures=4))
    for model in ("a", "b"):
        for _ in range(2):
            health.admit("p", model, 0).failed(0)
    health.cool("q/x", 100, 0, "rate limited", "rate_limited")
    assert health.breaker("p").state == "open"
    assert health.reset("p") == ["p", "p/a", "p/b"]
    assert isinstance(health.admit("p", "a", 1), Ticket)
    assert health.reset() == ["q/x"]
    assert health.reset() == []


def test_reconfigure_keeps_state_under_new_thresholds():
    """A reload's new settings apply to existing breakers without closing an open one."""
    health = _health()
    for _ in range(2):
        health.admit("p", "m", 0).failed(0)
    health.reconfigure(lambda target: BreakerSettings(failures=9, cooldown_s=50, max_cooldown_s=60))
    assert health.breaker("p").state == "open" and health.breaker("p").settings.failures == 9
    stats = health.statistics(1)
    assert stats.providers["p"].state == "open" and "p/m" in stats.models


def test_a_closed_breaker_after_failures_still_takes_calls_for_balancing():
    """A closed circuit whose recent calls all failed still reports some health, so balancers keep
    sending it calls (and can see it recover); only an open one reports none."""
    breaker = Breaker(BreakerSettings(failures=3, min_calls=10))
    breaker.failure(0.0)
    assert breaker.state == "closed" and 0 < breaker.health(0.0) < 0.5
    breaker.failure(0.0)
    breaker.failure(0.0)
    assert breaker.state == "open" and breaker.health(0.0) == 0.0
