"""Measure a classifier on labelled sets: the figures of `routerd.classify.train.figures`, per set.

Pure Python (no numpy), so `bench/eval_classifier.py` can use it in the daemon's environment and
run any classifier through it (the shipped one, or an earlier brain for comparison).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from routerd.classify.train import figures
from routerd.classify.train.data import HELD_OUT_DIRS, Case
from routerd.classify.types import TIERS

TIER_NAMES = ("simple", "moderate", "complex")
Classify = Callable[[list, Any], Any]  # (messages, tools) -> something with tier, task_type, score, confidence


def set_name(case: Case) -> str:
    return f"{case.source}:{case.split}"


def _routerd_style(rows: Sequence[tuple[Case, Any]]) -> dict:
    wanted = [TIER_NAMES[c.level] for c, _ in rows]
    got = [r.tier for _, r in rows]
    typed = [(c.task_type, r.task_type) for c, r in rows if c.task_type]
    enough = [TIERS.index(w) <= TIERS.index(g) for w, g in zip(wanted, got)]
    return {
        "n": len(rows),
        "tier_accuracy": figures.accuracy(wanted, got),
        "complex_to_simple": figures.complex_to_simple(wanted, got),
        "task_type_accuracy": figures.accuracy([w for w, _ in typed], [g for _, g in typed]),
        "ece": figures.ece([r.confidence for _, r in rows], enough),
        "auc_simple_vs_harder": figures.auc([r.score for c, r in rows if c.level > 0],
                                            [r.score for c, r in rows if c.level == 0]),
        "auc_complex_vs_easier": figures.auc([r.score for c, r in rows if c.level == 2],
                                             [r.score for c, r in rows if c.level < 2]),
    }


def _uncommonroute(rows: Sequence[tuple[Case, Any]]) -> dict:
    out: dict = {"n": len(rows)}
    for part, keep in (("all", lambda c: True), ("en", lambda c: c.lang == "en"), ("other", lambda c: c.lang != "en")):
        sel = [(c, r) for c, r in rows if keep(c)]
        levels = [min(c.level, 2) for c, _ in sel]
        got = [TIERS.index(r.tier) for _, r in sel]
        out[part] = {
            "n": len(sel),
            "auc_simple_medium": figures.auc([r.score for c, r in sel if c.level == 1],
                                             [r.score for c, r in sel if c.level == 0]),
            "auc_medium_complex": figures.auc([r.score for c, r in sel if c.level >= 2],
                                              [r.score for c, r in sel if c.level == 1]),
            "tier_accuracy": sum(a == b for a, b in zip(levels, got)) / len(sel) if sel else float("nan"),
        }
    return out


def _outcomes(rows: Sequence[tuple[Case, Any]]) -> dict:
    scores = [r.score for _, r in rows]
    weak = [float(c.outcome[0]) for c, _ in rows]
    strong = [float(c.outcome[1]) for c, _ in rows]
    needed = [(c, r) for c, r in rows if c.level is not None]
    return {
        "n": len(rows),
        "apgr": figures.apgr(scores, weak, strong),
        "apgr_length": figures.apgr([float(len(str(c.messages[-1]["content"]))) for c, _ in rows], weak, strong),
        "auc_strong_needed": figures.auc([r.score for c, r in needed if c.level == 1],
                                         [r.score for c, r in needed if c.level == 0]),
    }


def _proxy_outcomes(rows: Sequence[tuple[Case, Any]]) -> dict:
    """Our MT-Bench- and GSM8K-style sets: binary outcomes by a stated rule (strong always right)."""
    scores = [r.score for _, r in rows]
    weak = [float(c.outcome[0]) for c, _ in rows]
    strong = [float(c.outcome[1]) for c, _ in rows]
    out = {
        "n": len(rows),
        "apgr": figures.apgr(scores, weak, strong),
        "apgr_oracle": figures.apgr([1.0 - w for w in weak], weak, strong),
        "apgr_length": figures.apgr([float(len(str(c.messages[-1]["content"]))) for c, _ in rows], weak, strong),
        "auc_weak_fails": figures.auc([r.score for c, r in rows if not c.outcome[0]],
                                      [r.score for c, r in rows if c.outcome[0]]),
        "to_simple_of_weak_fails": _share([r.tier for c, r in rows if not c.outcome[0]], "simple"),
    }
    if any(c.level is not None for c, _ in rows):
        out["spearman_steps"] = figures.spearman([float(c.level or 0) for c, _ in rows], scores)
    return out


def _issues(rows: Sequence[tuple[Case, Any]]) -> dict:
    """GitHub issue texts labelled by time to fix (0: under 15 minutes ... 3: over 4 hours)."""
    return {
        "n": len(rows),
        "auc_easy_vs_harder": figures.auc([r.score for c, r in rows if c.level > 0],
                                          [r.score for c, r in rows if c.level == 0]),
        "spearman_fix_time": figures.spearman([float(c.level) for c, _ in rows], [r.score for _, r in rows]),
        "hardest_to_simple": _share([r.tier for c, r in rows if c.level >= 2], "simple"),
        "over_4h_to_simple": _share([r.tier for c, r in rows if c.level == 3], "simple"),
        "all_to_simple": _share([r.tier for _, r in rows], "simple"),
    }


def _share(tiers: Sequence[str], tier: str) -> float:
    return sum(t == tier for t in tiers) / len(tiers) if tiers else float("nan")


def evaluate(cases: Sequence[Case], classify: Classify | Any) -> dict[str, dict]:
    """Figures per set (`source:split`) for `classify` (a function, or a `Model` for the shipped classifier)."""
    if not callable(classify):
        from routerd.classify.classifier import classify as shipped

        model = classify
        classify = lambda messages, tools: shipped(messages, tools, model=model, explain=False)  # noqa: E731
    groups: dict[str, list[tuple[Case, Any]]] = {}
    for case in cases:
        groups.setdefault(set_name(case), []).append((case, classify(case.messages, case.tools)))
    pooled = {split: [row for rows in groups.values() for row in rows
                      if row[0].style == "routerd" and row[0].split == split] for split in HELD_OUT_DIRS}
    out = {}
    for name, rows in sorted(groups.items()):
        style = rows[0][0].style
        if style in ("routerd", "ypollak2"):
            out[name] = _routerd_style([(c, r) for c, r in rows if c.level is not None])
        elif style == "uncommonroute":
            out[name] = _uncommonroute(rows)
        elif style == "mmlu":
            out[name] = _outcomes(rows)
        elif style in ("gsm8k", "outcome"):
            out[name] = _proxy_outcomes(rows)
        elif style == "issues":
            out[name] = _issues(rows)
    for split, rows in pooled.items():
        if rows:
            out[f"routerd-style:{split} (pooled)"] = _routerd_style(rows)
    if sum(1 for rows in pooled.values() if rows) > 1:
        out["routerd-style:every held-out folder (pooled)"] = _routerd_style(
            [row for rows in pooled.values() for row in rows])
    return out


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def print_table(results: dict[str, dict], label: str = "") -> None:
    """One line per set."""
    for name, figs in results.items():
        flat = []
        for key, value in figs.items():
            if isinstance(value, dict):
                flat.append(f"{key}[" + " ".join(f"{k}={_fmt(v)}" for k, v in value.items()) + "]")
            else:
                flat.append(f"{key}={_fmt(value)}")
        print(f"{label}{name:<28} " + " ".join(flat))
