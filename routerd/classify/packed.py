"""A feature's whole row of weights as one int, so that a bag is weighed by one lookup per feature
and one `sum`.

A row of the model file holds a feature's weight in the first cut's score, what it adds for the
second cut's, and one weight per task type: 8 floats, read until now from three tables (three
lookups per feature) and summed by 8 `math.fsum`s. Every one of those weights is a whole number of
steps (the trainer writes the score weights in steps of 1/512 and the task types' in 1/64), so a
row is 8 integers n_j, and the feature's int is the sum of n_j << shift_j: a field of `width_j` bits
per column, signed values (the int itself may be negative). A sum of such ints is the sum of each
field at once, exactly (Python's ints do not overflow); the fields come apart again when each
field's sum lies within +-2^(width_j - 1): adding `start` (2^(width_j - 1) in every field) turns every
field into a digit of [0, 2^width_j), read back by shift and mask.

The widths are proven at load, not checked per call: a bag holds each feature at most once (its kinds
are sets, and each kind has a table of its own), so no field's sum is farther from zero than the sum
of its column's absolute values, and the field is made one bit wider than that. A field's sum, times
its step, is then exactly the sum of the float weights (an integer below 2^53 times a power of two),
which is what `math.fsum` returns for them: the packed reading equals (==) the plain one, it is not
close to it. A model with a weight that is not a whole step of at most 53 bits' sums (none the trainer
writes) has no layout (`layout_of` returns None), and the model reads it the plain way.

Packing the shipped model (66,460 features, 20,588 distinct rows): 153 bits, a 48-byte int per
distinct row, each kept once (one object per value, as the float weights are).

A word, pair or stem of the neighbour index (`routerd.classify.neighbours`) also carries its span in
its row, above the fields (`Layout.with_span`), so that one lookup per feature finds both (a second
dict lookup per term cost the Japanese 4 KB prompt's vote ~90k of its ~415k instructions). The span
sits from bit `span_at` up, over the row lifted by 2^bits into [1, 2^(bits + 1)): the row's int
shifted right by `span_at` is the span, and a row that carries none stays below 2^span_at, so sorting
a bag's rows puts the terms last, by span. In a sum the spans and lifts land above the fields, which
`sums` masks off.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from operator import lshift, mul

import msgspec

MAX_FIELD_BITS = 53  # a field's sum, below 2^52 steps, is an exact float


class Layout(msgspec.Struct, frozen=True):
    """Where each column's field sits in a packed row: `fields` holds, per column, its shift, its
    mask, its step (a weight is a whole number of steps) and its offset (the half added by `start`,
    times the step)."""

    fields: tuple[tuple[int, int, float, float], ...]
    scales: tuple[float, ...]  # steps per unit of weight, per column (powers of two)
    shifts: tuple[int, ...]
    start: int  # 2^(width - 1) in every field: what makes each field's sum a digit of its own
    bits: int  # the fields' widths together

    def pack(self, row: Sequence[float]) -> int:
        """One row of weights (one per column, each a whole number of its column's steps)."""
        return sum(map(lshift, map(int, map(mul, row, self.scales)), self.shifts))

    @property
    def span_at(self) -> int:
        """The bit from which a row carries its term's span (`with_span`)."""
        return self.bits + 1

    def with_span(self, row: int, span: int) -> int:
        """`row` (0 for a term without weights) carrying the neighbour index's `span` for its term."""
        return row + (1 << self.bits) + (span << self.span_at)

    def sums(self, total: int) -> list[float]:
        """Each column's sum from `total`, the sum of `start` and the packed rows of distinct
        features: exactly the `math.fsum` of the weights those rows hold."""
        return [(total >> shift & mask) * step - offset for shift, mask, step, offset in self.fields]


def layout_of(columns: Sequence[Sequence[float]]) -> Layout | None:
    """The layout for a model whose weights are `columns` (one sequence per column, every feature's
    weight in it), or None when a column's weights are not whole steps whose absolute values sum
    below 2^52 steps."""
    fields: list[tuple[int, int, float, float]] = []
    scales: list[float] = []
    shifts: list[int] = []
    shift = start = 0
    for column in columns:
        values = set(column)
        if not all(map(math.isfinite, values)):
            return None
        # Finite floats are dyadic: the largest denominator is the step that makes all of them whole.
        scale = max((value.as_integer_ratio()[1] for value in values), default=1)
        # Every partial sum is a whole number of steps below the total, so exact while the total is
        # below 2^53 steps; a larger total is computed as at least 2^52 steps and refused.
        bound = int(sum(map(abs, column)) * scale)
        width = bound.bit_length() + 1
        if width > MAX_FIELD_BITS:
            return None
        step, half = 1.0 / scale, 1 << (width - 1)
        fields.append((shift, (1 << width) - 1, step, half * step))
        scales.append(float(scale))
        shifts.append(shift)
        start += half << shift
        shift += width
    return Layout(fields=tuple(fields), scales=tuple(scales), shifts=tuple(shifts), start=start, bits=shift)


def row_reader(columns: int) -> struct.Struct:
    """Reads one row of a model file's weights (little-endian float32) as floats."""
    return struct.Struct(f"<{columns}f")
