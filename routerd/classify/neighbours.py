"""The training prompts most like this one, and how hard they were.

The linear score weighs each word, pair and stem alone. Prompts are also alike as a whole: an ask
that shares many of its rarer words with a handful of training prompts is most likely as hard as
they were. This is the k-nearest-neighbours view of the same features: each routerd-style training
prompt is a binary TF-IDF vector over the words, pairs and stems that at least two and at most a
small share of them use (`routerd.classify.train.neighbours` builds it), and a request's vote is the
cosine similarity of its nearest training prompt and the similarity-weighted mean level of its `k`
nearest. The model adds the vote to each of its two scores (one per cut) with weights fitted on
out-of-fold votes.

Pure Python, bounded: the request's indexed terms are read rarest first, and the sums stop once
`budget` postings have been added (the rarest terms say most about similarity; the common ones
add hundreds of prompts that each share one word), so one vote costs at most ~`budget` dict updates.
"""

from __future__ import annotations

import math
import sys
from array import array
from collections.abc import Callable, Iterable, Iterator
from itertools import chain, repeat
from operator import getitem, mul, truediv
from typing import Any

import msgspec

from routerd.classify.bag import Bag, Key, shared_keys_of

FIRST_BITS = 24  # a span's first posting fits below this bit: at most ~16.7 million postings
FIRST_MASK = (1 << FIRST_BITS) - 1
ORDER_BITS = 20  # then the term's place in the file: at most ~1 million terms
ORDER_MASK = (1 << ORDER_BITS) - 1
COUNT_SHIFT = FIRST_BITS + ORDER_BITS  # then its count: a span is two 30-bit digits up to 65,535 documents
LIST_MASK = ~(ORDER_MASK << FIRST_BITS)  # a span's count and first posting: which postings list it reads
TERM_KINDS = ("words", "pairs", "stems")  # the kinds of feature the index holds (a `Bag`'s others are not terms)


def span(count: int, order: int, first: int) -> int:
    """A term's span: its postings' count, its place in the model file's term order and its
    postings' first position, in one int that sorts by count, then by that order."""
    if first > FIRST_MASK:
        raise ValueError(f"neighbour index: {first} postings do not fit a span")
    if order >> ORDER_BITS:
        raise ValueError(f"neighbour index: {order + 1} terms do not fit a span")
    return count << COUNT_SHIFT | order << FIRST_BITS | first


