"""Measure the routing brain on every held-out set: the hand-written brain, the previous learned one
and this tree's, side by side in one run.

For each set: tier accuracy, complex sent to simple, task-type accuracy, AUC of the score between
tiers, APGR where outcomes exist, expected calibration error of `confidence`; for UncommonRoute's
dev split the AUC of each tier boundary for English and other languages; for issue texts the AUC
between quick fixes and the rest and the share of the hardest sent to simple. Then the latency of
classify (each brain) and of classify + policy (this tree) for a 4 KB prompt, and for ~1 KB of
German, Russian and Japanese (each takes its own path through the tokeniser). Writes
bench/results/eval_classifier.json.

Sets (see routerd/classify/train/data.py): UncommonRoute's dev file; a fifth of MMLU, of GSM8K's
train split and of ypollak2's cases; the held-out test folders (`HELD_OUT_DIRS`: bench/data/unseen106/
to unseen113/, routerd-style prompts by twenty-four writers, never trained on or calibrated on; used to choose only
by the rule written before their first run, docs/rounds/ and docs/brain.md, Method step 8); and
bench/data/proxy/ (our MT-Bench-style, GSM8K-style and GitHub-issue sets, never
trained on). `--train-splits` adds the training
splits (not a measure of generalisation: the model was fitted on them).

The earlier brains (`--baseline REF`, the hand-written one; `--previous REF`, the learned one before
this model's round of data and features; '' skips either) run from `git archive REF routerd` in a subprocess, on the same cases.

    .venv/bin/python bench/eval_classifier.py [--shared DIR] [--baseline REF] [--previous REF]
        [--train-splits] [--quiet] [--full] [--instructions]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from routerd.classify.classifier import classify  # noqa: E402
from routerd.classify.train import data as sets  # noqa: E402
from routerd.classify.train.evaluate import evaluate, print_table  # noqa: E402

from _latency import LATENCY_REPEATS, LATENCY_ROUNDS, OTHER_LANGUAGES, PROMPT_4KB, latency, routerd_at  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "eval_classifier.json"
BASELINE = "3b9ad12"  # main before the learned brain (the hand-tuned heuristic)
PREVIOUS = "4497950"  # main before round 73 fitted the calibration on unseen94/-105/ (15b14591)

# Runs in a subprocess with an earlier checkout's `routerd` first on sys.path: reads cases as JSON
# lines on stdin, writes one classification per line.
_BASELINE_RUNNER = """
import json, statistics, sys, time
sys.path.insert(0, sys.argv[1])
try:
    from routerd.classify.heuristic import classify
    options = {}
except ImportError:
    from routerd.classify.classifier import classify
    options = {"explain": False}
for line in sys.stdin:
    case = json.loads(line)
    if "latency_prompt" in case:
        messages = [{"role": "user", "content": case["latency_prompt"]}]
        samples = []
        for _ in range(case["rounds"]):
            start = time.perf_counter_ns()
            classify(messages, **options)
            samples.append((time.perf_counter_ns() - start) / 1000)
        samples.sort()
        print(json.dumps({"p50_us": statistics.median(samples), "p99_us": samples[int(len(samples) * 0.99) - 1]}))
        continue
    c = classify(case["messages"], case.get("tools"), **options)
    print(json.dumps({"tier": c.tier, "task_type": c.task_type, "score": c.score, "confidence": c.confidence}))
