"""Which words of an ask are everyday words: an ask in rare words is usually an expert's ask.

A model of words learns only the words it was trained on; a new prompt brings words it never saw.
Whether those words are rare in everyday language is a fact about the language, not about any
prompt: "heteroskedasticity", "estoppel" and "linearizability" are rare, "alt text", "tweet" and
"email" are not. `data/common_words.bin` holds the everyday words of the cue languages (those used
at least once per million words, from wordfreq's `small` lists: see
`routerd.classify.train.common_words`, which writes it) as a bit set of their CRC-32 hashes: 1 MiB
instead of ~50 MB of Python strings for 408,000 words. About 5% of rare words share a bit with a
common one and read as common; training reads the same bits, so the model weighs them as they are.
"""

from __future__ import annotations

import functools
import zlib
from collections.abc import Iterable
from importlib import resources

import msgspec

COMMON_FILE = "data/common_words.bin"
BITS = 1 << 23
# Words shorter than this are function words or abbreviations in every language: not read.
MIN_LETTERS = 3


def word_hash(word: str) -> int:
    """The bit of `word` in the set (its CRC-32, stable across processes, unlike `hash`)."""
    return zlib.crc32(word.encode()) & (BITS - 1)


class CommonWords(msgspec.Struct, frozen=True):
    """A bit set of everyday words; empty, every word reads as unknown and nothing is counted."""

    bits: bytes = b""

    def rare(self, words: Iterable[str]) -> tuple[int, int]:
        """How many of `words` (whole words of letters, three or more) are not everyday words, and
        how many were read."""
        bits = self.bits
        if not bits:
            return 0, 0
        crc = zlib.crc32
        rare = read = 0
        for word in words:
            if len(word) >= MIN_LETTERS and word.isalpha():
                read += 1
                h = crc(word.encode()) & (BITS - 1)  # `word_hash`, inlined: up to 61 words per ask
                if not bits[h >> 3] >> (h & 7) & 1:
                    rare += 1
        return rare, read


def from_words(words: Iterable[str]) -> CommonWords:
    """The bit set of `words`."""
    bits = bytearray(BITS // 8)
    for word in words:
        h = word_hash(word)
        bits[h >> 3] |= 1 << (h & 7)
    return CommonWords(bytes(bits))


def read_common(data: bytes) -> CommonWords:
    """A `CommonWords` from its file (the zlib-compressed bit set)."""
    bits = zlib.decompress(data)
    if len(bits) != BITS // 8:
        raise ValueError(f"{COMMON_FILE}: {len(bits)} bytes, expected {BITS // 8}")
    return CommonWords(bits)


def write_common(common: CommonWords) -> bytes:
    return zlib.compress(common.bits, 9)


@functools.cache
def default_common() -> CommonWords:
    """The shipped set, read once per process."""
    return read_common(resources.files("routerd.classify").joinpath(COMMON_FILE).read_bytes())
