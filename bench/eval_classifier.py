"""Measure the routing brain on the labelled prompts.

Prints tier accuracy, the confusion matrix, the under-routing rate (complex sent to simple),
task-type accuracy (where labelled), every misclassified case, a held-out check (the set split
in two by id parity: each half's accuracy, so a rule that only fits one half shows), the
confidence calibration, and the latency of classify + policy for a 4 KB prompt. Writes JSON to
bench/results/eval_classifier.json. The peers' sets are reported for information only.

    .venv/bin/python bench/eval_classifier.py [--dev PATH] [--peers DIR] [--quiet]
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from routerd.classify.heuristic import classify  # noqa: E402
from routerd.classify.types import TIERS  # noqa: E402

DEFAULT_DEV = ROOT.parent / "shared" / "eval" / "dev.jsonl"
DEFAULT_PEERS = ROOT.parent / "shared" / "eval" / "peers"
RESULTS = ROOT / "bench" / "results" / "eval_classifier.json"
LATENCY_ROUNDS = 3000
LATENCY_REPEATS = 3
DEFAULT_HELDOUT = ROOT / "bench" / "data"

# How the peers' labels map onto routerd's three tiers.
PEER_TIER = {
    "simple": "simple", "moderate": "moderate", "complex": "complex", "deep_reasoning": "complex",
    "super_easy": "simple", "easy": "simple", "medium": "moderate", "hard": "complex", "super_hard": "complex",
}


def _load(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _score(rows: list[dict]) -> dict:
    confusion = {t: Counter() for t in TIERS}
    tier_ok = type_ok = type_n = under = complex_n = 0
    misses = []
    for row in rows:
        got = classify(row["messages"])
        confusion[row["tier"]][got.tier] += 1
        ok = got.tier == row["tier"]
        tier_ok += ok
        if row["tier"] == "complex":
            complex_n += 1
            under += got.tier == "simple"
        type_good = True
        if row.get("task_type"):
            type_n += 1
            type_good = got.task_type == row["task_type"]
            type_ok += type_good
        if not ok or not type_good:
            misses.append({
                "id": row["id"], "want": [row["tier"], row.get("task_type")], "got": [got.tier, got.task_type],
                "score": got.score, "confidence": got.confidence, "note": row.get("note", ""),
                "signals": list(got.signals),
            })
    n = len(rows)
    return {
        "n": n,
        "tier_accuracy": tier_ok / n if n else 0.0,
        "under_routing_rate": under / complex_n if complex_n else 0.0,
        "task_type_accuracy": type_ok / type_n if type_n else 0.0,
        "task_type_n": type_n,
        "confusion": {want: {got: confusion[want][got] for got in TIERS} for want in TIERS},
        "misses": misses,
    }


def _calibration(rows: list[dict]) -> list[dict]:
    buckets: dict[str, list[int]] = {}
    for row in rows:
        got = classify(row["messages"])
        key = f"{min(int(got.confidence * 10), 9) / 10:.1f}"
        buckets.setdefault(key, []).append(got.tier == row["tier"])
    return [{"confidence": k, "n": len(v), "accuracy": sum(v) / len(v)} for k, v in sorted(buckets.items())]


def _latency() -> dict:
    para = ("We run a payments service on Postgres and Redis; under load the p99 latency climbs and some "
            "workers time out while holding a lock. ")
    prompt = (para * 40)[:3000] + "\n```python\n" + ("x = compute(a, b)  # step\n" * 40)[:1000] + "```\nwhy?"
    messages = [{"role": "user", "content": prompt}]
    from routerd.catalogue.builtin import load_catalogue
    from routerd.policy import PolicyInput, decide as policy_decide

    catalogue = load_catalogue()

    def decide(c):
        # As the daemon's `route` decides unless --explain is given: no per-model verdicts.
        return policy_decide(PolicyInput(classification=c, catalogue=catalogue, explain=False,
                                         enabled_providers=frozenset({"anthropic", "openai", "ollama"})))
    # As in the daemon (routerd/main.py): what was imported before serving is frozen out of the
    # collector, so collections only scan the objects a request makes.
    gc.collect()
    gc.freeze()
    # The machine is shared: each of LATENCY_REPEATS runs is timed, and the quietest run is
    # reported next to the noisiest so that contention from other processes is visible.
    runs = []
    for _ in range(LATENCY_REPEATS):
        samples = []
        for _ in range(LATENCY_ROUNDS):
            start = time.perf_counter_ns()
            decide(classify(messages))
            samples.append((time.perf_counter_ns() - start) / 1000)
        samples.sort()
        runs.append((round(statistics.median(samples), 1), round(samples[int(len(samples) * 0.99) - 1], 1)))
    runs.sort(key=lambda r: r[1])
    return {
        "prompt_bytes": len(prompt.encode()),
        "with_policy": True,
        "rounds": LATENCY_ROUNDS,
        "p50_us": runs[0][0],
        "p99_us": runs[0][1],
        "noisiest_run_p50_us": runs[-1][0],
        "noisiest_run_p99_us": runs[-1][1],
    }


def _peers(directory: Path) -> dict:
    out = {}
    for path in sorted(directory.glob("*.jsonl")):
        rows = []
        for raw in _load(path):
            label = raw.get("complexity") or raw.get("label")
            tier = PEER_TIER.get(label or "")
            if tier and raw.get("prompt"):
                rows.append({"id": "", "messages": [{"role": "user", "content": raw["prompt"]}], "tier": tier,
                             "task_type": raw.get("task_type") if raw.get("task_type") in
                             ("query", "code", "analyze", "generate", "research", "chat") else None})
        if rows:
            scored = _score(rows)
            scored.pop("misses")
            out[path.name] = scored
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dev", type=Path, default=DEFAULT_DEV)
    parser.add_argument("--peers", type=Path, default=DEFAULT_PEERS)
    parser.add_argument("--heldout", type=Path, default=DEFAULT_HELDOUT,
                        help="a file or a folder of .jsonl cases written after the rules, labelled before "
                             "running (see bench/data/README.md)")
    parser.add_argument("--quiet", action="store_true", help="do not list the misclassified cases")
    args = parser.parse_args()
    if not args.dev.is_file():
        parser.error(f"{args.dev}: no such file. The labelled dev set is kept outside the repository "
                     "(../shared/eval/dev.jsonl beside this checkout); give its path with --dev FILE")
    rows = _load(args.dev)
    report = _score(rows)
    halves = {"even": _score([r for i, r in enumerate(rows) if i % 2 == 0]),
              "odd": _score([r for i, r in enumerate(rows) if i % 2 == 1])}
    report["halves"] = {k: {m: v[m] for m in ("n", "tier_accuracy", "under_routing_rate", "task_type_accuracy")}
                        for k, v in halves.items()}
    report["calibration"] = _calibration(rows)
    report["latency"] = _latency()
    report["peers"] = _peers(args.peers) if args.peers.exists() else {}
    # heldout2 before heldout10: files are listed in the order they were written.
    heldout_files = (sorted(args.heldout.glob("*.jsonl"), key=lambda p: (len(p.stem), p.stem))
                     if args.heldout.is_dir() else [args.heldout])
    report["heldout"] = {}
    for path in heldout_files:
        if path.exists():
            scored = _score(_load(path))
            report["heldout"][path.name] = {k: scored[k] for k in ("n", "tier_accuracy", "under_routing_rate",
                                                                   "task_type_accuracy", "confusion", "misses")}

    print(f"dev set: {args.dev} ({report['n']} cases)")
    print(f"tier accuracy        {report['tier_accuracy']:.1%}")
    print(f"under-routing        {report['under_routing_rate']:.1%}  (complex -> simple)")
    print(f"task-type accuracy   {report['task_type_accuracy']:.1%}  (over {report['task_type_n']} labelled)")
    print("confusion (rows = label, columns = predicted):")
    print("            " + "".join(f"{t:>10}" for t in TIERS))
    for want in TIERS:
        print(f"  {want:<10}" + "".join(f"{report['confusion'][want][got]:>10}" for got in TIERS))
    for name, half in report["halves"].items():
        print(f"half {name:<5} n={half['n']:<3} tier {half['tier_accuracy']:.1%}  under {half['under_routing_rate']:.1%}"
              f"  type {half['task_type_accuracy']:.1%}")
    print("calibration: " + "  ".join(f"{b['confidence']}:{b['accuracy']:.0%}/{b['n']}" for b in report["calibration"]))
    lat = report["latency"]
    print(f"latency classify{'+policy' if lat['with_policy'] else ''} ({lat['prompt_bytes']} B, best of "
          f"{LATENCY_REPEATS} runs x {LATENCY_ROUNDS}): p50 {lat['p50_us']} us, p99 {lat['p99_us']} us "
          f"(noisiest run: p50 {lat['noisiest_run_p50_us']} us, p99 {lat['noisiest_run_p99_us']} us)")
    for name, h in report["heldout"].items():
        print(f"held-out {name}: n={h['n']} tier {h['tier_accuracy']:.1%} under "
              f"{h['under_routing_rate']:.1%} type {h['task_type_accuracy']:.1%}  misses: "
              + " ".join(m["id"] for m in h["misses"]))
    if report["heldout"]:
        total = sum(h["n"] for h in report["heldout"].values())
        tier_ok = sum(round(h["tier_accuracy"] * h["n"]) for h in report["heldout"].values())
        print(f"held-out, all files: n={total} tier {tier_ok / total:.1%} (first runs, before any fix "
              "they prompted, are in bench/data/README.md)")
    for name, peer in report["peers"].items():
        print(f"peers {name}: n={peer['n']} tier {peer['tier_accuracy']:.1%} under {peer['under_routing_rate']:.1%}"
              f" type {peer['task_type_accuracy']:.1%} (information only: their labels, their opinions)")
    if not args.quiet:
        print("misclassified:")
        for miss in report["misses"]:
            print(f"  {miss['id']}: want {miss['want']} got {miss['got']} score={miss['score']} "
                  f"conf={miss['confidence']} ({miss['note']})\n      {' '.join(miss['signals'])}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
