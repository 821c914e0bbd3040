"""The cue data files, the shipped model file, and the trainer's reproducibility."""

import hashlib
import json
from importlib import resources

import pytest

from routerd.classify.cues import build, read_documents
from routerd.classify.model import default_model, model_bytes, read_model

# The shipped weights. Retraining changes this: rerun `python -m routerd.classify.train`, check the
# figures it prints and bench/eval_classifier.py, update docs/brain.md, then paste the new digest.
MODEL_SHA256 = "c550aa0da539ac4c4779e49f14959f3e84353f1d1c80ef2bb8af1c2c0f66386c"


def test_shipped_model_is_the_pinned_one():
    """data/brain.model is exactly the file the model card describes (its sha256 is pinned here)."""
    assert hashlib.sha256(model_bytes()).hexdigest() == MODEL_SHA256


def test_shipped_model_names_its_training():
    """The model file says what trained it: command, seed, data digest and cross-validated figures."""
    trained = default_model().meta["trained"]
    assert trained["command"] == "python -m routerd.classify.train"
    assert isinstance(trained["seed"], int) and len(trained["data_digest"]) == 64
    assert 0.5 < trained["cross_validation"]["balanced"]["tier_accuracy"] <= 1.0


def test_shipped_model_was_trained_on_the_data_in_the_repository():
    """Adding or relabelling a case without retraining fails here: the data digest must match."""
    from routerd.classify.train import data as sets

    try:
        shared = sets.shared_dir()
    except SystemExit:
        pytest.skip("shared/eval is not beside the repository")
    assert default_model().meta["trained"]["data_digest"] == sets.data_digest(sets.load_all(shared))


def test_cue_files_share_english_family_names():
    """Every language uses only family and opener names that English defines, and parses."""
    docs = read_documents()
    english = docs[0]
    assert english["language"] == "en" and len(docs) >= 16
    for doc in docs[1:]:
        assert set(doc["families"]) <= set(english["families"]), doc["language"]
        assert set(doc["openers"]) <= set(english["openers"]), doc["language"]


def test_cues_match_words_phrases_stems_and_cjk():
    """Whole words, phrases, stems (inflected languages) and CJK substrings are all found."""
    cues = build([{"language": "x", "families": {"f": ["deadlock", "race condition", "доказ*", "証明"]}}])
    assert cues.counts("a deadlock here", ["a", "deadlock", "here"]) == {"f": 1}
    assert cues.counts("a race condition", ["a", "race", "condition"]) == {"f": 1}
    assert cues.counts("нужно доказательство", ["нужно", "доказательство"]) == {"f": 1}
    assert cues.counts("この定理を証明せよ", ["この", "定理"]) == {"f": 1}
    assert cues.counts("a racecar", ["a", "racecar"]) == {}


def test_openers_match_at_the_start_and_cjk_ones_in_the_head():
    """A spaced opener must begin the text as whole words; a CJK one may sit anywhere in the first
    `SPACELESS_OPENER_CHARS` characters (the subject comes first), and its text is matched literally."""
    from routerd.classify.cues import SPACELESS_OPENER_CHARS

    cues = build([{"language": "x", "openers": {"definition": ["what is", "とは"], "affirm": ["了解?"], "ack": ["thanks"]}}])
    assert cues.opens("what is a mutex", "definition")
    assert not cues.opens("what isn't a mutex", "definition")
    assert not cues.opens("so what is a mutex", "definition")
    assert cues.opens("ミューテックスとは何ですか", "definition")
    assert cues.opens("はい了解?", "affirm") and not cues.opens("はい了解です", "affirm")
    assert cues.opens("あ" * (SPACELESS_OPENER_CHARS - 2) + "とは", "definition")
    assert not cues.opens("あ" * (SPACELESS_OPENER_CHARS - 1) + "とは", "definition")
    assert not cues.opens("ありがとうとは", "ack")  # a kind without CJK openers
    assert not cues.opens("mutex とは", "follow_up")  # a kind no document names


