"""Dispatch: walk a decision's candidates until one answers, then relay its answer.

Every candidate is checked in one place, ``_admit``, before each attempt: the resilience state
(``routerd.resilience``) gives it a ticket from its provider's and model's breakers and
cool-downs, a key from the provider's pool, a slot under the provider's in-flight bound and a
reservation in every rate-limit bucket that covers it, or says why not (``Refusal``), and the walk
moves on. What an attempt holds (``gateway.guard.Held``) is ended by its outcome and released in a
``finally``, so that a cancelled call frees its half-open probe, slot and reservation too.

A failed attempt is read through the taxonomy (``resilience.taxonomy``): the verdict decides
whether the breakers hear of it, what cools down and for how long (a ``Retry-After`` is honoured),
and what the walk does next (``gateway.walk``). Falling back costs nothing while a retry costs
the failed attempt again, so the same target is retried (bounded, jittered, or after its
Retry-After) only when no other candidate could take the call now. A client's own bad request
ends the walk as it is. When every candidate is down, a configured local provider serves as the
last resort. Beyond ``resilience.max_in_flight`` requests routerd answers 429 with Retry-After
at once instead of queueing. Everything happens before the client has seen a byte: once a
stream has started there is no fallback, and a broken upstream ends the client's stream with
the dialect's error event.

One attempt, a call to one provider, is ``gateway.attempt``'s.
"""

import dataclasses
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio

from routerd.catalogue.models import ModelInfo
from routerd.errors import BudgetExceeded, NotImplementedYet, Overloaded
from routerd.gateway.answers import ProxyRequest, Reply, error_reply, failure_reply, local_count
from routerd.gateway.attempt import attempt, finish_reply
from routerd.gateway.failures import retry_delay
from routerd.gateway.gateway import Gateway
from routerd.gateway import spend
from routerd.gateway.guard import Held, admit, verdict_for
from routerd.gateway.prepare import Prepared, prepare
from routerd.gateway.record import CallRecord, session_of
from routerd.gateway.walk import Walk
from routerd.providers import Provider
from routerd.resilience.inflight import OVERLOAD_RETRY_AFTER_S
from routerd.resilience.refusal import Refusal
from routerd.resilience.taxonomy import Verdict
from routerd.routing.types import CHARS_PER_TOKEN, Candidate, RouteDecision
from routerd.runtime import Runtime
from routerd.scenarios.names import parse_model_name

_TOKEN_METRICS = frozenset({"tokens", "input_tokens", "output_tokens"})
# What a failed attempt uses of its reservation: the request, always (one that timed out or was
# reset may well have reached the provider and counted there: giving its room back let a bucket
# overshoot under load), and no tokens.
_FAILED_USE = {"requests": 1.0, "tokens": 0.0, "input_tokens": 0.0, "output_tokens": 0.0}
# A call's output, for a token reservation, when the request sets no maximum: settled to the
# real count when the answer is in, so it only has to be a fair guess.
DEFAULT_OUTPUT_ESTIMATE = 1024


@asynccontextmanager
async def open_call(gateway: Gateway, runtime: Runtime, request: ProxyRequest, plan: RouteDecision) -> AsyncIterator[Reply]:
    """Dispatch ``request`` along ``plan`` with the providers of ``runtime`` (the runtime the
    request started with); yields the reply to send (an error reply when every candidate failed,
    a 429 at once when routerd is at its in-flight bound). The upstream response stays open until
    the block exits."""
    inflight = gateway.resilience.inflight
    if not inflight.admit():
        yield error_reply(request.dialect, _overloaded(inflight.max_total))
        return
    try:
        async with _walk(gateway, runtime, request, plan) as reply:
            yield reply
    finally:
        inflight.done()


