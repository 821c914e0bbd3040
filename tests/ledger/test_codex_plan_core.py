"""What a ChatGPT plan's Codex backend says beyond its two windows (credits, the limit a refusal
reached, models' own limits; in headers and in the ``codex.rate_limits`` event), and what it weighs:
a plan with credits left is not used up at 100 %, a reached limit is, a model's limit presses nothing."""

import pytest

from routerd.budgets.budgets import Budgets, level_of
from routerd.budgets.codex_plan import Credits, event_headers, read_plan
from routerd.budgets.provider_windows import ON_CREDITS_SHARE, read_windows
from routerd.budgets.settings import BudgetsConfig

NOW = 1_779_000_000.0
SPENT = [(b"x-codex-primary-used-percent", b"100"), (b"x-codex-primary-window-minutes", b"300"),
         (b"x-codex-primary-reset-after-seconds", b"600"), (b"x-codex-secondary-used-percent", b"40"),
         (b"x-codex-secondary-window-minutes", b"10080"), (b"x-codex-secondary-reset-after-seconds", b"86400")]
CREDITS = [(b"x-codex-credits-has-credits", b"true"), (b"x-codex-credits-unlimited", b"false"),
           (b"x-codex-credits-balance", b"12.50")]
NO_CREDITS = [(b"x-codex-credits-has-credits", b"False"), (b"x-codex-credits-unlimited", b"0")]


def _budgets(*answers: list[tuple[bytes, bytes]]) -> Budgets:
    budgets = Budgets(BudgetsConfig())
    for headers in answers:
        budgets.observe("chatgpt", [], headers, NOW, "openai")
    return budgets


def _windows(budgets: Budgets) -> dict[str, tuple[float, str]]:
    return {w.name: (w.used_share, w.note) for w in budgets.statistics(NOW, ["chatgpt"]).windows}


@pytest.mark.parametrize(("credits", "said"), [
    (CREDITS, "credits left (12.50)"),
    ([(b"X-Codex-Credits-Has-Credits", b"0"), (b"x-codex-credits-unlimited", b"1")], "unlimited credits"),
])
def test_a_spent_window_with_credits_left_is_high_not_used_up(credits, said):
    """The 5h window at 100 % with credits left: Codex is still served (from the credits), so the
    provider presses as a high limit, not as a used-up one; the window says so."""
    budgets = _budgets(SPENT + credits)
    assert budgets.windows.share("chatgpt", NOW) == ON_CREDITS_SHARE
    assert level_of(budgets.spent_share(NOW, None, ["chatgpt"])) == "high"
    assert 0.5 < budgets.pressure(NOW, None, ["chatgpt"]) < 1.0
    assert _windows(budgets) == {"5h": (1.0, said), "7d": (0.4, said)}


def test_without_credits_a_spent_window_is_used_up_and_credits_are_kept_until_said_again():
    """No credits left: 100 % is used up. The credits an answer said hold for the next answers that
    say nothing of them, until one says otherwise."""
    assert _budgets(SPENT + NO_CREDITS).windows.share("chatgpt", NOW) == 1.0
    budgets = _budgets(CREDITS, SPENT)
    assert budgets.windows.share("chatgpt", NOW) == ON_CREDITS_SHARE
    budgets.observe("chatgpt", [], SPENT + NO_CREDITS, NOW, "openai")
    assert budgets.windows.share("chatgpt", NOW) == 1.0 and _windows(budgets)["5h"] == (1.0, "no credits left")


@pytest.mark.parametrize("reached", [b"rate_limit_reached", b" workspace_owner_credits_depleted ",
                                     b"workspace_member_usage_limit_reached"])
