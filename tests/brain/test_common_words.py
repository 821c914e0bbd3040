"""The everyday-word set: what counts as a rare word, and how it reaches the features."""

from __future__ import annotations

import hashlib
from importlib import resources

import pytest

from routerd.classify.common import (BITS, COMMON_FILE, CommonWords, default_common, from_words, read_common,
                                     write_common)
from routerd.classify.context import read
from routerd.classify.cues import build, default_cues, read_documents

# `python -m routerd.classify.train.common_words` with wordfreq 3.1.1 writes exactly this file.
COMMON_SHA256 = "f8d793c117150e61ae920d3e8b004126bdc8be9777a0d32b884cd0549fea4656"


def test_the_shipped_set_is_the_one_the_builder_writes():
    data = resources.files("routerd.classify").joinpath(COMMON_FILE).read_bytes()
    assert hashlib.sha256(data).hexdigest() == COMMON_SHA256


@pytest.mark.parametrize("word", ["email", "tweet", "translate", "thanks", "haus", "maison", "subpoena"])
def test_everyday_words_of_any_language_are_common(word):
    assert default_common().rare([word]) == (0, 1)


@pytest.mark.parametrize("word", ["heteroskedasticity", "linearizability", "estoppel", "idempotency", "mutex"])
def test_expert_vocabulary_is_rare(word):
    assert default_common().rare([word]) == (1, 1)


def test_short_words_and_words_with_digits_or_marks_are_not_read():
    assert default_common().rare(["io", "k0s", "what's", "x00-00"]) == (0, 0)


def test_a_set_round_trips_through_its_file_and_a_wrong_size_is_refused():
    common = from_words(["alpha", "beta"])
    again = read_common(write_common(common))
    assert again.rare(["alpha", "beta", "gamma"]) == (1, 3)
    with pytest.raises(ValueError, match="expected"):
        read_common(write_common(CommonWords(b"\0" * 16)))
    assert len(common.bits) * 8 == BITS


def _other(text, cues=None):
    return read([{"role": "user", "content": text}], None, cues or default_cues()).features.other


def test_an_ask_in_rare_words_is_counted_and_an_everyday_one_is_not():
    expert = _other("is the estoppel argument viable given linearizability of the mutex semaphore")
    assert {"rare>=1", "rare>=2", "rare>=3", "rare>=4"} <= expert
    everyday = _other("write a short thank you email to my neighbour")
    assert not any(name.startswith("rare>=") for name in everyday)
    assert "rare_share:0" in everyday


def test_without_the_set_no_rare_word_features_are_made():
    bare = build(read_documents())
    assert not any(name.startswith("rare") for name in _other("estoppel linearizability", bare))


def test_cue_families_are_also_read_at_the_asks_size():
    short = _other("prove it")
    assert any(name.endswith("@short") for name in short)
    long = _other("prove " + "that this holds for every value we try here " * 10)
    assert any(name.endswith("@long") for name in long) and not any(name.endswith("@short") for name in long)
