"""The neighbour index (`routerd.classify.neighbours`): built from the training prompts' features,
and its votes weighed against the linear score on out-of-fold predictions."""

from __future__ import annotations

import itertools
import math
from array import array
from collections import Counter
from collections.abc import Iterable
from typing import Any

import msgspec
import numpy as np

from routerd.classify.bag import Bag, name_of
from routerd.classify.neighbours import COUNT_SHIFT, FIRST_BITS, FIRST_MASK, ORDER_MASK, TERM_KINDS, Neighbours, \
    idf2_table, share_postings, share_table, span
from routerd.classify.train import fit


def build(bags: list[Bag], levels: list[int], max_share: float, min_count: int, k: int, budget: int) -> Neighbours:
    """The index of `bags` (one per document, with its level) over the terms that at least
    `min_count` and at most `max_share` of the documents hold."""
    if len(bags) > 65_535:
        raise ValueError("the neighbour index numbers its documents in 16 bits")
    most = int(max_share * len(bags))
    counts: dict[str, Counter[Any]] = {kind: Counter() for kind in TERM_KINDS}
    for bag in bags:
        for kind in TERM_KINDS:
            counts[kind].update(getattr(bag, kind))
    kept = {kind: sorted(key for key, n in counts[kind].items() if min_count <= n <= most) for kind in TERM_KINDS}
    ordinal = itertools.count()
    ordinals = {kind: {key: next(ordinal) for key in kept[kind]} for kind in TERM_KINDS}
    lists: list[list[int]] = [[] for _ in range(next(ordinal))]
    for doc, bag in enumerate(bags):
        for kind in TERM_KINDS:
            table = ordinals[kind]
            for key in getattr(bag, kind):
                t = table.get(key)
                if t is not None:
                    lists[t].append(doc)
    starts, postings = _concatenated(lists)
    idf2 = idf2_table(len(bags), most)
    squares = [0.0] * len(bags)
    for docs in lists:
        for doc in docs:
            squares[doc] += idf2[len(docs)]
    norms = array("f", (math.sqrt(s) or 1.0 for s in squares))
    firsts, shared = share_postings(starts, postings)
    spans = {kind: {key: span(len(lists[t]), t, firsts[t]) for key, t in ordinals[kind].items()}
             for kind in TERM_KINDS}
    pairs, stems = share_table(spans["pairs"], spans["stems"])
    return Neighbours(words=spans["words"], pairs=pairs, stems=stems, postings=shared, norms=norms,
                      levels=bytes(levels), idf2=idf2, k=k, budget=budget)


def layout(index: Neighbours) -> tuple[list[str], array[int], array[int]]:
    """The index's terms in their order, where each term's postings start (one more entry: the
    end) and the postings, each term's in full, as the model file stores them."""
    spans = sorted((value >> FIRST_BITS & ORDER_MASK, value, name_of(kind, key)) for kind, key, value in index.spans())

    def docs(value: int) -> array[int]:
        first = value & FIRST_MASK
        return index.postings[first : first + (value >> COUNT_SHIFT)]

    starts, postings = _concatenated(docs(value) for _, value, _ in spans)
    return [name for _, _, name in spans], starts, postings


def _concatenated(lists: Iterable[Iterable[int]]) -> tuple[array[int], array[int]]:
    """Posting lists laid end to end, as the model file stores them: where each starts (one more
    entry: the end) and the document numbers."""
    starts = array("I", [0])
    postings = array("H")
    for docs in lists:
        postings.extend(docs)
        starts.append(len(postings))
    return starts, postings


Weights = tuple[float, float, float]


def fit_weights(margins: np.ndarray, leans: np.ndarray, levels: np.ndarray, l2: float) -> tuple[Weights, Weights]:
    """How much each of a vote's values (`Neighbours.lean`) adds to each score, in its units: per
    cut, a logistic model of "the level is above this cut" on the out-of-fold margin (that cut's
    score minus the fold's cut point; `margins` has a column per cut) and the out-of-fold votes,
    each vote weight divided by the margin's."""
    out = []
    for cut in (0, 1):
        w, _ = fit.logistic(np.column_stack([margins[:, cut], leans]), levels > cut, l2)
        out.append((float(w[1] / w[0]), float(w[2] / w[0]), float(w[3] / w[0])))
    return out[0], out[1]


def with_weights(index: Neighbours, prior: float, weights: tuple[Weights, Weights]) -> Neighbours:
    return msgspec.structs.replace(index, prior=prior, weights=weights[0], upper_weights=weights[1])
