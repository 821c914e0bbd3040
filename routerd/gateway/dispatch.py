"""Dispatch: walk a plan's candidates until one answers, then relay its answer.

For each candidate: its breaker may say no (move on, noting why); the call is attempted with
bounded retries for retryable failures (others back off with jitter); a failure that a different
provider might not have (401/403/404, 5xx, timeouts, resets) moves to the next candidate; a client
error (400, 413, 422) ends the walk. A 429 is the provider's rate limit, not a fault: it never
counts against the breaker, the provider is left alone until its Retry-After has passed, the walk
moves to another provider when the plan has one, and otherwise waits out a short Retry-After or
answers 429 with it. A provider that cannot serve the request at all (unreachable, or a 404 that
names no model: the endpoint is missing) is not tried again for the plan's other models. Everything happens before the client has seen a byte:
once a stream has started there is no fallback, and a broken upstream ends the client's stream with
the dialect's error event. When no candidate succeeds, the last upstream error body is passed through
unchanged (same dialect), or the dialect's own error is made from it.

Every attempt is one row in ``calls``, written from ``finally`` blocks so that a cancelled call
(client gone) is still recorded with the usage seen so far.
"""

import logging
import random
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import anyio

from routerd.dialects.registry import get as dialect_of
from routerd.dialects.translate import translate_error, translate_response
from routerd.errors import (NotImplementedYet, RouterdError, UpstreamBadResponse, UpstreamError,
                            UpstreamRateLimited, UpstreamRejected, UpstreamTimeout, UpstreamUnavailable)
from routerd.gateway.prepare import Prepared, prepare
from routerd.gateway.record import CallRecord
from routerd.gateway.relay import StreamRelay, open_relay
from routerd.gateway.h1client import Response, UpstreamIOError
from routerd.gateway.upstream import Upstream, map_error, read_body
from routerd.gateway.usage import UsageMeter
from routerd.breakers import Breaker
from routerd.gateway.gateway import Gateway
from routerd.providers import Provider
from routerd.redact import scrub_bytes
from routerd.routing.types import Candidate, RouteDecision
from routerd.runtime import Runtime
from routerd.scenarios.names import parse_model_name

log = logging.getLogger("routerd.gateway")

MAX_ERROR_BODY = 64 * 1024
MAX_ANSWER_BODY = 64 * 1024 * 1024
_KEEP = frozenset({b"content-type", b"request-id", b"x-request-id", b"openai-processing-ms",
                   b"anthropic-organization-id", b"openai-version", b"retry-after", b"x-should-retry"})
_KEEP_PREFIX = (b"x-ratelimit-", b"anthropic-ratelimit-")
_RETRYABLE_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504, 520, 522, 524, 529})
_NEXT_STATUS = frozenset({401, 402, 403, 404})


@dataclass(slots=True)
class ProxyRequest:
    """A client's request as the front parsed it."""

    dialect: str
    endpoint: bytes                 # suffix after the dialect's path, e.g. b"/count_tokens"
    query: bytes
    headers: dict[bytes, bytes]
    body: bytes
    model: str
    stream: bool
    received: float                 # perf_counter() when the request was read


@dataclass(slots=True)
class Reply:
    """The answer to relay: a whole ``body``, or a ``relay`` to drain for a stream."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes = b""
    relay: StreamRelay | None = None
    candidate: Candidate | None = None
    overhead_ms: float = 0.0


@dataclass(slots=True)
class _Failure:
    error: UpstreamError
    dialect: str | None = None      # the dialect of ``error.body`` when it came from upstream


@dataclass(slots=True)
class _Walk:
    """One request's way along its plan: attempts so far, the last failure, what was passed over."""

    request: ProxyRequest
    runtime: Runtime
    plan: RouteDecision
    attempt: int = 0
    failure: _Failure | None = None
    skipped: list[str] = field(default_factory=list)   # why candidates were passed over
    dead: set[str] = field(default_factory=set)         # providers that cannot serve it at all


