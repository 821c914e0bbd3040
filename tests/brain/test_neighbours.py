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
        assert sorted(zip(*_nearest(scores, docs, 10))) == sorted(heapq.nlargest(10, zip(scores, docs)))


def test_terms_held_by_the_same_prompts_share_their_postings():
    """Each distinct posting list is held once, and the file's layout gives every term's back in full."""
    from routerd.classify.train.neighbours import layout

    index = _index()
    # raft and leader, centre and div, pagination and endpoint: three lists of two documents.
    assert len(index.postings) == 6
    terms, starts, postings = layout(index)
    assert terms == ["w:centre", "w:div", "w:endpoint", "w:leader", "w:pagination", "w:raft"]
    assert list(starts) == [0, 2, 4, 6, 8, 10, 12]
    assert list(postings) == [2, 3, 2, 3, 4, 5, 0, 1, 4, 5, 0, 1]


def test_an_index_read_from_its_layout_is_the_one_written():
    """Reading the file's members back gives the same spans, postings and votes as the trainer's index."""
    from routerd.classify.neighbours import read_neighbours
    from routerd.classify.train.neighbours import layout

    index = _index()
    terms, starts, postings = layout(index)
    meta = {"k": index.k, "budget": index.budget, "prior": index.prior, "weights": index.weights,
            "upper_weights": index.upper_weights}
    read = read_neighbours(iter(terms), starts, postings, index.norms, index.levels, meta, {})
    assert (read.words, read.pairs, read.stems) == (index.words, index.pairs, index.stems)
    assert read.postings == index.postings
    request = _bag("raft", "leader", "pagination", "css")
    assert read.vote(request) == index.vote(request)


def test_shared_postings_keep_the_order_terms_of_one_count_are_read_in():
    """A term sharing an earlier term's postings is still read in its own place: with a budget of
    one term, of pagination and leader (each in two prompts) leader comes first in the file."""
    # pagination's postings are endpoint's, which sit before leader's; the vote still reads leader.
    assert _index(budget=2).vote(_bag("pagination", "leader"))[1] == pytest.approx(2.0)
    assert _index(budget=2).vote(_bag("pagination", "endpoint"))[1] == pytest.approx(1.0)


def test_an_index_term_in_no_document_is_refused():
    """A term with no postings is a malformed file, not a term that adds only to the request's length."""
    from array import array

    from routerd.classify.neighbours import read_neighbours

    meta = {"k": 2, "budget": 10, "prior": 1.0, "weights": (0, 0, 0), "upper_weights": (0, 0, 0)}
    with pytest.raises(ValueError, match="in no document"):
        read_neighbours(iter(["w:a", "w:b"]), array("I", [0, 2, 2]), array("H", [0, 1]), array("f", [1.0, 1.0]),
                        bytes(2), meta, {})


def test_stems_join_the_pairs_table_only_where_that_takes_fewer_bytes():
    """One table of pairs and stems where the stems fit in the pairs' free entries; two where not."""
    import sys

    from routerd.classify.neighbours import share_table

    pairs = {(f"a{i}", "b"): i for i in range(30_000)}
    few = {f"s{i}": i for i in range(5_000)}
    alone = sys.getsizeof(pairs) + sys.getsizeof(few)
    joined_pairs, joined_stems = share_table(dict(pairs), few)
    assert joined_pairs is joined_stems and joined_pairs == pairs | few
    assert sys.getsizeof(joined_pairs) < alone
    many = {f"s{i}": i for i in range(20_000)}  # with the pairs, past two thirds of their table
    apart_pairs, apart_stems = share_table(dict(pairs), many)
    assert apart_pairs == pairs and apart_stems is many


def test_an_index_whose_pairs_share_a_table_reads_each_kind_apart():
    """With pairs in the stems' table, a word, its stem and a pair are each found as their own kind."""
    pytest.importorskip("scipy", reason="the train extra is not installed")
    from routerd.classify.train.neighbours import build, layout

    docs = [Bag(words={"raft", "lease"}, pairs={("raft", "lease")}, stems={"raft", "lease"}),
            Bag(words={"raft", "lease"}, pairs={("raft", "lease")}, stems={"raft"}),
            Bag(words={"div"}, stems={"div"}), Bag(words={"div", "css"}, stems={"div"})]
    index = build(docs, [2, 2, 0, 1], max_share=1.0, min_count=2, k=2, budget=100)
    assert index.pairs is index.stems or index.pairs is index.words
    assert index.terms() == 6  # raft, lease, div; the pair; raft's and div's stems
    assert sorted(layout(index)[0]) == ["b:raft lease", "p:div", "p:raft", "w:div", "w:lease", "w:raft"]
    assert index.vote(Bag(pairs={("raft", "lease")}))[1] == pytest.approx(2.0)
    assert index.vote(Bag(stems={"lease"})) is None  # lease's stem is in one prompt: not indexed
    assert index.vote(Bag(words={"lease"}))[1] == pytest.approx(2.0)


