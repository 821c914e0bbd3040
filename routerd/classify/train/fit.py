"""Fitting: features to a sparse matrix, the ordinal difficulty model, calibration, task types.

The difficulty model is an all-threshold ordinal logistic regression (Rennie & Srebro 2005): one
latent score `s = w . x` per case and, per label style, cut points `c_1 < c_2 < ...`; each cut
contributes `log(1 + exp(-y_j (s - c_j)))` with `y_j = +1` when the case's level is above cut `j`.
The label styles disagree about where tiers begin (UncommonRoute calls many one-line explanations
MEDIUM that routerd calls simple), so every style has its own cut points, and its own copy of every
feature (Daume's feature augmentation): a feature's shared weight carries what all styles agree
on, a style's copy absorbs that style's quirks. The shipped score is the routerd view: shared +
routerd copy, cut at the routerd cut points.

One score for both of routerd's cuts would say that what makes an ask more than simple is what
makes it complex. It is not (fitted apart, the two directions' weights correlate at 0.36): routerd's
cases also carry an `upper` copy of every feature, read only at the second cut (partial
proportional odds, Peterson & Harrell 1990), so the moderate/complex cut has a score of its own,
the simple/moderate one's plus the upper copy's.

Calibration: Platt scaling of each cut, fitted on out-of-fold scores of the routerd-style training
cases. Task types: multinomial logistic regression on the same features.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse
from scipy.optimize import minimize
from scipy.special import expit, log_expit

from routerd.classify.train.data import LEVELS

ROUTERD = "routerd"
UPPER = "upper"  # the copy of a routerd feature read only at the second cut
WRITER = "writer"  # a routerd-style file's offset of the cut points (fitted, never shipped)
TYPE = "type"  # a task type's offset, beside its per-type copies (fitted, never shipped)


class Vocabulary:
    """Feature names seen in at least `min_count` training cases, with their column."""

    def __init__(self, feature_sets: list[set[str]], min_count: int) -> None:
        counts: dict[str, int] = {}
        for features in feature_sets:
            for name in features:
                counts[name] = counts.get(name, 0) + 1
        self.names = sorted(name for name, n in counts.items() if n >= min_count)
        self.index = {name: i for i, name in enumerate(self.names)}

    def matrix(self, feature_sets: list[set[str] | dict[str, float]]) -> sparse.csr_matrix:
        """Rows of binary features (a set), or of scaled ones (a dict: a style's feature copies)."""
        rows, cols, vals = [], [], []
        for r, features in enumerate(feature_sets):
            pairs = features.items() if isinstance(features, dict) else ((name, 1.0) for name in features)
            for name, value in pairs:
                col = self.index.get(name)
                if col is not None and value:
                    rows.append(r)
                    cols.append(col)
                    vals.append(value)
        return sparse.csr_matrix((vals, (rows, cols)), shape=(len(feature_sets), len(self.names)))


def augment(features: set[str], style: str, copy_weight: float, upper_weight: float = 0.0) -> dict[str, float]:
    """Shared features plus the style's own copy of each (scaled: the copy's prior strength), and
    with `upper_weight` the copy read only at the second cut."""
    out = dict.fromkeys(features, 1.0)
    if copy_weight:
        for name in features:
            out[f"{style}|{name}"] = copy_weight
    if upper_weight:
        for name in features:
            out[f"{UPPER}|{name}"] = upper_weight
    return out


def writer_of(case) -> str:
    """The writer of a routerd-style case: its file (each file is one writer's)."""
    return f"{case.source}/{case.file}"


def writer_offsets(writer: str, value: float) -> dict[str, float]:
    """A writer's indicator, read at both cuts: the writer's own offset of the cut points.

    Writers place the tier boundaries differently (the same model scores 72-87% tier on single
    writers' test files), and a feature weight fitted across writers learns part of whichever
    writers used it most. With an offset per writer (annotator bias, as in Dawid & Skene's
    per-annotator confusions, here only a shift), the weights carry what writers agree on. The
    offsets are never shipped: a request has no writer, so the model scores it at the shared cuts."""
    return offsets(WRITER, writer, value)


def offsets(kind: str, key: str, value: float) -> dict[str, float]:
    """An offset's indicator (`kind|key`: a writer's, a task type's), read at both cuts, at
    `value`; its name holds "|", so it is never in the shipped view."""
    return {f"{kind}|{key}": value, f"{UPPER}|{kind}|{key}": value}


def fit_ordinal(x: sparse.csr_matrix, levels: np.ndarray, styles: list[str], weights: np.ndarray,
                l2: float, start: dict[str, float] | None = None, names: list[str] | None = None,
                iterations: int = 600, upper: np.ndarray | None = None) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Weights and per-style cut points of the all-threshold ordinal model (L-BFGS).

    `upper` (a boolean per column of `x`): columns read only at a style's second and later cuts.

    `start` (feature name -> weight, with `names` the columns of `x`) warm-starts the search; the
    problem is strictly convex, so it changes only how long the search takes, not where it ends.
    """
    n, d = x.shape
    style_names = sorted(set(styles))
    offsets, at = {}, d
    for name in style_names:
        offsets[name] = at
        at += LEVELS[name] - 1
    rows, cuts, signs, later = [], [], [], []
    for i, (level, style) in enumerate(zip(levels, styles)):
        for j in range(LEVELS[style] - 1):
            rows.append(i)
            cuts.append(offsets[style] + j - d)
            signs.append(1.0 if level > j else -1.0)
            later.append(float(j > 0))
    rows_a, cuts_a, signs_a, later_a = np.array(rows), np.array(cuts), np.array(signs), np.array(later)
    lower = None if upper is None else ~upper
    row_w = weights[rows_a]
    n_cuts = at - d
    xt = x.T.tocsr()

    def loss(params: np.ndarray) -> tuple[float, np.ndarray]:
        w, c = params[:d], params[d:]
        if upper is None:
            s = (x @ w)[rows_a]
        else:
            s = (x @ (w * lower))[rows_a] + later_a * (x @ (w * upper))[rows_a]
        z = signs_a * (s - c[cuts_a])
        value = -(row_w * log_expit(z)).sum() + 0.5 * l2 * (w @ w)
        g = -row_w * expit(-z) * signs_a
        grad_w = xt @ np.bincount(rows_a, g, minlength=n) + l2 * w
        if upper is not None:
            grad_w[upper] = (xt @ np.bincount(rows_a, g * later_a, minlength=n))[upper] + l2 * w[upper]
        grad_c = -np.bincount(cuts_a, g, minlength=n_cuts)
        return value, np.concatenate([grad_w, grad_c])

    begin = np.zeros(d + n_cuts)
    for name in style_names:
        k = LEVELS[name] - 1
        begin[offsets[name] : offsets[name] + k] = start.get(f"cut:{name}", np.linspace(-1.0, 1.0, k)) if start \
            else np.linspace(-1.0, 1.0, k)
    if start and names:
        begin[:d] = [start.get(name, 0.0) for name in names]
    result = minimize(loss, begin, jac=True, method="L-BFGS-B",
                      options={"maxiter": iterations, "ftol": 1e-10, "gtol": 1e-6})
    params = result.x
    cut_points = {name: np.sort(params[offsets[name] : offsets[name] + LEVELS[name] - 1]) for name in style_names}
    return params[:d], cut_points


def platt(margin: np.ndarray, target: np.ndarray) -> tuple[float, float]:
    """(slope, offset) of p = sigmoid(slope * margin + offset), by logistic regression on one input."""
    w, offset = logistic(margin[:, None], target, 0.0)
    return float(w[0]), offset


def logistic(x: np.ndarray, target: np.ndarray, l2: float) -> tuple[np.ndarray, float]:
    """(weights, offset) of p = sigmoid(x . weights + offset): a logistic regression on a few dense
    columns, the weights under an L2 penalty of `l2`."""
    y = np.where(target, 1.0, -1.0)

    def loss(p: np.ndarray) -> tuple[float, np.ndarray]:
        z = x @ p[:-1] + p[-1]
        g = -y * expit(-y * z)
        value = -log_expit(y * z).sum() + 0.5 * l2 * (p[:-1] @ p[:-1])
        return value, np.append(x.T @ g + l2 * p[:-1], g.sum())
    begin = np.zeros(x.shape[1] + 1)
    begin[0] = 1.0
    result = minimize(loss, begin, jac=True, method="L-BFGS-B")
    return result.x[:-1], float(result.x[-1])


def in_steps(weight: float, step: float) -> float:
    """A score weight as the model file holds it: in steps of `step` (a power of two, so exact in
    float32), which the reader keeps as one object per distinct value."""
    return float(round(weight / step)) * step


def as_shipped(coef: np.ndarray, prune: float, step: float) -> np.ndarray:
    """Task-type weights as the model file holds them: under `prune` zeroed, the rest in steps of
    `step` (+ 0.0 so that a weight rounded to zero is 0.0, never -0.0, as the file has always held)."""
    return np.where(np.abs(coef) >= prune, np.round(coef / step) * step + 0.0, 0.0)


def fit_types(x: sparse.csr_matrix, labels: list[str], weights: np.ndarray, classes: tuple[str, ...],
              c: float) -> tuple[np.ndarray, np.ndarray]:
    """(coefficients [features x classes], intercepts) of a multinomial logistic regression."""
    from sklearn.linear_model import LogisticRegression

    y = np.array([classes.index(label) for label in labels])
    model = LogisticRegression(C=c, max_iter=3000)
    model.fit(x, y, sample_weight=weights)
    coef = np.zeros((x.shape[1], len(classes)))
    intercept = np.zeros(len(classes))
    if len(model.classes_) == 2:
        # A binary fit has one row: the second class's logit against the first's (zero).
        coef[:, model.classes_[1]] = model.coef_[0]
        intercept[model.classes_[1]] = model.intercept_[0]
        return coef, intercept
    for k, cls in enumerate(model.classes_):
        coef[:, cls] = model.coef_[k]
        intercept[cls] = model.intercept_[k]
    return coef, intercept
