"""The learned scorer: weights read from `data/brain.model`, inference in plain Python.

The file is a zip (stdlib `zipfile`) written by `python -m routerd.classify.train`:

- `meta.json`: the cut points of the difficulty score, the calibration of each cut, the task-type
  labels and biases, and what the model was trained on (data, splits, seed, figures);
- `features.txt`: one feature name per line;
- `weights.f32`: little-endian float32, one row per feature: the score weight, then one weight
  per task type.

A prediction is a sum of the weights of the features present (a linear model, so the weight of a
word is its whole effect), then two logistic curves: the calibrated probabilities that a
simple-tier and a moderate-tier model would do the job.
"""

from __future__ import annotations

import functools
import json
import math
import zipfile
from array import array
from importlib import resources
from io import BytesIO
from typing import Any

import msgspec

MODEL_FILE = "data/brain.model"
TOP_FEATURES = 6


class Calibration(msgspec.Struct, frozen=True):
    """p = 1 / (1 + exp(-(slope * (cut - score) + offset))): how far below a cut the score is,
    turned into the probability that the cheaper tier does the job (fitted on held-out folds)."""

    cut: float
    slope: float
    offset: float

    def probability(self, score: float) -> float:
        z = self.slope * (self.cut - score) + self.offset
        if z >= 0:
            return 1.0 / (1.0 + math.exp(-z))
        e = math.exp(z)
        return e / (1.0 + e)


class Prediction(msgspec.Struct, frozen=True):
    """The model's reading of one feature set."""

    score: float
    p_simple: float
    p_moderate: float
    task_type: str
    type_probability: float
    contributions: tuple[tuple[str, float], ...]  # the features that moved the score most


class Model(msgspec.Struct, frozen=True):
    """The learned weights. Score and task type are kept apart: most features (every word only the
    outcome and tier sets show) have no task-type weight, so the type sums walk far fewer rows."""

    weights: dict[str, float]  # feature -> score weight
    type_weights: dict[str, tuple[float, ...]]  # feature -> weight per task type (non-zero rows only)
    score_bias: float
    simple: Calibration
    moderate: Calibration
    type_labels: tuple[str, ...]
    type_bias: tuple[float, ...]
    meta: dict[str, Any]

    def predict(self, features: set[str], explain: bool = False) -> Prediction:
        """Score, tier probabilities and task type for a set of binary features."""
        weights = self.weights
        score = self.score_bias + sum(filter(None, map(weights.get, features)))
        rows = [row for row in map(self.type_weights.get, features) if row is not None]
        logits = [bias + sum(column) for bias, column in zip(self.type_bias, zip(*rows))] if rows \
            else list(self.type_bias)
        best = max(range(len(logits)), key=logits.__getitem__)
        top = logits[best]
        total = sum(math.exp(logit - top) for logit in logits)
        contributions: tuple[tuple[str, float], ...] = ()
        if explain:
            moved = sorted(((name, weights[name]) for name in features if name in weights), key=lambda c: -abs(c[1]))
            contributions = tuple((name, round(weight, 3)) for name, weight in moved[:TOP_FEATURES])
        p_simple = self.simple.probability(score)
        # Whatever a simple-tier model can do, a moderate-tier one can: keep the two consistent.
        p_moderate = max(self.moderate.probability(score), p_simple)
        return Prediction(score, p_simple, p_moderate, self.type_labels[best], 1.0 / total, contributions)


def read_model(data: bytes) -> Model:
    """A `Model` from the bytes of a model file."""
    with zipfile.ZipFile(BytesIO(data)) as archive:
        meta = json.loads(archive.read("meta.json"))
        names = archive.read("features.txt").decode("utf-8").split("\n")
        values = array("f")
        values.frombytes(archive.read("weights.f32"))
    width = 1 + len(meta["type_labels"])
    if len(values) != width * len(names):
        raise ValueError(f"model file: {len(values)} weights for {len(names)} features x {width}")
    # Row by row, keeping only the non-zero parts: a tuple per row for all ~64k features would leave
    # ~10 MB of freed objects behind in the allocator's arenas (measured as daemon RSS).
    weights: dict[str, float] = {}
    type_weights: dict[str, tuple[float, ...]] = {}
    for index, name in enumerate(names):
        at = index * width
        if values[at]:
            weights[name] = values[at]
        types = values[at + 1 : at + width]
        if any(types):
            type_weights[name] = tuple(types)
    return Model(
        weights=weights,
        type_weights=type_weights,
        score_bias=meta["score_bias"],
        simple=Calibration(**meta["calibration"]["simple"]),
        moderate=Calibration(**meta["calibration"]["moderate"]),
        type_labels=tuple(meta["type_labels"]),
        type_bias=tuple(meta["type_bias"]),
        meta=meta,
    )


def model_bytes() -> bytes:
    """The shipped model file's bytes."""
    return resources.files("routerd.classify").joinpath(MODEL_FILE).read_bytes()


@functools.cache
def default_model() -> Model:
    """The shipped model, read once per process (package data, not configuration)."""
    return read_model(model_bytes())
