"""The brain's data splits and the figures it is judged by."""

import math
import random

import pytest

from routerd.classify.train import data as sets
from routerd.classify.train import figures, near_copies


def _shared_or_skip():
    try:
        return sets.shared_dir()
    except SystemExit:
        pytest.skip("shared/eval is not beside the repository")


def _text(case: sets.Case) -> str:
    """The whole conversation (a bare "sure" ends many different ones)."""
    return "\n".join(str(m["content"]) for m in case.messages).strip().lower()


def test_proxy_sets_are_never_training_data():
    """No prompt of bench/data/proxy/ is in any split the trainer fits or tunes on (a maths ask of
    written/maths_and_writing.jsonl that was an MT-Bench-style prompt word for word was taken out
    when the `final` quarters, where it had sat, joined the training data)."""
    trained = {_text(c) for c in sets.load_all(_shared_or_skip()) if c.split in ("train", "tune")}
    proxy = sets.proxy_sets()
    assert len(proxy) == 80 + 61 + 59 + 36
    assert not [c.id for c in proxy if _text(c) in trained]


def test_held_out_folders_are_held_out_whole_and_never_training_data():
    """bench/data/unseen106/ to unseen113/: every case is split by its folder (none
    trains), and none repeats a training prompt."""
    trained = {_text(c) for c in sets.load_all(_shared_or_skip()) if c.split in ("train", "tune")}
    unseen = sets.unseen()
    assert len(unseen) == (120 + 120 + 120 + 118 + 119 + 118 + 119 + 118 + 119 + 120 + 118 + 119
                           + 118 + 118 + 120 + 117 + 118 + 119 + 120 + 119 + 119 + 119 + 119 + 120)
    assert {c.split for c in unseen} == {f"unseen{n}" for n in range(106, 114)}
    assert {c.style for c in unseen} == {"routerd"}
    assert {c.source for c in unseen} == {f"unseen{n}/set_{w}" for n in range(106, 114) for w in "abc"}
    assert all(c.source.startswith(c.split + "/") for c in unseen)
    assert not [c.id for c in unseen if _text(c) in trained]
    assert all(c.level in (0, 1, 2) for c in unseen)


def test_calibration_folders_are_neither_trained_on_nor_held_out():
    """bench/data/unseen94/ to unseen105/ (thirty-six writers) are read only where the model's
    calibrations are fitted (routerd.classify.train.recalibrate): split by folder, never training
    data, and apart from the held-out folders."""
    trained = {_text(c) for c in sets.load_all(_shared_or_skip()) if c.split in ("train", "tune")}
    cases = sets.calibration()
    assert len(cases) == (118 + 120 + 118 + 119 + 120 + 119 + 119 + 119 + 120 + 120 + 120 + 118
                          + 116 + 119 + 120 + 117 + 116 + 119 + 119 + 120 + 118 + 118 + 118 + 119
                          + 118 + 120 + 118 + 120 + 119 + 118 + 118 + 119 + 120 + 117 + 117 + 120)
    assert {c.split for c in cases} == set(sets.CALIBRATION_DIRS) == {f"unseen{n}" for n in range(94, 106)}
    assert {c.style for c in cases} == {"routerd"}
    assert not set(sets.CALIBRATION_DIRS) & (set(sets.TRAINED_DIRS) | set(sets.HELD_OUT_DIRS))
    assert not [c.id for c in cases if _text(c) in trained]


def test_every_routerd_style_case_outside_the_held_out_folders_trains():
    """dev.jsonl, the team's and the written files and the test folders that have measured their
    model (unseen/ to unseen93/, read whole) all train; ids are unique."""
    style = [c for c in sets.load_all(_shared_or_skip()) if c.style == "routerd"]
    assert {c.split for c in style} == {"train"}
    assert len(style) == len({c.id for c in style})
    folders = [c for c in style if c.source.split("/")[0] in sets.TRAINED_DIRS]
    assert len(folders) == (121 + 133 + 120 + 120 + 125 + 112 + 115 + 117 + 115 + 119 + 119 + 120 + 118 + 114 + 116 + 120 + 118 + 119 + 118 + 118 + 118 + 120 + 120 + 118 + 118 + 117 + 120 + 120 + 118 + 119 + 120 + 117 + 118 + 119 + 120 + 118 + 120 + 119 + 120 + 117 + 119 + 120 + 117 + 120 + 119 + 118 + 118 + 117 + 118 + 119 + 119 + 117 + 119 + 119 + 120 + 118 + 119 + 119 + 119 + 119 + 119 + 118 + 119 + 117 + 118 + 120 + 116 + 118 + 117 + 118 + 118 + 120 + 118 + 120 + 119 + 112 + 119 + 117 + 118 + 115 + 117 + 119 + 118 + 120 + 118 + 118 + 117 + 120 + 115 + 120 + 114 + 119 + 118
                            + 119 + 119 + 119 + 119 + 120 + 118 + 117 + 117 + 111 + 116 + 118 + 117
                            + 118 + 120 + 120 + 119 + 120 + 120 + 119 + 119 + 119 + 118 + 118 + 120
                            + 120 + 120 + 120 + 119 + 120 + 119
                            + 120 + 119 + 120 + 119 + 118 + 118
                            + 120 + 119 + 118 + 119 + 120 + 119
                            + 120 + 118 + 120 + 120 + 118 + 119
                            + 119 + 120 + 119 + 118 + 119 + 120 + 120 + 118 + 117 + 120 + 119 + 118
                            + 119 + 119 + 120 + 119 + 120 + 119
                            + 120 + 120 + 119 + 119 + 119 + 117 + 119 + 119 + 119 + 118 + 118 + 119
                            + 119 + 116 + 120 + 119 + 120 + 115
                            + 118 + 120 + 119 + 120 + 118 + 119 + 120 + 120 + 118 + 120 + 119 + 120
                            + 119 + 120 + 119 + 120 + 119 + 119
                            + 118 + 118 + 119 + 119 + 119 + 118
                            + 119 + 118 + 119 + 119 + 118 + 120
                            + 119 + 120 + 119 + 120 + 119 + 120
                            + 120 + 118 + 120 + 120 + 119 + 120
                            + 118 + 120 + 119 + 120 + 120 + 119
                            + 120 + 118 + 119 + 119 + 117 + 119
                            + 118 + 120 + 120 + 120 + 120 + 120
                            + 120 + 120 + 118 + 120 + 119 + 120
                            + 120 + 118 + 120 + 120 + 119 + 119
                            + 119 + 119 + 119 + 118 + 120 + 120
                            + 119 + 120 + 118 + 119 + 119 + 118
                            + 119 + 118 + 119 + 120 + 120 + 119
                            + 119 + 119 + 119 + 119 + 120 + 119)
    assert not set(sets.TRAINED_DIRS) & set(sets.HELD_OUT_DIRS)


