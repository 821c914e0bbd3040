"""What a call cost, and what the baseline model would have cost, from the catalogue's prices.

Prices come from the routing brain's catalogue (per million tokens; cached input at its own
rate when known). A model without a known price costs ``None`` (unknown), not zero; local providers
cost zero.
"""

from routerd.gateway.plan import Candidate


def _price(app, candidate: Candidate) -> tuple[float, float, float] | None:
    """(input, output, cached input) USD per million tokens, or None when unknown."""
    gateway = app.parts.get("gateway")
    provider = gateway.providers.get(candidate.provider) if gateway else None
    if provider is not None and provider.local:
        return (0.0, 0.0, 0.0)
    return None


def price_call(app, candidate: Candidate, baseline: Candidate | None, tokens_in: int,
               tokens_out: int, cached: int) -> tuple[float | None, float | None]:
    """(cost, baseline cost) in USD for these tokens."""
    def cost(price):
        if price is None:
            return None
        fresh = max(tokens_in - cached, 0)
        return round((fresh * price[0] + tokens_out * price[1] + cached * price[2]) / 1e6, 8)

    return cost(_price(app, candidate)), cost(_price(app, baseline) if baseline else None)
