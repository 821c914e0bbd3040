"""classify + policy latency of this tree's brain against another checkout's, alternating.

A p99 over 3,000 calls on a shared 2-core machine moves by more than 100 us from one window to the
next (docs/rounds/67.md: one candidate read 473, 374 and 395 us in three runs of its own, then 300
and 287 us beside the shipped model's 294 and 251), so one brain's runs alone say more about the
window than about the brain. This measures both in the same window: `_latency.latency()` (the 4 KB
prompt, 5 runs x 3,000 calls, as `bench/eval_classifier.py` does) in a fresh process per
measurement, REF's `routerd` (from `git archive`) and this tree's in turn, REF first, `--pairs`
times each. It prints each brain's median p50 and p99 over its processes and the ratio of the
p99s (this tree's over REF's), and each process's machine floor (`_latency.latency`: a fixed loop as long as
the median call, timed between the calls: how far this machine's own tail lifts any ~0.2 ms of work), and writes bench/results/latency_ab.json (`latency_ab_<lang>.json` for another language). `docs/rounds/68.md`
decides on these figures.

    .venv/bin/python bench/latency_ab.py [--against REF] [--pairs N] [--rounds N] [--lang en|de|ru|ja|zh|ko]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

from _latency import OTHER_LANGUAGES, routerd_at  # bench/ is first on sys.path when this runs as a script

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "latency_ab.json"

# Runs in a fresh process: the tree in argv[1] first on sys.path, then bench/ for `_latency`.
_RUNNER = """
import json, sys
sys.path[:0] = [sys.argv[1], sys.argv[2]]
from _latency import latency, prompt_4kb
print(json.dumps(latency(prompt_4kb(sys.argv[4]), rounds=int(sys.argv[3]))))
"""


def measure(tree: Path, rounds: int, lang: str = "en") -> dict:
    """One process's `latency()` figures for the `routerd` under `tree`, on the 4 KB prompt in `lang`."""
    out = subprocess.run([sys.executable, "-c", _RUNNER, str(tree), str(ROOT / "bench"), str(rounds), lang],
                         capture_output=True, text=True, check=True, cwd=tree).stdout
    return json.loads(out.splitlines()[-1])


def compare(against: str, pairs: int, rounds: int, lang: str = "en") -> dict:
    """Both brains measured alternately, `pairs` times each; their medians and the p99 ratio."""
    runs: dict[str, list[dict]] = {"against": [], "this": []}
    with routerd_at(ROOT, against) as tmp:
        for _ in range(pairs):
            runs["against"].append(measure(tmp, rounds, lang))
            runs["this"].append(measure(ROOT, rounds, lang))
    out: dict = {"against": against, "lang": lang, "pairs": pairs, "rounds": rounds, "runs": runs}
    for label, measured in runs.items():
        for figure in ("wall_p50_us", "wall_p99_us", "floor_p50_us", "floor_p99_us"):
            out[f"{label}_{figure}"] = round(statistics.median(m[figure] for m in measured), 1)
    out["p99_ratio"] = round(out["this_wall_p99_us"] / out["against_wall_p99_us"], 3)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", default="main", help="git ref of the other brain (default: main)")
    parser.add_argument("--pairs", type=int, default=3, help="processes per brain, alternating (default: 3)")
    parser.add_argument("--rounds", type=int, default=3000, help="calls per run, 5 runs per process (default: 3000)")
    parser.add_argument("--lang", default="en", choices=("en", *OTHER_LANGUAGES),
                        help="the 4 KB prompt's language (default: en; the others repeat a ~1 KB ask)")
    args = parser.parse_args()
    if args.pairs < 1 or args.rounds < 100:
        parser.error("--pairs must be at least 1 and --rounds at least 100")
    result = compare(args.against, args.pairs, args.rounds, args.lang)
    for label, name in (("against", args.against), ("this", "this tree")):
        p99s = ", ".join(f"{m['wall_p99_us']}" for m in result["runs"][label])
        print(f"{name:<10} classify+policy 4 KB ({args.lang}): p50 {result[label + '_wall_p50_us']} us, "
              f"p99 {result[label + '_wall_p99_us']} us (median of {args.pairs}: {p99s}); a fixed loop as long, "
              f"between the calls: p50 {result[label + '_floor_p50_us']} us, p99 {result[label + '_floor_p99_us']} us")
    print(f"p99 ratio, this tree over {args.against}: {result['p99_ratio']}")
    written = RESULTS if args.lang == "en" else RESULTS.with_name(f"latency_ab_{args.lang}.json")
    written.parent.mkdir(parents=True, exist_ok=True)
    written.write_text(json.dumps(result, indent=1))
    print(f"wrote {written}")


if __name__ == "__main__":
    main()
