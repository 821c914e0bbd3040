"""The error taxonomy: statuses, transport failures and each dialect's error bodies -> actions."""

import json

import pytest
from hypothesis import given, strategies as st

from routerd.dialects.error_reading import READERS, read_error
from routerd.gateway.failures import retry_after_s, status_error
from routerd.resilience.taxonomy import ACTIONS, CATEGORIES, MAX_RETRY_AFTER_S, Cooldowns, categorize, judge


def _body(value) -> bytes:
    return json.dumps(value).encode()


def test_every_category_has_an_action_and_a_client_error_never_moves():
    """The table covers every category; the client's own errors neither fall back nor trip."""
    assert set(ACTIONS) == set(CATEGORIES)
    for category in ("bad_request", "content_policy"):
        action = ACTIONS[category]
        assert not action.fall_back and not action.trips_breaker and not action.retry
    assert not ACTIONS["rate_limited"].trips_breaker
    assert ACTIONS["context_too_long"].larger_window and ACTIONS["context_too_long"].fall_back


@pytest.mark.parametrize("status, transport, expected", [
    (429, None, "rate_limited"), (529, None, "overloaded"), (500, None, "server_error"),
    (502, None, "server_error"), (503, None, "server_error"), (504, None, "timeout"),
    (408, None, "timeout"), (401, None, "auth"), (403, None, "auth"), (402, None, "billing"),
    (404, None, "model_not_found"), (400, None, "bad_request"), (422, None, "bad_request"),
    (413, None, "bad_request"), (None, "timeout", "timeout"), (None, "connect", "connect_error"),
    (None, "reset", "connect_error"), (200, "malformed", "server_error"), (None, None, "connect_error"),
])
def test_status_and_transport_alone(status, transport, expected):
    """Without a reading of the body, the status or the transport failure decides."""
    assert categorize(status, transport) == expected


def test_a_retry_after_is_honoured_everywhere():
    """A provider's Retry-After sets the cool-down, and makes a 503 cool its provider."""
    assert judge("rate_limited", retry_after_s=7).cooldown_s == 7
    assert judge("rate_limited").cooldown_s == Cooldowns().rate_limited_s
    server = judge("server_error", retry_after_s=12)
    assert server.cools == "provider" and server.cooldown_s == 12
    assert judge("server_error").cools is None
    assert judge("bad_request", retry_after_s=5).cools is None
    assert judge("auth", cooldowns=Cooldowns(auth_s=60)).cooldown_s == 60


def test_a_retry_after_is_bounded_to_a_day_and_no_number_is_no_time():
    """A cool-down from a provider's word is finite, at least 0 and at most a day."""
    assert judge("rate_limited", retry_after_s=float("inf")).cooldown_s == Cooldowns().rate_limited_s
    assert judge("rate_limited", retry_after_s=float("nan")).cooldown_s == Cooldowns().rate_limited_s
    assert judge("rate_limited", retry_after_s=1e308).cooldown_s == MAX_RETRY_AFTER_S == 86400
    assert judge("rate_limited", retry_after_s=-5).cooldown_s == 0


@pytest.mark.parametrize(("name", "value", "seconds"), [
    (b"retry-after", b"30", 30), (b"Retry-After", b" 1.5 ", 1.5), (b"retry-after-ms", b"2500", 2.5),
    (b"retry-after", b"inf", None), (b"retry-after", b"nan", None), (b"retry-after", b"-5", None),
    (b"retry-after", b"1e308", None), (b"retry-after", b"9" * 400, MAX_RETRY_AFTER_S),
    (b"retry-after-ms", b"nan", None), (b"retry-after-ms", b"-1", None), (b"retry-after-ms", b"infinity", None),
    (b"retry-after", b"Fri, 31 Dec 9999 23:59:59 GMT", MAX_RETRY_AFTER_S),
    (b"retry-after", b"Sun, 06 Nov 1994 08:49:37 GMT", 0), (b"retry-after", b"Mon, 99 Foo 0000 99:99:99 GMT", None),
])
def test_retry_after_headers_are_read_strictly_and_bounded(name, value, seconds):
    """Retry-After is a date or a number of seconds (RFC 9110 10.2.3), held to 0..a day."""
    assert retry_after_s([(name, value)], 1_750_000_000.0) == seconds


