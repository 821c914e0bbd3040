"""The learned scorer: weights read from `data/brain.model`, inference in plain Python.

The file is a zip (stdlib `zipfile`) written by `python -m routerd.classify.train`:

- `meta.json`: the cut points of the two scores, the calibration of each cut, the task-type
  labels and biases, and what the model was trained on (data, splits, seed, figures);
- `features.txt`: one feature name per line;
- `weights.f32`: little-endian float32, one row per feature: its weight in the first cut's score,
  what it adds to that for the second cut's score, then one weight per task type;
- `neighbours/`: the index of the training prompts (`routerd.classify.neighbours`): its terms one
  per line, their postings' starts (uint32), the postings (uint16 document numbers), each
  document's vector length (float32) and level (uint8).

The weights are kept by feature kind (`Table`, keyed as a `routerd.classify.bag.Bag` keeps its
features). A prediction is two sums of the weights of the features present (a linear model, so the
weight of a word is its whole effect): one score for the simple/moderate cut, and one for the
moderate/complex cut (the first plus an upper table: what makes an ask more than simple is not what
makes it complex), each plus what the nearest training prompts add (their vote, weighed by the
trainer); then a logistic curve per cut: the calibrated probabilities that a simple-tier and a
moderate-tier model would do the job.
"""

from __future__ import annotations

import functools
import json
import math
import zipfile
from array import array
from bisect import bisect_left
from importlib import resources
from collections.abc import Callable, Iterable, Iterator, Mapping
from io import BytesIO
from itertools import chain, repeat
from operator import add, itemgetter
from typing import Any, Generic, TypeVar

import msgspec

from routerd.classify.bag import KINDS, Bag, name_of, shared_keys_of, typed_copies
from routerd.classify.neighbours import Neighbours, read_neighbours, share_table
from routerd.classify.packed import Layout, layout_of, row_reader

MODEL_FILE = "data/brain.model"
TOP_FEATURES = 6
# A new ask opening a conversation, the baseline `top_features` reads a prompt against: by group
# (the kind of turn, the conversation's length), the feature every such ask has.
BASELINE = {"kind:": "kind:ask", "turns:": "turns:0"}
READ_CHUNK = 65_536
_WEIGHT = itemgetter(2)


class Calibration(msgspec.Struct, frozen=True):
    """p = 1 / (1 + exp(-(slope * (cut - score) + offset))): how far below a cut the score is,
    turned into the probability that the cheaper tier does the job (fitted on held-out folds)."""

    cut: float
    slope: float
    offset: float

    def probability(self, score: float) -> float:
        z = self.slope * (self.cut - score) + self.offset
        if z >= 0:
            return 1.0 / (1.0 + math.exp(-z))
        e = math.exp(z)
        return e / (1.0 + e)


class Prediction(msgspec.Struct, frozen=True):
    """The model's reading of one feature set."""

    score: float  # difficulty: the first (simple/moderate) cut's score, less that cut
    p_simple: float
    p_moderate: float
    task_type: str
    type_probability: float
    contributions: tuple[tuple[str, float], ...]  # the features that moved the score most
    neighbours: float = 0.0  # what the nearest training prompts added to the score (mean of both)
    upper_score: float = 0.0  # the second (moderate/complex) cut's score, less that cut


V = TypeVar("V")


class Table(msgspec.Struct, Generic[V], frozen=True):
    """Weights keyed as a `Bag` keeps its features: a bag is weighed by direct lookups, with no
    feature name built (names cost more than the lookups)."""

    words: dict[str, V]
    pairs: dict[tuple[str, str], V]
    stems: dict[str, V]
    other: dict[str, V]

    def present(self, bag: Bag) -> Iterator[V | None]:
        """The value of every feature in `bag` (None where the table has none)."""
        return chain(map(self.words.get, bag.words), map(self.pairs.get, bag.pairs),
                     map(self.stems.get, bag.stems), map(self.other.get, bag.other))


