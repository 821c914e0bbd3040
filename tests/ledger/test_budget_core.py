"""The budgets' pure core: thresholds, scopes, reservations, providers' windows, the ledger resync."""

import pytest

from routerd.budgets.budgets import Budgets, Spend, level_of, pressure_of
from routerd.budgets.settings import BudgetsConfig, Limits
from routerd.resilience.limits import Reservation
from routerd.resilience.ratelimit_headers import read_limits
from routerd.resilience.refusal import Refusal

NOW = 1_750_000_000.0


def _budgets() -> Budgets:
    return Budgets(BudgetsConfig(daily_usd=10.0, providers={"openai": Limits(monthly_tokens=1000)},
                                 projects={"acme/shop": Limits(daily_usd=1.0)}))


def test_thresholds_are_documented_values():
    """Pressure is 0 below half spent, linear to 1 at the cap; levels at 50, 80 and 100 %."""
    assert [pressure_of(s) for s in (0.0, 0.5, 0.75, 1.0, 1.5)] == [0.0, 0.0, 0.5, 1.0, 1.0]
    assert [level_of(s) for s in (0.49, 0.5, 0.8, 1.0)] == ["ok", "steering", "high", "capped"]


def test_a_project_limit_covers_only_its_project():
    """A call for acme/shop is refused past the project's cap; another project's is not."""
    budgets = _budgets()
    held = budgets.reserve("anthropic", "claude", "acme/shop", {"usd": 0.9}, NOW)
    assert isinstance(held, Reservation)
    assert isinstance(budgets.reserve("anthropic", "claude", "acme/shop", {"usd": 0.2}, NOW), Refusal)
    assert isinstance(budgets.reserve("anthropic", "claude", "other/repo", {"usd": 0.2}, NOW), Reservation)
    held.settle({"usd": 0.1})
    assert isinstance(budgets.reserve("anthropic", "claude", "acme/shop", {"usd": 0.2}, NOW), Reservation)


def test_reservations_count_at_once_and_settle_to_the_actual_cost():
    """Held amounts fill the cap before any call ends; settling charges what was used."""
    budgets = _budgets()
    holds = [budgets.reserve("openai", "gpt", None, {"usd": 3.0}, NOW) for _ in range(4)]
    assert [isinstance(h, Reservation) for h in holds] == [True, True, True, False]
    for h in holds[:3]:
        assert isinstance(h, Reservation)
        h.settle({"usd": 1.0})
    assert budgets.share(NOW) == pytest.approx(0.3)


def _observe(budgets: Budgets, provider: str, headers: list[tuple[bytes, bytes]]) -> None:
    """One answer's headers, read as the dispatch reads them (rate limits once, for both)."""
    budgets.observe(provider, read_limits(headers, NOW), headers, NOW)


def test_a_provider_window_from_headers_adds_pressure_for_that_provider():
    """Anthropic's subscription utilization and OpenAI's remaining tokens are spent shares; the
    policy's pressure is the least pressed paid provider's."""
    budgets = Budgets(BudgetsConfig())
    _observe(budgets, "anthropic", [(b"anthropic-ratelimit-unified-5h-utilization", b"0.9"),
                                    (b"anthropic-ratelimit-unified-5h-reset", str(int(NOW + 600)).encode())])
    _observe(budgets, "openai", [(b"x-ratelimit-limit-tokens", b"1000"), (b"x-ratelimit-remaining-tokens", b"400"),
                                 (b"x-ratelimit-reset-tokens", b"20s")])
    assert budgets.windows.share("anthropic", NOW) == pytest.approx(0.9)
    assert budgets.spent_share(NOW, None, ["anthropic"]) == pytest.approx(0.9)
    assert budgets.spent_share(NOW, None, ["anthropic", "openai"]) == pytest.approx(0.6)
    assert budgets.windows.share("anthropic", NOW + 601) == 0.0  # the window started over


def test_a_subscription_window_needs_a_finite_share_and_an_anthropic_provider():
    """utilization inf or nan is no share; an OpenAI-kind provider's unified headers are no
    subscription; a window without a readable reset ends after its own span (5h)."""
    budgets = Budgets(BudgetsConfig())
    for value in (b"inf", b"nan", b"-inf"):
        budgets.observe("anthropic", [], [(b"anthropic-ratelimit-unified-5h-utilization", value)], NOW, "anthropic")
    relayed = [(b"anthropic-ratelimit-unified-5h-utilization", b"1.0"), (b"anthropic-ratelimit-unified-status", b"rejected")]
    budgets.observe("openai", [], relayed, NOW, "openai")
    assert budgets.windows.statistics(NOW) == []
    budgets.observe("anthropic", [], [(b"anthropic-ratelimit-unified-5h-utilization", b"0.5"),
                                      (b"anthropic-ratelimit-unified-5h-reset", b"inf")], NOW, "anthropic")
    assert [w.resets_at for w in budgets.windows.statistics(NOW)] == [NOW + 5 * 3600]
    assert budgets.windows.share("anthropic", NOW + 5 * 3600 + 1) == 0.0


@pytest.mark.parametrize(("utilization", "share"), [(b"0.5", 0.5), (b"1", 1.0), (b"1.02", 1.0), (b"3.5", 1.0),
                                                  (b"-0.1", 0.0)])