def test_the_client_is_told_the_retry_after_routerd_read():
    """An upstream's unreadable Retry-After never reaches the client verbatim; a readable one does
    as whole seconds."""
    def told(value: bytes) -> list[tuple[str, str]]:
        error = status_error("p", 429, [(b"retry-after", value), (b"content-type", b"application/json")], b"{}")
        return [(k, v) for k, v in error.headers if k.lower() == "retry-after"]

    assert told(b"inf") == told(b"-5") == []
    assert told(b"1e308") == []
    assert told(b"99999999") == [("retry-after", "86400")]
    assert told(b"2.2") == [("retry-after", "3")]


def test_a_gemini_retry_info_is_bounded_too():
    """A RetryInfo of twenty digits is at most a day."""
    body = {"error": {"code": 429, "status": "RESOURCE_EXHAUSTED", "message": "quota", "details": [
        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "9" * 20 + "s"}]}}
    assert read_error("gemini", 429, _body(body)).retry_after_s == MAX_RETRY_AFTER_S


def test_the_clients_own_credentials_refused_go_back_to_the_client():
    """An auth failure on credentials the client sent is returned as is, not fallen back from."""
    verdict = judge("auth", client_credentials=True)
    assert not verdict.action.fall_back and verdict.cools is None
    assert judge("auth").action.fall_back and judge("auth").cools == "key"


