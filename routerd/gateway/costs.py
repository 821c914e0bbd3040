"""What a call cost, and what the baseline model would have cost, from the catalogue's prices.

Prices come from the routing brain's catalogue (USD per million tokens): its models, then its price
book of every model genai-prices knows for routerd's providers, so a baseline the client named but
routerd does not route to (``claude-opus-4-8``, an older ``claude-opus-4-1``) is priced too.
A call to a provider whose base URL is on this machine (Ollama, llama.cpp, vLLM) costs nothing,
whatever the model is called there (``gpt-oss`` served by Ollama is free); a model the catalogue
marks free costs zero; an unknown model costs ``None`` (unknown), not zero. The baseline is the
market price of the model the client asked for, wherever it would have been served. Cached input
tokens are charged at the input price: the catalogue does not carry cache prices.
"""

from routerd.routing.types import Candidate
from routerd.runtime import Runtime


def _price(runtime: Runtime, candidate: Candidate, *, market: bool = False) -> tuple[float, float] | None:
    """(input, output) USD per million tokens, or None when unknown. ``market``: the model's
    price as sold, even when a provider on this machine serves it (for baselines)."""
    if not market:
        provider = runtime.providers.get(candidate.provider)
        if provider is not None and provider.local:
            return (0.0, 0.0)
    return runtime.catalogue.price(candidate.provider, candidate.model)


def price_call(runtime: Runtime, candidate: Candidate, baseline: Candidate | None, tokens_in: int,
               tokens_out: int, cached: int) -> tuple[float | None, float | None]:
    """(cost, baseline cost) in USD for these tokens."""
    def cost(price: tuple[float, float] | None) -> float | None:
        if price is None:
            return None
        return round((tokens_in * price[0] + tokens_out * price[1]) / 1e6, 8)

    return cost(_price(runtime, candidate)), cost(_price(runtime, baseline, market=True) if baseline else None)
