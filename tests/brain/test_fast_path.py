"""The model's table lookups against a plain reading of the model file, feature name by feature name."""

import json
import math
import zipfile
from array import array
from io import BytesIO

import pytest

from routerd.classify.bag import Bag, key_of, name_of
from routerd.classify.context import read
from routerd.classify.cues import default_cues
from routerd.classify.model import TOP_FEATURES, default_model, model_bytes
from routerd.classify.train import data as sets


class Reference:
    """The shipped model as the file states it: one row of weights per feature name."""

    def __init__(self, data: bytes) -> None:
        with zipfile.ZipFile(BytesIO(data)) as archive:
            self.meta = json.loads(archive.read("meta.json"))
            names = archive.read("features.txt").decode("utf-8").split("\n")
            values = array("f")
            values.frombytes(archive.read("weights.f32"))
        width = 1 + len(self.meta["type_labels"])
        self.rows = {name: tuple(values[i * width : (i + 1) * width]) for i, name in enumerate(names)}

    def predict(self, names: set[str]) -> tuple:
        rows = [self.rows[name] for name in names if name in self.rows]
        score = self.meta["score_bias"] + math.fsum(row[0] for row in rows)
        logits = [bias + math.fsum(row[1 + i] for row in rows) for i, bias in enumerate(self.meta["type_bias"])]
        best = max(range(len(logits)), key=logits.__getitem__)
        total = sum(math.exp(logit - logits[best]) for logit in logits)
        moved = sorted(((name, row[0]) for name, row in zip(names, map(self.rows.get, names)) if row and row[0]),
                       key=lambda c: (-abs(c[1]), c[0]))
        top = tuple((name, round(weight, 3)) for name, weight in moved[:TOP_FEATURES])
        return score, self.meta["type_labels"][best], 1.0 / total, top


@pytest.fixture(scope="module")
def reference():
    return Reference(model_bytes())


def test_every_model_feature_is_one_the_extractor_can_make(reference):
    """Feature names in the model file use the extractor's prefixes, cue features name real families,
    and every name survives the trip into a bag's table and back."""
    families = set(default_cues().families)
    prefixes = ("w:", "b:", "p:", "cue:", "open:", "kind:", "words:", "questions:", "numbers:", "separators:",
                "lines:", "items:", "script:", "paste", "turns:", "tools", "images", "tool_output",
                "numbers>=", "sentences>=", "percent_sign", "rare>=", "rare_share:")
    for name in reference.rows:
        assert name.startswith(prefixes), name
        if name.startswith("cue:"):
            family, _, size = name[4:].split("+")[0].partition("@")
            assert family in families and size in ("", "short", "mid", "long"), name
        assert name_of(*key_of(name)) == name


def test_predictions_equal_the_plain_reading_on_held_out_prompts(reference):
    """On every held-out prompt in the repository, score, task type and its probability, and the
    named top features are exactly what summing the file's rows by feature name gives."""
    model, cues = default_model(), default_cues()
    cases = sets.repository_heldout()
    assert len(cases) > 1000
    for case in cases:
        reading = read(case.messages, case.tools, cues)
        for bag in filter(None, (reading.features, reading.thread)):
            prediction = model.predict(bag, explain=True)
            names = bag.names()
            assert len(names) == len(bag.words) + len(bag.pairs) + len(bag.stems) + len(bag.other)
            assert all(name in bag for name in names)
            assert (prediction.score, prediction.task_type, prediction.type_probability,
                    prediction.contributions) == reference.predict(names), case.id


def test_bag_union_is_the_union_of_names():
    """A continuation's bag (its own features with the thread's) names exactly the union of both."""
    a = Bag({"retry"}, {("why", "does")}, {"retry"}, {"kind:ask"})
    b = Bag({"retry", "backoff"}, {("why", "not")}, {"backo"}, {"tools"})
    assert (a | b).names() == a.names() | b.names()
    assert "b:why not" in a | b and "b:why not" not in a and "w:backoff" not in a