class Packed(msgspec.Struct, frozen=True):
    """Every feature's whole row of weights as one int (`routerd.classify.packed`), keyed as a `Bag`
    keeps its features: a bag is weighed by one lookup per feature and one `sum`."""

    rows: Table[int]  # feature -> its packed row (features with a non-zero weight, and the neighbour index's terms)
    layout: Layout
    span_at: int = 0  # the bit from which the index's terms' rows carry their spans (`Layout.with_span`); 0: none do

    def read(self, bag: Bag) -> tuple[int, list[int]]:
        """The packed rows of the features of `bag` summed from `layout.start` (`Layout.sums` reads
        the columns' sums), and the rows of the neighbour index's terms in `bag` sorted, as
        `Neighbours.vote_sorted` takes them from bit `span_at` (none when the rows carry no spans)."""
        rows = self.rows
        terms = list(filter(None, chain(map(rows.words.get, bag.words), map(rows.pairs.get, bag.pairs),
                                        map(rows.stems.get, bag.stems))))
        total = sum(filter(None, map(rows.other.get, bag.other)), sum(terms, self.layout.start))
        if not self.span_at:
            return total, []
        terms.sort()  # the rows without a span sort first: they are below 2^span_at
        return total, terms[bisect_left(terms, 1 << self.span_at):]

    def plus(self, total: int, other: list[str]) -> int:
        """`total` with the rows of `other` (names of the kind `other`, none of them in its bag)."""
        return sum(filter(None, map(self.rows.other.get, other)), total)

    def scores(self, kind: str, key: Any) -> tuple[float, float] | None:
        """A feature's weight in the first cut's score and what it adds for the second's, read from its
        packed row (exactly the file's floats: `Layout.sums` of one row), or None when both are zero."""
        row = getattr(self.rows, kind).get(key)
        if not row:
            return None
        low, high = self.layout.sums(row + self.layout.start)[:2]
        return (low, high) if low or high else None

    def effects(self, kind: str, keys: Iterable[Any]) -> dict[Any, float]:
        """`Model.effects` from the packed rows: each row's first two fields read as `Layout.sums` reads
        them (inline: a call per feature cost 40% more time per explained classify; C-level maps over
        the ~25 keys of a kind cost more than this loop, by callgrind)."""
        get = getattr(self.rows, kind).get
        (low_shift, low_mask, low_step, low_offset), (high_shift, high_mask, high_step, high_offset) = \
            self.layout.fields[:2]
        start = self.layout.start
        found: dict[Any, float] = {}
        for key in keys:
            row = get(key)
            if row:
                total = row + start
                low = (total >> low_shift & low_mask) * low_step - low_offset
                high = (total >> high_shift & high_mask) * high_step - high_offset
                if low or high:
                    found[key] = low + high / 2
        return found


