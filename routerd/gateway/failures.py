"""An upstream's error answer as routerd's error, its Retry-After, and how long to wait before
trying the same target again.

``status_error`` keeps the answer's body and the headers a client may rely on, and the provider's
word on when to come back: ``retry-after-ms`` (OpenAI's), ``retry-after`` in seconds or as an HTTP
date. That word is read strictly (RFC 9110 10.2.3: a date or a whole number of seconds; OpenAI's
SDK takes decimals too, so they pass) and bounded (``taxonomy.MAX_RETRY_AFTER_S``): ``inf``,
``1e308`` or ``-5`` is no time at all, and the client is told the time routerd read
(``retry-after: N`` in whole seconds), never the provider's text. The taxonomy
(``routerd.resilience.taxonomy``) reads these errors; this module only builds them.
"""

import math
import random
import re
import time
from collections.abc import Iterable

from routerd.config import GatewayConfig
from routerd.errors import UpstreamError, UpstreamRateLimited, UpstreamRejected, UpstreamTimeout, UpstreamUnavailable
from routerd.resilience.taxonomy import MAX_RETRY_AFTER_S, bounded_delay

KEEP = frozenset({b"content-type", b"request-id", b"x-request-id", b"openai-processing-ms",
                  b"anthropic-organization-id", b"openai-version", b"x-should-retry"})
_SECONDS = re.compile(rb"\s*(\d+(?:\.\d+)?)\s*")  # no sign, exponent, inf or nan
_RETRYABLE_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504, 520, 522, 524, 529})


def status_error(provider: str, status: int, headers: Iterable[tuple[bytes, bytes]], body: bytes) -> UpstreamError:
    headers = list(headers)
    retry_after = retry_after_s(headers, time.time())
    kept = tuple((k.decode(), v.decode("latin-1")) for k, v in headers if k.lower() in KEEP)
    if retry_after is not None:  # the time read, not the provider's text
        kept += (("retry-after", str(math.ceil(retry_after))),)
    message = f"{provider}: HTTP {status}"
    if status == 429:
        return UpstreamRateLimited(message, status=status, body=body, headers=kept, retry_after_s=retry_after)
    if status in _RETRYABLE_STATUS or status >= 500:
        error = UpstreamTimeout if status in (408, 504) else UpstreamUnavailable
        return error(message, status=status, body=body, headers=kept, retry_after_s=retry_after)
    return UpstreamRejected(message, status=status, body=body, headers=kept, retry_after_s=retry_after)


def retry_after_s(headers: Iterable[tuple[bytes, bytes]], now: float) -> float | None:
    """Seconds the provider asks us to wait (0..MAX_RETRY_AFTER_S), or None when it says nothing
    we can read."""
    for name, value in headers:
        name = name.lower()
        if name == b"retry-after-ms":
            if match := _SECONDS.fullmatch(value):
                return bounded_delay(min(float(match.group(1)) / 1000, MAX_RETRY_AFTER_S))
            continue
        if name == b"retry-after":
            if match := _SECONDS.fullmatch(value):
                return bounded_delay(min(float(match.group(1)), MAX_RETRY_AFTER_S))  # 400 digits: long
            from email.utils import parsedate_to_datetime  # first use: see FIRST_USE in tests/test_layers.py

            try:
                return bounded_delay(parsedate_to_datetime(value.decode("latin-1").strip()).timestamp() - now)
            except (TypeError, ValueError, IndexError, OverflowError):
                return None
    return None


def retry_delay(error: UpstreamError, retry: int, config: GatewayConfig) -> float | None:
    """Seconds to wait before retrying the same candidate, or None to move on: its Retry-After
    when short enough, else a jittered backoff doubling per retry."""
    if retry >= config.retries:
        return None
    if error.retry_after_s is not None:
        return error.retry_after_s if error.retry_after_s <= config.max_retry_after_s else None
    base = config.retry_backoff_s * (2 ** retry)
    return base * (0.5 + random.random() / 2)  # jitter: spread retries of concurrent calls
