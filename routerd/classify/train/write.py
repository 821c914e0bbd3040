"""Writing the model file (see `routerd.classify.model` for its layout)."""

from __future__ import annotations

import io
import json
import zipfile
from array import array
from importlib.metadata import version
from pathlib import Path

from routerd.classify.model import MODEL_FILE
from routerd.classify.neighbours import Neighbours
from routerd.classify.train.neighbours import layout
from routerd.classify.train import data as sets
from routerd.classify.train import fit
from routerd.classify.types import TASK_TYPES

# Zip entries carry this timestamp so that the same model gives the same bytes.
_EPOCH = (2020, 1, 1, 0, 0, 0)
# Where the package's model file is written (the trainer's and `recalibrate`'s default).
SHIPPED = Path(__file__).resolve().parents[1] / MODEL_FILE


def meta_json(meta: dict) -> bytes:
    """The `meta.json` member's bytes (one serialisation, so a rewritten file matches a trained one)."""
    return json.dumps(meta, indent=1, sort_keys=True).encode()


def zip_entry(archive: zipfile.ZipFile, name: str, payload: bytes) -> None:
    """Write `payload` as the member `name`, compressed, with the fixed timestamp."""
    info = zipfile.ZipInfo(name, date_time=_EPOCH)
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, payload)


def libraries() -> dict[str, str]:
    """The numerical libraries a fit ran on, and the BLAS kernels OpenBLAS chose for this CPU: the
    same data, seed and code give the same bytes only with the same ones."""
    from threadpoolctl import threadpool_info  # scikit-learn's dependency; reads the loaded BLAS

    found = {name: version(name) for name in ("numpy", "scipy", "scikit-learn")}
    # numpy and scipy each load their own OpenBLAS.
    blas = sorted({f"{pool.get('prefix')} {pool.get('version')} {pool.get('architecture')}"
                   for pool in threadpool_info() if pool.get("user_api") == "blas"})
    if blas:
        found["blas"] = ", ".join(blas)
    return found


def build_model_file(piece, calibration, settings, cases, cv, index: Neighbours) -> bytes:
    """The bytes of a model file for a trained `piece` (score view, cuts, task-type model) and its
    neighbour index."""
    vocab, coef, intercept = piece["types"]
    shipped = fit.as_shipped(coef, settings.prune, settings.type_step)
    score, upper = piece["score"], piece["upper"]
    names, values = [], array("f")
    # Every shared feature (no style or upper copy), whatever its score weight: the task-type model
    # has its own weights. `score` and `upper` hold only the weights kept at `settings.prune` (see
    # `train_once`); task-type weights under it are zeroed (`fit.as_shipped`), so the daemon keeps
    # no row for them.
    # A feature's copy for one task type (`settings.typed_features`) has score weights only.
    no_types = [0.0] * len(TASK_TYPES)
    for name in sorted({n for n in vocab.index if "|" not in n}.union(score, upper)):
        col = vocab.index.get(name)
        row = [score.get(name, 0.0), upper.get(name, 0.0)]
        row.extend(no_types if col is None else (float(v) for v in shipped[col]))
        if not any(row):
            continue
        names.append(name)
        values.extend(row)
    cuts = [float(c) for c in piece["cuts"]]
    (s_slope, s_offset), (m_slope, m_offset) = calibration
    meta = {
        "format": 2,
        "score_bias": 0.0,
        "calibration": {"simple": {"cut": cuts[0], "slope": s_slope, "offset": s_offset},
                        "moderate": {"cut": cuts[1], "slope": m_slope, "offset": m_offset}},
        "type_labels": list(TASK_TYPES),
        "type_bias": [float(v) for v in intercept],
        "neighbours": {"k": index.k, "budget": index.budget, "prior": index.prior, "weights": list(index.weights),
                       "upper_weights": list(index.upper_weights),
                       "documents": len(index.levels), "terms": index.terms()},
        "trained": {
            "command": "python -m routerd.classify.train",
            "data_digest": sets.data_digest(cases),
            "seed": settings.seed,
            "libraries": libraries(),
            "cases": {s: sum(1 for c in cases if c.split == "train" and c.source == s)
                      for s in sorted({c.source for c in cases})},
            "settings": {k: getattr(settings, k) for k in (
                "folds", "min_count", "l2", "copy_weight", "style_weight", "upper_weight", "writer_offset", "type_c", "type_weight", "prune", "type_step", "score_step",
                "neighbours_share", "neighbours_min_count", "neighbours_k", "neighbours_budget", "neighbours_l2")},
            "cross_validation": cv,
        },
    }
    if settings.typed_features:
        meta["typed_features"] = list(settings.typed_features)
        meta["trained"]["settings"]["typed_features"] = list(settings.typed_features)
        if settings.typed_styles:
            meta["trained"]["settings"]["typed_styles"] = list(settings.typed_styles)
        if settings.typed_offset:
            meta["trained"]["settings"]["typed_offset"] = settings.typed_offset
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        zip_entry(archive, "meta.json", meta_json(meta))
        zip_entry(archive, "features.txt", "\n".join(names).encode("utf-8"))
        zip_entry(archive, "weights.f32", values.tobytes())
        terms, starts, postings = layout(index)
        zip_entry(archive, "neighbours/terms.txt", "\n".join(terms).encode("utf-8"))
        zip_entry(archive, "neighbours/starts.u32", starts.tobytes())
        zip_entry(archive, "neighbours/postings.u16", postings.tobytes())
        zip_entry(archive, "neighbours/norms.f32", index.norms.tobytes())
        zip_entry(archive, "neighbours/levels.u8", index.levels)
    return buffer.getvalue()