@asynccontextmanager
async def open_call(gateway: Gateway, runtime: Runtime, request: ProxyRequest, plan: RouteDecision) -> AsyncIterator[Reply]:
    """Dispatch ``request`` along ``plan`` with the providers of ``runtime`` (the runtime the
    request started with); yields the reply to send (an error reply when every candidate failed).
    The upstream response stays open until the block exits."""
    walk = _Walk(request, runtime, plan)
    for index, candidate in enumerate(plan.candidates):
        admitted = _admit(gateway, walk, candidate)
        if admitted is None:
            continue
        provider, breaker = admitted
        probe, attempts_before = breaker.is_probe, walk.attempt
        try:
            answered = await _try_candidate(gateway, walk, index, candidate, provider)
            if answered is not None:
                reply, record = answered
                try:
                    yield reply
                finally:
                    await _finish(reply, record)
                return
        finally:
            if probe:  # every way out of a probe frees it, cancellation included
                breaker.release()
        failure = walk.failure
        if failure is None or walk.attempt == attempts_before:  # not attempted (no translation)
            continue
        if _provider_wide(failure):
            walk.dead.add(candidate.provider)
        if failure.error.code == "upstream_rejected" and failure.error.status not in _NEXT_STATUS:
            break
    counts = dialect_of(request.dialect).counts_tokens
    if counts is not None and request.endpoint == counts and (walk.failure is None or not walk.failure.error.status):
        yield _local_count(request)  # no Anthropic provider could count: estimate, do not fail
        return
    yield _error_reply(request.dialect, walk.failure or _Failure(UpstreamUnavailable("no candidate to try")),
                       walk.skipped)


def _admit(gateway: Gateway, walk: _Walk, candidate: Candidate) -> tuple[Provider, Breaker] | None:
    """The one place a candidate is checked before it is tried: its provider is in the runtime the
    request started with and has not failed for this request as a whole, and its breaker lets a
    call through now (the limits a provider's health sets go here). Why one was passed over is
    noted in ``walk``."""
    provider = walk.runtime.providers.get(candidate.provider)
    breaker = gateway.breakers.get(candidate.provider)
    if provider is None or breaker is None or candidate.provider in walk.dead:
        return None
    if not breaker.allow(time.monotonic()):
        walk.skipped.append(_skip(candidate, breaker))
        walk.failure = walk.failure or _Failure(_unavailable(candidate.provider, breaker))
        return None
    return provider, breaker


async def _try_candidate(gateway: Gateway, walk: _Walk, index: int, candidate: Candidate,
                         provider) -> tuple[Reply, CallRecord] | None:
    """Attempt one candidate with its retries: the reply and its call record, or None (the
    failure is in ``walk``)."""
    request, plan, runtime = walk.request, walk.plan, walk.runtime
    config = runtime.config.gateway
    try:
        prepared = prepare(request.dialect, request.endpoint, request.query, request.headers, request.body,
                           plan.requested, provider, candidate.model, request.stream,
                           forward_credentials=gateway.forward_credentials(runtime),
                           moved_to=_moved_to(runtime, plan, candidate))
    except NotImplementedYet as exc:
        walk.skipped.append(f"{candidate.provider}: {exc.message}")
        walk.dead.add(candidate.provider)
        return None
    for retry in range(config.retries + 1):
        walk.attempt += 1
        record = CallRecord(gateway, runtime, plan, candidate, walk.attempt, request)
        outcome = await _attempt(gateway, request, prepared, provider, candidate, record)
        if isinstance(outcome, Reply):
            outcome.overhead_ms = (record.started - request.received) * 1000
            return outcome, record
        walk.failure = outcome
        if isinstance(outcome.error, UpstreamRateLimited) and any(
                c.provider != candidate.provider for c in plan.candidates[index + 1:]):
            return None  # another provider can answer now: better than waiting out the limit
        delay = _retry_delay(outcome.error, retry, config)
        if delay is None:
            return None
        await anyio.sleep(delay)
    return None


def _moved_to(runtime: Runtime, plan: RouteDecision, candidate: Candidate):
    """The catalogue's entry for the candidate's model when it is not what the client asked for
    (so the request may need adapting to it), else None."""
    if candidate.model == parse_model_name(plan.requested).name:  # [1m] asks for the same model
        return None
    return runtime.catalogue.get(candidate.model)


def _skip(candidate: Candidate, breaker) -> str:
    why = breaker.unavailable_for(time.monotonic())
    what, seconds = why if why is not None else ("busy", 1.0)
    return f"{candidate.provider}: {what} (retry in {max(seconds, 0.0):.0f} s)"


def _unavailable(provider: str, breaker) -> UpstreamError:
    """The error for a provider its breaker kept us from: a 429 while it is rate limited (with
    Retry-After), else unavailable (503 with Retry-After)."""
    why = breaker.unavailable_for(time.monotonic())
    what, seconds = why if why is not None else ("busy", 1.0)
    error = UpstreamRateLimited if what.startswith("rate limited") else UpstreamUnavailable
    return error(f"{provider}: {what}", retry_after_s=max(seconds, 1.0))


def _provider_wide(failure: _Failure) -> bool:
    """Whether the failure says this provider cannot serve the request whatever the model: no route
    to it, or a 404 that does not speak of a model (an endpoint the provider does not have)."""
    error = failure.error
    if error.status == 404:
        return b"model" not in error.body.lower()
    return error.status is None and isinstance(error, UpstreamUnavailable)


