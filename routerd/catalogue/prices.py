"""What tokens cost: a model's rates for every kind of token and for its hosted web searches, and
one call's token counts and searches priced.

Pure arithmetic over values, no I/O. ``Rates`` carries what genai-prices publishes for a text model
(input, output, cache reads, cache writes with the 5-minute and 1-hour TTLs, reasoning), each a flat
price or a tiered one (long context: above a threshold of input tokens *every* token of that kind
costs the tier's price, the "cliff" all providers use). ``cost_usd`` reproduces genai-prices' own
``calc_price`` for these token kinds exactly (a test compares the two on every model of the
snapshot): a kind with no price of its own is billed as its parent (cache reads and writes as input,
1-hour writes as writes, reasoning as output). It is ~1 us where genai-prices' is ~270 us and
needs a 400 ms import, which is why the daemon prices from a snapshot (see ``gen_prices``).

Hosted web searches are billed per search on top of the tokens (``web_search``, USD per 1,000, as
genai-prices publishes them): Anthropic's ``web_search_requests``, each OpenAI ``web_search_call``,
each query of a Gemini 3 grounded answer. Gemini 2.x bills a grounded prompt once, however many
queries it ran (``web_search_per_prompt``). OpenAI bills a call of its older ``web_search_preview``
tool at another price on its non-reasoning models (``web_search_preview``: $25 per 1,000 where a
``web_search`` call is $10); a call's ``preview_searches`` says how many of its searches that tool ran.
"""

from __future__ import annotations

import msgspec

PER = 1_000_000  # prices are USD per million tokens


class Tiered(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A price that changes with the request's input size: ``base`` up to the first threshold,
    then the price of the last tier whose ``start`` the input tokens exceed."""

    base: float
    tiers: tuple[tuple[int, float], ...]

    def at(self, input_tokens: int) -> float:
        price = self.base
        for start, tier_price in self.tiers:
            if input_tokens > start:
                price = tier_price
        return price


Rate = float | Tiered


class Rates(msgspec.Struct, frozen=True, omit_defaults=True, forbid_unknown_fields=True):
    """USD per million tokens of each kind; None: not billed apart from its parent kind."""

    input: Rate
    output: Rate
    cache_read: Rate | None = None
    cache_write: Rate | None = None      # default TTL (Anthropic: 5 minutes)
    cache_write_1h: Rate | None = None
    reasoning: Rate | None = None
    web_search: float | None = None       # USD per 1,000 hosted web searches
    web_search_per_prompt: bool = False   # billed once per answer that searched (Gemini 2.x grounding)
    web_search_preview: float | None = None  # USD per 1,000 web_search_preview calls, where not web_search's

    @property
    def base(self) -> tuple[float, float]:
        """(input, output) below any tier: what the routing policy ranks models by."""
        return _flat(self.input), _flat(self.output)


FREE = Rates(input=0.0, output=0.0)


# Far past any model's context window and output together (the largest are ~10 million tokens).
MAX_CALL_TOKENS = 100_000_000


class Tokens(msgspec.Struct, frozen=True, kw_only=True):
    """One call's token counts as the provider reported them. ``input`` includes the cache reads
    and writes, ``cache_write`` includes the 1-hour writes, ``output`` includes reasoning;
    ``web_searches`` the hosted web searches the provider ran for it (billed apart), of which
    ``preview_searches`` ran as OpenAI's ``web_search_preview`` tool (billed at its own price)."""

    input: int = 0
    output: int = 0
    cache_read: int = 0
    cache_write: int = 0
    cache_write_1h: int = 0
    reasoning: int = 0
    web_searches: int = 0
    preview_searches: int = 0

    def plausible(self) -> bool:
        """Whether one call could have used these counts: none below zero or past
        ``MAX_CALL_TOKENS``. A broken or hostile provider's (or transcript's) counts past that would
        price a call at any sum, exhaust every budget and overflow the ledger's 64-bit integers."""
        return all(0 <= n <= MAX_CALL_TOKENS for n in msgspec.structs.astuple(self))


def _flat(rate: Rate) -> float:
    return rate.base if isinstance(rate, Tiered) else rate


def cost_usd(rates: Rates, tokens: Tokens) -> float:
    """What ``tokens`` cost at ``rates``, in USD (full precision; round when storing). A kind with
    no price of its own is billed as its parent; a tiered price is read at the input size."""
    n = tokens.input
    price_in, price_out = rates.input, rates.output
    read, write, hour, reasoning = rates.cache_read, rates.cache_write, rates.cache_write_1h, rates.reasoning
    if isinstance(price_in, Tiered):  # runs per proxied call: plain floats take no call at all
        price_in = price_in.at(n)
    if isinstance(price_out, Tiered):
        price_out = price_out.at(n)
    total = 0.0
    fresh = n
    if hour is not None and tokens.cache_write_1h:
        fresh -= tokens.cache_write_1h
        total += tokens.cache_write_1h * (hour.at(n) if isinstance(hour, Tiered) else hour)
    if write is not None and tokens.cache_write:
        written = tokens.cache_write - (tokens.cache_write_1h if hour is not None else 0)
        fresh -= written
        total += max(0, written) * (write.at(n) if isinstance(write, Tiered) else write)
    if read is not None and tokens.cache_read:
        fresh -= tokens.cache_read
        total += tokens.cache_read * (read.at(n) if isinstance(read, Tiered) else read)
    out = tokens.output
    if reasoning is not None and tokens.reasoning:
        out -= tokens.reasoning
        total += tokens.reasoning * (reasoning.at(n) if isinstance(reasoning, Tiered) else reasoning)
    total = (total + max(0, fresh) * price_in + max(0, out) * price_out) / PER
    if not tokens.web_searches:
        return total
    return total + search_usd(rates, tokens.web_searches, tokens.preview_searches)


def search_usd(rates: Rates, searches: int, preview: int = 0) -> float:
    """What ``searches`` hosted web searches in one answer cost at ``rates`` (0 when unpriced),
    ``preview`` of them run by ``web_search_preview`` (at its price where the model has one)."""
    if not searches or not rates.web_search:
        return 0.0
    if rates.web_search_per_prompt:
        return rates.web_search / 1000
    preview = min(preview, searches) if rates.web_search_preview else 0
    return ((searches - preview) * rates.web_search + preview * (rates.web_search_preview or 0.0)) / 1000
