"""The labelled data the brain is trained and measured on, and how it is split.

Sources (each with its own label style, so each gets its own cut points in the ordinal model):

| source | where | label |
| --- | --- | --- |
| `dev` | `<shared>/eval/dev.jsonl` | tier, task type (routerd's label style) |
| `team` | `bench/data/heldout*.jsonl` | the same style, written by the team |
| `written` | `bench/data/written/*.jsonl` | the same style, written for the learned model (agent traffic, bug reports, pastes, follow-ups, maths, languages) |
| `uncommonroute` | `<shared>/eval/train/uncommonroute_{train,dev}.jsonl` | SIMPLE / MEDIUM / COMPLEX / REASONING |
| `mmlu` | `<shared>/eval/train/routellm_mmlu.jsonl` | whether a weak and a strong model answered right (level 1: only the strong one) |
| `ypollak2` | `<shared>/eval/peers/peer_cases_ypollak2.jsonl` | simple / moderate / complex / deep_reasoning, task type |
| `gsm8k` | `bench/data/outside/gsm8k_train_steps.jsonl` | GSM8K's train split: operations in the reference solution (2..6+) |

`bench/data/proxy/` (MT-Bench-, GSM8K- and issue-shaped prompts, labelled by stated rules) is read
only by `proxy_sets`, for the bench: never fitted on. `bench/data/unseen/` to `unseen113/` are
routerd-style prompts, each folder written by two or three writers who never ran a classifier,
after a model was frozen; each measured one model untouched (bench/data/README.md says which).
Once a folder has measured its model it joins the training data (`TRAINED_DIRS`: new writers
raised the tier on other new writers' prompts more than any feature or setting did, docs/brain.md,
Method step 7); the newest (`HELD_OUT_DIRS`) are held out whole, read only by `unseen`. Between
them, `CALIBRATION_DIRS` (writers the model never trained on) are read only by
`routerd.classify.train.recalibrate`, which fits the model's two calibrations on them
(docs/rounds/73.md).

Splits are fixed by a hash of each case's source and id (no random state): every routerd-style
case outside `HELD_OUT_DIRS` trains (a quarter of them, `final`, was held out until the folders
joined); UncommonRoute's own dev file is held out whole; a fifth of MMLU, of GSM8K and of
ypollak2's cases are held out; a third of MMLU and three fifths of GSM8K train, and another fifth
of each (`tune`) is where the settings were chosen. Cross-validation folds inside the training
part are drawn from the seed.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import msgspec

from routerd.classify.types import TASK_TYPES

ROOT = Path(__file__).resolve().parents[3]
BENCH_DATA = ROOT / "bench" / "data"
HELD_SHARE = 20  # percent of MMLU and ypollak2 cases held out
# MMLU is a weak signal (one label style among four) with a large vocabulary; a third of its
# training part is enough for its weight and keeps a fit under a minute.
MMLU_TRAIN_SHARE = 33
# Another fifth of MMLU picks the training settings (APGR printed by `--tune`): the held-out fifth
# is never used to choose anything.
MMLU_TUNE_SHARE = 20
TIER_LEVEL = {"simple": 0, "moderate": 1, "complex": 2}
UR_LEVEL = {"SIMPLE": 0, "MEDIUM": 1, "COMPLEX": 2, "REASONING": 3}
YP_LEVEL = {"simple": 0, "moderate": 1, "complex": 2, "deep_reasoning": 2}
STYLE_SOURCES = ("dev", "team", "written")
# Levels per label style: the ordinal model fits one cut point between each pair of levels.
LEVELS = {"routerd": 3, "uncommonroute": 4, "mmlu": 2, "ypollak2": 3, "gsm8k": 5}
# GSM8K's train split: levels by the steps of the reference solution (<=2, 3, 4, 5, >=6).
GSM8K_FILE = BENCH_DATA / "outside" / "gsm8k_train_steps.jsonl"
GSM8K_MIN_STEPS = 2
GSM8K_MAX_LEVEL = 4


class Case(msgspec.Struct, kw_only=True):
    """One labelled conversation."""

    id: str
    source: str  # dev | team | written | <unseen folder>/<file> | uncommonroute | mmlu | ypollak2 | gsm8k
    style: str  # the label style: routerd | uncommonroute | mmlu | ypollak2; outcome | issues (proxy sets)
    split: str  # train | heldout | tune | unused | proxy | one of HELD_OUT_DIRS
    messages: list
    tools: list | None = None
    level: int | None = None  # the tier in the style's levels; None when only a task type is known
    task_type: str | None = None
    lang: str = "en"
    outcome: tuple[bool, bool] | None = None  # MMLU: (weak right, strong right)
    file: str = ""
    category: str = ""  # the proxy sets' MT-Bench category


def shared_dir(given: str | None = None) -> Path:
    """`<shared>/eval`: `--shared`, else $ROUTERD_EVAL_DIR, else a `shared/eval` beside the repository
    (the main checkout's parent, or a worktree's grandparent)."""
    candidates = [given, os.environ.get("ROUTERD_EVAL_DIR"), ROOT.parent / "shared" / "eval",
                  ROOT.parent.parent / "shared" / "eval"]
    for candidate in candidates:
        if candidate and Path(candidate, "dev.jsonl").exists():
            return Path(candidate)
    raise SystemExit("shared/eval not found: give --shared DIR or set ROUTERD_EVAL_DIR")


def bucket(*parts: str) -> int:
    """A stable 0..99 bucket for a case (sha256 of its source and id)."""
    return int(hashlib.sha256("|".join(parts).encode()).hexdigest()[:8], 16) % 100


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _style_cases(path: Path, source: str, split: str = "train") -> list[Case]:
    cases = []
    for row in _rows(path):
        cases.append(Case(
            id=f"{path.name}:{row['id']}", source=source, style="routerd", messages=row["messages"],
            tools=row.get("tools"), split=split,
            level=TIER_LEVEL[row["tier"]], task_type=row.get("task_type"), lang=row.get("lang", "en"),
            file=path.name,
        ))
    return cases


def routerd_style(shared: Path) -> list[Case]:
    """dev.jsonl, the team's files, the written files and the test folders that have measured their model."""
    return _style_cases(shared / "dev.jsonl", "dev") + _team_and_written() + _folders(TRAINED_DIRS, train=True)


