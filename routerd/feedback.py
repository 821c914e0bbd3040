"""How reroutes and ratings change later decisions for similar prompts (the pure part).

A prompt's *signature* is the set of its content words (lowercased, digits folded to `0`,
stopwords dropped, at most `SIGNATURE_WORDS`, each hashed), so "refactor the 3 payment handlers" and
"refactor the 5 payment handlers" share one. Each feedback row records the tier the user showed
the prompt needed: a reroute to a tier (or to a model, whose tier counts), a `bad` rating one tier
above what was decided, a `good` rating the tier decided. `FeedbackTable` holds the latest
`ROWS_PER_SIGNATURE` rows per signature and votes among them (a reroute weighs twice a rating);
`tier_for` answers for an exact signature, or else for
the most similar stored one (Jaccard similarity >= `MIN_SIMILARITY`, found through an inverted
index so a lookup touches only signatures that share a word). The daemon owns one table: it loads
the stored feedback rows into it at start and applies each new row as it is recorded.
"""

from __future__ import annotations

import functools
import zlib
from collections import Counter

import msgspec

from routerd.classify import lexicon
from routerd.classify.types import TIERS, Tier

SIGNATURE_WORDS = 24
# The words that say what is asked come first; a long ask is not read to its end for them.
SIGNATURE_SCAN_TOKENS = 160
ROWS_PER_SIGNATURE = 5
# Two prompts are "similar" when at least this share of their content words agree. 0.6 keeps
# "same ask, other numbers or one word changed" together and keeps different asks apart.
MIN_SIMILARITY = 0.6
# A reroute names the right answer; a rating only says whether the answer was right.
KIND_WEIGHT = {"reroute": 2, "rate": 1}
_STOPWORDS = frozenset(
    "a an the and or but if then else of to in on at by for with from as is are was were be been being "
    "it its this that these those there here i me my we our you your he she they them their what which "
    "who whom how why when where do does did can could would should will shall may might must not no "
    "so just also very too please pls some any all each more most other into than out up down about".split()
)
_DIGITS = str.maketrans("0123456789", "0000000000")


def signature(text: str) -> frozenset[str]:
    """The content words of `text` that identify what is being asked, each as a short hash.

    Hashed (crc32, stable across processes) because signatures are stored with decisions and
    prompt text is not stored unless the config says so.
    """
    return signature_of_view(lexicon.view_of(text))


def signature_of_view(view: lexicon.View) -> frozenset[str]:
    """`signature` from a `View` the classifier already built for the ask."""
    words: set[str] = set()
    seen: set[str] = set()
    for raw in view.tokens[:SIGNATURE_SCAN_TOKENS]:
        if raw in seen:
            continue
        seen.add(raw)
        word = _word_hash(raw)
        if word is None:
            continue
        words.add(word)
        if len(words) >= SIGNATURE_WORDS:
            break
    return frozenset(words)


@functools.lru_cache(maxsize=16384)
def _word_hash(raw: str) -> str | None:
    """The signature word a token stands for (crc32 of the folded word, as hex), or None for a
    stopword or a fragment. Memoised per raw token, since prompts repeat their vocabulary (a pure
    function, so the cache changes speed only: 7 -> 5 us per signature of a 4 KB prompt)."""
    token = raw.strip("'-")
    if not token.isalpha():
        token = token.translate(_DIGITS)
    if len(token) < 2 or token in _STOPWORDS:
        return None
    return format(zlib.crc32(token.encode()), "08x")


def signature_key(words: frozenset[str]) -> str:
    """A stable text key for a signature (sorted words), as stored in the feedback table."""
    return " ".join(sorted(words))


class FeedbackRow(msgspec.Struct, frozen=True, kw_only=True):
    """One piece of feedback reduced to what routing learns from it."""

    decision_id: str
    signature: str  # signature_key(...)
    decided_tier: Tier
    wanted_tier: Tier
    kind: str  # "reroute" | "rate"


def wanted_tier_of_rating(decided: Tier, rating: str) -> Tier:
    """`bad` asks for one tier more than was decided; `good` confirms the decision."""
    if rating == "bad":
        return TIERS[min(TIERS.index(decided) + 1, len(TIERS) - 1)]
    return decided


class FeedbackTable:
    """The latest feedback per signature, with a word index for similarity lookups.

    Owned by the daemon's app; not thread-safe (used from the event loop only).
    """

    def __init__(self) -> None:
        self._rows: dict[str, list[tuple[Tier, int]]] = {}
        self._words: dict[str, frozenset[str]] = {}
        self._index: dict[str, set[str]] = {}

    def __len__(self) -> int:
        return len(self._rows)

    def apply(self, row: FeedbackRow) -> None:
        """Record one feedback row (rows must be applied in the order they were recorded)."""
        tiers = self._rows.setdefault(row.signature, [])
        tiers.append((row.wanted_tier, KIND_WEIGHT.get(row.kind, 1)))
        del tiers[:-ROWS_PER_SIGNATURE]
        if row.signature not in self._words:
            words = frozenset(row.signature.split())
            self._words[row.signature] = words
            for word in words:
                self._index.setdefault(word, set()).add(row.signature)

    def tier_for(self, words: frozenset[str]) -> Tier | None:
        """The tier feedback asks for prompts like `words`, or None when there is none."""
        if not words or not self._rows:
            return None
        key: str | None = signature_key(words)
        if key not in self._rows:
            key = self._nearest(words)
            if key is None:
                return None
        return _vote(self._rows[key])

    def _nearest(self, words: frozenset[str]) -> str | None:
        shared: Counter[str] = Counter()
        for word in words:
            for candidate in self._index.get(word, ()):
                shared[candidate] += 1
        best, best_score = None, 0.0
        for candidate, common in shared.items():
            union = len(words) + len(self._words[candidate]) - common
            score = common / union
            if score > best_score:
                best, best_score = candidate, score
        return best if best_score >= MIN_SIMILARITY else None

    def statistics(self) -> dict[str, int]:
        """A snapshot for `routerctl status`."""
        return {"signatures": len(self._rows), "rows": sum(len(v) for v in self._rows.values())}


def _vote(rows: list[tuple[Tier, int]]) -> Tier:
    # The tier with the most weight among recent rows; on a tie, the most recent one.
    weights: Counter[str] = Counter()
    for tier, weight in rows:
        weights[tier] += weight
    top = max(weights.values())
    for tier, _ in reversed(rows):
        if weights[tier] == top:
            return tier
    return rows[-1][0]
