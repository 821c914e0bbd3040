"""Write `routerd/classify/data/common_words.bin`: `python -m routerd.classify.train.common_words`.

The everyday words of every language with a cue file (`data/cues/`), from wordfreq's `small`
lists (words used at least once per million; wordfreq by Robyn Speer, its data under CC BY-SA 4.0,
so the derived file is too: see docs/brain.md), read as routerd's tokeniser reads text: lowercase,
digits folded, CJK and Hangul words as the character pairs and characters the tokeniser cuts them
into. The same wordfreq version gives the same file, byte for byte.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path

import wordfreq

from routerd.classify.common import COMMON_FILE, MIN_LETTERS, from_words, write_common
from routerd.classify.cues import read_documents
from routerd.classify.tokens import lower_text, words_of

OUT = Path(__file__).resolve().parents[1] / COMMON_FILE


def everyday_words(language: str) -> Iterator[str]:
    """The words of `language`'s small list, as the tokeniser would cut them from a text."""
    for entry in wordfreq.get_frequency_dict(language, wordlist="small"):
        for word in words_of(lower_text(entry)):
            if len(word) >= MIN_LETTERS and word.isalpha():
                yield word


def build() -> bytes:
    languages = sorted(doc["language"] for doc in read_documents())
    words = sorted({w for language in languages for w in everyday_words(language)})
    print(f"{len(words)} everyday words of {len(languages)} languages ({', '.join(languages)}), wordfreq {version('wordfreq')}")
    return write_common(from_words(words))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write the everyday-word set the brain reads.")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    blob = build()
    args.out.write_bytes(blob)
    print(f"wrote {args.out} ({len(blob)} bytes)")


if __name__ == "__main__":
    main()
