"""What dispatch hands back to a front: the request as the front parsed it, the reply to relay,
and error replies in the client's dialect (an upstream error body passed through or translated,
or routerd's own error with its Retry-After)."""

from collections.abc import Sequence
from dataclasses import dataclass

import msgspec

from routerd.dialects.registry import get as dialect_of
from routerd.dialects.translate import translate_error
from routerd.errors import RouterdError, UpstreamRateLimited
from routerd.gateway.guard import Held
from routerd.gateway.relay import StreamRelay
from routerd.gateway.walk import Failure
from routerd.routing.types import Candidate


_ABSENT = msgspec.Raw(b"")


class OutputFields(msgspec.Struct):
    """The top-level fields in which the dialects ask for their most output tokens, as they came
    (read only when a budget needs them, ``routerd.gateway.spend``). The front's peek at the body
    extends this, so that the body is decoded once; a nested or repeated key is read as a JSON
    parser upstream reads it (the top level's, the last)."""

    max_tokens: msgspec.Raw = _ABSENT                 # OpenAI chat (older), Anthropic
    max_completion_tokens: msgspec.Raw = _ABSENT      # OpenAI chat
    max_output_tokens: msgspec.Raw = _ABSENT          # Responses
    generationConfig: msgspec.Raw = _ABSENT           # Gemini (its maxOutputTokens)
    generation_config: msgspec.Raw = _ABSENT          # Gemini, as its proto JSON also takes it


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
    output: OutputFields | None = None  # its output maximum's fields (None: not decoded yet)

    @property
    def counting(self) -> bool:
        """Whether this asks only for a token count (Anthropic's count_tokens, Gemini's
        countTokens): no model call, so nothing to hold against a budget, price or record."""
        counts = dialect_of(self.dialect).counts_tokens
        return counts is not None and self.endpoint == counts


@dataclass(slots=True)
class Reply:
    """The answer to relay: a whole ``body``, or a ``relay`` to drain for a stream."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes = b""
    relay: StreamRelay | None = None
    candidate: Candidate | None = None
    overhead_ms: float = 0.0
    held: Held | None = None        # a stream's hold on its target, until the relay ends


def local_count(request: ProxyRequest) -> Reply:
    """A token count made here, when no provider could count (Anthropic's count_tokens)."""
    body = dialect_of(request.dialect).local_count(request.body, request.model)
    return Reply(200, [(b"content-type", b"application/json")], body=body)



def failure_reply(dialect: str, failure: Failure, skipped: Sequence[str] = ()) -> Reply:
    """The answer when no candidate answered: the last upstream error body as it came (translated
    across dialects), else the dialect's own error naming what was passed over and why."""
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
    skipped = distinct(skipped)
    if len(skipped) > 1 or (skipped and not message.startswith(skipped[0].split(":")[0] + ":")):
        message = "no provider could take the request: " + "; ".join(skipped)
    return Reply(status, headers, body=dialect_of(dialect).error_bytes(status, message, error.code))


def distinct(reasons: Sequence[str]) -> list[str]:
    """Each reason once, in order: the candidates one limit refused (each model of a provider, or
    every provider under a ``*`` limit) all give its reason, its retry time maybe a second apart."""
    first: dict[str, str] = {}
    for reason in reasons:
        first.setdefault(reason.split(" (retry in ")[0], reason)
    return list(first.values())


def error_reply(dialect: str, error: RouterdError) -> Reply:
    """A reply for an error raised before dispatch (bad request, no route, unauthorized)."""
    status = error.http_status
    headers = [(b"content-type", b"application/json")]
    if (retry_after_s := getattr(error, "retry_after_s", None)) is not None:
        headers.append((b"retry-after", b"%d" % max(1, round(retry_after_s))))
    return Reply(status, headers, body=dialect_of(dialect).error_bytes(status, error.message, error.code))