def _local_count(request: ProxyRequest) -> Reply:
    body = dialect_of(request.dialect).local_count(request.body, request.model)
    return Reply(200, [(b"content-type", b"application/json")], body=body)


async def _attempt(gateway: Gateway, request: ProxyRequest, prepared: Prepared, provider, candidate: Candidate,
                   record: CallRecord) -> Reply | _Failure:
    """One call to one provider, up to the answer's head (stream) or its whole body. The response
    is closed here unless a stream's relay took it over, whatever happens (its pool slot too), and
    the attempt is recorded even when the client leaves meanwhile."""
    name = candidate.provider
    upstream, breaker = gateway.upstream_for(provider), gateway.breakers[name]
    gateway.counters[name].requests += 1
    response = None
    timeout_s = upstream.provider.config.timeout_s
    try:
        with anyio.fail_after(timeout_s):
            response = await upstream.send(b"POST", prepared.path, prepared.headers, prepared.body)
            if response.status >= 400:
                body = await read_body(response, name, MAX_ERROR_BODY, truncate=True)
                raise _status_error(name, response.status, response.headers,
                                    scrub_bytes(body, record.runtime.secrets))
            if request.stream:  # committed only once the first event is in: until then, fall back
                reply = await _open_stream(response, request, prepared, candidate, record, upstream)
                response = None  # the relay owns it now
                return reply
            body, meter = await _read_answer(response, request, prepared, candidate)
    except TimeoutError:
        return _failed(gateway, record, breaker,
                       UpstreamTimeout(f"{name}: no answer within {timeout_s:g} s"), None)
    except UpstreamError as exc:
        return _failed(gateway, record, breaker, exc, prepared.dialect)
    except BaseException as exc:  # cancelled (the client left), or a bug: still one row
        if isinstance(exc, anyio.get_cancelled_exc_class()):
            record.finish("client_disconnected", None, "the client went away before the answer")
        else:
            record.finish(getattr(exc, "code", "internal"), None, type(exc).__name__)
        raise
    finally:
        if response is not None:
            await response.aclose()
    record.meter = meter
    record.first_byte()
    record.finish("ok", response.status)
    breaker.success(time.monotonic())
    return Reply(response.status, _reply_headers(response.headers, prepared, False), body=body,
                 candidate=candidate)


async def _read_answer(response: Response, request: ProxyRequest, prepared: Prepared,
                       candidate: Candidate) -> tuple[bytes, UsageMeter]:
    """A whole answer, metered and in the client's dialect; not JSON, or too big: a bad response."""
    name = candidate.provider
    body = await read_body(response, name, MAX_ANSWER_BODY)
    meter = UsageMeter(prepared.dialect)
    meter.feed_body(body)
    if not meter.completed:
        raise UpstreamBadResponse(f"{name}: the answer is not JSON")
    if prepared.translated:
        body = translate_response(prepared.dialect, request.dialect, body, candidate.model)
    return body, meter


async def _open_stream(response: Response, request: ProxyRequest, prepared: Prepared, candidate: Candidate,
                       record: CallRecord, upstream: Upstream) -> Reply:
    """A 200 stream whose first event arrived: the reply that relays it."""
    name = candidate.provider
    content_type = dict(response.headers).get(b"content-type", b"")
    if not content_type.lower().startswith(b"text/event-stream"):
        raise UpstreamBadResponse(f"{name}: a stream was asked for, the answer is "
                                  f"{content_type.decode('latin-1') or 'untyped'}")
    first = await _first_chunk(response, name)
    meter = UsageMeter(prepared.dialect)
    record.meter = meter
    record.first_byte()
    return Reply(200, _reply_headers(response.headers, prepared, True),
                 relay=open_relay(response, request, prepared, meter, record, candidate,
                                  upstream.read_timeout_s, first),
                 candidate=candidate)


def _failed(gateway: Gateway, record: CallRecord, breaker: Breaker, error: UpstreamError,
            dialect: str | None) -> _Failure:
    name = record.candidate.provider
    gateway.counters[name].errors += 1
    now = time.monotonic()
    was_open = breaker.state == "open"
    if isinstance(error, UpstreamRateLimited):  # the provider's limit, not a fault
        breaker.rate_limited(now, error.retry_after_s)
    elif error.retryable:
        breaker.failure(now)
    log.debug("attempt %d at %s/%s failed: %s", record.attempt, name, record.candidate.model, error.message)
    if breaker.state == "open" and not was_open:
        log.warning("%s: circuit open for %.1f s after %s", name, (breaker.retry_at or now) - now, error.message)
    record.finish(error.code, error.status, error.message)
    return _Failure(error, dialect if error.body else None)


