"""Measure the routing brain on every labelled set, next to an earlier brain in the same run.

For each set: tier accuracy, complex sent to simple, task-type accuracy, AUC of the score between
tiers, APGR where model outcomes exist (MMLU), expected calibration error of `confidence`, and for
UncommonRoute's dev split the AUC of each tier boundary for English and other languages. Then the
latency of classify + policy for a 4 KB prompt. Writes bench/results/eval_classifier.json.

Sets (see routerd/classify/train/data.py): the held-out quarter (`final`) of dev.jsonl, of the
team's bench/data/heldout*.jsonl and of bench/data/written/; UncommonRoute's dev file; a fifth of
MMLU and of ypollak2's cases. `--train-splits` adds the training splits (not a measure of
generalisation: the model was fitted on them).

The earlier brain (`--baseline REF`, default the commit before the learned model; `--baseline ''`
to skip) runs from `git archive REF routerd` in a subprocess, on the same cases.

    .venv/bin/python bench/eval_classifier.py [--shared DIR] [--baseline REF] [--train-splits] [--quiet]
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from routerd.classify.classifier import classify  # noqa: E402
from routerd.classify.train import data as sets  # noqa: E402
from routerd.classify.train.evaluate import evaluate, print_table  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "eval_classifier.json"
BASELINE = "3b9ad12"  # main before the learned brain (the hand-tuned heuristic)
LATENCY_ROUNDS = 3000
LATENCY_REPEATS = 3
_PARA = ("We run a payments service on Postgres and Redis; under load the p99 latency climbs and some "
         "workers time out while holding a lock. ")
PROMPT_4KB = (_PARA * 40)[:3000] + "\n```python\n" + ("x = compute(a, b)  # step\n" * 40)[:1000] + "```\nwhy?"

# Runs in a subprocess with an earlier checkout's `routerd` first on sys.path: reads cases as JSON
# lines on stdin, writes one classification per line.
_BASELINE_RUNNER = """
import json, statistics, sys, time
sys.path.insert(0, sys.argv[1])
from routerd.classify.heuristic import classify
for line in sys.stdin:
    case = json.loads(line)
    if "latency_prompt" in case:
        messages = [{"role": "user", "content": case["latency_prompt"]}]
        samples = []
        for _ in range(case["rounds"]):
            start = time.perf_counter_ns()
            classify(messages)
            samples.append((time.perf_counter_ns() - start) / 1000)
        samples.sort()
        print(json.dumps({"p50_us": statistics.median(samples), "p99_us": samples[int(len(samples) * 0.99) - 1]}))
        continue
    c = classify(case["messages"], case.get("tools"))
    print(json.dumps({"tier": c.tier, "task_type": c.task_type, "score": c.score, "confidence": c.confidence}))
"""


class _Result:
    def __init__(self, row: dict) -> None:
        self.tier, self.task_type = row["tier"], row["task_type"]
        self.score, self.confidence = row["score"], row["confidence"]


def baseline_results(ref: str, cases: list[sets.Case], latency_rounds: int = 0) -> tuple[list[_Result], dict]:
    """The earlier brain's classification of every case, in order, and its classify latency on the
    4 KB prompt (classify only: its policy was the same kind of ranking)."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref, "routerd"], check=True,
                             capture_output=True).stdout
    with tempfile.TemporaryDirectory() as tmp:
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(tmp, filter="data")
        payload = "".join(json.dumps({"messages": c.messages, "tools": c.tools}) + "\n" for c in cases)
        if latency_rounds:
            payload += json.dumps({"latency_prompt": PROMPT_4KB, "rounds": latency_rounds}) + "\n"
        out = subprocess.run([sys.executable, "-c", _BASELINE_RUNNER, tmp], input=payload, text=True,
                             capture_output=True, check=True).stdout.splitlines()
    timing = json.loads(out.pop()) if latency_rounds else {}
    return [_Result(json.loads(line)) for line in out], timing