class Model(msgspec.Struct, frozen=True):
    """The learned weights. Score and task type are kept apart: most features (every word only the
    outcome and tier sets show) have no task-type weight, so the type sums walk far fewer rows.

    Sums are `math.fsum`, exact before the one rounding, so a prediction does not depend on the
    order a set happens to iterate in (which changes with the process's hash seed). A model whose
    weights are whole steps (as the trainer writes them) is also kept packed, one int per feature
    (`packed`, `routerd.classify.packed`), and weighed that way: the same sums, exactly, from one
    lookup per feature instead of three; it then keeps no `type_weights`, and no `weights` or `upper`
    either (explaining reads a feature's two score weights from its packed row, `score_weights`:
    the float tables cost 1.8 MB of idle daemon RSS)."""

    weights: Table[float] | None  # feature -> weight in the first cut's score (non-zero only; unpacked only)
    upper: Table[float] | None  # feature -> what it adds for the second cut's score (non-zero only; unpacked only)
    type_weights: Table[tuple[float, ...]] | None  # feature -> weight per task type (non-zero rows only)
    score_bias: float
    simple: Calibration
    moderate: Calibration
    type_labels: tuple[str, ...]
    type_bias: tuple[float, ...]
    meta: dict[str, Any]
    neighbours: Neighbours | None = None
    # The features also read per task type (`routerd.classify.bag.typed_copies`), by name prefix:
    # the task-type head picks the type first, then each of these adds its copy for that type.
    typed: tuple[str, ...] = ()
    packed: Packed | None = None  # every feature's row as one int, when the weights are whole steps

    def predict(self, features: Bag, explain: bool = False) -> Prediction:
        """Score, tier probabilities and task type for a bag of binary features."""
        packed = self.packed
        terms: list[int] = []
        if packed is not None:
            rows, terms = packed.read(features)
            sums = packed.layout.sums(rows)
            logits = list(map(add, self.type_bias, sums[2:]))
        else:
            logits = self._type_logits(features)
        best = max(range(len(logits)), key=logits.__getitem__)
        top = logits[best]
        total = sum(math.exp(logit - top) for logit in logits)
        if self.typed:
            copies = typed_copies(features.other, self.typed, self.type_labels[best])
            if copies:
                if packed is not None:
                    sums = packed.layout.sums(packed.plus(rows, [name for name in copies if name not in features.other]))
                features = Bag(features.words, features.pairs, features.stems, features.other.union(copies))
        if packed is not None:
            low = self.score_bias + sums[0]
            high = low + sums[1]
        else:
            assert self.weights is not None and self.upper is not None  # kept whenever the rows are not packed
            low = self.score_bias + math.fsum(filter(None, self.weights.present(features)))
            high = low + math.fsum(filter(None, self.upper.present(features)))
        if self.neighbours is not None:
            if packed is not None and packed.span_at:  # the index's terms found by `packed.read`
                shift_low, shift_high = self.neighbours.shift_sorted(terms, packed.span_at)
            else:
                shift_low, shift_high = self.neighbours.shift(features)
            low += shift_low
            high += shift_high
        else:
            shift_low = shift_high = 0.0
        contributions = top_features(self.effects, features, TOP_FEATURES) if explain else ()
        p_simple = self.simple.probability(low)
        # Whatever a simple-tier model can do, a moderate-tier one can: keep the two consistent.
        p_moderate = max(self.moderate.probability(high), p_simple)
        return Prediction(low - self.simple.cut, p_simple, p_moderate, self.type_labels[best], 1.0 / total, contributions,
                          (shift_low + shift_high) / 2, high - self.moderate.cut)

    def effects(self, kind: str, keys: Iterable[Any]) -> dict[Any, float]:
        """The mean effect on the two cuts' scores (the weight in the first plus half what it adds in the
        second, as `top_features` ranks them) of each of `keys` (features of `kind`, as a `Bag` keeps
        them) that has a score weight."""
        if self.packed is not None:
            return self.packed.effects(kind, keys)
        assert self.weights is not None and self.upper is not None  # kept whenever the rows are not packed
        return table_effects(self.weights, self.upper, kind, keys)

    def score_weights(self, kind: str, key: Any) -> tuple[float, float] | None:
        """The feature `key` of `kind` (as a `Bag` keeps it): its weight in the first cut's score and what
        it adds for the second's, or None when it has neither."""
        if self.packed is not None:
            return self.packed.scores(kind, key)
        assert self.weights is not None and self.upper is not None  # kept whenever the rows are not packed
        return table_scores(self.weights, self.upper, kind, key)

    def _type_logits(self, features: Bag) -> list[float]:
        assert self.type_weights is not None  # kept whenever the rows are not packed
        rows = list(filter(None, self.type_weights.present(features)))
        return [bias + math.fsum(column) for bias, column in zip(self.type_bias, zip(*rows))] if rows \
            else list(self.type_bias)


Effects = Callable[[str, Iterable[Any]], dict[Any, float]]  # `Model.effects`


def table_scores(weights: Table[float], upper: Table[float], kind: str, key: Any) -> tuple[float, float] | None:
    """`Model.score_weights` from the two score tables (each holding non-zero weights only)."""
    low, high = getattr(weights, kind).get(key, 0.0), getattr(upper, kind).get(key, 0.0)
    return (low, high) if low or high else None


def table_effects(weights: Table[float], upper: Table[float], kind: str, keys: Iterable[Any]) -> dict[Any, float]:
    """`Model.effects` from the two score tables (each holding non-zero weights only)."""
    low: dict[Any, float] = getattr(weights, kind)
    high: dict[Any, float] = getattr(upper, kind)
    return {key: low.get(key, 0.0) + high.get(key, 0.0) / 2 for key in keys if key in low or key in high}


