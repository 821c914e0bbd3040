"""Generate `prices.json` from the `genai-prices` package.

    .venv/bin/python -m routerd.catalogue.gen_prices [--check]

genai-prices is the maintained source of model prices. The daemon does not use it at run time:
importing it takes ~400 ms (pydantic models for every provider) and its `calc_price` ~270 us a
call, against a proxy overhead budget of 200 us (measured on this VM; `routerd.catalogue.prices`
does the same arithmetic in ~1 us). So it reads this generated snapshot, and tests prove that the
snapshot is what genai-prices says and that `prices.cost_usd` gives what `calc_price` gives.

For each text model the snapshot keeps every token price routerd meters: input, output, cache
reads, cache writes (default TTL and 1 hour), reasoning, each flat or tiered (long context), and the
price of a hosted web search (genai-prices' ``web_searches_kcount``, USD per 1,000). Prices of
things routerd does not meter (audio, images, per-request fees) are left out.
It holds every model genai-prices knows for the providers in the built-in catalogue (not only the
ones routerd routes to: a client may name any of them, and the call's baseline cost needs its
price), and the exact names and name prefixes genai-prices matches them by. Prices are taken at a
fixed timestamp (`AS_OF`) so that providers with time-of-day pricing give the same snapshot on
every run. `--check` exits 1 if the shipped snapshot differs from what genai-prices says now.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from importlib.metadata import version

from genai_prices import data_snapshot  # ~180 ms to import: this module only generates and checks

import msgspec

from routerd.catalogue.builtin import BUILTIN_MODELS, PRICES_PATH, PriceSnapshot, load_price_snapshot
from routerd.catalogue.prices import Rate, Rates, Tiered

AS_OF = "2026-11-21T12:00:00+00:00"
# routerd's provider names where genai-prices names them differently.
PROVIDER_IDS = {"gemini": "google"}
# Models of a genai-prices provider that routerd's provider of that name serves, by id prefix:
# genai-prices' google also lists the Claude models Vertex resells, which the Gemini API does not.
SERVED_PREFIXES = {"gemini": ("gemini", "gemma")}


def supported_providers() -> tuple[str, ...]:
    """routerd's providers that have a priced (not local) model in the built-in catalogue."""
    return tuple(dict.fromkeys(m.provider for m in BUILTIN_MODELS if not (m.local or m.free)))


# genai-prices' price keys for the token kinds routerd meters -> `Rates` fields.
PRICE_KEYS = {"input_mtok": "input", "output_mtok": "output", "cache_read_mtok": "cache_read",
              "cache_write_mtok": "cache_write", "cache_write_1h_mtok": "cache_write_1h",
              "output_reasoning_mtok": "reasoning"}
# Hosted web searches, USD per 1,000. genai-prices has Anthropic's $10 (docs.anthropic.com, web
# search tool: "$10 per 1,000 searches"; LiteLLM's search_context_cost_per_query 0.01 agrees),
# OpenAI's $10 per 1,000 web_search calls (platform.openai.com/docs/pricing, "Web search"; the
# $25 of web_search_preview on non-reasoning models is not in it: PREVIEW_SEARCH), and Gemini's $35 per 1,000
# grounded prompts (2.x) and $14 per 1,000 search queries (3.x) (ai.google.dev/gemini-api/docs/pricing,
# "Grounding with Google Search"; LiteLLM prices the same and bills 2.x once per prompt).
SEARCH_KEY = "web_searches_kcount"
# Models billed once per grounded prompt rather than per query, by id prefix (Gemini 2.x; Gemini 3
# bills each query). The free allowance (1,500 grounded prompts a day for 2.x, 5,000 queries a month
# for 3.x on the paid tier) is per Google project, which routerd cannot see: every search is priced.
PER_PROMPT_SEARCH = {"gemini": ("gemini-2",)}
# OpenAI's web_search_preview tool on its non-reasoning models: $25 per 1,000 calls, search content
# tokens free (platform.openai.com/docs/pricing, "Web search preview (non-reasoning models)"; on
# reasoning models, gpt-5 and the o-series, it costs what web_search costs). genai-prices has one
# search price a model, web_search's; these are the models with one that are not reasoning models,
# by id prefix.
PREVIEW_SEARCH_USD = 25.0
PREVIEW_SEARCH = {"openai": ("gpt-4o", "gpt-4.1", "chatgpt-4o", "gpt-4.5")}


