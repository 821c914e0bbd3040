"""What a call cost, and what the baseline model would have cost, from the catalogue's prices.

Prices come from the routing brain's catalogue (USD per million tokens): its models, then its price
book of every model genai-prices knows for routerd's providers, so a baseline the client named but
routerd does not route to (``claude-opus-4-8``, an older ``claude-opus-4-1``) is priced too.
A model the catalogue marks free or local costs zero; an unknown model costs ``None`` (unknown), not
zero, except on a provider whose base URL is on this machine, which costs nothing to call. Cached
input tokens are charged at the input price: the catalogue does not carry cache prices.
"""

from routerd.gateway.plan import Candidate


def _price(app, candidate: Candidate) -> tuple[float, float] | None:
    """(input, output) USD per million tokens, or None when unknown."""
    routing = app.parts.get("routing")
    price = routing.catalogue.price(candidate.provider, candidate.model) if routing is not None else None
    if price is not None:
        return price
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
