"""Prices: the shipped snapshot is genai-prices' data, and our arithmetic is genai-prices' own."""

from datetime import datetime

import pytest

from routerd.catalogue.builtin import load_catalogue, load_price_snapshot
from routerd.catalogue.gen_prices import PROVIDER_IDS, SERVED_PREFIXES
from routerd.catalogue.prices import FREE, Rates, Tiered, Tokens, cost_usd

# Token mixes that exercise every kind and both sides of the long-context thresholds (100k-272k).
MIXES = [
    Tokens(input=1_000, output=200),
    Tokens(input=50_000, output=1_500, cache_read=45_000, cache_write=3_000),
    Tokens(input=52_000, output=900, cache_read=40_000, cache_write=10_000, cache_write_1h=4_000),
    Tokens(input=150_000, output=8_000, cache_read=120_000, cache_write=20_000, reasoning=5_000),
    Tokens(input=300_000, output=12_000, cache_read=250_000, cache_write=30_000, cache_write_1h=30_000,
           reasoning=9_000),
    Tokens(input=20_000, output=700, web_searches=1),
    Tokens(input=80_000, output=2_000, cache_read=10_000, web_searches=3),
]


def _genai_models():
    from genai_prices import data_snapshot

    providers = {p.id: p for p in data_snapshot.get_snapshot().providers}
    snapshot = load_price_snapshot()
    for key in snapshot.prices:
        ours, _, model_id = key.partition("/")
        provider = providers[PROVIDER_IDS.get(ours, ours)]
        model = next(m for m in provider.models if m.id == model_id
                     and m.id.startswith(SERVED_PREFIXES.get(ours, ("",))))
        yield key, snapshot.prices[key], provider, model


def test_cost_matches_genai_prices_calc_price_for_every_snapshot_model():
    """For every model in prices.json and every token mix, cost_usd equals genai-prices' calc_price,
    hosted web searches included (a Gemini 2.x grounded answer billed once, however many queries)."""
    from genai_prices import Usage

    when = datetime.fromisoformat(load_price_snapshot().as_of)
    checked = 0
    for key, rates, provider, model in _genai_models():
        for t in MIXES:
            usage = Usage(input_tokens=t.input, output_tokens=t.output, cache_read_tokens=t.cache_read,
                          cache_write_tokens=t.cache_write, cache_write_1h_tokens=t.cache_write_1h,
                          output_reasoning_tokens=t.reasoning,
                          web_searches=min(t.web_searches, 1) if rates.web_search_per_prompt else t.web_searches)
            theirs = float(model.calc_price(usage, provider, genai_request_timestamp=when).total_price)
            assert cost_usd(rates, t) == pytest.approx(theirs, rel=1e-12, abs=1e-15), (key, t)
            checked += 1
    assert checked >= 1000


def test_hosted_web_searches_are_priced_per_search_or_per_grounded_prompt():
    """A search costs the model's price per 1,000 searches on top of its tokens: Claude's $10, Gemini
    3's $14 per query, Gemini 2.5's $35 once per grounded answer (prices.json, from genai-prices)."""
    catalogue = load_catalogue()
    two = Tokens(input=1_000, output=100, web_searches=2)
    for (provider, model), extra in ((("anthropic", "claude-sonnet-4-6"), 0.02), (("openai", "gpt-4.1"), 0.02),
                                     (("gemini", "gemini-3-flash-preview"), 0.028),
                                     (("gemini", "gemini-2.5-flash"), 0.035)):
        rates = catalogue.rates(provider, model)
        assert rates is not None
        plain = cost_usd(rates, Tokens(input=1_000, output=100))
        assert cost_usd(rates, two) == pytest.approx(plain + extra), model


def test_tiers_charge_every_token_at_the_tier_price_above_the_threshold():
    """A long-context tier is a cliff: above 200k input tokens all tokens of a kind cost the tier."""
    rates = Rates(input=Tiered(3.0, ((200_000, 6.0),)), output=Tiered(15.0, ((200_000, 22.5),)),
                  cache_read=Tiered(0.3, ((200_000, 0.6),)))
    below = cost_usd(rates, Tokens(input=200_000, output=1_000, cache_read=100_000))
    above = cost_usd(rates, Tokens(input=200_001, output=1_000, cache_read=100_000))
    assert below == pytest.approx((100_000 * 3 + 100_000 * 0.3 + 1_000 * 15) / 1e6)
    assert above == pytest.approx((100_001 * 6 + 100_000 * 0.6 + 1_000 * 22.5) / 1e6)


def test_kinds_without_a_price_of_their_own_cost_their_parent():
    """No cache prices: cache tokens are input; no 1h price: 1h writes are writes; free is zero."""
    plain = Rates(input=2.0, output=8.0)
    assert cost_usd(plain, Tokens(input=1_000, cache_read=900, output=10)) == pytest.approx(
        (1_000 * 2 + 10 * 8) / 1e6)
    writes = Rates(input=2.0, output=8.0, cache_write=2.5)
    assert cost_usd(writes, Tokens(input=1_000, cache_write=600, cache_write_1h=200)) == pytest.approx(
        (400 * 2 + 600 * 2.5) / 1e6)
    assert cost_usd(FREE, Tokens(input=10**6, output=10**6)) == 0.0


def test_catalogue_rates_carry_cache_prices_for_routed_and_unrouted_models():
    """Claude models routed to and named by clients alike come with their cache read/write rates."""
    cat = load_catalogue()
    opus = cat.rates("anthropic", "claude-opus-4-8")
    assert (opus.input, opus.cache_read, opus.cache_write, opus.cache_write_1h, opus.output) == \
        (5.0, 0.5, 6.25, 10.0, 25.0)
    assert cat.rates("anthropic", "claude-opus-4-1").cache_read == 1.5
    assert cat.rates("anthropic", "claude-haiku-4-5-20251001") == cat.rates("anthropic", "claude-haiku-4-5")
    assert cat.rates("ollama", "llama3.1:8b") == FREE
    assert cat.rates("openai", "no-such-model") is None
