"""Generate `prices.json` from the `genai-prices` package.

    .venv/bin/python -m routerd.catalogue.gen_prices [--check]

genai-prices is the maintained source of model prices; importing it takes ~180 ms (pydantic
models for every provider), so the daemon reads this generated snapshot instead and a test proves
the two agree. Prices are taken at a fixed timestamp (`AS_OF`) so that providers with
time-of-day pricing give the same snapshot on every run. `--check` exits 1 if the shipped
snapshot differs from what genai-prices says now.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timezone

import msgspec

from routerd.catalogue.builtin import BUILTIN_MODELS, PRICES_PATH, PriceRow, PriceSnapshot, load_price_snapshot
from routerd.catalogue.models import ModelInfo

AS_OF = "2026-01-15T12:00:00+00:00"
# routerd's provider names where genai-prices names them differently.
PROVIDER_IDS = {"gemini": "google"}
# Tokens priced per lookup; per-Mtok prices are scaled from this so that tiered prices (which
# change above ~200k tokens a request) give the ordinary rate.
_PROBE_TOKENS = 1000


def price_of(model: ModelInfo, as_of: str = AS_OF) -> PriceRow | None:
    """Per-Mtok input and output price of `model` according to genai-prices, or None if unknown."""
    import genai_prices  # lazy: ~180 ms, only for generating and checking the snapshot

    when = datetime.fromisoformat(as_of)
    provider = PROVIDER_IDS.get(model.provider, model.provider)
    try:
        inp = genai_prices.calc_price(
            genai_prices.Usage(input_tokens=_PROBE_TOKENS), model.id, provider_id=provider,
            genai_request_timestamp=when,
        )
        out = genai_prices.calc_price(
            genai_prices.Usage(output_tokens=_PROBE_TOKENS), model.id, provider_id=provider,
            genai_request_timestamp=when,
        )
    except LookupError:
        return None
    scale = 1_000_000 / _PROBE_TOKENS
    return PriceRow(round(float(inp.total_price) * scale, 6), round(float(out.total_price) * scale, 6))


def build_snapshot(models: tuple[ModelInfo, ...] = BUILTIN_MODELS, as_of: str = AS_OF) -> PriceSnapshot:
    """A snapshot of every non-free model's price that genai-prices knows."""
    from importlib.metadata import version

    prices = {}
    for model in models:
        if model.free or model.local:
            continue
        row = price_of(model, as_of)
        if row is not None:
            prices[model.key] = row
    return PriceSnapshot("genai-prices", version("genai-prices"), as_of, prices)


def main() -> int:
    parser = argparse.ArgumentParser(description="Generate routerd/catalogue/prices.json from genai-prices.")
    parser.add_argument("--check", action="store_true", help="compare instead of writing; exit 1 on drift")
    args = parser.parse_args()
    fresh = build_snapshot()
    if args.check:
        shipped = load_price_snapshot()
        if shipped.prices != fresh.prices:
            print("prices.json differs from genai-prices; regenerate it", file=sys.stderr)
            return 1
        print(f"prices.json matches genai-prices {fresh.source_version} ({len(fresh.prices)} models)")
        return 0
    PRICES_PATH.write_bytes(msgspec.json.format(msgspec.json.encode(fresh), indent=2) + b"\n")
    print(f"wrote {PRICES_PATH} ({len(fresh.prices)} models, genai-prices {fresh.source_version})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
