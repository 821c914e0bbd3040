"""One attempt: a call to one provider, up to the answer's head (a stream, committed to once its
first event is in) or its whole body (metered, translated, secrets blanked), and the end of a
streamed reply.

Every attempt is one row in ``calls``, written from ``finally`` blocks so that a cancelled call
(client gone: ``client_disconnected``; cut by the daemon's stop: ``stopped``) is still recorded with
the usage seen so far. The provider's rate-limit headers on
any answer feed the learned buckets and the budgets; what the attempt held (``gateway.guard.Held``)
hears how it went: the breakers its outcome, the buckets what it used.
"""

import logging
import re
import time

import anyio

from routerd.dialects.registry import get as dialect_of
from routerd.dialects.translate import translate_response
from routerd.errors import UpstreamBadResponse, UpstreamError, UpstreamTimeout
from routerd.gateway.answers import ProxyRequest, Reply
from routerd.gateway.failures import KEEP, status_error
from routerd.gateway.gateway import Gateway
from routerd.gateway.guard import Held, stream_verdict
from routerd.gateway.h1client import Response, UpstreamIOError
from routerd.gateway.prepare import Prepared
from routerd.gateway.record import CallRecord
from routerd.gateway.relay import open_relay
from routerd.gateway.upstream import Upstream, map_error, read_body
from routerd.gateway.usage import UsageMeter
from routerd.gateway.walk import Failure
from routerd.providers import Provider
from routerd.redact import Redactor
from routerd.resilience.ratelimit_headers import read_limits
from routerd.routing.types import Candidate

log = logging.getLogger("routerd.gateway")

MAX_ERROR_BODY = 64 * 1024
MAX_ANSWER_BODY = 64 * 1024 * 1024
# The providers' own limit headers reach the client: its SDK or CLI shows them (Codex its plan's
# windows from x-codex-*).
_KEEP_PREFIX = (b"x-ratelimit-", b"anthropic-ratelimit-", b"x-codex-")
_TITLE = re.compile(rb"<title[^>]*>(.*?)</title", re.IGNORECASE | re.DOTALL)


async def attempt(gateway: Gateway, request: ProxyRequest, prepared: Prepared, provider: Provider,
                  candidate: Candidate, record: CallRecord, held: Held) -> Reply | Failure:
    """One call to one provider, up to the answer's head (stream) or its whole body. The response
    is closed here unless a stream's relay took it over, whatever happens (its pool slot too), and
    the attempt is recorded even when the client leaves meanwhile. The provider's rate-limit
    headers on any answer feed the learned buckets."""
    name = candidate.provider
    upstream = gateway.upstream_for(provider)
    gateway.counters[name].requests += 1
    response = None
    timeout_s = upstream.provider.config.timeout_s
    try:
        with anyio.fail_after(timeout_s):
            response = await upstream.send(b"POST", prepared.path, prepared.headers, prepared.body)
            now = time.time()
            kind = provider.config.kind  # each vendor's headers, from a provider of its kind only
            limits = read_limits(response.headers, now, kind)  # one reading for resilience and the budgets
            held.learn(limits, now)
            gateway.spending.observe(name, limits, response.headers, now, kind)
            if response.status >= 400:
                headers, body = await _error_answer(response, name, record.runtime.redactor, prepared.dialect)
                raise status_error(name, response.status, headers, body)
            if (coding := _coding(response)) is not None:
                raise UpstreamBadResponse(f"{name}: the answer is {coding}-encoded, which routerd does not ask for")
            if request.stream:  # committed only once the first event is in: until then, fall back
                reply = await _open_stream(response, request, prepared, candidate, record, upstream)
                response = None  # the relay owns it now
                return reply
            body, meter = await _read_answer(response, request, prepared, candidate)
            body = record.runtime.redactor.blank(body)
    except TimeoutError:
        return _failed(gateway, record, UpstreamTimeout(f"{name}: no answer within {timeout_s:g} s"), None)
    except UpstreamError as exc:
        return _failed(gateway, record, exc, prepared.dialect)
    except BaseException as exc:  # cancelled (the client left, or routerd stopped), or a bug: still one row
        if isinstance(exc, anyio.get_cancelled_exc_class()):
            outcome, error = _cancelled(gateway)
            record.finish(outcome, None, error)
        else:
            record.finish(getattr(exc, "code", "internal"), None, type(exc).__name__)
        raise
    finally:
        if response is not None:
            await response.aclose()
    record.meter = meter
    record.first_byte()
    record.finish("ok", response.status)
    _succeeded(held, record)
    return Reply(response.status, _reply_headers(response.headers, prepared, False), body=body,
                 candidate=candidate)


def _coding(response: Response) -> str | None:
    """The content coding of an answer, when it has one: routerd asks for none (it drops the
    client's Accept-Encoding), so it cannot read, meter or blank such a body."""
    value = dict(response.headers).get(b"content-encoding", b"").strip().lower()
    return value.decode("latin-1") if value not in (b"", b"identity") else None