def top_features(effects: Effects, bag: Bag, count: int,
                 baseline: Mapping[str, str] = BASELINE) -> tuple[tuple[str, float], ...]:
    """The `count` features of `bag` that move the two cuts' scores most from a new one-turn ask's
    (a feature's weight in the first plus half what it adds in the second: its mean effect on the
    two), by size (ties by name), named. A feature of a `baseline` group (prefix -> the baseline's
    feature) moves them by what it adds over the baseline's: the baseline's own feature moves
    nothing and is never named (every one-turn ask has it), another (a follow-up's kind, a longer
    thread) is weighed less the baseline's weight, even when it has none of its own.

    Only those are named: per kind, the present keys sorted by weight (in C) give the `count` at
    each end, with any that tie the last one (the largest sizes sit at the ends); of those, the ones
    at least as large as the `count`-th largest are named and ordered.
    """
    found: list[tuple[str, Any, float]] = []  # kind, key, weight
    for kind in KINDS:
        keys = getattr(bag, kind)
        table = effects(kind, keys)
        if kind == "other":
            for key in keys:  # a few dozen: the sizes, counts and shape of the turn
                base = next((b for prefix, b in baseline.items() if key.startswith(prefix) and "@" not in key), None)
                if base == key:
                    table.pop(key, None)
                elif base is not None:
                    table[key] = table.get(key, 0.0) - effects(kind, (base,)).get(base, 0.0)
        ends = _ends(sorted(table, key=table.__getitem__), table, count)
        found.extend(zip(repeat(kind), ends, map(table.__getitem__, ends)))
    if not found:
        return ()
    least = sorted(map(abs, map(_WEIGHT, found)), reverse=True)[min(count, len(found)) - 1]
    named = sorted(((name_of(kind, key), weight) for kind, key, weight in found if abs(weight) >= least),
                   key=lambda c: (-abs(c[1]), c[0]))
    return tuple((name, round(weight, 3)) for name, weight in named[:count])


def _ends(ranked: list[Any], table: dict[Any, float], count: int) -> list[Any]:
    if len(ranked) <= 2 * count:
        return ranked
    low = count
    while low < len(ranked) and table[ranked[low]] == table[ranked[count - 1]]:
        low += 1
    high = len(ranked) - count
    while high > low and table[ranked[high - 1]] == table[ranked[len(ranked) - count]]:
        high -= 1
    return ranked[:low] + ranked[max(high, low):]


def read_model(data: bytes) -> Model:
    """A `Model` from the bytes of a model file."""
    with zipfile.ZipFile(BytesIO(data)) as archive:
        meta = json.loads(archive.read("meta.json"))
        names = _member(archive, "features.txt").decode("utf-8")
        values = _values(archive, "weights.f32", "f")
        index = _index_members(archive) if "neighbours" in meta else None
    if meta.get("format") != 2:
        raise ValueError(f"model file: format {meta.get('format')!r}, this reader reads format 2")
    width = 2 + len(meta["type_labels"])
    features = names.count("\n") + 1
    if len(values) != width * features:
        raise ValueError(f"model file: {len(values)} weights for {features} features x {width}")
    shared: dict[Any, Any] = {}
    columns = memoryview(values)
    layout = layout_of([columns[column::width] for column in range(width)])
    weights, upper, rows = _tables(names, values, width, shared, layout)
    carry = None if layout is None else functools.partial(_carry, rows, layout)
    return Model(
        weights=Table(**weights) if layout is None else None,
        upper=Table(**upper) if layout is None else None,
        type_weights=Table(**rows) if layout is None else None,
        score_bias=meta["score_bias"],
        simple=Calibration(**meta["calibration"]["simple"]),
        moderate=Calibration(**meta["calibration"]["moderate"]),
        type_labels=tuple(meta["type_labels"]),
        type_bias=tuple(meta["type_bias"]),
        meta=meta,
        neighbours=_neighbours(index, meta["neighbours"], shared, carry) if index is not None else None,
        typed=tuple(meta.get("typed_features", ())),
        packed=_packed(rows, layout, index is not None) if layout is not None else None,
    )