@pytest.mark.parametrize("documents", [0, 1, 255, 256, 257, 59_816, 65_535, 65_536])
def test_a_posting_beyond_the_documents_is_refused_whatever_its_bytes(documents):
    """The index's bound check (done on the postings' bytes, for speed) finds a posting past the
    last document exactly where `max` would, at each edge of the high and low bytes."""
    from array import array

    from routerd.classify.neighbours import _below

    for top in {0, documents - 1, documents, documents + 1, documents | 0xFF, 0xFFFF}:
        for values in ([], [top], [0, top, 1], [top, 0] * 300):
            postings = array("H", [v for v in values if 0 <= v <= 0xFFFF])
            assert _below(postings, documents) == (not postings or max(postings) < documents), (documents, values)


def _own_tables(monkeypatch):
    """The shipped index with its own tables of spans (read unpacked: a packed model keeps them in its rows)."""
    from routerd.classify import model as model_module
    from routerd.classify.model import model_bytes, read_model

    with monkeypatch.context() as patch:
        patch.setattr(model_module, "layout_of", lambda columns: None)
        index = read_model(model_bytes()).neighbours
    assert index is not None
    return index


def test_a_postings_list_shared_by_terms_read_once_sums_the_same_floats(monkeypatch):
    """A word and its stem with one postings list are read once, adding the weight per term: every
    document's sum is the same float as reading the terms one by one (shipped index, bags drawn
    from its own terms, twins included)."""
    import random

    from routerd.classify.neighbours import COUNT_SHIFT, FIRST_MASK

    index = _own_tables(monkeypatch)

    def one_by_one(spans: list[int]) -> dict[int, float]:
        sums: dict[int, float] = {}
        spent = 0
        for packed in spans:
            if spent >= index.budget:
                break
            df, at = packed >> COUNT_SHIFT, packed & FIRST_MASK
            spent += df
            for doc in index.postings[at : at + df]:
                sums[doc] = sums.get(doc, 0.0) + index.idf2[df]
        return sums

    rng = random.Random(5)
    words = [w for w in index.words if w in index.stems][:4000]
    twins = 0
    for _ in range(300):
        chosen = rng.sample(words, 12)
        spans = sorted([index.words[w] for w in chosen] + [index.stems[w] for w in chosen])
        twins += any(index.words[w] & FIRST_MASK == index.stems[w] & FIRST_MASK for w in chosen)
        expected = one_by_one(spans)
        got = index._sums(spans, 0)
        assert list(got) == list(expected) and all(repr(got[d]) == repr(expected[d]) for d in got)
    assert twins > 100


def test_the_packed_rows_carry_the_index_terms_spans_and_vote_as_its_own_tables_do(monkeypatch):
    """The shipped model keeps its index's spans in its terms' packed rows, so one lookup per feature
    finds both: the index keeps no tables of its own, each term's span is its row shifted right, and
    on every held-out prompt the vote from the rows is the one an index with its own tables gives."""
    from routerd.classify.context import read
    from routerd.classify.cues import default_cues
    from routerd.classify.train import data as sets

    model = default_model()
    packed, index, own = model.packed, model.neighbours, _own_tables(monkeypatch)
    assert packed is not None and packed.span_at and index is not None and own is not None and own.terms() > 40_000
    assert not (index.words or index.pairs or index.stems)
    for kind, key, span in own.spans():
        assert getattr(packed.rows, kind)[key] >> packed.span_at == span
    cues = default_cues()
    for case in sets.repository_heldout():
        bag = read(case.messages, case.tools, cues).features
        total, terms = packed.read(bag)
        assert total == sum(filter(None, packed.rows.present(bag)), packed.layout.start)
        assert index.vote_sorted(terms, packed.span_at) == own.vote(bag), case.id
