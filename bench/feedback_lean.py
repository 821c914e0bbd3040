"""Would a lean learned per installation help? Each writer of the calibration folders plays one user.

routerd's feedback moves the probabilities of prompts similar to the one rerouted
(`routerd/feedback.py`). This asks whether a lean learned from all of one user's reroutes would
help too: an offset added to both calibration curves (in logits), moved by each reroute towards
the tier the user named (one online logistic step, `--step`, bounded by `--cap`). Each file of
`CALIBRATION_DIRS` is one user: its prompts in a shuffled order, a reroute for every wrong
decision in the first half (or only for those sent too low, `--only-up`), and tier accuracy at the
balanced bar on the second half, with and without the offset. It prints both, per setting, and
writes bench/results/feedback_lean.json. Nothing here is shipped: it measured no gain
(docs/brain.md, Known weaknesses).

    ROUTERD_EVAL_DIR=../shared/eval .venv/bin/python bench/feedback_lean.py [--shuffles N]
"""

from __future__ import annotations

import argparse
import json
import random
from collections import defaultdict
from pathlib import Path

from routerd.classify.model import Model, read_model
from routerd.classify.train import data as sets
from routerd.classify.train.recalibrate import scores
from routerd.classify.train.report import probabilities
from routerd.classify.train.write import SHIPPED
from routerd.classify.types import DEFAULT_BAR, TIERS, tier_for

RESULTS = Path(__file__).resolve().parent / "results" / "feedback_lean.json"
STEPS = (0.05, 0.1, 0.2, 0.4)
CAPS = (0.5, 1.0)


def tier(model: Model, pair: tuple[float, float], offsets: tuple[float, float]) -> tuple[int, float, float]:
    """The tier (0-2) at the balanced bar, and both probabilities, with `offsets` added to the curves."""
    curves = ((model.simple.slope, model.simple.offset + offsets[0]),
              (model.moderate.slope, model.moderate.offset + offsets[1]))
    p_simple, p_moderate = probabilities(pair, (model.simple.cut, model.moderate.cut), curves)
    return TIERS.index(tier_for(p_simple, p_moderate, DEFAULT_BAR)), p_simple, p_moderate


def replay(model: Model, users: dict[str, list], step: float, cap: float, only_up: bool, shuffles: int) -> dict:
    """Tier accuracy on each user's second half, without and with the learned offset."""
    plain = leaned = seen = 0
    for shuffle in range(shuffles):
        for rows in users.values():
            rows = rows[:]
            random.Random(shuffle).shuffle(rows)
            offsets = [0.0, 0.0]
            half = len(rows) // 2
            for index, (pair, level) in enumerate(rows):
                got, p_simple, p_moderate = tier(model, pair, (offsets[0], offsets[1]))
                if index >= half:
                    plain += tier(model, pair, (0.0, 0.0))[0] == level
                    leaned += got == level
                    seen += 1
                elif got != level and (level > got or not only_up):
                    offsets[0] += step * ((level == 0) - p_simple)
                    offsets[1] += step * ((level <= 1) - p_moderate)
                    offsets = [max(-cap, min(cap, value)) for value in offsets]
    return {"step": step, "cap": cap, "only_up": only_up, "cases": seen,
            "plain": round(plain / seen, 4), "leaned": round(leaned / seen, 4)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shuffles", type=int, default=5)
    args = parser.parse_args()
    model = read_model(SHIPPED.read_bytes())
    cases = [case for case in sets.calibration() if case.level is not None]
    users: dict[str, list] = defaultdict(list)
    for case, pair in zip(cases, scores(model, cases)):
        users[case.source].append((pair, case.level))
    results = []
    for only_up in (False, True):
        for step in STEPS:
            for cap in CAPS:
                row = replay(model, users, step, cap, only_up, args.shuffles)
                results.append(row)
                print(f"{'too-low only' if only_up else 'every error':<12} step {step:<4} cap {cap}: "
                      f"tier {row['plain']:.4f} -> {row['leaned']:.4f} "
                      f"({100 * (row['leaned'] - row['plain']):+.2f} points, {row['cases']} decisions)")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"users": len(users), "shuffles": args.shuffles, "results": results}, indent=1))
    print(f"{len(users)} users; wrote {RESULTS}")


if __name__ == "__main__":
    main()