"""


class _Result:
    def __init__(self, row: dict) -> None:
        self.tier, self.task_type = row["tier"], row["task_type"]
        self.score, self.confidence = row["score"], row["confidence"]


def baseline_results(ref: str, cases: list[sets.Case], latency_rounds: int = 0) -> tuple[list[_Result], dict]:
    """The earlier brain's classification of every case, in order, and its classify latency on the
    4 KB prompt (classify only: its policy was the same kind of ranking)."""
    with routerd_at(ROOT, ref) as tmp:
        payload = "".join(json.dumps({"messages": c.messages, "tools": c.tools}) + "\n" for c in cases)
        if latency_rounds:
            payload += json.dumps({"latency_prompt": PROMPT_4KB, "rounds": latency_rounds}) + "\n"
        out = subprocess.run([sys.executable, "-c", _BASELINE_RUNNER, tmp], input=payload, text=True,
                             capture_output=True, check=True).stdout.splitlines()
    timing = json.loads(out.pop()) if latency_rounds else {}
    return [_Result(json.loads(line)) for line in out], timing


_RSS_RUNNER = """
import sys
def rss():
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:")) / 1024
import routerd.policy, routerd.catalogue.builtin, msgspec  # what the daemon has loaded anyway
before = rss()
from routerd.classify.classifier import classify
classify([{"role": "user", "content": "warm up the model and the cue tables"}])
print(round(rss() - before, 1))
"""


_INSTRUCTIONS_RUNNER = """
import sys
sys.path.insert(0, sys.argv[1])
from _latency import PROMPT_4KB
from routerd.catalogue.builtin import load_catalogue
from routerd.classify.classifier import classify
from routerd.policy import PolicyInput, decide
catalogue, enabled = load_catalogue(), frozenset({"anthropic", "openai", "ollama"})
messages = [{"role": "user", "content": PROMPT_4KB}]
explain = sys.argv[3] == "explain"
for _ in range(3 + int(sys.argv[2])):
    result = classify(messages, explain=explain)
    decide(PolicyInput(classification=result, catalogue=catalogue, enabled_providers=enabled, explain=False))
"""
INSTRUCTION_CALLS = 100


def instructions_per_call(explain: bool = False) -> int:
    """Instructions per classify + policy of the 4 KB prompt, counted by valgrind's callgrind: the
    difference between INSTRUCTION_CALLS calls and none, divided. Exact, whatever the machine's load.
    `explain`: with the top features named, as the daemon's `classify` and `route --explain` do."""
    totals = []
    for calls in (0, INSTRUCTION_CALLS):
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "callgrind.out"
            subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable, "-c",
                            _INSTRUCTIONS_RUNNER, str(ROOT / "bench"), str(calls),
                            "explain" if explain else "plain"],
                           capture_output=True, check=True, cwd=ROOT,
                           env={**os.environ, "PYTHONHASHSEED": "0"})  # set layouts vary with the seed
            totals.append(next(int(line.split()[1]) for line in out.read_text().splitlines()
                               if line.startswith("summary:")))
    return (totals[1] - totals[0]) // INSTRUCTION_CALLS


def brain_rss_mb() -> float:
    """What loading the brain (model, cue tables, classifier code) adds to a process's RSS, in MB."""
    out = subprocess.run([sys.executable, "-c", _RSS_RUNNER], capture_output=True, text=True, check=True,
                         cwd=ROOT).stdout
    return float(out.split()[-1])


HEADLINE = {
    "tier_accuracy": "tier", "complex_to_simple": "c->s", "task_type_accuracy": "task", "ece": "ECE",
    "apgr": "APGR", "apgr_oracle": "APGR oracle", "apgr_length": "APGR length", "auc_weak_fails": "AUC",
    "spearman_steps": "rho steps", "auc_easy_vs_harder": "AUC easy/harder", "hardest_to_simple": "1h+ ->simple",
    "auc_simple_medium": "AUC s/m", "auc_medium_complex": "AUC m/c",
}


