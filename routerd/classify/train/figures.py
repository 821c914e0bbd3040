"""The figures the brain is judged by, in plain Python (the bench uses them without numpy).

- tier accuracy, and complex sent to simple (the share of complex cases routed simple);
- task-type accuracy over the cases that have one;
- AUC: the chance that a harder case scores above an easier one (ties count half);
- APGR (RouteLLM): route the highest-scoring share x of prompts to the strong model, for every x;
  the performance gap recovered is (quality - weak quality) / (strong quality - weak quality);
  APGR is its mean over x (random routing: 0.5);
- ECE: expected calibration error of a probability against what happened, over 10 equal bins.
"""

from __future__ import annotations

from collections.abc import Sequence


def accuracy(wanted: Sequence[str], got: Sequence[str]) -> float:
    pairs = [(w, g) for w, g in zip(wanted, got) if w]
    return sum(w == g for w, g in pairs) / len(pairs) if pairs else 0.0


def complex_to_simple(wanted: Sequence[str], got: Sequence[str]) -> float:
    hard = [g for w, g in zip(wanted, got) if w == "complex"]
    return sum(g == "simple" for g in hard) / len(hard) if hard else 0.0


def auc(positive: Sequence[float], negative: Sequence[float]) -> float:
    """P(score of a positive > score of a negative), ties half (Mann-Whitney, by ranks)."""
    if not positive or not negative:
        return float("nan")
    labelled = sorted([(s, 1) for s in positive] + [(s, 0) for s in negative])
    rank_sum, i = 0.0, 0
    while i < len(labelled):
        j = i
        while j < len(labelled) and labelled[j][0] == labelled[i][0]:
            j += 1
        mid = (i + j + 1) / 2  # average 1-based rank of the tie group
        rank_sum += mid * sum(1 for k in range(i, j) if labelled[k][1])
        i = j
    n_pos, n_neg = len(positive), len(negative)
    return (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def _ranks(values: Sequence[float]) -> list[float]:
    order = sorted(range(len(values)), key=values.__getitem__)
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j < len(order) and values[order[j]] == values[order[i]]:
            j += 1
        for k in order[i:j]:
            ranks[k] = (i + j - 1) / 2
        i = j
    return ranks


def spearman(a: Sequence[float], b: Sequence[float]) -> float:
    """Rank correlation (ties get their mean rank)."""
    ra, rb = _ranks(a), _ranks(b)
    n = len(a)
    if n < 2:
        return float("nan")
    ma, mb = sum(ra) / n, sum(rb) / n
    cov = sum((x - ma) * (y - mb) for x, y in zip(ra, rb))
    va = sum((x - ma) ** 2 for x in ra) ** 0.5
    vb = sum((y - mb) ** 2 for y in rb) ** 0.5
    return cov / (va * vb) if va and vb else float("nan")


def apgr(scores: Sequence[float], weak: Sequence[float], strong: Sequence[float]) -> float:
    """Area under the performance-gap-recovered curve when the highest scores go to the strong model.

    Ties in score are broken by averaging over their order (they are sent together or not at all).
    """
    n = len(scores)
    weak_total, strong_total = sum(weak), sum(strong)
    gap = strong_total - weak_total
    if not n or gap == 0:
        return float("nan")
    order = sorted(range(n), key=lambda i: -scores[i])
    gained = 0.0
    area = 0.0
    i = 0
    while i < n:
        j = i
        while j < n and scores[order[j]] == scores[order[i]]:
            j += 1
        group = sum(strong[k] - weak[k] for k in order[i:j])
        for step in range(j - i):
            # Within a tie group each prefix recovers its proportional share.
            area += (gained + group * (step + 1) / (j - i)) / gap
        gained += group
        i = j
    return area / n


def ece(probabilities: Sequence[float], outcomes: Sequence[bool], bins: int = 10) -> float:
    """Expected calibration error: the mean |confidence - frequency| over equal-width bins, weighted."""
    if not probabilities:
        return float("nan")
    groups: dict[int, list[tuple[float, bool]]] = {}
    for p, hit in zip(probabilities, outcomes):
        groups.setdefault(min(int(p * bins), bins - 1), []).append((p, hit))
    total = len(probabilities)
    return sum(abs(sum(p for p, _ in g) / len(g) - sum(h for _, h in g) / len(g)) * len(g) / total
               for g in groups.values())