def latency() -> dict:
    """classify + policy (as `route` without --explain) for a 4 KB prompt: best and noisiest of 3 runs."""
    from routerd.catalogue.builtin import load_catalogue
    from routerd.policy import PolicyInput, decide

    catalogue = load_catalogue()
    messages = [{"role": "user", "content": PROMPT_4KB}]
    enabled = frozenset({"anthropic", "openai", "ollama"})
    # As in the daemon (routerd/main.py): what was imported before serving is frozen out of the collector.
    gc.collect()
    gc.freeze()
    runs, alone = [], []
    for _ in range(LATENCY_REPEATS):
        samples, classify_only = [], []
        for _ in range(LATENCY_ROUNDS):
            start = time.perf_counter_ns()
            result = classify(messages, explain=False)
            middle = time.perf_counter_ns()
            decide(PolicyInput(classification=result, catalogue=catalogue, enabled_providers=enabled, explain=False))
            samples.append((time.perf_counter_ns() - start) / 1000)
            classify_only.append((middle - start) / 1000)
        runs.append(_p50_p99(samples))
        alone.append(_p50_p99(classify_only))
    runs.sort(key=lambda r: r[1])
    alone.sort(key=lambda r: r[1])
    return {"prompt_bytes": len(PROMPT_4KB.encode()), "rounds": LATENCY_ROUNDS, "p50_us": runs[0][0],
            "p99_us": runs[0][1], "noisiest_run_p50_us": runs[-1][0], "noisiest_run_p99_us": runs[-1][1],
            "classify_only_p50_us": alone[0][0], "classify_only_p99_us": alone[0][1]}


def _p50_p99(samples: list[float]) -> tuple[float, float]:
    samples.sort()
    return round(statistics.median(samples), 1), round(samples[int(len(samples) * 0.99) - 1], 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", help="the shared eval folder (default: shared/eval beside the repo)")
    parser.add_argument("--baseline", default=BASELINE, help="git ref of the earlier brain ('' to skip)")
    parser.add_argument("--train-splits", action="store_true", help="also report the training splits")
    parser.add_argument("--quiet", action="store_true", help="skip the latency measurement")
    args = parser.parse_args()
    cases = sets.load_all(sets.shared_dir(args.shared))
    keep = ("final", "heldout", "train") if args.train_splits else ("final", "heldout")
    cases = [c for c in cases if c.split in keep]
    report: dict = {"cases": len(cases)}
    print(f"{len(cases)} cases; the learned brain (routerd/classify/data/brain.model):")
    report["learned"] = evaluate(cases, lambda m, t: classify(m, t, explain=False))
    print_table(report["learned"], "  new ")
    if args.baseline:
        results, timing = baseline_results(args.baseline, cases, 0 if args.quiet else LATENCY_ROUNDS)
        lookup = {id(c): r for c, r in zip(cases, results)}
        print(f"the earlier brain ({args.baseline}), same cases:")
        report["baseline"] = {"ref": args.baseline, "sets": evaluate(cases, _by_identity(cases, lookup)),
                              "classify_latency": timing}
        print_table(report["baseline"]["sets"], "  old ")
        if timing:
            print(f"  old classify only, 4 KB: p50 {timing['p50_us']:.1f} us, p99 {timing['p99_us']:.1f} us")
    if not args.quiet:
        report["latency"] = latency()
        lat = report["latency"]
        print(f"latency classify+policy ({lat['prompt_bytes']} B, best of {LATENCY_REPEATS} runs x "
              f"{LATENCY_ROUNDS}): p50 {lat['p50_us']} us, p99 {lat['p99_us']} us (noisiest run: "
              f"p50 {lat['noisiest_run_p50_us']} us, p99 {lat['noisiest_run_p99_us']} us); classify only: "
              f"p50 {lat['classify_only_p50_us']} us, p99 {lat['classify_only_p99_us']} us")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=1, default=str))
    print(f"wrote {RESULTS}")


def _by_identity(cases: list[sets.Case], lookup: dict) -> object:
    """A classify function answering from precomputed results, matched by message list identity."""
    by_messages = {id(c.messages): lookup[id(c)] for c in cases}
    return lambda messages, tools: by_messages[id(messages)]


if __name__ == "__main__":
    main()