def print_comparison(reports: dict[str, dict[str, dict]]) -> None:
    """The headline figures of every set, one line per brain, side by side."""
    names = sorted({name for sets_ in reports.values() for name in sets_})
    for name in names:
        print(f"{name}")
        for brain, sets_ in reports.items():
            figs = sets_.get(name)
            if not figs:
                continue
            parts = []
            for part, values in ([("", figs)] + [(k + " ", v) for k, v in figs.items() if isinstance(v, dict)]):
                shown = [f"{HEADLINE[k]} {v:.3f}" for k, v in values.items() if k in HEADLINE and isinstance(v, float)]
                if shown:
                    parts.append(part + ", ".join(shown))
            print(f"  {brain:<6} n={figs.get('n', '')}: " + "; ".join(parts))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", help="the shared eval folder (default: shared/eval beside the repo)")
    parser.add_argument("--baseline", default=BASELINE, help="git ref of the hand-written brain ('' to skip)")
    parser.add_argument("--previous", default=PREVIOUS, help="git ref of the previous learned brain ('' to skip)")
    parser.add_argument("--train-splits", action="store_true", help="also report the training splits")
    parser.add_argument("--quiet", action="store_true", help="skip the latency measurement")
    parser.add_argument("--full", action="store_true", help="print every figure of every brain, not only the headline")
    parser.add_argument("--instructions", action="store_true",
                        help="also count instructions per classify + policy with valgrind (a few minutes)")
    args = parser.parse_args()
    cases = sets.load_all(sets.shared_dir(args.shared))
    keep = ("heldout", "train") if args.train_splits else ("heldout",)
    cases = [c for c in cases if c.split in keep] + sets.unseen() + sets.proxy_sets()
    report: dict = {"cases": len(cases), "brains": {}}
    rounds = 0 if args.quiet else LATENCY_ROUNDS
    for label, ref in (("old", args.baseline), ("prev", args.previous)):
        if not ref:
            continue
        results, timing = baseline_results(ref, cases, rounds)
        lookup = {id(c): r for c, r in zip(cases, results)}
        report["brains"][label] = {"ref": ref, "sets": evaluate(cases, _by_identity(cases, lookup)),
                                   "classify_latency": timing}
    report["brains"]["new"] = {"ref": "working tree", "sets": evaluate(cases, lambda m, t: classify(m, t, explain=False))}
    if args.full:
        for label, brain in report["brains"].items():
            print(f"{label} ({brain['ref']}):")
            print_table(brain["sets"], f"  {label} ")
    print(f"{len(cases)} held-out cases; old = {args.baseline or '-'}, prev = {args.previous or '-'}, "
          "new = this tree (routerd/classify/data/brain.model)")
    print_comparison({label: brain["sets"] for label, brain in report["brains"].items()})
    if not args.quiet:
        for label, brain in report["brains"].items():
            timing = brain.get("classify_latency")
            if timing:
                print(f"{label} classify only, 4 KB: p50 {timing['p50_us']:.1f} us, p99 {timing['p99_us']:.1f} us")
        report["brain_rss_mb"] = brain_rss_mb()
        print(f"the brain adds {report['brain_rss_mb']} MB to a process's RSS (model, cue tables, code)")
        if args.instructions:
            report["instructions_per_call"] = instructions_per_call()
            report["instructions_per_call_explain"] = instructions_per_call(explain=True)
            print(f"classify + policy, 4 KB prompt: {report['instructions_per_call']:,} instructions per call, "
                  f"{report['instructions_per_call_explain']:,} with the top features named (callgrind)")
        report["latency"] = lat = latency()
        print(f"new classify+policy, {lat['prompt_bytes']} B prompt, medians of {LATENCY_REPEATS} runs x "
              f"{LATENCY_ROUNDS} calls (range over runs):")
        for name, label in (("wall", "wall"), ("cpu", "thread CPU"), ("classify_wall", "classify only, wall"),
                            ("floor", "fixed loop as long")):
            print(f"  {label:<20} p50 {lat[name + '_p50_us']} us {lat[name + '_p50_range_us']}, "
                  f"p99 {lat[name + '_p99_us']} us {lat[name + '_p99_range_us']}")
        report["latency_languages"] = {lang: latency(text, rounds=LATENCY_ROUNDS // 3)
                                       for lang, text in OTHER_LANGUAGES.items()}
        print(f"new classify+policy outside English (medians of {LATENCY_REPEATS} runs x {LATENCY_ROUNDS // 3} "
              "calls): " + "; ".join(
            f"{lang} {lat['prompt_bytes']} B p50 {lat['wall_p50_us']} us, p99 {lat['wall_p99_us']} us"
            for lang, lat in report["latency_languages"].items()))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=1, default=str))
    print(f"wrote {RESULTS}")


def _by_identity(cases: list[sets.Case], lookup: dict) -> object:
    """A classify function answering from precomputed results, matched by message list identity."""
    by_messages = {id(c.messages): lookup[id(c)] for c in cases}
    return lambda messages, tools: by_messages[id(messages)]


if __name__ == "__main__":
    main()
