"""The figures the trainer prints: cross-validated on the training cases, and on the held-out splits."""

from __future__ import annotations

from routerd.classify.model import Calibration
from routerd.classify.train import figures
from routerd.classify.train.data import Case
from routerd.classify.types import PROFILE_BARS, TIERS, enough, tier_for

TIER_NAMES = ("simple", "moderate", "complex")


def probabilities(scores, cuts, calibration):
    """Both probabilities as the shipped model computes them (`Calibration.probability`, one per cut)."""
    (s_slope, s_offset), (m_slope, m_offset) = calibration
    p_s = Calibration(cuts[0], s_slope, s_offset).probability(scores[0])
    return p_s, max(p_s, Calibration(cuts[1], m_slope, m_offset).probability(scores[1]))


def cut_calibration_errors(probs, levels) -> dict[str, float]:
    """Each cut's expected calibration error: `p_simple` against the simple asks, `p_moderate`
    against the asks a moderate model does (`probs`: (p_simple, p_moderate) per case)."""
    return {"ece_p_simple": round(figures.ece([ps for ps, _ in probs], [level == 0 for level in levels]), 4),
            "ece_p_moderate": round(figures.ece([pm for _, pm in probs], [level <= 1 for level in levels]), 4)}


def report_cv(cases: list[Case], oof: dict, calibration, kinds: list[str] | None = None) -> dict:
    """Print and return the out-of-fold figures of the routerd-style training cases, per bar, and
    (given each case's turn kind) the tier at the balanced bar by kind."""
    out = {}
    rows = [(cases[i], *probabilities(scores, cuts, calibration), task) for i, (scores, cuts, task) in oof.items()]
    wanted = [TIER_NAMES[c.level] for c, *_ in rows]
    chosen = {}
    print(f"cross-validated on {len(rows)} routerd-style training cases:")
    for profile, bar in PROFILE_BARS.items():
        got = chosen[profile] = [tier_for(ps, pm, bar) for _, ps, pm, _ in rows]
        conf = [enough(ps, pm, g) for (_, ps, pm, _), g in zip(rows, got)]
        ok = [TIERS.index(w) <= TIERS.index(g) for w, g in zip(wanted, got)]
        figs = {"tier_accuracy": figures.accuracy(wanted, got), "complex_to_simple": figures.complex_to_simple(wanted, got),
                "ece_enough": figures.ece(conf, ok)}
        out[profile] = {k: round(v, 4) for k, v in figs.items()}
        print(f"  bar {bar:.2f} ({profile}): tier {figs['tier_accuracy']:.1%}  complex->simple "
              f"{figs['complex_to_simple']:.1%}  ECE {figs['ece_enough']:.3f}")
    if kinds is not None:
        by_kind: dict[str, list[bool]] = {}
        for i, w, g in zip(oof, wanted, chosen["balanced"]):
            by_kind.setdefault(kinds[i], []).append(w == g)
        out["tier_by_kind"] = {k: round(sum(v) / len(v), 4) for k, v in sorted(by_kind.items())}
        print("  by kind (balanced): " + "  ".join(f"{k} {sum(v) / len(v):.1%} of {len(v)}"
                                                   for k, v in sorted(by_kind.items())))
    typed = [(c.task_type, t) for c, _, _, t in rows if c.task_type]
    out["task_type_accuracy"] = round(figures.accuracy([w for w, _ in typed], [g for _, g in typed]), 4)
    out.update(cut_calibration_errors([(ps, pm) for _, ps, pm, _ in rows], [c.level for c, *_ in rows]))
    print(f"  task type {out['task_type_accuracy']:.1%}  ECE p_simple {out['ece_p_simple']:.3f}  "
          f"p_moderate {out['ece_p_moderate']:.3f}")
    return out


def report_heldout(cases: list[Case], model) -> None:
    """Print the figures of `model` on every held-out split, through the real classifier."""
    from routerd.classify.train.evaluate import evaluate, print_table

    print_table(evaluate([c for c in cases if c.split == "heldout"], model))