def _synthetic_cases():
    from routerd.classify.train.data import Case

    easy = ["what is {}", "define {}", "spell {}", "translate {} to French"]
    hard = ["design a distributed {} with consensus and failover", "prove the {} theorem for all n",
            "implement a lock-free {} with a formal proof of linearizability"]
    words = ["mutex", "cache", "queue", "graph", "matrix", "ledger", "tree", "router"]
    cases = []
    for i, w in enumerate(words):
        for j, t in enumerate(easy):
            cases.append(Case(id=f"e{i}{j}", source="written", file=f"writer{i}.jsonl", style="routerd",
                              split="train", messages=[{"role": "user", "content": t.format(w)}], level=0,
                              task_type="query"))
        for j, t in enumerate(hard):
            cases.append(Case(id=f"h{i}{j}", source="written", file=f"writer{i}.jsonl", style="routerd",
                              split="train", messages=[{"role": "user", "content": t.format(w)}],
                              level=2 if j else 1, task_type="analyze"))
            cases.append(Case(id=f"u{i}{j}", source="uncommonroute", style="uncommonroute", split="train",
                              messages=[{"role": "user", "content": t.format(w)}], level=3))
    return cases


def test_writer_grouped_folds_keep_each_writer_whole_and_need_a_writer_per_fold():
    """Each writer's file lands whole in one fold (every out-of-fold prompt is a new writer's);
    with fewer writers' files than folds the trainer says so instead of fitting on an empty fold."""
    pytest.importorskip("scipy", reason="the train extra is not installed")
    from routerd.classify.train.__main__ import Settings, folds_of

    cases = _synthetic_cases()
    folds = folds_of(cases, Settings())
    assert sorted(i for fold in folds for i in fold) == [i for i, c in enumerate(cases) if c.style == "routerd"]
    writers = [{cases[i].file for i in fold} for fold in folds]
    assert all(writers) and not any(a & b for n, a in enumerate(writers) for b in writers[n + 1:])
    few = [c for c in cases if c.file in ("writer0.jsonl", "writer1.jsonl")]
    with pytest.raises(ValueError, match="2 writers' files for 5 folds"):
        folds_of(few, Settings())


def test_trainer_is_reproducible_and_learns_the_order():
    """The same cases and seed give the same model file, byte for byte, and hard asks score higher."""
    pytest.importorskip("scipy", reason="the train extra is not installed")
    from routerd.classify.train.__main__ import (Settings, calibrate, cross_validate, neighbour_index, read_all,
                                                 train_once)
    from routerd.classify.train.write import build_model_file

    def once():
        cases = _synthetic_cases()
        bags = read_all(cases)
        feats = [bag.names() for bag in bags]
        settings = Settings()
        settings.min_count = 1
        settings.neighbours_share = 0.5
        piece = train_once(cases, feats, settings)
        oof = cross_validate(cases, feats, settings, piece)
        index, oof = neighbour_index(cases, bags, settings, oof)
        return build_model_file(piece, calibrate(cases, oof), settings, cases, {}, index)

    first, second = once(), once()
    assert first == second
    model = read_model(first)
    # What the bytes depend on besides data, seed and code (another BLAS kernel moves the last digits).
    libraries = model.meta["trained"]["libraries"]
    assert set(libraries) >= {"numpy", "scipy", "scikit-learn"} and all(libraries.values())
    from routerd.classify.classifier import classify

    easy = classify([{"role": "user", "content": "what is a heap"}], model=model)
    hard = classify([{"role": "user", "content": "design a distributed heap with consensus and failover"}],
                    model=model)
    assert hard.score > easy.score and hard.p_simple < easy.p_simple


def test_model_file_holds_what_meta_says():
    """The model file's weights table has one row per feature, of 2 + task types values (the first
    cut's weight, what the second cut's score adds, one per task type), and says so (format 2)."""
    data = model_bytes()
    import zipfile
    from io import BytesIO

    with zipfile.ZipFile(BytesIO(data)) as archive:
        meta = json.loads(archive.read("meta.json"))
        names = archive.read("features.txt").decode().split("\n")
        weights = archive.read("weights.f32")
    assert meta["format"] == 2
    assert len(weights) == 4 * len(names) * (2 + len(meta["type_labels"]))
    assert resources.files("routerd.classify").joinpath("data/brain.model").is_file()


