"""Resilience around one attempt: what must hold before a call goes out, and what its outcome does.

``admit`` takes, in order, a ticket from the target's breakers and cool-downs, a key from the
provider's pool, a slot under the provider's in-flight bound and a reservation from every
rate-limit bucket covering the target, or none of them, with the reason (a ``Refusal``). The
``Held`` it returns is ended by exactly one of ``succeeded`` or ``failed``, and ``release`` in a
``finally`` gives back whatever is still held, so that cancellation frees a half-open probe, a
slot and a reservation like any other ending.

``judge`` reads a failed attempt through the taxonomy: the status, the dialect's reading of the
error body, or the transport failure gives the category, and the category the action. ``failed``
then does what the action says: the breakers hear a fault (never a client error or a rate limit),
the model or provider cools down for the provider's Retry-After (or our default), a key the
provider refused leaves the rotation with a status line that names it by label and fingerprint.
Rate-limit headers on every answer, good or bad, feed the learned buckets.
"""

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from routerd.dialects.error_reading import StreamFailure, read_error
from routerd.errors import UpstreamBadResponse, UpstreamError, UpstreamTimeout
from routerd.resilience.board import Resilience
from routerd.resilience.health import Ticket, endpoint_target
from routerd.resilience.keys import PoolKey
from routerd.resilience.limiter import Observation
from routerd.resilience.limits import Reservation, Target
from routerd.resilience.refusal import Refusal
from routerd.resilience.taxonomy import Category, Verdict, categorize, judge

log = logging.getLogger("routerd.gateway")


@dataclass(slots=True)
class Held:
    """What one attempt holds: its ticket, its key, its in-flight slot, its reservation."""

    board: Resilience
    provider: str
    model: str
    ticket: Ticket
    key: PoolKey | None
    reservation: Reservation | None
    slot: bool = True
    budget: Reservation | None = None   # the budgets' hold (``routerd.gateway.spend``), settled by the call record
    endpoint: str | None = None         # the upstream dialect called: a model not found is cooled on it alone
    client_credentials: bool = False    # the call carried the client's own key (an auth failure is theirs)

    @property
    def target(self) -> Target:
        return Target(self.provider, self.model, self.key.label if self.key else None)

    def learn(self, seen: list[Observation], now: float) -> None:
        """The provider's rate-limit headers (``read_limits``), into the learned buckets of this target."""
        if seen:
            self.board.limiter.learn(self.target, seen, now)

    def succeeded(self, now: float, ttft_s: float | None = None) -> None:
        self.ticket.succeeded(now)
        if ttft_s is not None:
            self.board.latency.observe(f"{self.provider}/{self.model}", ttft_s)

    def settle(self, used: Mapping[str, float]) -> None:
        """Charge the buckets what the call used (tokens from the answer's usage)."""
        if self.reservation is not None:
            self.reservation.settle(used)
            self.reservation = None

    def failed(self, now: float, verdict: Verdict, status: int | None, why: str) -> None:
        """Do what the verdict says about this target (see the module docstring)."""
        if verdict.action.trips_breaker:
            health = self.board.health
            was = health.unavailable(self.provider, self.model, now)
            self.ticket.failed(now, why)
            if was is None and (now_out := health.unavailable(self.provider, self.model, now)) is not None:
                log.warning("%s", now_out.describe())    # a circuit just opened
        else:
            self.ticket.released()
        if verdict.cools is None or verdict.cooldown_s is None:
            return
        seconds, pool = verdict.cooldown_s, self.board.pools.get(self.provider)
        if verdict.cools == "key" and self.key is not None and pool is not None:
            log.warning("%s", pool.take_out(self.key.label, status or 0, seconds, now, why))
        elif verdict.category == "rate_limited" and self.key is not None and pool is not None \
                and len(pool.keys) > 1:
            pool.cool(self.key.label, self.model, seconds, now, f"rate limited ({why})")
        elif verdict.cools == "model":
            target = f"{self.provider}/{self.model}"
            if verdict.category == "model_not_found" and self.endpoint is not None:
                target = endpoint_target(self.provider, self.model, self.endpoint)
            self.board.health.cool(target, seconds, now, _reason(verdict.category, why), verdict.category)
        else:
            self.board.health.cool(self.provider, seconds, now, _reason(verdict.category, why),
                                   verdict.category)

    def release(self) -> None:
        """Give back what is still held (safe after everything else; call it in ``finally``)."""
        self.ticket.released()
        if self.reservation is not None:
            self.reservation.cancel()
            self.reservation = None
        if self.budget is not None:      # a no-op once the call record settled it
            self.budget.cancel()
            self.budget = None
        if self.slot:
            self.board.inflight.release(self.provider, self.model)
            self.slot = False