def _carry(rows: dict[str, dict[Any, Any]], layout: Layout, kind: str, key: Any, span: int) -> None:
    """The neighbour index's term `key` of `kind`: its span in its packed row (`Layout.with_span`)."""
    table = rows[kind]
    table[key] = layout.with_span(table.get(key, 0), span)


def _packed(rows: dict[str, dict[Any, Any]], layout: Layout, spans: bool) -> Packed:
    """The packed rows by kind (`spans`: with the neighbour index's spans in its terms' rows), the other
    features' in the word pairs' table when they fit in its free entries (`share_table`: a pair is a
    tuple, never equal to a name; with the index's pairs added, c550aa0d's 43,423 pairs leave no room)."""
    rows["pairs"], rows["other"] = share_table(rows["pairs"], rows["other"])
    return Packed(Table(**rows), layout, layout.span_at if spans else 0)


# The neighbour index's members: its terms' text, their starts, the postings, norms and levels.
IndexMembers = tuple[str, "array[int]", "array[int]", "array[float]", bytes]


def _index_members(archive: zipfile.ZipFile) -> IndexMembers:
    return (_member(archive, "neighbours/terms.txt").decode("utf-8"), _values(archive, "neighbours/starts.u32", "I"),
            _values(archive, "neighbours/postings.u16", "H"), _values(archive, "neighbours/norms.f32", "f"),
            bytes(_member(archive, "neighbours/levels.u8")))


def _neighbours(members: IndexMembers, meta: dict[str, Any], shared: dict[Any, Any],
                carry: Callable[[str, Any, int], None] | None) -> Neighbours:
    terms, starts, postings, norms, levels = members
    return read_neighbours(_lines(terms) if terms else iter(()), starts, postings, norms, levels, meta, shared, carry)


def _tables(names: str, values: array[float], width: int, shared: dict[Any, Any],
            layout: Layout | None) -> tuple[dict[str, dict[Any, float]], dict[str, dict[Any, float]],
                                           dict[str, dict[Any, Any]]]:
    """Every feature's packed row (`layout`: `routerd.classify.packed`, which holds its score weights
    too: the score tables are then left empty) or, without a layout, the non-zero weights of both
    scores, by feature kind, and its type row.

    Built for a small resident size (each saving measured as daemon RSS): names are read one at a
    time, as a list of all ~64k would leave its freed strings scattered through the allocator's
    arenas; a tuple per row for every feature would leave ~10 MB of freed objects behind the same
    way, so only non-zero parts are kept; one string per word and one tuple per word pair, however
    many pairs and tables (the neighbour index's too) hold it (`shared_keys_of`; sharing the pairs
    with the index saved 0.8 MB); one packed int per distinct row (20,588 of 66,460 in the
    c550aa0d model), found by the row's bytes; without a layout, one tuple per distinct type row
    (6,964 distinct of 28,135 in the a1e4d9f4 model, whose type weights are written in steps of 1/64;
    20,153 before), keyed by its bytes so that rows equal only as floats (0.0 and -0.0) stay apart,
    of one float object per distinct value; the score weights too are one object per distinct value
    (written in steps of 1/512 since 928b1073: ~38,000 weights, ~460 values; 0.9 MB less daemon RSS)."""
    weights: dict[str, dict[Any, float]] = {kind: {} for kind in KINDS}
    upper: dict[str, dict[Any, float]] = {kind: {} for kind in KINDS}
    rows: dict[str, dict[Any, Any]] = {kind: {} for kind in KINDS}
    seen: dict[bytes, Any] = {}  # a row's bytes -> its packed int, or its type row
    floats: dict[float, float] = {}
    one = floats.setdefault  # a non-zero score weight as one object per value (`_one_object`)
    unpack = row_reader(width).unpack
    raw = memoryview(values).cast("B")
    # The two score columns read through strided views (copies of them cost 1 MB of daemon RSS),
    # and each row found by its place: the loop runs ~66,000 times, and indexing into `values` was
    # a third of it.
    columns = memoryview(values)
    kinds: list[str] = []
    keys: list[Any] = []
    plain = layout is None
    for (kind, key), low, high in zip(shared_keys_of(_lines(names), shared), columns[0::width], columns[1::width]):
        if low and plain:
            weights[kind][key] = one(low, low)
        if high and plain:
            upper[kind][key] = one(high, high)
        kinds.append(kind)
        keys.append(key)
    # The rows in a second pass: the bytes that find a row again live until the end, and made
    # alongside the keys (word pairs are objects of their size) they left 1.4 MB of holes among
    # them; made apart, their memory is freed whole and the neighbour index is read into it.
    first = 0 if layout is not None else 2  # the packed row holds all of the row, the type row its types
    for kind, key, at in zip(kinds, keys, range(0, len(values), width)):
        row = raw[4 * (at + first) : 4 * (at + width)].tobytes()
        found = seen.get(row)
        if found is None:
            if layout is not None:
                found = seen[row] = layout.pack(unpack(row))
            else:
                types = values[at + 2 : at + width]
                found = seen[row] = tuple(_one_object(value, floats) for value in types) if any(types) else 0
        if found:
            rows[kind][key] = found
    return weights, upper, rows


