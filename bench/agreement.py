"""How often two labellers agree on routerd's labels: the ceiling a classifier is measured against.

`bench/data/agreement/<folder>_blind_relabels.jsonl` holds a second labeller's tier and task type for
every prompt of `bench/data/<folder>/` (`unseen`, `unseen2`, `unseen3`), given blind: the second
labeller saw only the prompts (not the labels, notes or any classifier's output), the label
definition in `shared/eval/README.md` and `dev.jsonl`. This prints tier and task-type agreement,
Cohen's kappa, complex asks the second labeller called simple, and the confusion of tiers, per file,
per folder and pooled, and writes bench/results/agreement.json.

    .venv/bin/python bench/agreement.py
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from routerd.classify.train.figures import accuracy, complex_to_simple

ROOT = Path(__file__).resolve().parent.parent
AGREEMENT = ROOT / "bench" / "data" / "agreement"
RESULTS = ROOT / "bench" / "results" / "agreement.json"
TIERS = ("simple", "moderate", "complex")


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def kappa(pairs: list[tuple[str, str]]) -> float:
    n = len(pairs)
    observed = sum(a == b for a, b in pairs) / n
    first, second = Counter(a for a, _ in pairs), Counter(b for _, b in pairs)
    expected = sum(first[t] * second[t] for t in TIERS) / n / n
    return (observed - expected) / (1 - expected)


def figures(pairs: list[tuple[dict, dict]]) -> dict:
    """The first labeller's labels read as `wanted`, the second's as `got`, by the brain's own figures
    (a case without a first task type is not counted for task type)."""
    first, second = [a["tier"] for a, _ in pairs], [b["tier"] for _, b in pairs]
    confusion = Counter(zip(first, second))
    return {
        "n": len(pairs),
        "tier_agreement": accuracy(first, second),
        "kappa": kappa(list(zip(first, second))),
        "task_type_agreement": accuracy([a.get("task_type") for a, _ in pairs], [b["task_type"] for _, b in pairs]),
        "complex_called_simple": complex_to_simple(first, second),
        "confusion": {one: {other: confusion[(one, other)] for other in TIERS} for one in TIERS},
    }


def main() -> None:
    report = {}
    everything = []
    for relabels in sorted(AGREEMENT.glob("*_blind_relabels.jsonl")):
        folder = relabels.name.removesuffix("_blind_relabels.jsonl")
        second = {row["id"]: row for row in _rows(relabels)}
        pooled = []
        for path in sorted((ROOT / "bench" / "data" / folder).glob("*.jsonl")):
            pairs = [(row, second[row["id"]]) for row in _rows(path)]
            pooled += pairs
            report[f"{folder}/{path.stem}"] = figures(pairs)
        report[folder] = figures(pooled)
        everything += pooled
    report["pooled"] = figures(everything)
    for name, out in report.items():
        print(f"{name:34s} n={out['n']:4d} tier {out['tier_agreement']:.1%} (kappa {out['kappa']:.3f})  "
              f"task type {out['task_type_agreement']:.1%}  complex called simple {out['complex_called_simple']:.1%}")
    print("tiers, pooled, first labeller (rows) by second (columns):")
    for first, row in report["pooled"]["confusion"].items():
        print(f"  {first:9s}" + "".join(f"{row[t]:6d}" for t in TIERS))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=1))
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
