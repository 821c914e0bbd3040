"""What a failed upstream call means, and what dispatch does about it.

Every failure falls in exactly one category, and each category has one fixed action (the table
``ACTIONS``, read top to bottom as a policy):

    category          retry same  fall back  breaker  cools    notes
    rate_limited      yes*        yes        no       model**  until Retry-After (or a short default)
    overloaded        yes         yes        yes      provider briefly (529, "overloaded")
    server_error      yes         yes        yes      -        5xx, a malformed answer
    timeout           yes         yes        yes      -        no head or no data in time
    connect_error     yes         yes        yes      -        refused, reset, DNS
    auth              no          yes        no       key      401/403: the key is taken out
    billing           no          yes        no       key      402, insufficient quota, credit
    model_not_found   no          yes        no       model    the provider lacks this model
    context_too_long  no          larger     no       -        only a larger context window helps
    content_policy    no          no         no       -        returned as is
    bad_request       no          no         no       -        the client's own error: as is

    *  only a Retry-After dispatch is willing to wait out
    ** with a key pool: that model on that key

"Retry same" is a permission, not an order: dispatch retries the same target (bounded, jittered,
honouring ``Retry-After``) only when no other candidate is left, because falling back costs nothing
while a retry costs the failed attempt again. A client's own bad request never falls back and
never trips a breaker. When the call carried the *client's* credentials (a provider configured
without a key), an auth failure is the client's to see, so it is returned as is.

Pure: statuses, transport failures and the dialect's reading of the error body go in, a
``Verdict`` comes out. The per-dialect reading of error bodies lives with the dialects
(``routerd.dialects.error_reading``) and hands back one of these category names.
"""

import math
import typing
from dataclasses import dataclass
from typing import Literal

Category = Literal["rate_limited", "overloaded", "server_error", "timeout", "connect_error", "auth",
                   "billing", "model_not_found", "context_too_long", "content_policy", "bad_request"]
CATEGORIES: tuple[Category, ...] = typing.get_args(Category)

# How an upstream call failed below HTTP: no answer in time, no connection, or bytes that are not
# an answer. ``None`` means an HTTP status was received.
Transport = Literal["timeout", "connect", "reset", "malformed"]

CoolScope = Literal["key", "model", "provider"]

# The longest a provider's word (Retry-After, Gemini's RetryInfo) may keep a target out or make a
# client wait: a day. Providers' real waits are seconds to hours (a subscription window resets
# within 5 h, a daily quota within 24 h); a longer one is a broken or hostile header, and taking
# it as said would keep a provider out for good.
MAX_RETRY_AFTER_S = 86400.0


def bounded_delay(seconds: float) -> float | None:
    """A provider's wait as routerd uses it: None when it is no number (``inf``, ``nan``), else
    clipped to 0..MAX_RETRY_AFTER_S."""
    if not math.isfinite(seconds):
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_S)


@dataclass(frozen=True, slots=True)
class Action:
    retry: bool                    # the same target may be retried (when nothing else is left)
    fall_back: bool                # another candidate may succeed where this one failed
    trips_breaker: bool            # a failure of the target: counts for its breakers
    cools: CoolScope | None        # what is kept away from for a while (None: nothing)
    larger_window: bool = False    # only a candidate with a larger context window is worth it


ACTIONS: dict[Category, Action] = {
    "rate_limited": Action(retry=True, fall_back=True, trips_breaker=False, cools="model"),
    "overloaded": Action(retry=True, fall_back=True, trips_breaker=True, cools="provider"),
    "server_error": Action(retry=True, fall_back=True, trips_breaker=True, cools=None),
    "timeout": Action(retry=True, fall_back=True, trips_breaker=True, cools=None),
    "connect_error": Action(retry=True, fall_back=True, trips_breaker=True, cools=None),
    "auth": Action(retry=False, fall_back=True, trips_breaker=False, cools="key"),
    "billing": Action(retry=False, fall_back=True, trips_breaker=False, cools="key"),
    "model_not_found": Action(retry=False, fall_back=True, trips_breaker=False, cools="model"),
    "context_too_long": Action(retry=False, fall_back=True, trips_breaker=False, cools=None,
                               larger_window=True),
    "content_policy": Action(retry=False, fall_back=False, trips_breaker=False, cools=None),
    "bad_request": Action(retry=False, fall_back=False, trips_breaker=False, cools=None),
}

# The client's own credentials were refused: nothing routerd can fix by moving elsewhere.
RETURN_AS_IS = Action(retry=False, fall_back=False, trips_breaker=False, cools=None)

_TRANSPORT: dict[Transport, Category] = {"timeout": "timeout", "connect": "connect_error",
                                         "reset": "connect_error", "malformed": "server_error"}

# Statuses whose meaning is clear without the body. Anything else: 5xx is a server error, another
# 4xx the client's bad request. 413 is left to the body: Anthropic's means too many bytes (bad
# request), Groq's a tokens-per-minute limit (rate limited).
_STATUS: dict[int, Category] = {
    401: "auth", 403: "auth", 402: "billing", 404: "model_not_found", 408: "timeout",
    409: "server_error", 429: "rate_limited", 503: "server_error", 504: "timeout", 529: "overloaded",
}


def categorize(status: int | None, transport: Transport | None = None,
               hint: Category | None = None) -> Category:
    """The category of one failed call: the dialect's reading of the error body (``hint``) when it
    has one, else the transport failure, else the status."""
    if hint is not None:
        return hint
    if transport is not None:
        return _TRANSPORT[transport]
    if status is None:
        return "connect_error"
    if status in _STATUS:
        return _STATUS[status]
    return "server_error" if status >= 500 else "bad_request"


@dataclass(frozen=True, slots=True)
class Cooldowns:
    """How long a cooled target stays out when the provider names no time (seconds)."""

    rate_limited_s: float = 1.0
    overloaded_s: float = 5.0
    auth_s: float = 3600.0
    billing_s: float = 3600.0
    model_not_found_s: float = 600.0

    def for_category(self, category: Category) -> float:
        return getattr(self, f"{category}_s", 0.0)


@dataclass(frozen=True, slots=True)
class Verdict:
    category: Category
    action: Action
    cools: CoolScope | None        # what stays out (None: nothing)
    cooldown_s: float | None       # and for how long

    @property
    def retryable(self) -> bool:
        return self.action.retry


def judge(category: Category, *, retry_after_s: float | None = None,
          cooldowns: Cooldowns = Cooldowns(), client_credentials: bool = False) -> Verdict:
    """The action for ``category``. A ``Retry-After`` is honoured everywhere: it sets how long the
    target cools (the provider's own word beats our default), and on a failure that would not cool
    anything by itself (a 503 saying when to come back) it cools the provider. An auth failure on
    the client's own credentials is theirs to see."""
    if category == "auth" and client_credentials:
        return Verdict(category, RETURN_AS_IS, None, None)
    if retry_after_s is not None:  # read bounded where it entered; held to it here too
        retry_after_s = bounded_delay(retry_after_s)
    action = ACTIONS[category]
    cools = action.cools
    if cools is None and retry_after_s is not None and action.fall_back and not action.larger_window:
        cools = "provider"
    if cools is None:
        return Verdict(category, action, None, None)
    seconds = retry_after_s if retry_after_s is not None else cooldowns.for_category(category)
    return Verdict(category, action, cools, max(0.0, seconds))
