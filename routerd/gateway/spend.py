"""Budget admission for one attempt: its worst case reserved before it goes out (settled by its
``CallRecord``), or the budget's refusal.

The worst case is the whole request body read as prompt tokens (``BYTES_PER_TOKEN``: JSON and
text run 3-4 bytes a token, so this rarely underestimates), at most the model's context window,
plus every output token the request may ask for: its own ``max_tokens`` (or the dialect's name for
it), else the catalogue's output limit for the model, else ``DEFAULT_MAX_OUTPUT``. Found with one
regular expression over the bytes: the body is not decoded on the proxy path.
"""

import re
from dataclasses import dataclass

from routerd.budgets.budgets import worst_case
from routerd.ledger.spending import Spending
from routerd.resilience.limits import Reservation
from routerd.resilience.refusal import Refusal
from routerd.routing.types import Candidate
from routerd.runtime import Runtime

BYTES_PER_TOKEN = 3
DEFAULT_MAX_OUTPUT = 8192
_MAX_OUTPUT = re.compile(rb'"(?:max_tokens|max_completion_tokens|max_output_tokens|maxOutputTokens)"\s*:\s*(\d+)')


@dataclass(frozen=True, slots=True)
class Estimate:
    """What one call may spend at most (``amounts``, for ``worst_case``) and how it was found."""

    amounts: dict[str, float]
    prompt_tokens: int
    output_tokens: int
    asked: bool                 # the output is the request's own max_tokens


def estimate(runtime: Runtime, candidate: Candidate, body: bytes) -> Estimate | None:
    """What one call of ``body`` to ``candidate`` may spend at most (None when it is free)."""
    provider = runtime.providers.get(candidate.provider)
    info = runtime.catalogue.get(f"{candidate.provider}/{candidate.model}") or runtime.catalogue.get(candidate.model)
    free = (provider is not None and provider.local) or (info is not None and info.free)
    if free:
        return None
    prompt = len(body) // BYTES_PER_TOKEN
    if info is not None:
        prompt = min(prompt, info.context_window)
    asked = _MAX_OUTPUT.search(body)
    output = int(asked.group(1)) if asked else (info.max_output_tokens if info and info.max_output_tokens
                                                else DEFAULT_MAX_OUTPUT)
    rates = runtime.catalogue.rates(candidate.provider, candidate.model)
    return Estimate(worst_case(rates, False, prompt, output), prompt, output, asked is not None)


def hold(spending: Spending, runtime: Runtime, candidate: Candidate, body: bytes,
         session_id: str | None) -> Reservation | Refusal | None:
    """The attempt's reservation, the budget's refusal, or None (no budgets, or a free call)."""
    if not spending.active:
        return None
    found = estimate(runtime, candidate, body)
    if found is None:
        return None
    return spending.reserve(candidate.provider, candidate.model, session_id, found.amounts)


def refusal_message(runtime: Runtime, candidate: Candidate, body: bytes, refusal: Refusal,
                    stepped_down: bool) -> str:
    """The 402's message when budgets refused every paid candidate: the first one refused (the
    model routing wanted), what it would have reserved and why, the limit and its reason, whether
    cheaper models were tried (``stepped_down``), and what would let a call through."""
    found = estimate(runtime, candidate, body)
    parts = [f"routerd budget: {candidate.provider}/{candidate.model}"]
    if found is not None:
        output = (f"max_tokens {found.output_tokens:,}" if found.asked else
                  f"the model's whole output limit of {found.output_tokens:,} tokens, since the request "
                  "sets no max_tokens")
        usd = found.amounts["usd"]
        shown = f"{usd:.4f}" if usd >= 0.001 else f"{usd:.10f}".rstrip("0")  # a cheap call is not $0.0000
        parts[0] += (f" would reserve ${shown} ({found.prompt_tokens + found.output_tokens:,} "
                     f"tokens: {found.prompt_tokens:,} prompt tokens at most and {output})")
    parts.append(f"{refusal.target}: {refusal.reason}")
    if stepped_down:
        parts.append("no cheaper model fits either")
    if not refusal.never:
        parts.append("paid calls this large are refused until it resets or the limit is raised")
    if found is not None:
        parts.append("a smaller max_tokens reserves less" if found.asked else "set max_tokens to reserve less")
    return "; ".join(parts) + "; free local models still serve"
