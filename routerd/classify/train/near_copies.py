"""Near-copies between labelled prompts: a test prompt that repeats a training prompt tests memory,
not generalisation, so new test folders are checked against everything already written.

Two prompts are near-copies when their routed turns (the last message) share 60% of their words
(Jaccard, for turns of three words or more), or have the same words (shorter turns: a bare "sure"
or "thanks!" ends many conversations). Exact, and fast enough for every prompt in the repository:
a prefix filter (Chaudhuri, Ganti and Kaushik 2006) finds the candidate pairs, which are then
compared whole.

    python -m routerd.classify.train.near_copies [--drop] FILE...

checks each file's prompts against every routerd-style prompt in the repository (`dev.jsonl`, the
team's and written files, the test folders, `bench/data/pending/`) and against the files before it;
`--drop` rewrites the files without them (the later of two new near-copies goes).
"""

from __future__ import annotations

import argparse
import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path

from routerd.classify.train import data as sets

SHARE = 0.6
MIN_WORDS = 3
_WORD = re.compile(r"\w+")


def routed_words(messages: Sequence[dict]) -> frozenset[str]:
    """The words of the routed turn (agent steps share their system prompt, so not the whole text)."""
    return frozenset(_WORD.findall(str(messages[-1]["content"]).lower()))


def is_near(a: frozenset[str], b: frozenset[str]) -> bool:
    if len(a) < MIN_WORDS or len(b) < MIN_WORDS:
        return bool(a) and a == b
    return len(a & b) >= SHARE * len(a | b)


def _prefix(words: Sequence[str]) -> Sequence[str]:
    """The first words (rarest first) that any set sharing `SHARE` of the words must meet: a pair
    at Jaccard >= 3/5 shares at least ceil(3n/5) of each set's n words."""
    return words[: len(words) - (3 * len(words) + 4) // 5 + 1]


class Index:
    """Word sets to find near-copies among (prefix-filtered; `find` is exact)."""

    def __init__(self, known: Iterable[tuple[str, frozenset[str]]]) -> None:
        self.known = [(key, words) for key, words in known if words]
        self.frequency = Counter(word for _, words in self.known for word in words)
        self.short: dict[frozenset[str], list[str]] = defaultdict(list)
        self.postings: dict[str, list[int]] = defaultdict(list)
        for number, (key, words) in enumerate(self.known):
            self._add(number, key, words)

    def _ordered(self, words: frozenset[str]) -> list[str]:
        return sorted(words, key=lambda word: (self.frequency[word], word))

    def _add(self, number: int, key: str, words: frozenset[str]) -> None:
        if len(words) < MIN_WORDS:
            self.short[words].append(key)
            return
        for word in _prefix(self._ordered(words)):
            self.postings[word].append(number)

    def add(self, key: str, words: frozenset[str]) -> None:
        if words:
            self.known.append((key, words))
            self._add(len(self.known) - 1, key, words)

    def find(self, words: frozenset[str]) -> list[str]:
        """The keys of the known sets that `words` is a near-copy of."""
        if not words:
            return []
        if len(words) < MIN_WORDS:
            return list(self.short.get(words, ()))
        numbers = {n for word in _prefix(self._ordered(words)) for n in self.postings.get(word, ())}
        return [self.known[n][0] for n in sorted(numbers) if is_near(words, self.known[n][1])]


def near_copies(cases: Iterable[tuple[str, frozenset[str]]],
                known: Iterable[tuple[str, frozenset[str]]]) -> dict[str, list[str]]:
    """For each case near a known set, the keys it is near."""
    index = Index(known)
    return {key: found for key, words in cases if (found := index.find(words))}


def _written_everywhere(shared: Path, but: set[Path]) -> list[tuple[str, frozenset[str]]]:
    """Every routerd-style prompt in the repository, `pending/` included, but the files in `but`."""
    cases = sets.routerd_style(shared) + sets.unseen()
    known = [(f"{c.source}:{c.id}", routed_words(c.messages)) for c in cases]
    for path in sorted((sets.BENCH_DATA / "pending").rglob("*.jsonl")):
        if path.resolve() not in but:
            known += _file(path)
    return known


def _file(path: Path) -> list[tuple[str, frozenset[str]]]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [(f"{path}:{row['id']}", routed_words(row["messages"])) for row in rows]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m routerd.classify.train.near_copies", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--drop", action="store_true", help="rewrite the files without their near-copies")
    parser.add_argument("--shared", help="the shared eval folder (for dev.jsonl)")
    args = parser.parse_args(argv)
    shared = sets.shared_dir(args.shared)
    index = Index(_written_everywhere(shared, but={path.resolve() for path in args.files}))
    dropped = 0
    for path in args.files:
        rows = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        kept = []
        for line in rows:
            row = json.loads(line)
            key, words = f"{path}:{row['id']}", routed_words(row["messages"])
            found = index.find(words)
            if found:
                print(f"{key}: near {', '.join(found[:3])}{' ...' if len(found) > 3 else ''}")
                dropped += 1
                continue
            index.add(key, words)
            kept.append(line)
        if args.drop and len(kept) < len(rows):
            path.write_text("\n".join(kept) + "\n", encoding="utf-8")
        print(f"{path}: {len(rows)} prompts, {len(rows) - len(kept)} near-copies"
              f"{' taken out' if args.drop else ''}")
    return 1 if dropped and not args.drop else 0


if __name__ == "__main__":
    raise SystemExit(main())