def test_the_second_cut_has_a_score_of_its_own():
    """A feature found in simple and complex asks but not in moderate ones says nothing to one score
    cut twice; with its upper copy (read only at the second cut) it lowers the first cut's score and
    raises the second's (partial proportional odds, routerd.classify.train.fit)."""
    pytest.importorskip("scipy", reason="the train extra is not installed")
    import numpy as np
    from scipy import sparse

    from routerd.classify.train import fit

    levels = np.array([0] * 30 + [1] * 30 + [2] * 30)
    marked = np.array([1.0] * 30 + [0.0] * 30 + [1.0] * 30)
    styles, weights = ["routerd"] * len(levels), np.ones(len(levels))
    one, _ = fit.fit_ordinal(sparse.csr_matrix(marked[:, None]), levels, styles, weights, 0.1)
    x = sparse.csr_matrix(np.column_stack([marked, marked]))
    two, cuts = fit.fit_ordinal(x, levels, styles, weights, 0.1, upper=np.array([False, True]))
    assert abs(one[0]) < 0.05
    low, high = two[0], two[0] + two[1]
    assert low < -1.0 and high > 1.0
    assert cuts["routerd"][0] < cuts["routerd"][1]


def test_writer_offsets_keep_a_writer_s_leaning_out_of_the_weights():
    """One writer labels everything moderate and uses a word in 30 of 40 asks; another labels
    everything simple and uses it in 10. Within each writer the word says nothing about the tier:
    with an offset per writer (fitted, never shipped) the word's weight shrinks to a fraction of
    what it learns when the writers' leanings are not told apart."""
    pytest.importorskip("scipy", reason="the train extra is not installed")
    from itertools import product

    from routerd.classify.train.__main__ import Settings, read_all, train_once
    from routerd.classify.train.data import Case

    nouns = iter(f"{a}{b}" for a, b in product(("bal", "cor", "dun", "fep", "gim", "hol", "jat", "kes"),
                                                 ("ak", "ed", "ix", "om", "ul", "yr", "ab", "ez", "op", "uv")))
    cases = []
    for file, level, marked in (("a.jsonl", 1, 30), ("b.jsonl", 0, 10)):
        for n in range(40):
            text = f"please look at the {next(nouns)}" + (" zorbl" if n < marked else "")
            cases.append(Case(id=f"{file}{n}", source="written", style="routerd", split="train", file=file,
                              messages=[{"role": "user", "content": text}], level=level,
                              task_type=("query", "code")[n % 2]))
    feats = [bag.names() for bag in read_all(cases)]

    def weight(offset):
        settings = Settings()
        settings.min_count, settings.l2, settings.writer_offset = 1, 1.0, offset
        piece = train_once(cases, feats, settings)
        assert not [name for name in piece["score"] if "writer" in name or "a.jsonl" in name]
        return piece["score"]["w:zorbl"]

    confounded, apart = weight(0.0), weight(3.0)
    assert confounded > 0.5 and 0 <= apart < 0.4 * confounded


def test_the_shipped_weights_are_packed_one_int_per_distinct_row():
    """The trainer writes the score weights in steps of 1/512 and the task types' in 1/64, so the
    reader packs each feature's row into one int (`routerd.classify.packed`) and keeps no type rows
    apart: one int object per distinct row among the features outside the neighbour index (whose
    terms' rows carry their spans, one int each), each of at most seven 30-bit digits (52 bytes)."""
    import sys

    from routerd.classify.bag import KINDS

    model = default_model()
    assert model.packed is not None and model.type_weights is None
    layout = model.packed.layout
    assert layout.scales == (512.0, 512.0) + (64.0,) * len(model.type_labels)
    assert layout.bits <= 180
    rows = [row for kind in KINDS for row in getattr(model.packed.rows, kind).values()]
    plain = [row for row in rows if row < 1 << model.packed.span_at]
    assert len({id(row) for row in plain}) < len(plain) / 4  # c550aa0d: 5,910 distinct of 34,355 rows
    assert max(map(sys.getsizeof, rows)) <= 52