@asynccontextmanager
async def _walk(gateway: Gateway, runtime: Runtime, request: ProxyRequest, plan: RouteDecision) -> AsyncIterator[Reply]:
    walk = Walk(runtime, plan, request.dialect, request.body)
    for candidate in walk.candidates(gateway.resilience.local_last_resort):
        if (why := walk.passes_over(candidate)) is not None:
            if why != "stopped":
                walk.skipped.append(why)
            continue
        answered = await _try_candidate(gateway, walk, request, candidate)
        if answered is not None:
            reply, record = answered
            if not walk.paid:  # a free model served what the budgets refused to pay for
                gateway.spending.turned_away(walk.budget_refusals)
            try:
                yield reply
            finally:
                await finish_reply(reply, record)
            return
    gateway.spending.turned_away(walk.budget_refusals)
    if request.counting and (walk.failure is None or not walk.failure.error.status):
        yield local_count(request)  # no Anthropic provider could count: estimate, do not fail
        return
    if walk.failure is None and walk.budget is not None:
        candidate, refusal = walk.budget
        yield error_reply(request.dialect, BudgetExceeded(spend.refusal_message(
            walk.runtime, candidate, request, refusal, walk.stepped_down)))
        return
    yield failure_reply(request.dialect, walk.final(), walk.skipped)


def _admit(gateway: Gateway, walk: Walk, request: ProxyRequest, candidate: Candidate,
           endpoint: str, target: ModelInfo | None) -> tuple[Provider, Held] | None:
    """The one place a candidate is checked before each attempt: its provider is in the runtime
    the request started with, and the resilience state lets a call through now (breakers,
    cool-downs, a key in rotation, the in-flight bound, the rate-limit buckets), and the budgets
    hold its worst case (``routerd.gateway.spend``). Why one was
    passed over is noted in ``walk``. ``target``: the catalogue's entry for the candidate's model
    (``_catalogued``), whose output limit caps what the buckets hold."""
    provider = walk.runtime.providers.get(candidate.provider)
    if provider is None:
        return None
    board = gateway.resilience
    amounts = _estimate(board.limiter.metrics_for(candidate.provider, candidate.model), request,
                        target.max_output_tokens if target is not None else None)
    held = admit(board, candidate.provider, candidate.model, amounts, time.time(), bool(provider.keys),
                 endpoint)
    if isinstance(held, Refusal):
        walk.refused(held)
        return None
    budget = None if request.counting else spend.hold(gateway.spending, walk.runtime, candidate, request,
                                                      session_of(request.headers))
    if isinstance(budget, Refusal):
        held.release()
        walk.refused_by_budget(candidate, budget)
        return None
    held.budget, walk.paid = budget, budget is not None
    return provider, held