def test_a_reached_limit_is_used_up_whatever_the_windows_and_credits_say(reached):
    """A refusal naming the limit it reached (``x-codex-rate-limit-reached-type``) makes the plan
    used up, credits or not, windows at 40 % or not; the next answer without one clears it."""
    refused = [(b"x-codex-primary-used-percent", b"40"), (b"x-codex-primary-window-minutes", b"300"),
               (b"x-codex-primary-reset-after-seconds", b"600"), (b"x-codex-rate-limit-reached-type", reached)]
    budgets = _budgets(refused + CREDITS)
    assert budgets.windows.share("chatgpt", NOW) == 1.0 and budgets.pressure(NOW, None, ["chatgpt"]) == 1.0
    [plan] = [w for w in budgets.windows.statistics(NOW) if w.name == "plan"]
    assert plan.note == f"limit reached: {reached.decode().strip()}" and plan.resets_at == NOW + 5 * 3600
    budgets.observe("chatgpt", [], refused[:3], NOW, "openai")
    assert "plan" not in _windows(budgets) and budgets.windows.share("chatgpt", NOW) == 0.4


def test_a_reached_limit_lasts_until_its_spent_windows_start_over():
    """The refusal's spent windows say when it ends: the latest of their resets."""
    budgets = _budgets(SPENT + [(b"x-codex-rate-limit-reached-type", b"rate_limit_reached")])
    [plan] = [w for w in budgets.windows.statistics(NOW) if w.name == "plan"]
    assert plan.resets_at == NOW + 600
    assert budgets.windows.share("chatgpt", NOW + 601) == 0.4


@pytest.mark.parametrize("headers", [
    [(b"x-codex-rate-limit-reached-type", b"primary")],       # no type codex-rs knows
    [(b"x-codex-credits-has-credits", b"yes"), (b"x-codex-credits-unlimited", b"false")],   # no boolean
    [(b"x-codex-credits-has-credits", b"true")],              # half of it (codex-rs needs both)
])
def test_what_codex_rs_would_not_read_is_not_read(headers):
    """An unknown reached type or credits that are not two booleans say nothing."""
    plan = read_plan(headers, NOW)
    assert plan is not None and (plan.credits, plan.reached) == (None, None)


def test_a_models_own_limit_is_shown_and_presses_nothing():
    """Another family (``x-codex-bengalfox-*``) is one model's limit: shown by the model's name and
    span, no plan window, and it presses nothing (other models still serve)."""
    model = [(b"x-codex-bengalfox-primary-used-percent", b"100"), (b"x-codex-bengalfox-primary-window-minutes", b"300"),
             (b"x-codex-bengalfox-primary-reset-at", str(int(NOW + 900)).encode()),
             (b"x-codex-bengalfox-limit-name", b"gpt-5.2-codex-sonic"),
             (b"x-codex-secondary-primary-used-percent", b"80"), (b"x-codex-secondary-primary-window-minutes", b"1440")]
    assert read_windows(model, NOW, "openai") == []
    budgets = _budgets(model)
    assert _windows(budgets) == {"gpt-5.2-codex-sonic 5h": (1.0, "one model's limit"),
                                 "codex-secondary 1d": (0.8, "one model's limit")}
    assert budgets.windows.share("chatgpt", NOW) == 0.0 and budgets.pressure(NOW, None, ["chatgpt"]) == 0.0
    assert budgets.crossings(NOW) == []


def test_the_event_says_the_same_as_the_headers():
    """A ``codex.rate_limits`` event's credits, its ``limit_reached`` (a reached limit only with
    no credits left) and its limit family read as the headers that carry them."""
    windows = {"limit_reached": True, "primary": {"used_percent": 100, "window_minutes": 300, "reset_at": int(NOW + 60)}}
    left = read_plan(event_headers({"rate_limits": windows, "credits": {
        "has_credits": True, "unlimited": False, "balance": "3.10"}}), NOW)
    assert left is not None and (left.credits, left.reached) == (Credits(True, False, "3.10"), None)
    spent = read_plan(event_headers({"rate_limits": windows, "credits": {"has_credits": False, "unlimited": False}}), NOW)
    assert spent is not None and spent.reached == "rate_limit_reached"
    model = read_plan(event_headers({"rate_limits": windows, "metered_limit_name": "codex_bengalfox"}), NOW)
    assert model is not None and (model.windows, model.models, model.reached) == (
        [], [("codex-bengalfox 5h", 1.0, NOW + 60)], None)
    assert event_headers({"rate_limits": windows, "credits": {"has_credits": "yes", "unlimited": False}}) == \
        event_headers({"rate_limits": windows})
