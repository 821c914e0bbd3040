"""How reroutes and ratings change later decisions for similar prompts (the pure part).

A prompt's *signature* is the set of its content words (lowercased, digits folded to `0`,
stopwords dropped, at most `SIGNATURE_WORDS`, each hashed), so "refactor the 3 payment handlers" and
"refactor the 5 payment handlers" share one. Each feedback row records the tier the user showed
the prompt needed: a reroute to a tier (or to a model, whose tier counts), a `bad` rating one tier
above what was decided, a `good` rating the tier decided. `FeedbackTable` holds the latest
`ROWS_PER_SIGNATURE` rows per signature, one per decision (a reroute weighs twice a rating); `hint_for` answers for
an exact signature, or else for the most similar stored one (Jaccard similarity >=
`MIN_SIMILARITY`, found through an inverted index so a lookup touches only signatures that share a
word). The answer is a `FeedbackHint`: the share of the votes saying a simple-tier (and a
moderate-tier) model was enough, and how much to trust it; `adjust` moves the classifier's
probabilities towards those shares. The daemon owns one table: it loads the stored feedback rows
into it at start and applies each new row as it is recorded.
"""

from __future__ import annotations

import functools
import zlib
from collections import Counter

import msgspec

from routerd.classify.tokens import first_words, lower_text
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
# How far feedback moves the probabilities: all the way but for MAX_TRUST, once the votes weigh
# FULL_TRUST_WEIGHT (one reroute, or two ratings) on an identical prompt; less for fewer votes and
# for prompts that are only similar.
MAX_TRUST = 0.9
FULL_TRUST_WEIGHT = 2
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
    words: set[str] = set()
    seen: set[str] = set()
    for raw in first_words(lower_text(text), SIGNATURE_SCAN_TOKENS):
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
        self._rows: dict[str, list[tuple[str, Tier, int]]] = {}  # signature -> (decision, tier, weight)
        self._words: dict[str, frozenset[str]] = {}
        self._index: dict[str, set[str]] = {}

    def __len__(self) -> int:
        return len(self._rows)

    def apply(self, row: FeedbackRow) -> None:
        """Record one feedback row (rows must be applied in the order they were recorded). A
        decision has one vote: its latest feedback replaces what was said of it before (a reroute
        corrected, or the same rating given twice)."""
        tiers = self._rows.setdefault(row.signature, [])
        tiers[:] = [vote for vote in tiers if vote[0] != row.decision_id]
        tiers.append((row.decision_id, row.wanted_tier, KIND_WEIGHT.get(row.kind, 1)))
        del tiers[:-ROWS_PER_SIGNATURE]
        if row.signature not in self._words:
            words = frozenset(row.signature.split())
            self._words[row.signature] = words
            for word in words:
                self._index.setdefault(word, set()).add(row.signature)

    def hint_for(self, words: frozenset[str]) -> FeedbackHint | None:
        """What feedback on prompts like `words` says, or None when there is none."""
        if not words or not self._rows:
            return None
        key = signature_key(words)
        similarity = 1.0
        if key not in self._rows:
            found = self._nearest(words)
            if found is None:
                return None
            key, similarity = found
        return _hint(self._rows[key], similarity)

    def _nearest(self, words: frozenset[str]) -> tuple[str, float] | None:
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
        return (best, best_score) if best is not None and best_score >= MIN_SIMILARITY else None

    def statistics(self) -> dict[str, int]:
        """A snapshot for `routerctl status`."""
        return {"signatures": len(self._rows), "rows": sum(len(v) for v in self._rows.values())}


class FeedbackHint(msgspec.Struct, frozen=True, kw_only=True):
    """Votes on similar prompts: the weighted share saying a simple-tier (a moderate-tier) model was
    enough, the votes' total weight, and how similar the prompt they were given on is (1 = same)."""

    simple_share: float
    moderate_share: float
    weight: float
    similarity: float

    @property
    def trust(self) -> float:
        return MAX_TRUST * self.similarity * min(1.0, self.weight / FULL_TRUST_WEIGHT)

    def describe(self) -> str:
        return (f"{self.simple_share:.0%} say simple is enough, {self.moderate_share:.0%} moderate; "
                f"weight {self.weight:g}, similarity {self.similarity:.2f}")


def _hint(rows: list[tuple[str, Tier, int]], similarity: float) -> FeedbackHint:
    total = sum(weight for _, _, weight in rows)
    simple = sum(weight for _, tier, weight in rows if tier == "simple")
    moderate = sum(weight for _, tier, weight in rows if tier != "complex")
    return FeedbackHint(simple_share=simple / total, moderate_share=moderate / total, weight=float(total),
                        similarity=similarity)


def adjust(p_simple: float, p_moderate: float, hint: FeedbackHint) -> tuple[float, float]:
    """The probabilities moved towards what feedback said, by the hint's trust."""
    trust = hint.trust
    simple = (1 - trust) * p_simple + trust * hint.simple_share
    moderate = (1 - trust) * p_moderate + trust * hint.moderate_share
    return simple, max(moderate, simple)
