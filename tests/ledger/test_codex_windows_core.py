"""A ChatGPT plan's Codex windows (``x-codex-{primary,secondary}-*`` headers, and the
``codex.rate_limits`` stream event) are read as Anthropic's subscription windows are: named by
their span, a spent share, a reset, and the same pressure when used up."""

import json

import pytest

from routerd.budgets.budgets import Budgets
from routerd.budgets.codex_plan import event_headers
from routerd.budgets.provider_windows import read_windows
from routerd.budgets.settings import BudgetsConfig
from routerd.gateway.usage import UsageMeter

NOW = 1_779_000_000.0
# Headers as a Plus plan's answers carry them (values from codex-rs's tests and a captured answer).
PLUS = [(b"x-codex-plan-type", b"plus"), (b"x-codex-active-limit", b"codex"),
        (b"X-Codex-Primary-Used-Percent", b"42.5"), (b"x-codex-primary-window-minutes", b"300"),
        (b"x-codex-primary-reset-after-seconds", b"14180"),
        (b"x-codex-secondary-used-percent", b"3"), (b"x-codex-secondary-window-minutes", b"10080"),
        (b"x-codex-secondary-reset-at", str(int(NOW + 510_106)).encode())]


def test_codex_headers_are_two_windows_named_by_their_span():
    """Primary and secondary become the 5h and 7d windows: a percentage read as a share, a reset
    from now (reset-after-seconds) or at a time (reset-at)."""
    assert read_windows(PLUS, NOW, "openai") == [("5h", 0.425, NOW + 14_180), ("7d", 0.03, NOW + 510_106)]


def test_a_weekly_primary_is_the_7d_window_and_one_without_span_keeps_its_slot():
    """Which slot is the 5-hour window varies by plan: the span names it; no span, the slot does,
    and it lasts until its reset."""
    weekly = [(b"x-codex-primary-used-percent", b"18.25"), (b"x-codex-primary-window-minutes", b"10080"),
              (b"x-codex-primary-reset-after-seconds", b"604800"), (b"x-codex-secondary-used-percent", b"4.5"),
              (b"x-codex-secondary-reset-at", str(int(NOW + 60)).encode())]
    assert read_windows(weekly, NOW, "openai") == [("7d", 0.1825, NOW + 604_800), ("secondary", 0.045, NOW + 60)]


@pytest.mark.parametrize("headers", [
    [(b"x-codex-primary-used-percent", b"0")],                      # says nothing (codex-rs drops it too)
    [(b"x-codex-primary-used-percent", b"nan"), (b"x-codex-primary-window-minutes", b"300")],
    [(b"x-codex-primary-used-percent", b"inf"), (b"x-codex-primary-window-minutes", b"300")],
    [(b"x-codex-primary-window-minutes", b"300")],                  # no percentage
    [(b"x-codex-bengalfox-primary-used-percent", b"100")],          # one model's limit, no plan window
])
def test_a_codex_window_that_says_nothing_or_no_number_is_none(headers):
    """An all-zero window, a percentage that is no finite number, or a model family's limit is no
    plan window."""
    assert read_windows(headers, NOW, "openai") == []


def test_each_vendors_windows_only_from_a_provider_of_its_kind():
    """Codex's headers on an Anthropic-kind provider, or Anthropic's on an OpenAI-kind one, are
    relayed, not that account's: ignored."""
    anthropic = [(b"anthropic-ratelimit-unified-5h-utilization", b"0.9")]
    assert read_windows(PLUS, NOW, "anthropic") == [] and read_windows(anthropic, NOW, "openai") == []
    assert read_windows(PLUS, NOW, "gemini") == []


@pytest.mark.parametrize(("percent", "share"), [(b"42", 0.42), (b"100", 1.0), (b"104.5", 1.0), (b"-3", 0.0)])
def test_a_used_up_codex_window_presses_as_a_rejected_anthropic_subscription(percent, share):
    """100 % spent is the pressure of Anthropic's ``status: rejected`` (1.0), in the budgets'
    report and the policy's pressure alike; the window is forgotten once it resets."""
    budgets = Budgets(BudgetsConfig())
    budgets.observe("chatgpt", [], [(b"x-codex-primary-used-percent", percent),
                                    (b"x-codex-primary-window-minutes", b"300"),
                                    (b"x-codex-primary-reset-after-seconds", b"600")], NOW, "openai")
    anthropic = Budgets(BudgetsConfig())
    anthropic.observe("anthropic", [], [(b"anthropic-ratelimit-unified-status", b"rejected")], NOW, "anthropic")
    assert budgets.windows.share("chatgpt", NOW) == pytest.approx(share)
    if share == 1.0:
        assert budgets.pressure(NOW, None, ["chatgpt"]) == anthropic.pressure(NOW, None, ["anthropic"]) == 1.0
    [window] = budgets.statistics(NOW, ["chatgpt"]).windows
    assert (window.provider, window.name, window.resets_at) == ("chatgpt", "5h", NOW + 600)
    assert budgets.windows.share("chatgpt", NOW + 601) == 0.0


def test_the_stream_event_is_read_as_the_same_headers():
    """A ``codex.rate_limits`` event's windows (an SSE event of the Responses stream) read as the
    headers that carry the same fields."""
    event = {"allowed": True, "limit_reached": False,
             "primary": {"used_percent": 7, "window_minutes": 300, "reset_after_seconds": 13168,
                         "reset_at": int(NOW + 13_168)},
             "secondary": {"used_percent": 29.5, "window_minutes": 10080, "reset_at": int(NOW + 434_962)}}
    assert read_windows(event_headers({"rate_limits": event}), NOW, "openai") == [
        ("5h", 0.07, NOW + 13_168), ("7d", 0.295, NOW + 434_962)]
    assert event_headers({"rate_limits": {"primary": None, "secondary": {"used_percent": True}}}) == []
    assert event_headers({"rate_limits": None}) == event_headers({}) == []


def test_the_meter_keeps_a_responses_streams_codex_event():
    """The usage meter of a Responses stream keeps the ``rate_limits``, ``credits`` and limit family
    of its ``codex.rate_limits`` event, and its usage as before."""
    limits = {"primary": {"used_percent": 61, "window_minutes": 300}}
    credits = {"has_credits": True, "unlimited": False, "balance": "12.5"}
    stream = (b"event: codex.rate_limits\ndata: " + json.dumps({"type": "codex.rate_limits",
                                                                "rate_limits": limits, "credits": credits,
                                                                "metered_limit_name": "codex"}).encode() + b"\n\n"
              b'event: response.completed\ndata: {"type":"response.completed","response":{"id":"resp_1",'
              b'"usage":{"input_tokens":5,"output_tokens":2}}}\n\n')
    meter = UsageMeter("responses")
    for i in range(0, len(stream), 9):
        meter.feed_stream(stream[i:i + 9])
    assert meter.rate_limits == {"rate_limits": limits, "credits": credits, "metered_limit_name": "codex"}
    assert (meter.input_tokens, meter.output_tokens) == (5, 2)
