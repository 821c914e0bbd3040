"""Why the daemon prices from a snapshot: genai-prices' import and ``calc_price`` against routerd's.

    .venv/bin/python bench/bench_prices.py [--runs 5]

Times, in fresh interpreters, ``import genai_prices`` and the first ``calc_price`` (what the daemon
would pay at start or on its first call), then in this process the cost of one ``calc_price`` and of
one ``routerd.catalogue.prices.cost_usd`` for a cached Claude Code turn, and of building the
catalogue from ``prices.json``. Prints medians and ranges; writes ``bench/results/bench_prices.json``.
"""

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

IMPORT = """
import time
t = time.perf_counter()
import genai_prices
t1 = time.perf_counter()
genai_prices.calc_price(genai_prices.Usage(input_tokens=16890, cache_read_tokens=14506,
                        cache_write_tokens=2380, output_tokens=245), "claude-opus-4-8", provider_id="anthropic")
t2 = time.perf_counter()
print((t1 - t) * 1000, (t2 - t1) * 1000)
"""
CATALOGUE = """
import time
t = time.perf_counter()
from routerd.catalogue.builtin import load_catalogue
load_catalogue()
print((time.perf_counter() - t) * 1000)
"""


def _fresh(code: str) -> list[float]:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    return [float(x) for x in out.stdout.split()]


def _per_call_us(fn, n: int) -> float:
    fn()
    t = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t) / n * 1e6


def _spread(values: list[float]) -> dict:
    return {"median": round(statistics.median(values), 2), "min": round(min(values), 2),
            "max": round(max(values), 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    from genai_prices import Usage, calc_price

    from routerd.catalogue.builtin import load_catalogue
    from routerd.catalogue.prices import Tokens, cost_usd

    imports = [_fresh(IMPORT) for _ in range(args.runs)]
    catalogue_ms = [_fresh(CATALOGUE)[0] for _ in range(args.runs)]
    usage = Usage(input_tokens=16_890, cache_read_tokens=14_506, cache_write_tokens=2_380, output_tokens=245)
    rates = load_catalogue().rates("anthropic", "claude-opus-4-8")
    tokens = Tokens(input=16_890, output=245, cache_read=14_506, cache_write=2_380)
    theirs = [_per_call_us(lambda: calc_price(usage, "claude-opus-4-8", provider_id="anthropic"), 300)
              for _ in range(args.runs)]
    ours = [_per_call_us(lambda: cost_usd(rates, tokens), 100_000) for _ in range(args.runs)]
    out = {
        "genai_prices_import_ms": _spread([i[0] for i in imports]),
        "genai_prices_first_calc_ms": _spread([i[1] for i in imports]),
        "genai_prices_calc_us": _spread(theirs),
        "routerd_cost_us": _spread(ours),
        "routerd_catalogue_load_ms": _spread(catalogue_ms),
    }
    for name, figures in out.items():
        print(f"{name:<28} median {figures['median']:>9} (range {figures['min']} - {figures['max']})")
    target = ROOT / "bench" / "results" / "bench_prices.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps({"runs": args.runs, **out}, indent=2) + "\n")
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