class Neighbours(msgspec.Struct, frozen=True):
    """The index: term -> its span, keyed as a `Bag` keeps its features. A span is one int,
    `count << COUNT_SHIFT | order << FIRST_BITS | first` (`span`): the term's postings are
    `postings[first:first + count]`, document numbers in ascending order, and spans sort rarest
    first, terms of one count in the model file's order (one int per term, not a tuple: 2 MB less
    resident). Terms with the same postings share them (`share_postings`): the order keeps their
    spans apart, so a vote whose budget runs out among terms of one count reads the same ones
    as it did before they shared.

    `pairs` may be the `stems` table itself (`share_table`): a pair is a tuple, never equal to a
    stem, so each kind's lookups find only that kind's terms. A model whose rows are packed keeps the
    spans in its terms' rows instead, and these tables empty (`read_neighbours`' `carry`)."""

    words: dict[str, int]
    pairs: dict[Key, int]  # word pairs (tuples), perhaps with the stems
    stems: dict[Key, int]
    postings: array[int]
    norms: array[float]  # each document's vector length (square root of its terms' idf squared)
    levels: bytes  # each document's level (0 simple, 1 moderate, 2 complex)
    idf2: tuple[float, ...]  # a term's weight squared, by its document count (`idf2_table`)
    k: int
    budget: int
    prior: float = 1.0  # the documents' mean level
    weights: tuple[float, float, float] = (0.0, 0.0, 0.0)  # score per unit of each of `lean`'s values, first cut
    upper_weights: tuple[float, float, float] = (0.0, 0.0, 0.0)  # the same for the second cut's score

    def shift(self, bag: Bag, exclude: int = -1) -> tuple[float, float]:
        """What the neighbours add to the two scores of `bag` (the first cut's, the second's)."""
        return self.moves(self.lean(self.vote(bag, exclude)))

    def moves(self, lean: tuple[float, float, float]) -> tuple[float, float]:
        """What a vote's `lean` adds to each of the two scores, by the trainer's weights for it."""
        return _weigh(lean, self.weights), _weigh(lean, self.upper_weights)

    def terms(self) -> int:
        """How many terms the index holds."""
        return sum(1 for _ in self.spans())

    def spans(self) -> Iterator[tuple[str, Key, int]]:
        """Every term once: its kind, its key and its span."""
        for kind in TERM_KINDS:
            table = getattr(self, kind)
            if kind == "pairs" and table is self.stems:
                continue
            yield from ((("pairs" if isinstance(key, tuple) else kind), key, value) for key, value in table.items())

    def lean(self, vote: tuple[float, float] | None) -> tuple[float, float, float]:
        """A vote as the model weighs it: the nearest similarity, how far the neighbours' level is
        from the documents' mean, and that distance times the similarity (near neighbours count
        more); all zero without neighbours."""
        if vote is None:
            return 0.0, 0.0, 0.0
        top, level = vote
        return top, level - self.prior, (level - self.prior) * top

    def vote(self, bag: Bag, exclude: int = -1) -> tuple[float, float] | None:
        """(cosine similarity of the nearest document, similarity-weighted mean level of the `k`
        nearest), or None when no indexed term is in `bag`. `exclude`: a document to leave out."""
        # The request's terms' spans, rarest first; C-level maps, as this runs per request.
        return self.vote_sorted(sorted(filter(None, chain(map(self.words.get, bag.words), map(self.pairs.get, bag.pairs),
                                                          map(self.stems.get, bag.stems)))), 0, exclude)

    def shift_sorted(self, terms: list[int], at: int) -> tuple[float, float]:
        """`shift` for a request whose indexed terms are `terms` (as `vote_sorted` takes them)."""
        return self.moves(self.lean(self.vote_sorted(terms, at)))

    def vote_sorted(self, terms: list[int], at: int, exclude: int = -1) -> tuple[float, float] | None:
        """`vote` for a request whose indexed terms are `terms`, sorted, each an int that holds its
        term's span from bit `at` up above a positive part below it (0 for the spans themselves; a
        model's packed rows carry the spans of their terms, `routerd.classify.packed.Layout.with_span`)."""
        if not terms:
            return None
        idf2, count_at = self.idf2, at + COUNT_SHIFT
        query = math.fsum(idf2[term >> count_at] for term in terms)
        sums = self._sums(terms, at)
        sums.pop(exclude, None)
        if not sums:
            return None
        docs = list(sums)
        top, near = _nearest(list(map(truediv, sums.values(), map(getitem, repeat(self.norms), docs))), docs, self.k)
        weight = math.fsum(top)
        level = math.fsum(map(mul, top, map(getitem, repeat(self.levels), near))) / weight
        return max(top) / math.sqrt(query), level

    def _sums(self, terms: list[int], at: int) -> dict[int, float]:
        """Each document's sum of the weights of the terms read (rarest first, until `budget`
        postings), added in the order the terms are read (`terms` as `vote_sorted` takes them).

        A word and its stem often hold the same postings (`share_postings`): such a list is read
        once, adding its weight once per term that holds it. That is the same floats: terms of one
        count have the same weight and are read one after another (spans sort by count), so a
        document's additions are the same run of `+ weight` in either order. On the 4 KB Japanese
        prompt 11 terms read 6 lists (57 postings instead of 105)."""
        idf2, postings, budget = self.idf2, self.postings, self.budget
        spent = 0
        read = []
        for term in terms:
            if spent >= budget:
                break
            packed = term >> at
            spent += packed >> COUNT_SHIFT
            read.append(packed & LIST_MASK)
        sums: dict[int, float] = {}
        get = sums.get
        lists: dict[int, int] = dict.fromkeys(read, 1)
        if len(lists) < len(read):  # some terms share their postings: how many read each list
            lists = dict.fromkeys(read, 0)
            for key in read:
                lists[key] += 1
        for key, times in lists.items():
            df, first = key >> COUNT_SHIFT, key & FIRST_MASK
            weight = idf2[df]
            if times == 1:
                for doc in postings[first : first + df]:
                    sums[doc] = get(doc, 0.0) + weight
            elif times == 2:  # a word and its stem: a loop per document would cost more than it saves
                for doc in postings[first : first + df]:
                    sums[doc] = get(doc, 0.0) + weight + weight
            else:
                for doc in postings[first : first + df]:
                    total = get(doc, 0.0)
                    for _ in range(times):
                        total += weight
                    sums[doc] = total
        return sums