@pytest.mark.parametrize("dialect, status, body, hint", [
    ("openai_chat", 400, {"error": {"message": "This model's maximum context length is 8192 tokens. "
                                    "However, your messages resulted in 9000 tokens.",
                                    "type": "invalid_request_error", "code": "context_length_exceeded"}},
     "context_too_long"),
    ("openai_chat", 429, {"error": {"message": "You exceeded your current quota, please check your plan and "
                                    "billing details.", "type": "insufficient_quota", "code": "insufficient_quota"}},
     "billing"),
    ("openai_chat", 429, {"error": {"message": "Rate limit reached for gpt-4o on tokens per min (TPM)",
                                    "type": "tokens", "code": "rate_limit_exceeded"}}, "rate_limited"),
    ("openai_chat", 404, {"error": {"message": "The model `gpt-9` does not exist or you do not have access "
                                    "to it.", "type": "invalid_request_error", "code": "model_not_found"}},
     "model_not_found"),
    ("openai_chat", 400, {"error": {"message": "Your request was rejected as a result of our safety system.",
                                    "type": "invalid_request_error", "code": "content_policy_violation"}},
     "content_policy"),
    ("openai_chat", 401, {"error": {"message": "Incorrect API key provided: sk-....", "code": "invalid_api_key"}},
     "auth"),
    ("openai_chat", 503, {"error": {"message": "The engine is currently overloaded, please try again later"}},
     "overloaded"),
    ("openai_chat", 400, {"error": {"message": "max_tokens must be at least 1", "code": None}}, None),
    ("openai_chat", 413, {"error": {"message": "Request too large for model on tokens per minute (TPM)",
                                    "code": "rate_limit_exceeded"}}, "rate_limited"),
    ("responses", 400, {"type": "error", "code": "context_length_exceeded", "message": "too long"},
     "context_too_long"),
    ("responses", 500, {"type": "response.failed", "response": {"error": {"code": "server_error",
                                                                          "message": "boom"}}}, "server_error"),
    ("responses", 500, {"type": "response.failed", "response": {"error": {"code": "server_is_overloaded",
                                                                          "message": "Try again."}}}, "overloaded"),
    ("responses", 500, {"type": "error", "code": "slow_down", "message": "Please slow down."}, "overloaded"),
    ("anthropic", 400, {"type": "error", "error": {"type": "invalid_request_error",
                                                   "message": "prompt is too long: 215000 tokens > 200000 maximum"}},
     "context_too_long"),
    ("anthropic", 400, {"type": "error", "error": {"type": "invalid_request_error", "message":
                        "input length and `max_tokens` exceed context limit: 197000 + 8192 > 200000"}},
     "context_too_long"),
    ("anthropic", 400, {"type": "error", "error": {"type": "invalid_request_error", "message":
                        "Your credit balance is too low to access the Anthropic API."}}, "billing"),
    ("anthropic", 400, {"type": "error", "error": {"type": "invalid_request_error",
                                                   "message": "messages: field required"}}, None),
    ("anthropic", 529, {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
     "overloaded"),
    ("anthropic", 429, {"type": "error", "error": {"type": "rate_limit_error", "message": "slow down"}},
     "rate_limited"),
    ("anthropic", 404, {"type": "error", "error": {"type": "not_found_error", "message": "model: claude-x"}},
     "model_not_found"),
    ("anthropic", 413, {"type": "error", "error": {"type": "request_too_large", "message": "too big"}},
     "bad_request"),
    ("gemini", 400, {"error": {"code": 400, "status": "INVALID_ARGUMENT", "message":
                     "The input token count (1200000) exceeds the maximum number of tokens allowed (1048576)."}},
     "context_too_long"),
    ("gemini", 429, {"error": {"code": 429, "status": "RESOURCE_EXHAUSTED", "message":
                     "You exceeded your current quota, please check your plan and billing details."}},
     "rate_limited"),
    ("gemini", 503, {"error": {"code": 503, "status": "UNAVAILABLE", "message": "The model is overloaded."}},
     "overloaded"),
    ("gemini", 404, [{"error": {"code": 404, "status": "NOT_FOUND",
                                "message": "models/gemini-9 is not found for API version v1beta"}}],
     "model_not_found"),
])
def test_each_dialect_reads_what_the_status_does_not_say(dialect, status, body, hint):
    """Providers' documented error codes, types and messages name the category."""
    assert read_error(dialect, status, _body(body)).hint == hint


def test_gemini_retry_info_is_a_retry_after():
    """Gemini's RetryInfo detail says when to come back, like a Retry-After header."""
    body = {"error": {"code": 429, "status": "RESOURCE_EXHAUSTED", "message": "quota", "details": [
        {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": []},
        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "34s"}]}}
    assert read_error("gemini", 429, _body(body)).retry_after_s == 34


def _rate_limited(wait: str) -> dict:
    """OpenAI's 429 body as it sends it (the tokens-per-minute limit), asking to wait ``wait``."""
    return {"error": {"message": "Rate limit reached for gpt-4.1 in organization org-abc on tokens per min "
                                 f"(TPM): Limit 30000, Used 29850, Requested 912. Please try again in {wait}. "
                                 "Visit https://platform.openai.com/account/rate-limits to learn more.",
                      "type": "tokens", "param": None, "code": "rate_limit_exceeded"}}


@pytest.mark.parametrize(("wait", "seconds"), [
    ("20ms", 0.02), ("1.524s", 1.524), ("7s", 7), ("6m0s", 360), ("1m30.5s", 90.5), ("2h", MAX_RETRY_AFTER_S / 12),
    ("99999999h", MAX_RETRY_AFTER_S), ("soon", None), ("s", None), ("ms", None)])
def test_openais_please_try_again_in_is_a_retry_after(wait, seconds):
    """OpenAI's "Please try again in 20ms" / "in 1.5s" / "in 6m0s" (often with no Retry-After
    header) says when to come back; bounded to a day; no duration, no time."""
    for dialect in ("openai_chat", "responses"):
        assert read_error(dialect, 429, _body(_rate_limited(wait))).retry_after_s == seconds


def test_a_please_try_again_in_a_long_message_is_read_only_near_its_start():
    """The message is searched only in its first kilobyte: a huge body costs no more to read."""
    body = {"error": {"message": "x" * 5000 + " Please try again in 3s.", "code": "rate_limit_exceeded"}}
    assert read_error("openai_chat", 429, _body(body)).retry_after_s is None


def test_a_server_error_is_never_read_as_the_clients_fault():
    """A 5xx body that mentions a model or a bad request does not make it a client error."""
    body = {"error": {"message": "unknown model backend crashed", "code": "model_not_found"}}
    assert read_error("openai_chat", 500, _body(body)).hint is None
    assert categorize(500, hint=read_error("openai_chat", 500, _body(body)).hint) == "server_error"


@given(st.binary(max_size=300), st.integers(min_value=100, max_value=599))
def test_readers_are_total(body, status):
    """Any bytes in, a reading out: no body crashes a reader."""
    for reader in READERS.values():
        reading = reader(status, body)
        assert reading.hint is None or reading.hint in CATEGORIES


_json = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                     lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
                         st.sampled_from(["error", "type", "code", "message", "status", "details",
                                          "response", "@type", "retryDelay"]), inner, max_size=4),
                     max_leaves=12)


@given(_json, st.integers(min_value=400, max_value=599))
def test_readers_are_total_on_any_json(value, status):
    """Any JSON shape, however odd, reads without an exception."""
    for reader in READERS.values():
        assert reader(status, _body(value)).hint in (None, *CATEGORIES)
