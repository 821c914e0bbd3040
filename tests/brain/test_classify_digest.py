"""The classifier's outputs on the labelled sets, pinned by digest: speed work must not change them.

A change to the rules is meant to change these; then rerun bench/eval_classifier.py, and replace the
digest with the one the failure prints.
"""

import hashlib
import json
from pathlib import Path

import pytest

from routerd.classify.heuristic import classify

ROOT = Path(__file__).resolve().parents[2]
DEV = ROOT.parent / "shared" / "eval" / "dev.jsonl"
HELDOUT = sorted((ROOT / "bench" / "data").glob("*.jsonl"))
DEV_DIGEST = "80fba6c00de1dc5a573984e7d18a7e066e518e8f1fcf74d4649f7bc2dc3228bb"
HELDOUT_DIGEST = "bf2d88d692c360245127e6b19665c43b44594bdf450b49161e3f5a52a4615dcc"


def outputs_digest(paths: list[Path]) -> str:
    """sha256 over every case's tier, task type, confidence, signals and level, in file order."""
    digest = hashlib.sha256()
    for path in paths:
        for line in path.read_text().splitlines():
            if line.strip():
                row = json.loads(line)
                c = classify(row["messages"], row.get("tools"))
                digest.update(json.dumps([c.tier, c.task_type, c.confidence, c.signals, c.level5]).encode())
    return digest.hexdigest()


def test_heldout_outputs_unchanged():
    """Every held-out case (bench/data) classifies exactly as when the digest was taken."""
    assert outputs_digest(HELDOUT) == HELDOUT_DIGEST


@pytest.mark.skipif(not DEV.exists(), reason="shared/eval/dev.jsonl not beside the repo")
def test_dev_outputs_unchanged():
    """Every dev-set case classifies exactly as when the digest was taken."""
    assert outputs_digest([DEV]) == DEV_DIGEST
