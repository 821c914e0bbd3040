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
from routerd.classify import model as model_module
from routerd.classify.model import BASELINE, TOP_FEATURES, Model, default_model, model_bytes, read_model
from routerd.classify.train import data as sets


class Reference:
    """The shipped model as the file states it: one row of weights per feature name."""

    def __init__(self, data: bytes) -> None:
        with zipfile.ZipFile(BytesIO(data)) as archive:
            self.meta = json.loads(archive.read("meta.json"))
            names = archive.read("features.txt").decode("utf-8").split("\n")
            values = array("f")
            values.frombytes(archive.read("weights.f32"))
            terms = archive.read("neighbours/terms.txt").decode("utf-8").split("\n")
            starts, postings, norms = array("I"), array("H"), array("f")
            starts.frombytes(archive.read("neighbours/starts.u32"))
            postings.frombytes(archive.read("neighbours/postings.u16"))
            norms.frombytes(archive.read("neighbours/norms.f32"))
            self.levels = archive.read("neighbours/levels.u8")
        width = 2 + len(self.meta["type_labels"])  # first cut's weight, what the second adds, types
        self.rows = {name: tuple(values[i * width : (i + 1) * width]) for i, name in enumerate(names)}
        self.postings = {name: (starts[t], list(postings[starts[t] : starts[t + 1]])) for t, name in enumerate(terms)}
        self.norms = norms

    def shift(self, names: set[str]) -> tuple[float, float]:
        """The neighbours' vote as routerd.classify.neighbours describes it, by feature name: cosine
        similarity over binary TF-IDF vectors, rarest terms first until the budget is spent; what
        it adds to each cut's score."""
        spec = self.meta["neighbours"]
        # Rarest first; among equally rare terms, in the file's order.
        found = sorted((len(docs), start, docs) for start, docs in map(self.postings.get, names & self.postings.keys()))
        if not found:
            return 0.0, 0.0
        def idf2(df):
            return (math.log((1 + len(self.levels)) / (1 + df)) + 1.0) ** 2
        sums, spent = {}, 0
        for df, _, docs in found:
            if spent >= spec["budget"]:
                break
            spent += df
            for doc in docs:
                sums[doc] = sums.get(doc, 0.0) + idf2(df)
        query = math.sqrt(math.fsum(idf2(df) for df, _, _ in found))
        nearest = sorted(((total / self.norms[doc], doc) for doc, total in sums.items()), reverse=True)[: spec["k"]]
        level = math.fsum(s * self.levels[d] for s, d in nearest) / math.fsum(s for s, _ in nearest)
        top, lean = nearest[0][0] / query, level - spec["prior"]
        return tuple(math.fsum(w * x for w, x in zip(spec[key], (top, lean, lean * top)))
                     for key in ("weights", "upper_weights"))

    def predict(self, names: set[str]) -> tuple:
        rows = [self.rows[name] for name in names if name in self.rows]
        logits = [bias + math.fsum(row[2 + i] for row in rows) for i, bias in enumerate(self.meta["type_bias"])]
        best = max(range(len(logits)), key=logits.__getitem__)
        total = sum(math.exp(logit - logits[best]) for logit in logits)
        # The features the file names (`typed_features`, by prefix) also count as their copy for the
        # type just chosen, except a family's size and count variants.
        prefixes = tuple(self.meta.get("typed_features", ()))
        if prefixes:
            names = names | {f"{name}@{self.meta['type_labels'][best]}" for name in names
                             if name.startswith(prefixes) and "@" not in name and "+" not in name}
            rows = [self.rows[name] for name in names if name in self.rows]
        low = self.meta["score_bias"] + math.fsum(row[0] for row in rows)
        high = low + math.fsum(row[1] for row in rows)
        # A feature's mean effect on the two cuts' scores: its first weight and half its second; for
        # the kind of turn and the conversation's length, less a new one-turn ask's (never named).
        effect = {name: row[0] + row[1] / 2 for name, row in zip(names, map(self.rows.get, names))
                  if row and (row[0] or row[1])}
        for name in names:
            base = next((b for prefix, b in BASELINE.items() if name.startswith(prefix) and "@" not in name), None)
            if base == name:
                effect.pop(name, None)
            elif base is not None:
                row = self.rows.get(base, (0.0, 0.0))
                effect[name] = effect.get(name, 0.0) - (row[0] + row[1] / 2)
        moved = sorted(effect.items(), key=lambda c: (-abs(c[1]), c[0]))
        top = tuple((name, round(weight, 3)) for name, weight in moved[:TOP_FEATURES])
        return (low, high), self.meta["type_labels"][best], 1.0 / total, top