def test_a_word_that_only_tells_the_task_type_keeps_its_type_row():
    """A word found as often in simple as in complex asks has no score weight to speak of, but when
    it marks the task type the file keeps its type row (dropped while rows followed the score's)."""
    pytest.importorskip("scipy", reason="the train extra is not installed")
    from routerd.classify.train.__main__ import Settings, calibrate, neighbour_index, read_all, train_once
    from routerd.classify.train.data import Case
    from routerd.classify.train.write import build_model_file

    cases = []
    for n in range(48):
        level, kind = n % 3, n % 2
        text = (f"item {n} " + ("poem about" if kind else "lookup of") + (" the weather" if level == 0 else
                " a distributed consensus protocol under partitions" if level == 2 else " a sorted list"))
        cases.append(Case(id=f"c{n}", source="written", style="routerd", split="train", file=f"w{n % 6}.jsonl",
                          messages=[{"role": "user", "content": text}], level=level,
                          task_type=("query", "generate")[kind]))
    bags = read_all(cases)
    feats = [bag.names() for bag in bags]
    settings = Settings()
    settings.min_count, settings.neighbours_share, settings.prune = 1, 0.5, 0.05
    piece = train_once(cases, feats, settings)
    assert "w:poem" not in piece["score"]  # no tier signal: below the prune
    oof = {i: ((0.0, 0.0), piece["cuts"], c.task_type) for i, c in enumerate(cases)}
    index, oof = neighbour_index(cases, bags, settings, oof)
    model = read_model(build_model_file(piece, calibrate(cases, oof), settings, cases, {}, index))
    from routerd.classify.classifier import classify

    assert classify([{"role": "user", "content": "poem about my cat"}], model=model).task_type == "generate"
    assert classify([{"role": "user", "content": "lookup of my cat"}], model=model).task_type == "query"


def test_writer_grouped_folds_keep_each_writer_s_file_in_one_fold():
    """With `cv_groups = "writer"` every out-of-fold prompt is a new writer's: no file spans two
    folds, the folds cover every routerd-style training case once, and their sizes stay close."""
    from routerd.classify.train.__main__ import Settings, folds_of
    from routerd.classify.train.data import Case

    sizes = (30, 22, 17, 12, 9, 8, 6, 5, 4, 3, 2, 2)
    cases = [Case(id=f"{f}-{n}", source="written", style="routerd", split="train", file=f"w{f}.jsonl",
                  messages=[{"role": "user", "content": "hi"}], level=0)
             for f, size in enumerate(sizes) for n in range(size)]
    cases.append(Case(id="mmlu", source="mmlu", style="mmlu", split="train", messages=[], level=0))
    settings = Settings()
    settings.cv_groups = "writer"
    folds = folds_of(cases, settings)
    assert sorted(i for fold in folds for i in fold) == list(range(sum(sizes)))
    fold_of = {cases[i].file: k for k, fold in enumerate(folds) for i in fold}
    assert all(fold_of[cases[i].file] == k for k, fold in enumerate(folds) for i in fold)
    assert max(map(len, folds)) - min(map(len, folds)) <= max(sizes)
    settings.cv_groups = "case"
    by_case = folds_of(cases, settings)
    assert sum(any(cases[i].file == "w0.jsonl" for i in fold) for fold in by_case) == settings.folds