def _reason(category: Category, why: str) -> str:
    return {"rate_limited": "rate limited by the provider", "overloaded": "overloaded",
            "auth": "its key was refused", "billing": "out of credit or quota",
            "model_not_found": "does not serve this model"}.get(category, category.replace("_", " ")) \
        + (f" ({why})" if why else "")


def admit(board: Resilience, provider: str, model: str, amounts: Mapping[str, float],
          now: float, has_own_key: bool, endpoint: str | None = None) -> Held | Refusal:
    """Everything one attempt at ``provider``/``model`` (on ``endpoint``, the upstream dialect)
    needs, or why it may not go now. ``has_own_key``: the provider has keys of its own (else the
    client's credentials go)."""
    ticket = board.health.admit(provider, model, now, endpoint)
    if isinstance(ticket, Refusal):
        return ticket
    key = None
    pool = board.pools.get(provider) if has_own_key else None
    if pool is not None:
        key = pool.choose(model, now, lambda label: board.limiter.headroom(Target(provider, model, label), now))
        if key is None:
            ticket.released()
            why, seconds = pool.unavailable(model, now) or ("no key in rotation", 1.0)
            return Refusal(provider, why, seconds, rate_limited="rate limited" in why)
    if not board.inflight.acquire(provider, model):
        ticket.released()
        return Refusal(provider, f"{board.inflight.max_per_provider} calls in flight already", 1.0,
                       rate_limited=True)
    reservation = board.limiter.reserve(Target(provider, model, key.label if key else None), amounts, now)
    if isinstance(reservation, Refusal):
        ticket.released()
        board.inflight.release(provider, model)
        return reservation
    return Held(board, provider, model, ticket, key, reservation, endpoint=endpoint)


def classify_failure(error: UpstreamError, dialect: str | None) -> tuple[Category, float | None]:
    """The category of a failed attempt and the provider's word on when to come back (a
    ``Retry-After``, or Gemini's ``RetryInfo``)."""
    if isinstance(error, UpstreamBadResponse):
        return categorize(error.status, "malformed"), error.retry_after_s
    if error.status is None:
        return categorize(None, "timeout" if isinstance(error, UpstreamTimeout) else "connect"), error.retry_after_s
    reading = read_error(dialect or "openai_chat", error.status, error.body)
    retry_after = error.retry_after_s if error.retry_after_s is not None else reading.retry_after_s
    return categorize(error.status, hint=reading.hint), retry_after


def verdict_for(board: Resilience, error: UpstreamError, dialect: str | None,
                client_credentials: bool) -> Verdict:
    category, retry_after = classify_failure(error, dialect)
    return judge(category, retry_after_s=retry_after, cooldowns=board.cooldowns,
                 client_credentials=client_credentials)


def stream_verdict(held: Held, failure: StreamFailure | None) -> Verdict:
    """The verdict on a stream that broke after the client's first bytes. The provider's own error
    event is read as the same error before the stream would be (an ``overloaded_error`` cools the
    provider and counts for its breakers like a 529, a rate limit cools the model for the body's
    retry delay without tripping one); a stream cut without a word from the provider, or with an
    error that names no category, is a server error."""
    if failure is None or failure.hint is None:
        return judge("server_error")
    return judge(failure.hint, retry_after_s=failure.retry_after_s, cooldowns=held.board.cooldowns,
                 client_credentials=held.client_credentials)