def _team_and_written() -> list[Case]:
    cases = []
    for path in sorted(BENCH_DATA.glob("heldout*.jsonl")):
        cases += _style_cases(path, "team")
    for path in sorted((BENCH_DATA / "written").glob("*.jsonl")):
        cases += _style_cases(path, "written")
    return cases


def repository_heldout() -> list[Case]:
    """The held-out cases kept in this repository (no shared directory needed): GSM8K's held-out
    fifth, the held-out test folders and the proxy sets."""
    return [c for c in gsm8k() if c.split == "heldout"] + unseen() + proxy_sets()


# The test folders, oldest first (bench/data/README.md: who wrote each, and the model it measured).
TRAINED_DIRS = ("unseen",) + tuple(f"unseen{n}" for n in range(2, 94))
CALIBRATION_DIRS = tuple(f"unseen{n}" for n in range(94, 106))
HELD_OUT_DIRS = tuple(f"unseen{n}" for n in range(106, 114))


def unseen() -> list[Case]:
    """The held-out test folders (`HELD_OUT_DIRS`), every case split by its folder's name: never
    trained on; only the bench reads them."""
    return _folders(HELD_OUT_DIRS, train=False)


def calibration() -> list[Case]:
    """The calibration folders (`CALIBRATION_DIRS`), every case split by its folder's name: never
    trained on; read only where the model's calibrations are fitted."""
    return _folders(CALIBRATION_DIRS, train=False)


def _folders(folders: tuple[str, ...], train: bool) -> list[Case]:
    cases = []
    for folder in folders:
        for path in sorted((BENCH_DATA / folder).glob("*.jsonl")):
            cases += _style_cases(path, f"{folder}/{path.stem}", "train" if train else folder)
    return cases


def uncommonroute(shared: Path) -> list[Case]:
    cases = []
    for name, split in (("uncommonroute_train.jsonl", "train"), ("uncommonroute_dev.jsonl", "heldout")):
        for row in _rows(shared / "train" / name):
            cases.append(Case(id=row["id"], source="uncommonroute", style="uncommonroute", split=split,
                              messages=row["messages"], level=UR_LEVEL[row["source_tier"]],
                              lang=row.get("lang", "en"), file=name))
    return cases