async def _first_chunk(response, provider: str) -> bytes:
    try:
        first = await response.next_chunk()
    except UpstreamIOError as exc:
        raise map_error(exc, provider) from None
    if not first:
        raise UpstreamBadResponse(f"{provider}: the stream ended before its first event")
    return first


async def _finish(reply: Reply, record: CallRecord) -> None:
    """After the reply was sent (or the client left): close the stream and record it."""
    relay = reply.relay
    if relay is None:
        return
    try:
        await relay.aclose()
    finally:
        breaker = record.gateway.breakers[record.candidate.provider]
        if record.outcome in ("ok", "pending"):
            if record.outcome == "pending":
                record.outcome = "ok" if relay.finished else "client_disconnected"
            breaker.success(time.monotonic())
        else:
            breaker.failure(time.monotonic())
            record.gateway.counters[record.candidate.provider].errors += 1
        record.finish(record.outcome, 200, record.error)


def _status_error(provider: str, status: int, headers, body: bytes) -> UpstreamError:
    retry_after = _retry_after(headers)
    kept = tuple((k.decode(), v.decode("latin-1")) for k, v in headers if k.lower() in _KEEP)
    message = f"{provider}: HTTP {status}"
    if status == 429:
        return UpstreamRateLimited(message, status=status, body=body, headers=kept, retry_after_s=retry_after)
    if status in _RETRYABLE_STATUS or status >= 500:
        error = UpstreamTimeout if status in (408, 504) else UpstreamUnavailable
        return error(message, status=status, body=body, headers=kept, retry_after_s=retry_after)
    return UpstreamRejected(message, status=status, body=body, headers=kept)


def _retry_after(headers) -> float | None:
    for name, value in headers:
        name = name.lower()
        try:
            if name == b"retry-after-ms":
                return float(value) / 1000
            if name == b"retry-after":
                return float(value)
        except ValueError:
            return None  # an HTTP date: treat as unknown
    return None


def _retry_delay(error: UpstreamError, retry: int, config) -> float | None:
    """Seconds to wait before retrying the same candidate, or None to move on."""
    if not error.retryable or retry >= config.retries:
        return None
    if error.retry_after_s is not None:
        return error.retry_after_s if error.retry_after_s <= config.max_retry_after_s else None
    base = config.retry_backoff_s * (2 ** retry)
    return base * (0.5 + random.random() / 2)  # jitter: spread retries of concurrent calls


def _reply_headers(headers, prepared: Prepared, stream: bool) -> list[tuple[bytes, bytes]]:
    kept = [(k.lower(), v) for k, v in headers if k.lower() in _KEEP or k.lower().startswith(_KEEP_PREFIX)]
    if prepared.translated:  # the upstream's content-type need not be the client's
        kept = [(k, v) for k, v in kept if k != b"content-type"]
        kept.append((b"content-type", b"text/event-stream" if stream else b"application/json"))
    return kept


def _error_reply(dialect: str, failure: _Failure, skipped: Sequence[str] = ()) -> Reply:
    error = failure.error
    if error.body and failure.dialect and error.status and error.status >= 400:
        headers = [(k.encode(), v.encode()) for k, v in error.headers]
        if isinstance(error, UpstreamRateLimited) and not any(k == b"retry-after" for k, _ in headers):
            headers.append((b"retry-after", b"%d" % max(1, round(error.retry_after_s or 1))))
        if failure.dialect == dialect:
            return Reply(error.status, headers, body=error.body)
        headers = [(k, v) for k, v in headers if k != b"content-type"] + [(b"content-type", b"application/json")]
        return Reply(error.status, headers, body=translate_error(failure.dialect, dialect, error.status,
                                                                 error.body))
    status = error.status if error.status and error.status >= 400 else error.http_status
    if status == 502 and error.retry_after_s is not None:
        status = 503  # every candidate is cooling down: a temporary state, with a time to retry
    headers = [(b"content-type", b"application/json")]
    if error.retry_after_s is not None:
        headers.append((b"retry-after", b"%d" % max(1, round(error.retry_after_s))))
    message = error.message
    if len(skipped) > 1 or (skipped and not message.startswith(skipped[0].split(":")[0] + ":")):
        message = "no provider could take the request: " + "; ".join(skipped)
    return Reply(status, headers, body=dialect_of(dialect).error_bytes(status, message, error.code))


def error_reply(dialect: str, error: RouterdError) -> Reply:
    """A reply for an error raised before dispatch (bad request, no route, unauthorized)."""
    status = error.http_status
    headers = [(b"content-type", b"application/json")]
    if (retry_after_s := getattr(error, "retry_after_s", None)) is not None:
        headers.append((b"retry-after", b"%d" % max(1, round(retry_after_s))))
    return Reply(status, headers, body=dialect_of(dialect).error_bytes(status, error.message, error.code))