def test_the_held_out_folders_have_no_near_copy_among_the_training_prompts():
    """bench/data/unseen106/ to unseen113/ are clean tests: no training prompt shares 60% of its
    words with one of their prompts (the twenty-six that repeated older prompts were taken out of them,
    bench/data/README.md; the folders now trained on were checked the same way when they
    were tests, and the training waves against the folders held out when they were added)."""
    trained = [(c.id, near_copies.routed_words(c.messages)) for c in sets.load_all(_shared_or_skip())
               if c.split in ("train", "tune") and c.style == "routerd"]
    held_out = [(c.id, near_copies.routed_words(c.messages)) for c in sets.unseen()]
    assert near_copies.near_copies(held_out, trained) == {}


def test_the_near_copy_index_finds_what_comparing_every_pair_finds():
    """The prefix filter only skips pairs that cannot reach the share; short turns match whole."""
    rng = random.Random(7)
    vocabulary = [f"w{n}" for n in range(40)]
    known = [(f"k{n}", frozenset(rng.sample(vocabulary, rng.randint(1, 12)))) for n in range(400)]
    probes = [(f"p{n}", frozenset(rng.sample(vocabulary, rng.randint(1, 12)))) for n in range(300)]
    every_pair = {key: [other for other, known_words in known if near_copies.is_near(words, known_words)]
                  for key, words in probes}
    found = near_copies.near_copies(probes, known)
    assert found == {key: keys for key, keys in every_pair.items() if keys}
    assert len(found) > 10
    assert near_copies.is_near(frozenset({"thanks"}), frozenset({"thanks"}))
    assert not near_copies.is_near(frozenset({"a", "b", "c", "d", "e"}), frozenset({"a", "b", "c", "x", "y"}))


def test_proxy_labels_follow_their_stated_rules():
    """GSM8K-style: weak_ok exactly when the solution takes three steps or fewer; issues carry a fix time."""
    proxy = sets.proxy_sets()
    for case in proxy:
        if case.source == "gsm8k_style":
            assert case.outcome == (case.level <= 3, True)
        if case.style == "issues":
            assert case.level in (0, 1, 2, 3)
    assert {c.category for c in proxy if c.source == "mtbench_style"} == {
        "writing", "roleplay", "reasoning", "math", "coding", "extraction", "stem", "humanities"}


def test_gsm8k_levels_come_from_solution_steps_and_split_by_hash():
    """GSM8K's train split: level = steps clipped to 2..6, a fifth held out and a fifth for tuning."""
    cases = sets.gsm8k()
    assert len(cases) == 7473
    assert {c.level for c in cases} == {0, 1, 2, 3, 4}
    shares = {split: sum(c.split == split for c in cases) / len(cases) for split in ("train", "tune", "heldout")}
    assert 0.17 < shares["heldout"] < 0.23 and 0.17 < shares["tune"] < 0.23
    assert sets.gsm8k()[5].split == cases[5].split  # fixed by the id, not by chance


def test_apgr_auc_and_rank_correlation():
    """APGR: the mean share of the gap recovered at each cut (ties sent together); AUC and Spearman."""
    weak = [1.0, 1.0, 0.0, 0.0]
    strong = [1.0, 1.0, 1.0, 1.0]
    perfect = [0.0, 0.1, 0.9, 1.0]
    assert figures.apgr(perfect, weak, strong) == pytest.approx((0.5 + 1 + 1 + 1) / 4)
    assert figures.apgr([1.0, 1.0, 1.0, 1.0], weak, strong) == pytest.approx((0.25 + 0.5 + 0.75 + 1) / 4)
    assert figures.apgr(perfect[::-1], weak, strong) == pytest.approx((0 + 0 + 0.5 + 1) / 4)
    assert figures.auc([0.9, 1.0], [0.0, 0.1]) == 1.0
    assert figures.spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert figures.spearman([1, 2, 3, 4], [40, 30, 20, 10]) == pytest.approx(-1.0)
    assert math.isnan(figures.spearman([1, 1, 1], [1, 2, 3]))


def test_mmlu_level_is_whether_only_the_strong_model_was_right():
    """MMLU: level 1 exactly when the weak model failed and the strong one was right; both wrong is 0."""
    cases = sets.mmlu(_shared_or_skip())
    assert all(c.level == int(c.outcome[1] and not c.outcome[0]) for c in cases)
    assert any(c.outcome == (False, False) and c.level == 0 for c in cases)