def mmlu(shared: Path) -> list[Case]:
    """MMLU questions; level 1 = only the strong model answered right. When both failed the cheap
    model was as good as the strong one (`train/README.md`): level 0, as when the weak one was right.
    Routing such a question up buys nothing, so a ranking that learns to avoid it scores higher."""
    cases = []
    for row in _rows(shared / "train" / "routellm_mmlu.jsonl"):
        weak, strong = bool(row["weak_ok"]), bool(row["strong_ok"])
        level = int(strong and not weak)
        cases.append(Case(id=row["id"], source="mmlu", style="mmlu", messages=row["messages"], level=level,
                          split=_mmlu_split(bucket("mmlu", row["id"])),
                          outcome=(weak, strong), file="routellm_mmlu.jsonl"))
    return cases


def _mmlu_split(b: int) -> str:
    if b < HELD_SHARE:
        return "heldout"
    if b < HELD_SHARE + MMLU_TRAIN_SHARE:
        return "train"
    return "tune" if b < HELD_SHARE + MMLU_TRAIN_SHARE + MMLU_TUNE_SHARE else "unused"


def ypollak2(shared: Path) -> list[Case]:
    cases = []
    for index, row in enumerate(_rows(shared / "peers" / "peer_cases_ypollak2.jsonl")):
        key = f"yp{index}:{row['prompt'][:40]}"
        task = row.get("task_type") if row.get("task_type") in TASK_TYPES else None
        level = YP_LEVEL.get(row.get("complexity") or "")
        if level is None and task is None:
            continue
        cases.append(Case(id=key, source="ypollak2", style="ypollak2",
                          messages=[{"role": "user", "content": row["prompt"]}], level=level, task_type=task,
                          split="heldout" if bucket("ypollak2", key) < HELD_SHARE else "train",
                          file="peer_cases_ypollak2.jsonl"))
    return cases


PROXY_DIR = BENCH_DATA / "proxy"
FIX_TIME_LEVEL = {"<15m": 0, "15m-1h": 1, "1-4h": 2, ">4h": 3}


def proxy_sets() -> list[Case]:
    """`bench/data/proxy/`: held-out stand-ins for the outside outcome and issue sets (see its README).
    Never trained or tuned on: only `bench/eval_classifier.py` reads them."""
    cases = []
    for name in ("mtbench_style", "gsm8k_style"):
        for row in _rows(PROXY_DIR / f"{name}.jsonl"):
            cases.append(Case(id=row["id"], source=name, style="outcome", split="proxy", messages=row["messages"],
                              level=row.get("steps"), outcome=(bool(row["weak_ok"]), bool(row["strong_ok"])),
                              file=f"{name}.jsonl", category=row.get("category", "")))
    for name in ("github_issues", "github_issues_libraries"):
        for row in _rows(PROXY_DIR / f"{name}.jsonl"):
            cases.append(Case(id=row["id"], source=name, style="issues", split="proxy", messages=row["messages"],
                              level=FIX_TIME_LEVEL[row["fix_time"]], lang=row["lang"], file=f"{name}.jsonl"))
    return cases


def gsm8k() -> list[Case]:
    """GSM8K's train split with the steps of each reference solution (`bench/data/outside/`):
    a fifth held out, a fifth to choose settings on (`tune`), the rest to fit."""
    cases = []
    for row in _rows(GSM8K_FILE):
        level = min(max(row["steps"] - GSM8K_MIN_STEPS, 0), GSM8K_MAX_LEVEL)
        b = bucket("gsm8k", row["id"])
        split = "heldout" if b < HELD_SHARE else ("tune" if b < 2 * HELD_SHARE else "train")
        cases.append(Case(id=row["id"], source="gsm8k", style="gsm8k", split=split, level=level,
                          messages=[{"role": "user", "content": row["question"]}],
                          outcome=(row["steps"] < 4, True), file=GSM8K_FILE.name))
    return cases


def load_all(shared: Path) -> list[Case]:
    """Every case of every source, with its split."""
    return routerd_style(shared) + uncommonroute(shared) + mmlu(shared) + ypollak2(shared) + gsm8k()


def data_digest(cases: list[Case]) -> str:
    """sha256 over every case (source, id, split, labels, messages): names the data a model saw."""
    digest = hashlib.sha256()
    for case in cases:
        digest.update(msgspec.json.encode([case.source, case.id, case.split, case.level, case.task_type,
                                           case.messages]))
    return digest.hexdigest()
