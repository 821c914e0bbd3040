"""Which continuous difficulty score orders prompts best: measured where settings may be chosen.

The `score` field of a classify reply is the first cut's score (simple against moderate) less its
cut. The model has a second score for the moderate/complex cut, so `score` orders complex against
moderate less well (docs/brain.md, Known weaknesses). This compares, on the sets a setting may be
chosen on, never on held-out ones:

- `first`: the shipped `score`;
- `second`: the second cut's score less its cut;
- `mean`: the mean of the two;
- `expected`: the expected number of tiers above simple, 2 - p_simple - p_moderate (an ordinal
  model's expected level), and `expected_w` = (1 - p_simple) + w (1 - p_moderate) for w in 0.25,
  0.5, 0.75.

Sets: the tuning fifths of GSM8K and MMLU (APGR; GSM8K's line for any setting is 0.653,
docs/brain.md, Method step 5) and the calibration folders (`CALIBRATION_DIRS`: AUC between simple
and harder, and between complex and moderate). Writes bench/results/score_order.json.

    ROUTERD_EVAL_DIR=../shared/eval .venv/bin/python bench/score_order.py
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from routerd.classify.model import Prediction, default_model  # noqa: E402
from routerd.classify.train import data as sets  # noqa: E402
from routerd.classify.train import figures  # noqa: E402
from routerd.classify.train.recalibrate import predictions  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "score_order.json"

SCORES: dict[str, Callable[[Prediction], float]] = {
    "first": lambda p: p.score,
    "second": lambda p: p.upper_score,
    "mean": lambda p: (p.score + p.upper_score) / 2,
    "expected": lambda p: 2 - p.p_simple - p.p_moderate,
    **{f"expected_{w}": (lambda p, w=w: (1 - p.p_simple) + w * (1 - p.p_moderate)) for w in (0.25, 0.5, 0.75)},
}


def figures_of(cases: list[sets.Case], predictions: list[Prediction]) -> dict[str, dict[str, float]]:
    """Per score: APGR where the cases have outcomes, else the two tier-boundary AUCs."""
    out: dict[str, dict[str, float]] = {}
    for name, score in SCORES.items():
        values = [score(p) for p in predictions]
        if cases[0].outcome is not None:
            weak = [float(c.outcome[0]) for c in cases]  # type: ignore[index]
            strong = [float(c.outcome[1]) for c in cases]  # type: ignore[index]
            out[name] = {"apgr": round(figures.apgr(values, weak, strong), 4)}
        else:
            levels = [min(c.level, 2) for c in cases]  # type: ignore[type-var]
            out[name] = {
                "auc_simple_vs_harder": round(figures.auc([v for v, lv in zip(values, levels) if lv > 0],
                                                          [v for v, lv in zip(values, levels) if lv == 0]), 4),
                "auc_complex_vs_moderate": round(figures.auc([v for v, lv in zip(values, levels) if lv == 2],
                                                             [v for v, lv in zip(values, levels) if lv == 1]), 4),
            }
    return out


def main() -> None:
    every = sets.load_all(sets.shared_dir(None))
    groups = {f"{source}:tune": [c for c in every if c.source == source and c.split == "tune"]
              for source in ("gsm8k", "mmlu")}
    groups["calibration folders"] = [c for c in sets.calibration() if c.level is not None]
    model = default_model()
    report: dict[str, dict] = {}
    for name, cases in groups.items():
        report[name] = {"n": len(cases), "scores": figures_of(cases, predictions(model, cases))}
        print(f"{name} ({len(cases)} cases)")
        for score, figs in report[name]["scores"].items():
            print(f"  {score:<15} " + "  ".join(f"{k} {v:.3f}" for k, v in figs.items()))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=1))
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