def _nearest(scores: list[float], docs: list[int], k: int) -> tuple[list[float], list[int]]:
    """The `k` largest (score, document) pairs, in no order, as two lists (scores, documents: the
    fsums and the levels read them by C-level maps): what `heapq.nlargest` picks (on a tie at the
    last place, the larger document number), at half its cost for the ~100 candidates a vote has
    (a C sort of the scores finds the k-th largest, one pass keeps those above it)."""
    if len(scores) <= k:
        return scores, docs
    cut = sorted(scores)[-k]
    chosen = [(s, doc) for s, doc in zip(scores, docs) if s >= cut]
    if len(chosen) != k:
        chosen = sorted(chosen, reverse=True)[:k]
    return [s for s, _ in chosen], [doc for _, doc in chosen]


def idf2_table(documents: int, most: int) -> tuple[float, ...]:
    """The squared weight of a term found in 0..`most` of `documents` documents: the smoothed
    inverse document frequency, as scikit-learn's TfidfTransformer computes it."""
    return tuple((math.log((1 + documents) / (1 + df)) + 1.0) ** 2 for df in range(most + 1))


def share_postings(starts: array[int], postings: array[int]) -> tuple[array[int], array[int]]:
    """Every distinct posting list once. Term `t`'s postings are `postings[starts[t]:starts[t + 1]]`;
    returned are where each term's start among the postings kept, and those postings (`postings`
    itself is overwritten). In the ffd7b974 model 6,746 of 53,006 terms have an earlier term's
    documents, nearly all a short word and its stem (the word itself): 321,031 of 2.2 million
    postings, 0.6 MB less daemon RSS.

    A list is matched by the hash of its bytes, then compared; a new one moves down to the end of
    those kept before it, so the postings are copied once, at the end, to their new size."""
    firsts = array("I", bytes(4 * (len(starts) - 1)))
    seen: dict[int, int] = {}  # a kept list's hash -> its first position
    kept = 0
    for t in range(len(firsts)):
        docs = postings[starts[t] : starts[t + 1]]
        digest = hash(docs.tobytes())
        first = seen.get(digest, kept)
        if first + len(docs) > kept or postings[first : first + len(docs)] != docs:
            first = kept
            postings[first : first + len(docs)] = docs
            kept += len(docs)
            seen.setdefault(digest, first)
        firsts[t] = first
    return firsts, postings[:kept]