_ZERO, _NEGATIVE_ZERO = 0.0, -0.0


def _one_object(value: float, seen: dict[float, float]) -> float:
    """`value` as one object per distinct value (`seen` holds them): the trainer writes the type
    weights in steps of 1/64 and the score weights in steps of 1/512, so ~85,000 non-zero values are
    ~600 distinct ones, 24 bytes each otherwise; a zero is the one zero object of its sign (two
    thirds of the type values are zeros)."""
    if value:
        return seen.setdefault(value, value)
    return _NEGATIVE_ZERO if math.copysign(1.0, value) < 0 else _ZERO


B = TypeVar("B", bytearray, "array[float]", "array[int]")
_TYPE_NAMES = {"f": "float32", "I": "uint32", "H": "uint16"}


def _member(archive: zipfile.ZipFile, name: str) -> bytearray:
    """The bytes of the member `name`, read into a buffer of its own size (`_fill`)."""
    return _fill(archive, name, bytearray(archive.getinfo(name).file_size))


def _values(archive: zipfile.ZipFile, name: str, code: str) -> array[Any]:
    """The member `name` as an array of `code` values (little-endian, as the trainer writes them)."""
    size, width = archive.getinfo(name).file_size, array(code).itemsize
    if size % width:
        raise ValueError(f"model file: {name} holds {size} bytes, not whole {_TYPE_NAMES[code]} values")
    return _fill(archive, name, array(code, [0]) * (size // width))


def _fill(archive: zipfile.ZipFile, name: str, buffer: B) -> B:
    """`buffer` (sized to the member) filled with the member `name`, read a chunk at a time.
    `ZipFile.read` holds several copies of a member at once (7.9 MB at its peak for the 1.8 MB of
    weights, 2.1 MB this way, by tracemalloc), and the freed ones stayed resident in the C
    allocator's heap: ~1.8 MB of daemon RSS."""
    view = memoryview(buffer).cast("B")
    at = 0
    with archive.open(name) as member:
        while at < len(view):
            chunk = member.read(min(READ_CHUNK, len(view) - at))
            if not chunk:
                raise ValueError(f"model file: {name} is shorter than its entry says")
            view[at : at + len(chunk)] = chunk
            at += len(chunk)
        if member.read(1):  # also reads to the end, where zipfile checks the CRC
            raise ValueError(f"model file: {name} is longer than its entry says")
    return buffer


def _lines(text: str) -> Iterator[str]:
    """The lines of `text` split at "\n", one at a time (`str.split` would build them all, and
    `io.StringIO` copies the text four bytes a character)."""
    start = 0
    while (end := text.find("\n", start)) >= 0:
        yield text[start:end]
        start = end + 1
    yield text[start:]


def model_bytes() -> bytes:
    """The shipped model file's bytes."""
    return resources.files("routerd.classify").joinpath(MODEL_FILE).read_bytes()


@functools.cache
def default_model() -> Model:
    """The shipped model, read once per process (package data, not configuration)."""
    return read_model(model_bytes())