@pytest.fixture(scope="module")
def reference():
    return Reference(model_bytes())


def test_every_model_feature_is_one_the_extractor_can_make(reference):
    """Feature names in the model file use the extractor's prefixes, cue features name real families,
    and every name survives the trip into a bag's table and back."""
    families = set(default_cues().families)
    prefixes = ("w:", "b:", "p:", "cue:", "open:", "kind:", "words:", "questions:", "numbers:", "separators:",
                "lines:", "items:", "script:", "paste", "turns:", "tools", "images", "tool_output",
                "numbers>=", "sentences>=", "percent_sign", "rare>=", "rare_share:", "t:", "tool_chars:")
    types = tuple(reference.meta["type_labels"])
    typed = tuple(reference.meta.get("typed_features", ()))
    for name in reference.rows:
        assert name.startswith(prefixes), name
        base, at, task = name.rpartition("@")
        if at and task in types:  # a feature's copy for one task type
            assert base.startswith(typed) and "@" not in base and "+" not in base, name
            name = base
        if name.startswith("cue:"):
            family, _, size = name[4:].split("+")[0].partition("@")
            assert family in families and size in ("", "short", "mid", "long"), name
        assert name_of(*key_of(name)) == name


def test_predictions_equal_the_plain_reading_on_held_out_prompts(reference):
    """On every held-out prompt in the repository, task type and its probability and the named top
    features are exactly what summing the file's rows by feature name gives, and the two cuts'
    scores are those sums plus the neighbours' vote read from the file's index by name, which the
    probabilities and the score (the first, from its cut) are made of."""
    model, cues = default_model(), default_cues()
    cases = sets.repository_heldout()
    assert len(cases) > 1000
    for case in cases:
        bag = read(case.messages, case.tools, cues).features
        prediction = model.predict(bag, explain=True)
        names = bag.names()
        assert len(names) == len(bag.words) + len(bag.pairs) + len(bag.stems) + len(bag.other)
        assert all(name in bag for name in names)
        (low, high), task_type, probability, top = reference.predict(names)
        assert (prediction.task_type, prediction.type_probability, prediction.contributions) \
            == (task_type, probability, top), case.id
        shift_low, shift_high = reference.shift(names)
        assert prediction.neighbours == pytest.approx((shift_low + shift_high) / 2, abs=1e-9), case.id
        low, high = low + shift_low, high + shift_high
        assert prediction.p_simple == pytest.approx(model.simple.probability(low), abs=1e-12), case.id
        assert prediction.p_moderate == pytest.approx(max(model.moderate.probability(high), prediction.p_simple),
                                                      abs=1e-12), case.id
        assert prediction.score == pytest.approx(low - model.simple.cut, abs=1e-9), case.id


def test_bag_union_is_the_union_of_names():
    """A continuation's bag (its own features with the thread's) names exactly the union of both."""
    a = Bag({"retry"}, {("why", "does")}, {"retry"}, {"kind:ask"})
    b = Bag({"retry", "backoff"}, {("why", "not")}, {"backo"}, {"tools"})
    assert (a | b).names() == a.names() | b.names()
    assert "b:why not" in a | b and "b:why not" not in a and "w:backoff" not in a


def _plain(data: bytes, monkeypatch) -> Model:
    """The model in `data` read without packing its rows (as a model whose weights are not whole steps is)."""
    with monkeypatch.context() as patch:
        patch.setattr(model_module, "layout_of", lambda columns: None)
        return read_model(data)