def share_table(pairs: dict[Key, int], stems: dict[Key, int]) -> tuple[dict[Key, int], dict[Key, int]]:
    """The tables of pairs and stems: one table of both where that takes fewer bytes than two. A
    dict's table grows in powers of two, to at most two thirds full: the ffd7b974 index's 23,504
    pairs fill 54% of theirs, and its 12,925 stems fit in the rest (0.4 MB less daemon RSS). The
    sizes are measured (`sys.getsizeof`), so a growing index never keeps a joined table larger
    than the two it replaces. `pairs` is taken over: it becomes the joined table, or is left with
    the stems in it."""
    alone = sys.getsizeof(pairs)
    pairs.update(stems)  # in place: no new table while the stems fit in the pairs' free entries
    if sys.getsizeof(pairs) < alone + sys.getsizeof(stems):
        return pairs, pairs
    return {key: value for key, value in pairs.items() if isinstance(key, tuple)}, stems


def read_neighbours(terms: Iterable[str], starts: array[int], postings: array[int], norms: array[float],
                    levels: bytes, meta: dict[str, Any], shared: dict[Any, Any],
                    carry: Callable[[str, Key, int], None] | None = None) -> Neighbours:
    """The index from a model file's members (`terms` one at a time, in the order of `starts`;
    `shared`: the words and pairs the model's tables already key by). `postings` is rewritten
    (`share_postings`). With `carry`, each term's kind, key and span go to it instead of the index's
    own tables, which are left empty (a model keeps them in its packed rows: `vote_sorted`)."""
    count = len(starts) - 1
    if count < 0 or starts[-1] != len(postings) or len(norms) != len(levels) \
            or any(b < a for a, b in zip(starts, starts[1:])) or not _below(postings, len(levels)):
        raise ValueError("model file: the neighbour index's members disagree in size")
    if any(a == b for a, b in zip(starts, starts[1:])):
        raise ValueError("model file: a neighbour term is in no document")
    firsts, postings = share_postings(starts, postings)
    tables: dict[str, dict[Any, int]] = {kind: {} for kind in TERM_KINDS}
    ordinal = -1
    for ordinal, (kind, key) in enumerate(shared_keys_of(terms, shared)):
        if ordinal >= count:
            break
        if kind not in tables:
            raise ValueError(f"model file: neighbour term {key!r} is not a word, pair or stem")
        value = span(starts[ordinal + 1] - starts[ordinal], ordinal, firsts[ordinal])
        if carry is None:
            tables[kind][key] = value
        else:
            carry(kind, key, value)
    if ordinal + 1 != count:
        raise ValueError(f"model file: neighbours/terms.txt and starts.u32 disagree ({count} terms expected)")
    most = max((starts[t + 1] - starts[t] for t in range(count)), default=0)
    pairs, stems = share_table(tables["pairs"], tables["stems"])
    return Neighbours(words=tables["words"], pairs=pairs, stems=stems,
                      postings=postings, norms=norms, levels=levels, idf2=idf2_table(len(levels), most),
                      k=meta["k"], budget=meta["budget"], prior=meta["prior"],
                      weights=_triple(meta["weights"]), upper_weights=_triple(meta["upper_weights"]))


def _below(values: array[int], bound: int) -> bool:
    """Whether every value of `values` (uint16) is below `bound`, at C speed: `max` makes an int of
    each of the ~2.2 million postings (55 ms of a 340 ms load); here one `bytes.translate` finds any
    high byte above the bound's, and only the values that share its high byte (a few thousand) are
    compared one at a time."""
    if bound > 0xFFFF:
        return True
    if not bound:
        return not values
    raw, top = values.tobytes(), bound - 1
    high, low = (raw[1::2], raw[0::2]) if sys.byteorder == "little" else (raw[0::2], raw[1::2])
    edge = top >> 8
    if high.translate(None, bytes(range(edge + 1))):
        return False
    at = high.find(edge)
    while at >= 0:
        if low[at] > top & 0xFF:
            return False
        at = high.find(edge, at + 1)
    return True


def _weigh(lean: tuple[float, float, float], weights: tuple[float, float, float]) -> float:
    return math.fsum(w * x for w, x in zip(weights, lean))


def _triple(values: Any) -> tuple[float, float, float]:
    first, second, third = values
    return float(first), float(second), float(third)