def _rate(value) -> Rate | None:
    """A genai-prices price (Decimal, or TieredPrices above an input-size threshold) as ours."""
    if value is None:
        return None
    if hasattr(value, "tiers"):
        return Tiered(float(value.base), tuple((tier.start, float(tier.price)) for tier in value.tiers))
    return float(value)


def rates_of(model_price, per_prompt: bool = False, preview: float | None = None) -> Rates | None:
    """The token and search prices of one genai-prices `ModelPrice`, or None for a model that has
    no input and output token prices (embeddings, speech, images: nothing routerd sends).
    ``preview``: the price of a web_search_preview call, for a model with a search price."""
    fields: dict = {ours: _rate(getattr(model_price, key, None)) for key, ours in PRICE_KEYS.items()}
    if fields["input"] is None or fields["output"] is None:
        return None
    search = getattr(model_price, SEARCH_KEY, None)
    if search is not None:
        fields["web_search"] = float(search)
        fields["web_search_per_prompt"] = per_prompt or None
        fields["web_search_preview"] = preview
    return Rates(**{k: v for k, v in fields.items() if v is not None})


def _names(clause, equals: list[str], prefixes: list[str]) -> None:
    """Collect the literal names and prefixes a genai-prices match clause accepts (regexes and
    substring clauses are left out: the catalogue strips date suffixes itself)."""
    if hasattr(clause, "or_"):
        for part in clause.or_:
            _names(part, equals, prefixes)
    elif hasattr(clause, "equals"):
        equals.append(clause.equals)
    elif hasattr(clause, "starts_with"):
        prefixes.append(clause.starts_with)


def build_snapshot(as_of: str = AS_OF) -> PriceSnapshot:
    """Every text model genai-prices prices for routerd's providers, with the names it matches."""
    when = datetime.fromisoformat(as_of)
    providers = {p.id: p for p in data_snapshot.get_snapshot().providers}
    prices: dict[str, Rates] = {}
    names: dict[str, str] = {}
    prefixes: dict[str, str] = {}
    for ours in supported_providers():
        theirs = providers.get(PROVIDER_IDS.get(ours, ours))
        served = SERVED_PREFIXES.get(ours, ("",))
        for model in theirs.models if theirs is not None else ():
            if not model.id.startswith(served):
                continue
            preview = PREVIEW_SEARCH_USD if model.id.startswith(PREVIEW_SEARCH.get(ours, ())) else None
            rates = rates_of(model.get_prices(when), model.id.startswith(PER_PROMPT_SEARCH.get(ours, ())), preview)
            if rates is None:
                continue
            key = f"{ours}/{model.id}"
            prices[key] = rates
            equals: list[str] = []
            starts: list[str] = []
            _names(model.match, equals, starts)
            for name in equals:
                names.setdefault(f"{ours}/{name}", key)
            for prefix in starts:
                prefixes.setdefault(f"{ours}/{prefix}", key)
    names = {name: key for name, key in names.items() if name not in prices}
    return PriceSnapshot("genai-prices", version("genai-prices"), as_of, prices, names, prefixes)


def render(snapshot: PriceSnapshot) -> str:
    """The snapshot as JSON text, one model or name a line (diffs stay readable)."""
    def table(rows: dict) -> str:
        lines = ",\n".join(f"    {json.dumps(k)}: {json.dumps(v)}" for k, v in rows.items())
        return "{\n" + lines + "\n  }"

    return (
        "{\n"
        f'  "source": {json.dumps(snapshot.source)},\n'
        f'  "source_version": {json.dumps(snapshot.source_version)},\n'
        f'  "as_of": {json.dumps(snapshot.as_of)},\n'
        f'  "prices": {table({k: msgspec.to_builtins(v) for k, v in snapshot.prices.items()})},\n'
        f'  "names": {table(snapshot.names)},\n'
        f'  "prefixes": {table(snapshot.prefixes)}\n'
        "}\n"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description="Generate routerd/catalogue/prices.json from genai-prices.")
    parser.add_argument("--check", action="store_true", help="compare instead of writing; exit 1 on drift")
    args = parser.parse_args()
    fresh = build_snapshot()
    if args.check:
        if load_price_snapshot() != fresh:
            print("prices.json differs from genai-prices; regenerate it", file=sys.stderr)
            return 1
        print(f"prices.json matches genai-prices {fresh.source_version} ({len(fresh.prices)} models)")
        return 0
    PRICES_PATH.write_text(render(fresh))
    print(f"wrote {PRICES_PATH} ({len(fresh.prices)} models, genai-prices {fresh.source_version})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
