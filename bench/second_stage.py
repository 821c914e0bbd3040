"""Is there signal left above the linear model's two scores? A second stage measured on the
calibration folders, each writer's file held out in turn.

The shipped tier is read from two calibration curves, one per cut, each on its own score
(docs/brain.md, Method step 2). This asks whether a second-stage model over more than those scores
would place the tiers better, on writers it never trained on: the prompts of `CALIBRATION_DIRS`
(never trained on; the shipped curves are fitted there, so only this comparison is new), split by
writer (`GroupKFold`, 6 folds of whole files). Per fold, each candidate is fitted on the other
folds, one binary model per cut (level >= 1, level >= 2), and the tier is the cheapest whose
probability of being enough is at least 0.5 (the balanced bar):

- `platt`: a logistic curve per cut on its own score (the shipped method, fitted per fold);
- `linear_scores`: a logistic model per cut on both scores and the neighbour vote's shift;
- `boosted_scores`: gradient-boosted trees (scikit-learn's HistGradientBoostingClassifier) on the same three;
- `linear_all`, `boosted_all`: the same with every structural indicator (size, kind, turns, tools, paste,
  language...) and every cue family held by at least 40 of the prompts, as 0/1 columns.

Needs the `train` extra. Writes bench/results/second_stage.json.

    .venv/bin/python bench/second_stage.py
"""

from __future__ import annotations

import collections
import json
import sys
from pathlib import Path

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from routerd.classify.context import read  # noqa: E402
from routerd.classify.cues import default_cues  # noqa: E402
from routerd.classify.model import default_model  # noqa: E402
from routerd.classify.train import data as sets  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "second_stage.json"
MIN_PROMPTS = 40
FOLDS = 6
BOOSTED = {"max_iter": 150, "learning_rate": 0.05, "max_leaf_nodes": 15, "min_samples_leaf": 40,
           "l2_regularization": 1.0}


def columns() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """(scores, indicators, levels, writers, indicator names) for the calibration prompts."""
    cases = [c for c in sets.calibration() if c.level is not None]
    model, cues = default_model(), default_cues()
    scores, others = [], []
    for case in cases:
        reading = read(case.messages, case.tools, cues)
        prediction = model.predict(reading.features, False)
        scores.append([prediction.score, prediction.upper_score, prediction.neighbours])
        others.append(reading.features.other)
    held = collections.Counter(name for other in others for name in other)
    # Structure and whole cue families; the per-size and per-count copies of a family are left out.
    names = sorted(name for name, n in held.items()
                   if n >= MIN_PROMPTS and not (name.startswith("cue:") and ("@" in name or "+" in name)))
    indicators = np.array([[name in other for name in names] for other in others], dtype=float)
    return (np.array(scores), indicators, np.array([c.level for c in cases]),
            np.array([f"{c.split}/{c.file}" for c in cases]), names)


def tiers(enough_simple: np.ndarray, enough_moderate: np.ndarray) -> np.ndarray:
    return np.where(enough_simple >= 0.5, 0, np.where(enough_moderate >= 0.5, 1, 2))


def main() -> None:
    scores, indicators, levels, writers, names = columns()
    both = np.hstack([scores, indicators])
    candidates = {
        "platt": lambda: ((LogisticRegression(), scores[:, [0]]), (LogisticRegression(), scores[:, [1]])),
        "linear_scores": lambda: ((LogisticRegression(), scores), (LogisticRegression(), scores)),
        "boosted_scores": lambda: ((HistGradientBoostingClassifier(**BOOSTED), scores),
                                   (HistGradientBoostingClassifier(**BOOSTED), scores)),
        "linear_all": lambda: ((LogisticRegression(C=0.3, max_iter=2000), both),
                               (LogisticRegression(C=0.3, max_iter=2000), both)),
        "boosted_all": lambda: ((HistGradientBoostingClassifier(**BOOSTED), both),
                                (HistGradientBoostingClassifier(**BOOSTED), both)),
    }
    report: dict = {"prompts": len(levels), "writers": len(set(writers)), "indicators": len(names), "candidates": {}}
    print(f"{len(levels)} calibration prompts by {len(set(writers))} writers; {len(names)} indicator columns")
    for name, make in candidates.items():
        right, complex_to_simple, per_fold = 0, 0, []
        for train, test in GroupKFold(n_splits=FOLDS).split(scores, levels, writers):
            (low, x_low), (high, x_high) = make()
            # Each model gives the probability that the cut is crossed; a tier is enough when it is not.
            crossed_low = low.fit(x_low[train], levels[train] >= 1).predict_proba(x_low[test])[:, 1]
            crossed_high = high.fit(x_high[train], levels[train] >= 2).predict_proba(x_high[test])[:, 1]
            got = tiers(1 - crossed_low, 1 - crossed_high)
            per_fold.append(int((got == levels[test]).sum()))
            right += per_fold[-1]
            complex_to_simple += int(((levels[test] == 2) & (got == 0)).sum())
        report["candidates"][name] = {"right": right, "complex_to_simple": complex_to_simple, "per_fold": per_fold}
        print(f"  {name:<15} {right} of {len(levels)} ({right / len(levels):.1%}), complex to simple "
              f"{complex_to_simple}, per fold {per_fold}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=1))
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
