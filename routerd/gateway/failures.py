"""An upstream's error answer as routerd's error, its Retry-After, and how long to wait before
trying the same target again.

``status_error`` keeps the answer's body and the headers a client may rely on, and the provider's
word on when to come back: ``retry-after-ms`` (OpenAI's), ``retry-after`` in seconds or as an HTTP
date. The taxonomy (``routerd.resilience.taxonomy``) reads these errors; this module only builds
them.
"""

import random
import time
from collections.abc import Iterable

from routerd.config import GatewayConfig
from routerd.errors import UpstreamError, UpstreamRateLimited, UpstreamRejected, UpstreamTimeout, UpstreamUnavailable

KEEP = frozenset({b"content-type", b"request-id", b"x-request-id", b"openai-processing-ms",
                  b"anthropic-organization-id", b"openai-version", b"retry-after", b"x-should-retry"})
_RETRYABLE_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504, 520, 522, 524, 529})


def status_error(provider: str, status: int, headers: Iterable[tuple[bytes, bytes]], body: bytes) -> UpstreamError:
    headers = list(headers)
    retry_after = retry_after_s(headers, time.time())
    kept = tuple((k.decode(), v.decode("latin-1")) for k, v in headers if k.lower() in KEEP)
    message = f"{provider}: HTTP {status}"
    if status == 429:
        return UpstreamRateLimited(message, status=status, body=body, headers=kept, retry_after_s=retry_after)
    if status in _RETRYABLE_STATUS or status >= 500:
        error = UpstreamTimeout if status in (408, 504) else UpstreamUnavailable
        return error(message, status=status, body=body, headers=kept, retry_after_s=retry_after)
    return UpstreamRejected(message, status=status, body=body, headers=kept, retry_after_s=retry_after)


def retry_after_s(headers: Iterable[tuple[bytes, bytes]], now: float) -> float | None:
    """Seconds the provider asks us to wait, or None when it says nothing we can read."""
    for name, value in headers:
        name = name.lower()
        if name == b"retry-after-ms":
            try:
                return max(0.0, float(value) / 1000)
            except ValueError:
                continue
        if name == b"retry-after":
            text = value.decode("latin-1").strip()
            try:
                return max(0.0, float(text))
            except ValueError:
                pass
            from email.utils import parsedate_to_datetime  # first use: see FIRST_USE in tests/test_layers.py

            try:
                return max(0.0, parsedate_to_datetime(text).timestamp() - now)
            except (TypeError, ValueError, IndexError):
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
