"""Fitting a model's two calibrations on writers it never trained on.

The trainer fits each cut's calibration (`routerd.classify.model.Calibration`: p = sigmoid(slope *
(cut - score) + offset)) on out-of-fold scores of its training writers, whose worlds the other folds
share. A new user's traffic is more like a new writer's: on the thirty-six writers of `unseen94/` to
`unseen105/`, never trained on, 15b14591's moderate cut had a calibration error of 0.036-0.037
against 0.007 cross-validated, too sure that a moderate model would do (docs/rounds/72.md, 73.md).
This fits the same curves (`fit.platt`, slope and offset per cut) on the model's margins for the
prompts of `CALIBRATION_DIRS`, read through the real classifier, and writes the model file again
with only `meta.json` changed: the two calibrations, and under `calibrated` what they were fitted
on and the ones they replace.

    python -m routerd.classify.train.recalibrate [--model FILE] [--out FILE]

re-fits a file's curves; `python -m routerd.classify.train` does the same as its last step (unless
`--fold-calibration`), so that training writes the file as it ships.
"""

from __future__ import annotations

import argparse
import io
import json
import zipfile
from pathlib import Path

import numpy as np

from routerd.classify.context import read
from routerd.classify.cues import default_cues
from routerd.classify.model import Model, Prediction, read_model
from routerd.classify.train import data as sets
from routerd.classify.train import figures, fit
from routerd.classify.train.report import TIER_NAMES, cut_calibration_errors, probabilities
from routerd.classify.train.write import SHIPPED, meta_json, zip_entry
from routerd.classify.types import DEFAULT_BAR, tier_for

COMMAND = "python -m routerd.classify.train.recalibrate"


def predictions(model: Model, cases: list[sets.Case]) -> list[Prediction]:
    """Each case's prediction, as the daemon reads the case."""
    cues = default_cues()
    return [model.predict(read(case.messages, case.tools, cues).features) for case in cases]


def scores(model: Model, cases: list[sets.Case]) -> list[tuple[float, float]]:
    """Each case's two scores (first cut's, second cut's), as the daemon reads the case."""
    return [(p.score + model.simple.cut, p.upper_score + model.moderate.cut) for p in predictions(model, cases)]


def fitted(model: Model, pairs: list[tuple[float, float]], levels: np.ndarray) -> tuple[tuple[float, float], ...]:
    """(slope, offset) of each cut's calibration, fitted on `pairs` (the cases' scores) and their levels."""
    low, high = np.array(pairs).T
    return (fit.platt(model.simple.cut - low, levels == 0), fit.platt(model.moderate.cut - high, levels <= 1))


def figures_of(model: Model, pairs: list[tuple[float, float]], levels: np.ndarray, calibration) -> dict[str, float]:
    """Tier at the balanced bar, complex to simple and each cut's calibration error, for `calibration`."""
    cuts = (model.simple.cut, model.moderate.cut)
    probs = [probabilities(pair, cuts, calibration) for pair in pairs]
    wanted = [TIER_NAMES[level] for level in levels]
    got = [tier_for(ps, pm, DEFAULT_BAR) for ps, pm in probs]
    return {"tier_accuracy": round(figures.accuracy(wanted, got), 4),
            "complex_to_simple": round(figures.complex_to_simple(wanted, got), 4),
            **cut_calibration_errors(probs, levels)}


def recalibrated(data: bytes, cases: list[sets.Case]) -> tuple[bytes, dict]:
    """The model file `data` with its calibrations fitted on `cases`, and what was fitted."""
    model = read_model(data)
    pairs = scores(model, cases)
    levels = np.array([case.level for case in cases])
    before = ((model.simple.slope, model.simple.offset), (model.moderate.slope, model.moderate.offset))
    after = fitted(model, pairs, levels)
    meta = json.loads(json.dumps(model.meta))
    for name, (slope, offset) in zip(("simple", "moderate"), after):
        meta["calibration"][name].update(slope=slope, offset=offset)
    record = {
        "command": COMMAND,
        "folders": [folder for folder in sets.CALIBRATION_DIRS if any(case.split == folder for case in cases)],
        "cases": len(cases),
        "data_digest": sets.data_digest(cases),
        "replaced": {name: {"slope": slope, "offset": offset} for name, (slope, offset) in zip(("simple", "moderate"), before)},
        "before": figures_of(model, pairs, levels, before),
        "after": figures_of(model, pairs, levels, after),
    }
    meta["calibrated"] = record
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(buffer, "w") as archive:
        for name in source.namelist():
            payload = meta_json(meta) if name == "meta.json" else source.read(name)
            zip_entry(archive, name, payload)
    return buffer.getvalue(), record


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Fit a model's calibrations on the calibration folders.")
    parser.add_argument("--model", type=Path, default=SHIPPED, help="the model file to start from (default: the shipped one)")
    parser.add_argument("--out", type=Path, default=SHIPPED)
    args = parser.parse_args(argv)
    cases = sets.calibration()
    if not cases:
        parser.error(f"no calibration cases in {', '.join(sets.CALIBRATION_DIRS)}")
    blob, record = recalibrated(args.model.read_bytes(), cases)
    args.out.write_bytes(blob)
    print_record(record)
    print(f"wrote {args.out} ({len(blob)} bytes)")


def print_record(record: dict) -> None:
    """Print what a fit was made on, and the figures there before and after (fitted, not held out)."""
    print(f"calibrated on {record['cases']} cases of {', '.join(record['folders'])} (digest {record['data_digest'][:16]})")
    for name in ("before", "after"):
        figs = record[name]
        print(f"  {name:6}  tier {figs['tier_accuracy']:.1%}  complex->simple {figs['complex_to_simple']:.1%}  "
              f"ECE p_simple {figs['ece_p_simple']:.3f}  p_moderate {figs['ece_p_moderate']:.3f}")


if __name__ == "__main__":
    main()
