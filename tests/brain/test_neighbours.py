"""The neighbour vote: the training prompts most like a request, and how hard they were."""

from __future__ import annotations

import pytest

from routerd.classify.bag import Bag
from routerd.classify.model import default_model


def _bag(*words: str) -> Bag:
    return Bag(words=set(words))


def _index(budget: int = 10_000):
    pytest.importorskip("scipy", reason="the train extra is not installed")
    from routerd.classify.train.neighbours import build

    docs = [(_bag("raft", "leader", "election", "partition"), 2),
            (_bag("raft", "leader", "lease", "clock"), 2),
            (_bag("centre", "div", "css"), 0),
            (_bag("centre", "div", "flexbox"), 0),
            (_bag("pagination", "endpoint", "cursor"), 1),
            (_bag("pagination", "endpoint", "offset"), 1)]
    return build([bag for bag, _ in docs], [level for _, level in docs], max_share=0.5, min_count=2, k=2, budget=budget)


def test_the_nearest_prompts_vote_with_their_levels():
    """A request sharing rarer words with two hard prompts gets their level, at their similarity."""
    index = _index()
    top, level = index.vote(_bag("raft", "leader", "unrelated"))
    assert level == pytest.approx(2.0) and 0.5 < top < 1.0
    _, easy = index.vote(_bag("centre", "div"))
    assert easy == pytest.approx(0.0)
    assert index.vote(_bag("nothing", "shared")) is None


def test_a_document_can_be_left_out_of_its_own_vote():
    """Out-of-fold votes leave the prompt itself out: its twin alone answers."""
    index = _index()
    top, level = index.vote(_bag("pagination", "endpoint", "cursor"), exclude=4)
    assert level == pytest.approx(1.0) and top < 1.0
    assert index.vote(_bag("pagination", "endpoint", "cursor"))[0] == pytest.approx(1.0)


def test_the_budget_bounds_the_postings_read_rarest_first():
    """Terms in only two documents fill the budget before commoner ones are read."""
    # Each term is in two documents; "div" sorts first, so it alone fills a budget of 2. Read whole,
    # the two documents holding both "raft" and "leader" are nearest.
    request = _bag("raft", "leader", "div")
    assert _index(budget=2).vote(request)[1] == pytest.approx(0.0)
    assert _index().vote(request)[1] == pytest.approx(2.0)


def test_the_shipped_model_carries_an_index_and_its_weights():
    """The shipped model holds the index of its routerd-style training prompts, weighed by the trainer."""
    model = default_model()
    assert model.neighbours is not None
    meta = model.meta["neighbours"]
    assert len(model.neighbours.levels) == meta["documents"] > 3000
    assert model.neighbours.weights == tuple(meta["weights"]) and any(model.neighbours.weights)
    assert model.neighbours.upper_weights == tuple(meta["upper_weights"]) and any(model.neighbours.upper_weights)
    hard = model.predict(_bag("linearizable", "lock-free", "queue", "memory", "model", "prove"))
    assert hard.neighbours != 0.0


def test_a_model_file_whose_index_disagrees_with_itself_is_refused():
    """A neighbour index whose members disagree in size is a clear error, not a wrong vote."""
    import io
    import zipfile

    from routerd.classify.model import model_bytes, read_model

    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(model_bytes())) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "neighbours/postings.u16":
                data = data[:-2]
            dst.writestr(info, data)
    with pytest.raises(ValueError, match="neighbour index"):
        read_model(out.getvalue())


def test_the_nearest_are_what_nlargest_picks_ties_included():
    """The k largest (score, document) pairs, ties at the last place broken as heapq.nlargest does."""
    import heapq
    import random

    from routerd.classify.neighbours import _nearest

    rng = random.Random(7)
    for size in (0, 3, 10, 11, 40, 120):
        scores = [rng.choice((0.1, 0.2, 0.3, rng.random())) for _ in range(size)]
        docs = rng.sample(range(1000), size)
        assert sorted(_nearest(scores, docs, 10)) == sorted(heapq.nlargest(10, zip(scores, docs)))
