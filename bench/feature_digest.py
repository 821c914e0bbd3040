"""What the brain reads and says of every prompt it has data for, as one digest.

A change meant to make the classifier faster or clearer, not different (a tokeniser rewrite, a
cue-matching index, a module split), must leave every reading and every prediction as it was. This
reads each case of every source (`routerd.classify.train.data`: the training data, the held-out
folders, the calibration folders and the proxy sets), and hashes, per case, the turn's kind, its
features by name (sorted) and the model's prediction (score, the two probabilities and the task
type, to 12 significant digits). Two trees that print the same digest read and classify all of
them alike. It prints the case count, both digests (readings alone, and with predictions) and the
time taken, and writes bench/results/feature_digest.json.

    ROUTERD_EVAL_DIR=../shared/eval .venv/bin/python bench/feature_digest.py
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import msgspec

from routerd.classify.context import read
from routerd.classify.cues import default_cues
from routerd.classify.model import default_model
from routerd.classify.train import data

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "feature_digest.json"


def cases() -> list[data.Case]:
    """Every case the repository and the shared eval folder hold, in a fixed order."""
    shared = data.shared_dir()
    return data.load_all(shared) + data.unseen() + data.calibration() + data.proxy_sets()


def digests(every: list[data.Case]) -> tuple[str, str]:
    """sha256 of the readings, and of the readings with the model's predictions."""
    cues, model = default_cues(), default_model()
    readings, predictions = hashlib.sha256(), hashlib.sha256()
    for case in every:
        reading = read(case.messages, case.tools, cues)
        line = msgspec.json.encode([case.source, case.id, reading.kind, sorted(reading.features.names())])
        readings.update(line)
        p = model.predict(reading.features, False)
        predictions.update(line)
        predictions.update(f"{p.score:.12g} {p.p_simple:.12g} {p.p_moderate:.12g} {p.task_type}".encode())
    return readings.hexdigest(), predictions.hexdigest()


def main() -> None:
    every = cases()
    started = time.perf_counter()
    reading_digest, prediction_digest = digests(every)
    seconds = round(time.perf_counter() - started, 1)
    result = {"cases": len(every), "readings": reading_digest, "predictions": prediction_digest, "seconds": seconds}
    print(f"{len(every)} cases in {seconds} s\nreadings    {reading_digest}\npredictions {prediction_digest}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
