"""Whether a stand-in set ranks routers the way the outside set it stands in for does.

Issue 8 gives three routers' figures on the sets it is judged on (kept outside this repository):
the hand-written brain routerd had then (main before the learned brain, `BASELINE` in
`bench/eval_classifier.py`), ranking by prompt length, and LiteLLM's heuristic complexity score.
A stand-in that tracks its outside set should put those three in the issue's order and near the
issue's figures. This runs them on each stand-in, beside the shipped model:

- `bench/data/proxy/mtbench_style.jsonl` and `gsm8k_style.jsonl` (APGR; the issue: MT-Bench 0.55,
  0.57, 0.72; GSM8K 0.61, 0.60, -);
- `bench/data/proxy/github_issues*.jsonl` (AUC between the under-15-minute fixes and the rest;
  the issue: 0.52 for the hand-written brain);
- UncommonRoute's dev file (AUC of simple against medium, and of medium against complex and
  reasoning; the issue, on that team's set: 0.83 and 0.54 for the hand-written brain).

LiteLLM runs only where `litellm` can be imported (it is not a dependency of routerd: install it in
a separate venv and pass that venv's site-packages with `--litellm-path`). Its cost map is read
from the package (`LITELLM_LOCAL_MODEL_COST_MAP`), so nothing leaves the machine. Writes
bench/results/proxy_anchors.json.

    ROUTERD_EVAL_DIR=../shared/eval .venv/bin/python bench/proxy_anchors.py [--litellm-path DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from routerd.classify.model import default_model  # noqa: E402
from routerd.classify.train import data as sets  # noqa: E402
from routerd.classify.train import figures  # noqa: E402
from routerd.classify.train.recalibrate import predictions  # noqa: E402

from eval_classifier import BASELINE, baseline_results  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "proxy_anchors.json"
# The issue's figures on the outside sets (issue 8, "Public outcome data", "Real GitHub issues",
# "Another team's labelled tier set"): the routers it names, on the set each stand-in stands for.
ISSUE = {
    "mtbench_style": {"hand-written": 0.55, "length": 0.57, "litellm": 0.72},
    "gsm8k_style": {"hand-written": 0.61, "length": 0.60},
    "issues: quick vs rest": {"hand-written": 0.52},
    "uncommonroute dev: simple vs medium": {"hand-written": 0.83},
    "uncommonroute dev: medium vs harder": {"hand-written": 0.54},
}

# Runs in a subprocess with the venv holding litellm on sys.path: texts in (JSON lines), scores out.
_LITELLM_RUNNER = """
import json, sys
from unittest.mock import MagicMock
from litellm.router_strategy.complexity_router.complexity_router import ComplexityRouter
router = ComplexityRouter(model_name="anchor", ctx=MagicMock())
for line in sys.stdin:
    print(json.dumps(router.classify(json.loads(line))[1]))
"""


def litellm_scores(path: str, texts: list[str]) -> list[float]:
    """LiteLLM's heuristic complexity score of each text, read in a subprocess from `path`."""
    env = {**os.environ, "PYTHONPATH": path, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_LOG": "ERROR"}
    out = subprocess.run([sys.executable, "-c", _LITELLM_RUNNER], input="".join(json.dumps(t) + "\n" for t in texts),
                         text=True, capture_output=True, check=True, env=env).stdout
    return [float(line) for line in out.splitlines()]


def last_user_text(case: sets.Case) -> str:
    content = case.messages[-1]["content"]
    return content if isinstance(content, str) else " ".join(p.get("text", "") for p in content)


def figure(name: str, cases: list[sets.Case], scores: list[float]) -> float:
    """The figure the issue gives for the set `name`, from one score per case."""
    if name in ("mtbench_style", "gsm8k_style"):
        weak = [float(c.outcome[0]) for c in cases]  # type: ignore[index]
        return figures.apgr(scores, weak, [float(c.outcome[1]) for c in cases])  # type: ignore[index]
    if name.startswith("issues"):
        split = [(s, c.level == 0) for s, c in zip(scores, cases)]
    elif name.endswith("simple vs medium"):
        split = [(s, c.level == 0) for s, c in zip(scores, cases) if c.level in (0, 1)]
    else:
        split = [(s, c.level == 1) for s, c in zip(scores, cases) if c.level >= 1]  # type: ignore[operator]
    return figures.auc([s for s, low in split if not low], [s for s, low in split if low])


def stand_ins(shared: Path) -> dict[str, list[sets.Case]]:
    proxy = sets.proxy_sets()
    dev = [c for c in sets.uncommonroute(shared) if c.split == "heldout"]
    return {"mtbench_style": [c for c in proxy if c.source == "mtbench_style"],
            "gsm8k_style": [c for c in proxy if c.source == "gsm8k_style"],
            "issues: quick vs rest": [c for c in proxy if c.style == "issues"],
            "uncommonroute dev: simple vs medium": dev,
            "uncommonroute dev: medium vs harder": dev}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", default=None, help="../shared/eval (default: ROUTERD_EVAL_DIR)")
    parser.add_argument("--litellm-path", default=None, help="site-packages of a venv with litellm installed")
    args = parser.parse_args()
    groups = stand_ins(sets.shared_dir(args.shared))
    model = default_model()
    report: dict[str, dict[str, float | None]] = {}
    print(f"{'stand-in':<38} {'router':<14} {'here':>6} {'issue':>6}")
    for name, cases in groups.items():
        scores = {"shipped": [p.score for p in predictions(model, cases)],
                  "hand-written": [r.score for r in baseline_results(BASELINE, cases)[0]],
                  "length": [float(len(last_user_text(c))) for c in cases]}
        if args.litellm_path:
            scores["litellm"] = litellm_scores(args.litellm_path, [last_user_text(c) for c in cases])
        report[name] = {}
        for router, values in scores.items():
            here, issue = round(figure(name, cases, values), 3), ISSUE[name].get(router)
            report[name][router] = here
            print(f"{name:<38} {router:<14} {here:>6.3f} {issue if issue is not None else '-':>6}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"here": report, "issue": ISSUE}, indent=1))
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