def _with_weight(data: bytes, at: int, value: float) -> bytes:
    """The model file `data` with its `at`-th weight (row by row, float32) set to `value`."""
    out = BytesIO()
    with zipfile.ZipFile(BytesIO(data)) as archive, zipfile.ZipFile(out, "w") as written:
        for info in archive.infolist():
            member = archive.read(info)
            if info.filename == "weights.f32":
                values = array("f")
                values.frombytes(member)
                values[at] = value
                member = values.tobytes()
            written.writestr(info, member)
    return out.getvalue()


def test_packed_rows_predict_exactly_what_the_plain_tables_do(monkeypatch):
    """The shipped model weighed by one packed int per feature gives the very predictions (==, not
    close) of the same file read into a table per column and summed by `math.fsum`, on every held-out
    prompt; and its columns' sums are those `fsum`s of the file's rows, bit for bit."""
    packed, plain, cues = default_model(), _plain(model_bytes(), monkeypatch), default_cues()
    assert packed.packed is not None and plain.packed is None and plain.type_weights is not None
    reference = Reference(model_bytes())
    for case in sets.repository_heldout():
        bag = read(case.messages, case.tools, cues).features
        assert packed.predict(bag, explain=True) == plain.predict(bag, explain=True), case.id
        rows = [reference.rows[name] for name in bag.names() if name in reference.rows]
        sums = packed.packed.layout.sums(packed.packed.read(bag)[0])
        assert sums == [math.fsum(row[column] for row in rows) for column in range(len(sums))], case.id


def test_a_model_whose_weights_are_not_whole_steps_is_read_plain():
    """A weight no step of at most 52 bits' sums can hold (1e-30 among steps of 1/512) leaves the
    rows unpacked, and that model still predicts what its file says, by feature name."""
    first = next(i for i, value in enumerate(_weights(model_bytes())) if value)
    data = _with_weight(model_bytes(), first, 1e-30)
    model, cues = read_model(data), default_cues()
    assert model.packed is None and model.type_weights is not None
    reference = Reference(data)
    for case in sets.repository_heldout()[:200]:
        bag = read(case.messages, case.tools, cues).features
        prediction = model.predict(bag, explain=True)
        (low, high), task_type, probability, top = reference.predict(bag.names())
        assert (prediction.task_type, prediction.type_probability, prediction.contributions) \
            == (task_type, probability, top), case.id


def test_a_weight_in_finer_steps_widens_its_field_and_stays_exact(monkeypatch):
    """A weight of 0.1 (in float32, a whole number of 2^-27 steps) makes its column's field wider,
    not the sums less exact: the packed model still predicts what the plain reading does."""
    data = _with_weight(model_bytes(), 0, 0.1)
    packed, plain, cues = read_model(data), _plain(data, monkeypatch), default_cues()
    assert packed.packed is not None and packed.packed.layout.scales[0] == 2.0 ** 27
    for case in sets.repository_heldout()[:300]:
        bag = read(case.messages, case.tools, cues).features
        assert packed.predict(bag) == plain.predict(bag), case.id


def _weights(data: bytes) -> array:
    with zipfile.ZipFile(BytesIO(data)) as archive:
        values = array("f")
        values.frombytes(archive.read("weights.f32"))
    return values


def test_a_packed_model_keeps_no_float_tables_and_reads_score_weights_from_its_rows():
    """A packed model keeps its score weights only in the packed rows (the float tables cost ~2.5 MB of
    daemon RSS), and reads every feature's two score weights back from them exactly (==) as the file
    states them; a feature with neither has none."""
    model, reference = default_model(), Reference(model_bytes())
    assert model.packed is not None and model.weights is None and model.upper is None
    for name, row in reference.rows.items():
        low, high = row[0], row[1]
        assert model.score_weights(*key_of(name)) == ((low, high) if low or high else None), name
    assert model.score_weights("words", "no-such-word-in-the-model") is None


def test_a_plain_model_reads_the_same_score_weights_from_its_tables(monkeypatch):
    """Without a layout, the float tables are kept and give the same score weights as the packed rows."""
    packed, plain = default_model(), _plain(model_bytes(), monkeypatch)
    assert plain.weights is not None and plain.upper is not None
    for name in Reference(model_bytes()).rows:
        assert plain.score_weights(*key_of(name)) == packed.score_weights(*key_of(name)), name
