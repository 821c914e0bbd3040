"""Fitting the model's calibrations on writers it never trained on (routerd.classify.train.recalibrate)."""

import io
import json
import zipfile

import pytest

from routerd.classify.classifier import classify
from routerd.classify.context import read
from routerd.classify.cues import default_cues
from routerd.classify.model import default_model, model_bytes, read_model
from routerd.classify.train import data as sets

pytest.importorskip("scipy", reason="the train extra is not installed")

from routerd.classify.train import recalibrate  # after the skip: it needs scipy


def _members(blob: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(blob)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_the_shipped_calibrations_are_fitted_on_the_calibration_folders_and_reproduce():
    """The shipped file names the folders and data its calibrations were fitted on; fitting again
    from it gives the same curves (a case's scores do not depend on the calibration), and only
    `meta.json` changes."""
    cases = sets.calibration()
    calibrated = default_model().meta["calibrated"]
    assert calibrated["command"] == recalibrate.COMMAND
    assert calibrated["folders"] == list(sets.CALIBRATION_DIRS)
    assert calibrated["cases"] == len(cases) and calibrated["data_digest"] == sets.data_digest(cases)
    blob, record = recalibrate.recalibrated(model_bytes(), cases)
    again = read_model(blob)
    for name in ("simple", "moderate"):
        assert getattr(again, name) == getattr(default_model(), name)
    assert record["after"] == calibrated["after"]
    before, after = _members(model_bytes()), _members(blob)
    assert before.keys() == after.keys()
    assert [name for name in before if before[name] != after[name]] == ["meta.json"]


def test_recalibration_moves_the_probabilities_not_the_scores():
    """Fitted on cases whose labels say every ask needed the complex tier, the curves say a moderate
    model will not do: the scores stay, the probabilities fall and the tier rises."""
    cases = [sets.Case(id=f"c{n}", source="t", style="routerd", split="calibration",
                       messages=[{"role": "user", "content": text}], level=2)
             for n, text in enumerate(["rename this variable", "what is a mutex", "fix the typo in the readme",
                                       "translate 'hello' to French", "sort this list in python"] * 4)]
    cases += [sets.Case(id="s", source="t", style="routerd", split="calibration",
                        messages=[{"role": "user", "content": "thanks!"}], level=0)]
    blob, record = recalibrate.recalibrated(model_bytes(), cases)
    model = read_model(blob)
    messages = [{"role": "user", "content": "rename this variable"}]
    old, new = classify(messages, explain=False), classify(messages, model=model, explain=False)
    assert new.score == old.score
    assert new.p_moderate < old.p_moderate and new.tier == "complex"
    assert record["after"]["ece_p_moderate"] < record["before"]["ece_p_moderate"]
    assert json.loads(_members(blob)["meta.json"])["calibrated"]["cases"] == len(cases)


def test_a_prediction_carries_the_second_cut_s_score():
    """`upper_score` is the score the moderate cut's curve reads: p_moderate is that curve's value,
    or p_simple where that is higher."""
    model = default_model()
    for text in ("thanks", "Design a rate limiter shared by three services without Redis.", "what is DNS"):
        features = read([{"role": "user", "content": text}], None, default_cues()).features
        prediction = model.predict(features)
        curve = model.moderate.probability(prediction.upper_score + model.moderate.cut)
        assert prediction.p_moderate == max(curve, prediction.p_simple)