def _estimate(metrics: frozenset[str], request: ProxyRequest, limit: int | None = None) -> dict[str, float]:
    """What one call will use, for the buckets to reserve: a request, and tokens (the body's
    size, and the output its dialect's own field asks for, as budgets read it, at most the model's
    ``limit``: routerd sends no more) only when some bucket counts them."""
    if not metrics & _TOKEN_METRICS:
        return {"requests": 1.0}
    asked = spend.asked_output(request)
    if asked is not None and limit is not None:
        asked = min(asked, limit)
    output = float(asked if asked is not None else DEFAULT_OUTPUT_ESTIMATE)
    prompt = float(len(request.body) // CHARS_PER_TOKEN)
    return {"requests": 1.0, "tokens": prompt + output, "input_tokens": prompt, "output_tokens": output}


async def _try_candidate(gateway: Gateway, walk: Walk, request: ProxyRequest,
                         candidate: Candidate) -> tuple[Reply, CallRecord] | None:
    """Attempt one candidate, retrying it when the taxonomy allows and nothing else could take
    the call: the reply and its call record, or None (the failure is in ``walk``)."""
    runtime, plan = walk.runtime, walk.plan
    config = runtime.config.gateway
    provider = runtime.providers.get(candidate.provider)
    if provider is None:
        return None
    forward = gateway.forward_credentials(runtime)
    target = _catalogued(runtime, candidate)
    try:
        prepared = prepare(request.dialect, request.endpoint, request.query, request.headers, request.body,
                           plan.requested, provider, candidate.model, request.stream,
                           forward_credentials=forward, target=target,
                           moved=_moved(plan, candidate))
    except NotImplementedYet as exc:
        walk.skipped.append(f"{candidate.provider}: {exc.message}")
        walk.dead.add(candidate.provider)
        return None
    for retry in range(config.retries + 1):
        admitted = _admit(gateway, walk, request, candidate, prepared.dialect, target)
        if admitted is None:
            return None
        outcome = await _held_attempt(gateway, walk, request, prepared, candidate, admitted,
                                      forward and not provider.keys)
        if isinstance(outcome, tuple):
            return outcome
        if not outcome.retryable or walk.stopped or walk.failure is None or not _alone(gateway, walk, candidate):
            return None
        delay = retry_delay(walk.failure.error, retry, config)
        if delay is None:
            return None
        await anyio.sleep(delay)
    return None


async def _held_attempt(gateway: Gateway, walk: Walk, request: ProxyRequest, prepared: Prepared,
                        candidate: Candidate, admitted: tuple[Provider, Held],
                        client_credentials: bool) -> tuple[Reply, CallRecord] | Verdict:
    """One attempt under what ``_admit`` gave it; whatever happens, what it held is given back
    (a stream hands its hold to the reply, released when the relay ends)."""
    provider, taken = admitted
    taken.client_credentials = client_credentials
    held: Held | None = taken
    walk.attempt += 1
    record = CallRecord(gateway, walk.runtime, walk.plan, candidate, walk.attempt, request)
    record.budget = taken.budget
    try:
        outcome = await attempt(gateway, request, _with_key(prepared, provider, taken), provider,
                                candidate, record, taken)
        if isinstance(outcome, Reply):
            outcome.overhead_ms = (record.started - request.received) * 1000
            if outcome.relay is not None:
                outcome.held, held = taken, None
            return outcome, record
        verdict = verdict_for(gateway.resilience, outcome.error, outcome.dialect, client_credentials)
        taken.failed(time.time(), verdict, outcome.error.status, outcome.error.message)
        taken.settle(_FAILED_USE)
        walk.failed(candidate, outcome, verdict)
        return verdict
    finally:
        if held is not None:
            held.release()


def _with_key(prepared: Prepared, provider: Provider, held: Held) -> Prepared:
    """``prepared`` sent with the pool's key ``held`` chose (the first key's headers are in it)."""
    key = held.key
    if key is None or not provider.keys or key.label == provider.keys[0][0].label:
        return prepared
    own = set(provider.auth_headers)
    headers = [h for h in prepared.headers if h not in own] + list(provider.auth_for(key.label))
    return dataclasses.replace(prepared, headers=headers)


def _alone(gateway: Gateway, walk: Walk, candidate: Candidate) -> bool:
    """Whether no later candidate could take the call now, as admission would see it (then
    retrying this one is worth it)."""
    now, refusal, providers = time.time(), gateway.resilience.refusal, walk.runtime.providers
    later = walk.plan.candidates[walk.plan.candidates.index(candidate) + 1:] \
        if candidate in walk.plan.candidates else ()
    return not any(c.provider in providers and walk.passes_over(c) is None
                   and refusal(c.provider, c.model, now, providers[c.provider].endpoints(walk.dialect)) is None
                   for c in later)


def _overloaded(limit: int) -> Overloaded:
    error = Overloaded(f"routerd has {limit} requests in flight already; retry shortly")
    error.retry_after_s = OVERLOAD_RETRY_AFTER_S
    return error


def _catalogued(runtime: Runtime, candidate: Candidate) -> ModelInfo | None:
    """The catalogue's entry for the candidate's model (on its provider first), else None."""
    catalogue = runtime.catalogue
    return catalogue.get(f"{candidate.provider}/{candidate.model}") or catalogue.get(candidate.model)


def _moved(plan: RouteDecision, candidate: Candidate) -> bool:
    """Whether the candidate's model is not what the client asked for (so a request passed
    through may need adapting to it)."""
    return candidate.model != parse_model_name(plan.requested).name  # [1m] asks for the same model
