"""Budget admission for one attempt: its worst case reserved before it goes out (settled by its
``CallRecord``), or the budget's refusal.

The worst case is the whole request body read as prompt tokens (``BYTES_PER_TOKEN``: JSON and
text run 3-4 bytes a token, so this rarely underestimates), at most the model's context window,
plus every output token the request may ask for: its own ``max_tokens`` (or the dialect's name for
it), else the catalogue's output limit for the model, else ``DEFAULT_MAX_OUTPUT``. Found with one
regular expression over the bytes: the body is not decoded on the proxy path.
"""

import re

from routerd.budgets.budgets import worst_case
from routerd.ledger.spending import Spending
from routerd.resilience.limits import Reservation
from routerd.resilience.refusal import Refusal
from routerd.routing.types import Candidate
from routerd.runtime import Runtime

BYTES_PER_TOKEN = 3
DEFAULT_MAX_OUTPUT = 8192
_MAX_OUTPUT = re.compile(rb'"(?:max_tokens|max_completion_tokens|max_output_tokens|maxOutputTokens)"\s*:\s*(\d+)')


def estimate(runtime: Runtime, candidate: Candidate, body: bytes) -> dict[str, float]:
    """What one call of ``body`` to ``candidate`` may spend at most (nothing when it is free)."""
    provider = runtime.providers.get(candidate.provider)
    info = runtime.catalogue.get(f"{candidate.provider}/{candidate.model}") or runtime.catalogue.get(candidate.model)
    free = (provider is not None and provider.local) or (info is not None and info.free)
    if free:
        return {}
    prompt = len(body) // BYTES_PER_TOKEN
    if info is not None:
        prompt = min(prompt, info.context_window)
    asked = _MAX_OUTPUT.search(body)
    output = int(asked.group(1)) if asked else (info.max_output_tokens if info and info.max_output_tokens
                                                else DEFAULT_MAX_OUTPUT)
    rates = runtime.catalogue.rates(candidate.provider, candidate.model)
    return worst_case(rates, False, prompt, output)


def hold(spending: Spending, runtime: Runtime, candidate: Candidate, body: bytes,
         session_id: str | None) -> Reservation | Refusal | None:
    """The attempt's reservation, the budget's refusal, or None (no budgets, or a free call)."""
    if not spending.active:
        return None
    amounts = estimate(runtime, candidate, body)
    if not amounts:
        return None
    return spending.reserve(candidate.provider, candidate.model, session_id, amounts)