def test_a_subscription_utilization_is_a_fraction_even_above_one(utilization, share):
    """The unified utilization is a fraction (Claude Code reads it so): 1.02 is a window spent past
    its limit, a full one, not 1.02 %."""
    budgets = Budgets(BudgetsConfig())
    _observe(budgets, "anthropic", [(b"anthropic-ratelimit-unified-5h-utilization", utilization),
                                    (b"anthropic-ratelimit-unified-5h-reset", str(int(NOW + 600)).encode())])
    assert budgets.windows.share("anthropic", NOW) == pytest.approx(share)


def test_a_rejected_subscription_is_fully_spent():
    """anthropic-ratelimit-unified-status: rejected is a spent window, whatever the utilization."""
    budgets = Budgets(BudgetsConfig())
    _observe(budgets, "anthropic", [(b"anthropic-ratelimit-unified-status", b"rejected")])
    assert budgets.pressure(NOW, None, ["anthropic"]) == 1.0


def test_resync_takes_the_ledger_and_keeps_what_settled_meanwhile():
    """The ledger's sums replace the settled use; a call settled after the marks is added."""
    budgets = _budgets()
    marks = budgets.marks(NOW)
    held = budgets.reserve("openai", "gpt", None, {"usd": 1.0, "tokens": 100}, NOW)
    assert isinstance(held, Reservation)
    held.settle({"usd": 0.5, "tokens": 50})
    budgets.resync([Spend("openai", "acme/shop", "day", 4.0, 300), Spend("openai", "acme/shop", "month", 9.0, 600),
                    Spend("anthropic", None, "day", 1.0, 10)], marks, NOW)
    states = {s.name: s for s in budgets.statistics(NOW).limits}
    assert states["daily usd (all)"].used == pytest.approx(5.5)
    assert states["monthly tokens (provider openai)"].used == pytest.approx(650)
    assert states["daily usd (project acme/shop)"].used == pytest.approx(4.0)


def test_a_reload_keeps_the_use_of_an_unchanged_limit_and_lifts_a_cap():
    """Same scope, metric and window: the count stays; a raised limit takes calls again."""
    budgets = _budgets()
    held = budgets.reserve("x", "m", None, {"usd": 9.5}, NOW)
    assert isinstance(held, Reservation)
    held.settle({"usd": 9.5})
    assert isinstance(budgets.reserve("x", "m", None, {"usd": 1.0}, NOW), Refusal)
    budgets.reconfigure(BudgetsConfig(daily_usd=20.0))
    assert isinstance(budgets.reserve("x", "m", None, {"usd": 1.0}, NOW), Reservation)
    assert budgets.share(NOW) == pytest.approx(10.5 / 20)


def test_a_limit_a_reload_adds_starts_from_the_ledger():
    """A new limit (new amount, or a limit moved to another scope) is seeded from the ledger's sums
    at the reload and refuses what would pass its cap; an unchanged one keeps its own count."""
    budgets = _budgets()
    held = budgets.reserve("openai", "gpt", None, {"usd": 1.0, "tokens": 10}, NOW)
    assert isinstance(held, Reservation)
    held.settle({"usd": 1.0, "tokens": 10})
    config = BudgetsConfig(daily_usd=10.0, monthly_usd=1.0, projects={"acme/web": Limits(daily_usd=1.0)})
    assert budgets.adds_limits(config) and not budgets.adds_limits(BudgetsConfig(daily_usd=3.0))
    ledger = [Spend("openai", None, "day", 0.96, 10), Spend("openai", None, "month", 0.96, 10),
              Spend("anthropic", "acme/web", "day", 0.7, 5), Spend("anthropic", "acme/web", "month", 0.7, 5)]
    budgets.reconfigure(config, spent=ledger, now=NOW)
    states = {s.name: s for s in budgets.statistics(NOW).limits}
    assert states["daily usd (all)"].used == pytest.approx(1.0)            # kept, not re-read
    assert states["monthly usd (all)"].used == pytest.approx(1.66)
    assert states["daily usd (project acme/web)"].used == pytest.approx(0.7)
    assert isinstance(budgets.reserve("anthropic", "claude", "acme/web", {"usd": 0.31}, NOW), Refusal)
    assert isinstance(budgets.reserve("openai", "gpt", None, {"usd": 0.2}, NOW), Refusal)  # the new monthly cap


def test_a_request_served_by_a_cheaper_model_does_not_mark_the_limit_spent():
    """A candidate refused for lack of room, then a cheaper one served: the limit shows its real
    share; a request left without a paid answer marks it spent (and counts once) until there is
    room for the least it asked."""
    budgets = Budgets(BudgetsConfig(daily_usd=10.0))
    held = budgets.reserve("x", "m", None, {"usd": 6.0}, NOW)
    assert isinstance(held, Reservation)
    held.settle({"usd": 6.0})
    dear = budgets.reserve("x", "opus", None, {"usd": 5.0}, NOW)
    assert isinstance(dear, Refusal) and isinstance(budgets.reserve("x", "haiku", None, {"usd": 0.5}, NOW), Reservation)
    assert budgets.share(NOW) == pytest.approx(0.65)
    cheaper = budgets.reserve("x", "sonnet", None, {"usd": 4.0}, NOW)
    assert isinstance(cheaper, Refusal)
    budgets.turned_away([dear, cheaper])
    assert budgets.share(NOW) == 1.0
    [state] = budgets.statistics(NOW).limits
    assert state.level == "capped" and state.refused == 1
