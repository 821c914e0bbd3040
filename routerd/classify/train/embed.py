"""Static word embeddings as a training-time feature, folded into one number per word for the daemon.

The vectors are wordllama's `l2_supercat_256` (LLaMA-2 token embeddings distilled for sentence
similarity), which ship inside the `wordllama` wheel: nothing is downloaded. A word's vector is the
mean of its tokens' vectors; an ask's is the mean over its words (the `w:` features), standardised
per dimension on the training cases. The ordinal model fits a weight per dimension next to the
sparse features. Because the score is linear in the ask's vector, the daemon needs no vectors at all:
each word's share of the score, `(vector . weights)` less the centring constant, is one float in the
model file, and the embedding part of a score is the mean of those floats over the ask's words.

What the vectors add to the per-word weights: a weight for words the labelled data never shows,
taken from words whose vectors are close ("semaphore" near "mutex"). `--set embed=false` trains
without them, so both can be measured (docs/brain.md reports both).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from scipy import sparse

WORD_PREFIX = "w:"
# Whole-word tokens of the embedding's vocabulary are added to the table the daemon looks words up
# in, so that a word no labelled case contains still gets its share of the score.
MIN_TOKEN_LETTERS = 3


class WordVectors:
    """wordllama's token embeddings and tokenizer, read from the installed package's files."""

    def __init__(self) -> None:
        import wordllama
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        root = Path(wordllama.__file__).parent
        config = (root / "tokenizers" / "l2_supercat_tokenizer_config.json").read_text(encoding="utf-8")
        self.tokenizer = Tokenizer.from_str(config)
        weights = load_file(str(root / "weights" / "l2_supercat_256.safetensors"))["embedding.weight"]
        self.table = weights.astype(np.float32)
        self.cache: dict[str, np.ndarray] = {}

    def vectors(self, words: list[str]) -> np.ndarray:
        """One row per word: the mean of its tokens' vectors."""
        missing = sorted({w for w in words if w not in self.cache})
        if missing:
            for word, encoding in zip(missing, self.tokenizer.encode_batch(missing, add_special_tokens=False)):
                ids = [i for i in encoding.ids if i > 2] or [0]
                self.cache[word] = self.table[ids].mean(axis=0)
        return np.stack([self.cache[w] for w in words]) if words else np.zeros((0, self.table.shape[1]))

    def vocabulary(self) -> list[str]:
        """Lowercase whole-word tokens of the embedding's vocabulary."""
        words = set()
        for token in self.tokenizer.get_vocab():
            if token.startswith("▁") and len(token) > MIN_TOKEN_LETTERS and token[1:].isalpha():
                words.add(token[1:].lower())
        return sorted(words)


def words_of(features: set[str]) -> list[str]:
    return sorted(name[len(WORD_PREFIX):] for name in features if name.startswith(WORD_PREFIX))


class AskEmbedding:
    """The standardised mean word vector of each ask, as dense columns for the design matrix."""

    def __init__(self, vectors: WordVectors, train_features: list[set[str]]) -> None:
        self.vectors = vectors
        raw = self._raw(train_features)
        has = np.abs(raw).sum(axis=1) > 0
        self.mean = raw[has].mean(axis=0)
        self.scale = raw[has].std(axis=0) + 1e-6

    def _raw(self, feature_sets: list[set[str]]) -> np.ndarray:
        out = np.zeros((len(feature_sets), self.vectors.table.shape[1]), dtype=np.float32)
        for row, features in enumerate(feature_sets):
            words = words_of(features)
            if words:
                out[row] = self.vectors.vectors(words).mean(axis=0)
        return out

    def columns(self, feature_sets: list[set[str]]) -> sparse.csr_matrix:
        raw = self._raw(feature_sets)
        has = np.abs(raw).sum(axis=1) > 0
        standard = np.where(has[:, None], (raw - self.mean) / self.scale, 0.0)
        return sparse.csr_matrix(standard)

    def word_shares(self, weights: np.ndarray, words: list[str]) -> dict[str, float]:
        """Each word's share of the score: the mean of these over an ask's words is the embedding part."""
        u = weights / self.scale
        offset = float(self.mean @ u)
        shares = self.vectors.vectors(words) @ u - offset
        return {word: float(share) for word, share in zip(words, shares)}


def dump_shares(shares: dict[str, float]) -> bytes:
    return json.dumps(shares, sort_keys=True, separators=(",", ":")).encode("utf-8")
