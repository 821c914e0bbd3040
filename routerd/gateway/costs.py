"""What a call cost, and what the baseline model would have cost, from the catalogue's prices.

Prices come from the routing brain's catalogue (USD per million tokens, ``provider/id`` or bare id).
A model the catalogue marks free or local costs zero; an unknown model costs ``None`` (unknown), not
zero, except on a provider whose base URL is on this machine, which costs nothing to call. Cached
input tokens are charged at the input price: the catalogue does not carry cache prices.
"""

from routerd.gateway.plan import Candidate


def _price(app, candidate: Candidate) -> tuple[float, float] | None:
    """(input, output) USD per million tokens, or None when unknown."""
    routing = app.parts.get("routing")
    info = None
    if routing is not None:
        info = routing.catalogue.get(f"{candidate.provider}/{candidate.model}") or \
            routing.catalogue.get(candidate.model)
    if info is not None:
        if info.free or info.local:
            return (0.0, 0.0)
        if info.price_in_per_mtok is not None and info.price_out_per_mtok is not None:
            return (info.price_in_per_mtok, info.price_out_per_mtok)
    gateway = app.parts.get("gateway")
    provider = gateway.providers.get(candidate.provider) if gateway else None
    if provider is not None and provider.local:
        return (0.0, 0.0)
    return None


def price_call(app, candidate: Candidate, baseline: Candidate | None, tokens_in: int,
               tokens_out: int, cached: int) -> tuple[float | None, float | None]:
    """(cost, baseline cost) in USD for these tokens."""
    def cost(price):
        if price is None:
            return None
        return round((tokens_in * price[0] + tokens_out * price[1]) / 1e6, 8)

    return cost(_price(app, candidate)), cost(_price(app, baseline) if baseline else None)