def test_structure_read_per_task_type_weighs_a_size_apart_for_each_type():
    """A long review is harder than a short one, and a long poem easier than a short one: one
    weight per size cannot say both, its copies per task type can (`typed_features`). The task-type
    head picks the type first, in training and in the daemon alike; a model without copies reads
    none, and the file names the prefixes it copies."""
    pytest.importorskip("scipy", reason="the train extra is not installed")
    from routerd.classify.classifier import classify
    from routerd.classify.train.__main__ import Settings, calibrate, cross_validate, neighbour_index, read_all, train_once
    from routerd.classify.train.data import Case
    from routerd.classify.train.write import build_model_file

    nouns = ["harbour", "ledger", "garden", "engine", "market", "orchard", "bridge", "library", "kitchen", "studio",
             "meadow", "tunnel"]
    filler = " and also mention the weather the season the colours the sounds and the people nearby"
    cases = []
    for n, noun in enumerate(nouns):
        for kind, task in (("review this", "analyze"), ("poem about the", "generate")):
            for long in (False, True):
                hard = long == (task == "analyze")
                cases.append(Case(id=f"{task}{n}{long}", source="written", style="routerd", split="train",
                                  file=f"w{n % 6}.jsonl", level=2 if hard else 0, task_type=task,
                                  messages=[{"role": "user", "content": f"{kind} {noun}" + (filler if long else "")}]))
    bags = read_all(cases)
    feats = [bag.names() for bag in bags]

    def model(typed):
        settings = Settings()
        settings.min_count, settings.neighbours_share, settings.l2 = 1, 0.5, 1.0
        # Nothing pruned: on twelve nouns the copies' weights are small enough to fall under the
        # shipped file's line (0.08), and this reads what they learn, not what a file keeps.
        settings.prune = 0.0
        settings.typed_features = typed
        piece = train_once(cases, feats, settings)
        oof = cross_validate(cases, feats, settings, piece)
        index, oof = neighbour_index(cases, bags, settings, oof)
        files[typed] = build_model_file(piece, calibrate(cases, oof), settings, cases, {}, index)
        return read_model(files[typed])

    files = {}

    def scores(model):
        return {(task, long): classify([{"role": "user", "content": f"{kind} canyon" + (filler if long else "")}],
                                       model=model).score
                for kind, task in (("review this", "analyze"), ("poem about the", "generate")) for long in (False, True)}

    plain, typed = model(()), model(("words:",))
    assert plain.typed == () and "typed_features" not in plain.meta
    assert typed.typed == ("words:",) and typed.meta["typed_features"] == ["words:"]
    assert typed.packed is not None
    assert any(name.endswith("@generate") for name in typed.packed.rows.other
               if isinstance(name, str) and typed.score_weights("other", name))
    # The copies weighed from the packed rows, after the type is picked, as the plain tables weigh them.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("routerd.classify.model.layout_of", lambda columns: None)
        unpacked = read_model(files[("words:",)])
    assert typed.packed is not None and unpacked.packed is None
    assert scores(typed) == scores(unpacked)
    got = scores(typed)
    assert got["analyze", True] > got["analyze", False] and got["generate", True] < got["generate", False]
    flat = scores(plain)
    assert (got["analyze", True] - got["generate", True]) > (flat["analyze", True] - flat["generate", True])


def test_a_task_type_s_offset_is_fitted_with_its_copies_and_never_shipped():
    """With `typed_offset`, each task type has a level of its own in the fit (`type|<type>`, as
    each writer has), which takes up what every case of the type shares: the shipped file holds
    no offset, and the copies keep less of that level than without it."""
    pytest.importorskip("scipy", reason="the train extra is not installed")
    from routerd.classify.train.__main__ import Settings, read_all, train_once
    from routerd.classify.train.data import Case

    nouns = ["harbour", "ledger", "garden", "engine", "market", "orchard", "bridge", "library"]
    cases = []
    for n, noun in enumerate(nouns):
        for kind, task, level in (("review this", "analyze", 2), ("poem about the", "generate", 0)):
            cases.append(Case(id=f"{task}{n}", source="written", style="routerd", split="train",
                              file=f"w{n % 4}.jsonl", level=level, task_type=task,
                              messages=[{"role": "user", "content": f"{kind} {noun}"}]))
    feats = [bag.names() for bag in read_all(cases)]

    def copies(offsets):
        settings = Settings()
        settings.min_count, settings.l2, settings.writer_offset = 1, 1.0, 0.0
        settings.typed_features, settings.typed_offset = ("words:", "kind:"), offsets
        piece = train_once(cases, feats, settings)
        assert not [name for name in piece["score"] if "type|" in name or "|" in name]
        return sum(abs(weight) for name, weight in piece["score"].items() if "@" in name)

    assert copies(10.0) < copies(3.0) < 0.85 * copies(0.0)