async def _error_answer(response: Response, provider: str, redactor: Redactor,
                        dialect: str) -> tuple[list[tuple[bytes, bytes]], bytes]:
    """An error answer's headers and body, secrets blanked, cut to ``MAX_ERROR_BODY`` only after
    blanking (so a secret across the cut is blanked whole): read that far and the longest secret's
    length beyond. An encoded body (gzip, say) is left unread: the client gets routerd's own error
    for its status. An HTML page (a proxy's, a CDN's) becomes the dialect's error naming its title,
    not kilobytes of markup in a client's error message."""
    headers = response.headers
    if _coding(response) is not None:
        return headers, b""
    body = await read_body(response, provider, MAX_ERROR_BODY + redactor.longest, truncate=True)
    body = redactor.blank(body)[:MAX_ERROR_BODY]
    if not dict(headers).get(b"content-type", b"").lower().startswith(b"text/html"):
        return headers, body
    found = _TITLE.search(body)
    import html  # first use: see FIRST_USE in tests/test_layers.py
    title = " ".join(html.unescape(found.group(1).decode("utf-8", "replace")).split())[:200] if found else ""
    status = response.status
    headers = [(k, v) for k, v in headers if k != b"content-type"] + [(b"content-type", b"application/json")]
    return headers, dialect_of(dialect).error_bytes(status, f"{provider}: HTTP {status}, an HTML page"
                                                    + (f": {title}" if title else ""), "upstream_error")


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
        body = translate_response(prepared.dialect, request.dialect, body, candidate.model, prepared.reading)
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
    relay = open_relay(response, request, prepared, meter, record, candidate, upstream.read_timeout_s, first)
    await relay.begin()  # a bad first event, or a break before it, is a failed attempt: fall back
    return Reply(200, _reply_headers(response.headers, prepared, True), relay=relay, candidate=candidate)


def _succeeded(held: Held, record: CallRecord) -> None:
    """The target answered: its breakers hear it, its time to first byte is averaged, and the
    buckets are charged what the call used."""
    ttft = record.ttft - record.started if record.ttft is not None else None
    held.succeeded(time.time(), ttft)
    tokens = record.meter.tokens() if record.meter is not None else None
    if tokens is None:
        held.settle({"requests": 1.0})
        return
    held.settle({"requests": 1.0, "tokens": float(tokens.input + tokens.output),
                 "input_tokens": float(tokens.input), "output_tokens": float(tokens.output)})


def _failed(gateway: Gateway, record: CallRecord, error: UpstreamError, dialect: str | None) -> Failure:
    gateway.counters[record.candidate.provider].errors += 1
    # A provider that answers what cannot be read is worth a line in the log; the rest is routine.
    log.log(logging.WARNING if isinstance(error, UpstreamBadResponse) else logging.DEBUG,
            "attempt %d at %s/%s failed: %s", record.attempt, record.candidate.provider,
            record.candidate.model, error.message)
    record.finish(error.code, error.status, error.message)
    return Failure(error, dialect if error.body else None)


async def _first_chunk(response: Response, provider: str) -> bytes:
    try:
        first = await response.next_chunk()
    except UpstreamIOError as exc:
        raise map_error(exc, provider) from None
    if not first:
        raise UpstreamBadResponse(f"{provider}: the stream ended before its first event")
    return first


async def finish_reply(reply: Reply, record: CallRecord) -> None:
    """After the reply was sent (or the client left): close the stream, record it, and end the
    stream's hold on its target (a stream cut by the provider is a failure of it)."""
    relay, held = reply.relay, reply.held
    if relay is None:
        return
    try:
        await relay.aclose()
    finally:
        if record.outcome in ("ok", "pending"):
            if record.outcome == "pending" and relay.finished:
                record.outcome = "ok"
            elif record.outcome == "pending":
                record.outcome, record.error = _cancelled(record.gateway)
        else:
            record.gateway.counters[record.candidate.provider].errors += 1
        record.finish(record.outcome, 200, record.error)
        if held is not None:
            if record.outcome in ("stream_cut", "upstream_bad_response"):
                failure = record.meter.failure if record.meter is not None else None
                held.failed(time.time(), stream_verdict(held, failure), 200, record.error or "stream cut")
            else:
                _succeeded(held, record)
            held.release()


def _cancelled(gateway: Gateway) -> tuple[str, str]:
    """The outcome and error of a call cancelled before its answer was whole: the daemon's stop cut
    it (``Gateway.stopping``), or else its client went away. Either way the tokens seen so far are
    metered (``CallRecord.finish`` estimates the rest)."""
    if gateway.stopping:
        return "stopped", "routerd stopped before the answer finished"
    return "client_disconnected", "the client went away before the answer"


def _reply_headers(headers, prepared: Prepared, stream: bool) -> list[tuple[bytes, bytes]]:
    kept = [(k.lower(), v) for k, v in headers if k.lower() in KEEP or k.lower().startswith(_KEEP_PREFIX)]
    if prepared.translated:  # the upstream's content-type need not be the client's
        kept = [(k, v) for k, v in kept if k != b"content-type"]
        kept.append((b"content-type", b"text/event-stream" if stream else b"application/json"))
    return kept
