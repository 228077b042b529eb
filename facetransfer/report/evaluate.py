"""Numbers that say how good a model is, always beside the baseline it has to beat.

Two jobs:

* the 40 CelebA attributes: per attribute accuracy, balanced accuracy and the majority-class
  baseline (most attributes are rare, so "always answer no" is already right 90 % of the time
  for many of them; a model only earns credit for what it adds over that);
* recognising one person: ROC, AUC, a threshold chosen for a target false-accept rate of
  strangers, and a report that states how many photos of the person and of others it used.

Labels are 0/1 in memory (see DESIGN.md); scores are any finite numbers where higher means
"more likely positive". Decisions are always ``score >= threshold``. Pure numpy/pandas: no
TensorFlow, no scikit-learn, so these functions run anywhere and are easy to test.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# Tolerance for comparing a false-accept rate with its target, so that 0.29 * 100 negatives
# (28.999999999999996 in floating point) still allows 29 false accepts.
_RATE_EPS = 1e-9


# ---------------------------------------------------------------------------------------------
# Input checks
# ---------------------------------------------------------------------------------------------


def _as_binary(y, name: str) -> np.ndarray:
    """Return ``y`` as a uint8 array of 0/1, or raise a ValueError that names the argument."""
    arr = np.asarray(y)
    if arr.size == 0:
        raise ValueError(f"{name} is empty")
    if arr.dtype == bool:
        return arr.astype(np.uint8)
    if not np.issubdtype(arr.dtype, np.number):
        raise ValueError(f"{name} must hold 0/1 labels, got dtype {arr.dtype}")
    bad = ~np.isin(arr, (0, 1))
    if bad.any():
        examples = np.unique(arr[bad])[:5].tolist()
        raise ValueError(
            f"{name} must hold 0/1 labels, found {examples}"
            " (file labels are -1/1: convert them with (y + 1) // 2)"
        )
    return arr.astype(np.uint8)


def _as_scores(score, name: str) -> np.ndarray:
    """Return ``score`` as a float array, refusing NaN and infinities (they cannot be ranked)."""
    arr = np.asarray(score, dtype=np.float64)
    if arr.size == 0:
        raise ValueError(f"{name} is empty")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} holds {int((~np.isfinite(arr)).sum())} NaN or infinite values")
    return arr


def _check_same_shape(a: np.ndarray, b: np.ndarray, name_a: str, name_b: str) -> None:
    if a.shape != b.shape:
        raise ValueError(f"{name_a} has shape {a.shape} but {name_b} has shape {b.shape}")


def _as_matrix(arr: np.ndarray, name: str) -> np.ndarray:
    """One attribute given as a vector becomes a one-column matrix; more than 2-D is an error."""
    if arr.ndim == 1:
        return arr[:, None]
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 1-D or 2-D (samples x attributes), got shape {arr.shape}")
    return arr


def _ranking_inputs(y_true, score) -> tuple[np.ndarray, np.ndarray]:
    y = _as_binary(y_true, "y_true")
    s = _as_scores(score, "score")
    if y.ndim != 1:
        raise ValueError(f"y_true must be 1-D, got shape {y.shape}")
    _check_same_shape(y, s, "y_true", "score")
    return y, s


def _require_both_classes(y: np.ndarray, what: str) -> None:
    n_pos = int(y.sum())
    if n_pos == 0 or n_pos == y.size:
        kind = "negatives" if n_pos == y.size else "positives"
        raise ValueError(f"{what} needs positives and negatives; y_true has no {kind}")


def _safe_ratio(num, den):
    """num / den, NaN where den is 0 (a rate of an empty class is undefined, not 0)."""
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    out = np.full(np.broadcast(num, den).shape, np.nan)
    np.divide(num, den, out=out, where=den > 0)
    return out


# ---------------------------------------------------------------------------------------------
# Attributes: majority baseline, balanced accuracy, per attribute report
# ---------------------------------------------------------------------------------------------


def majority_baseline(y_train) -> np.ndarray:
    """The commoner value of each attribute on the training split, as uint8 0/1.

    An exact tie (half the rows positive) counts as 0: "absent" is the safer guess for a face
    attribute. ``y_train`` is (samples, attributes); a 1-D vector gives a 1-element result.
    """
    y = _as_matrix(_as_binary(y_train, "y_train"), "y_train")
    return (y.mean(axis=0) > 0.5).astype(np.uint8)


def majority_accuracy(y_true, majority) -> np.ndarray:
    """Per attribute accuracy of always answering ``majority`` (e.g. from the training split)."""
    y = _as_matrix(_as_binary(y_true, "y_true"), "y_true")
    m = _as_binary(np.atleast_1d(majority), "majority")
    if m.shape != (y.shape[1],):
        raise ValueError(f"majority has shape {m.shape}, expected ({y.shape[1]},)")
    return (y == m[None, :]).mean(axis=0)


def balanced_accuracy(y_true, y_pred) -> float | np.ndarray:
    """Mean of the true-positive and true-negative rates.

    1-D inputs give a float; 2-D inputs (samples x attributes) give one value per column. A
    column that holds one class only has one defined rate, and its balanced accuracy is that
    rate (as in sklearn, without its warning).
    """
    y = _as_binary(y_true, "y_true")
    p = _as_binary(y_pred, "y_pred")
    _check_same_shape(y, p, "y_true", "y_pred")
    if y.ndim not in (1, 2):
        raise ValueError(f"y_true must be 1-D or 2-D, got shape {y.shape}")
    tp = ((y == 1) & (p == 1)).sum(axis=0)
    tn = ((y == 0) & (p == 0)).sum(axis=0)
    n_pos = (y == 1).sum(axis=0)
    n_neg = (y == 0).sum(axis=0)
    tpr = _safe_ratio(tp, n_pos)
    tnr = _safe_ratio(tn, n_neg)
    # Inputs are non-empty, so at least one rate per column is defined.
    both = np.stack([tpr, tnr])
    result = np.nansum(both, axis=0) / (~np.isnan(both)).sum(axis=0)
    return float(result) if y.ndim == 1 else result


def attribute_report(
    y_true,
    y_prob,
    names,
    majority=None,
    *,
    thresholds=None,
) -> pd.DataFrame:
    """One row per attribute, indexed by its name, with the numbers to judge it by.

    Columns: ``positive_rate`` (share of positives in ``y_true``), ``threshold`` (0.5 or the
    given per-attribute thresholds; a row is positive when ``y_prob >= threshold``),
    ``accuracy``, ``balanced_accuracy``, ``majority_accuracy`` (always answering ``majority``,
    which should come from the training split; by default the majority of ``y_true`` itself,
    i.e. the best constant answer on this split) and ``gain`` (accuracy - majority_accuracy).
    """
    y = _as_matrix(_as_binary(y_true, "y_true"), "y_true")
    prob = _as_matrix(_as_scores(y_prob, "y_prob"), "y_prob")
    _check_same_shape(y, prob, "y_true", "y_prob")
    names = [str(n) for n in names]
    n_attr = y.shape[1]
    if len(names) != n_attr:
        raise ValueError(f"got {len(names)} names for {n_attr} attributes")
    if majority is None:
        majority = majority_baseline(y)
    if thresholds is None:
        thresholds = 0.5
    thr = np.asarray(thresholds, dtype=np.float64)
    if thr.ndim == 0:
        thr = np.full(n_attr, float(thr))
    if thr.shape != (n_attr,):
        raise ValueError(f"thresholds has shape {thr.shape}, expected a number or ({n_attr},)")
    pred = (prob >= thr[None, :]).astype(np.uint8)
    accuracy = (pred == y).mean(axis=0)
    base = majority_accuracy(y, majority)
    report = pd.DataFrame(
        {
            "positive_rate": y.mean(axis=0),
            "threshold": thr,
            "accuracy": accuracy,
            "balanced_accuracy": np.atleast_1d(balanced_accuracy(y, pred)),
            "majority_accuracy": base,
            "gain": accuracy - base,
        },
        index=pd.Index(names, name="attribute"),
    )
    return report


def summarize_attributes(report: pd.DataFrame) -> dict:
    """Means over attributes of an :func:`attribute_report`, plus how many beat the baseline."""
    return {
        "n_attributes": int(len(report)),
        "mean_accuracy": float(report["accuracy"].mean()),
        "mean_balanced_accuracy": float(report["balanced_accuracy"].mean()),
        "mean_majority_accuracy": float(report["majority_accuracy"].mean()),
        "mean_gain": float(report["gain"].mean()),
        "n_better_than_majority": int((report["gain"] > 0).sum()),
    }


def _best_balanced_threshold(y: np.ndarray, p: np.ndarray) -> float:
    """The cut on ``p`` that maximises balanced accuracy (Youden's J) on one attribute.

    Falls back to 0.5 when the column has one class only or no cut beats chance. Cuts are placed
    half-way between neighbouring distinct scores, so they do not sit exactly on a validation
    score; among equally good cuts the one nearest 0.5 wins.
    """
    n_pos = int(y.sum())
    if n_pos == 0 or n_pos == y.size:
        return 0.5
    fpr, tpr, thr = roc_curve(y, p)
    youden = tpr - fpr
    best = youden.max()
    if best <= 0:
        return 0.5
    cuts = []
    for k in np.flatnonzero(youden >= best - 1e-12):
        if k == len(thr) - 1:  # accept everything: the lowest score itself
            cuts.append(thr[k])
            continue
        cut = (thr[k] + thr[k + 1]) / 2
        # Neighbouring floats can round the midpoint onto the lower score; keep the decisions.
        cuts.append(cut if cut > thr[k + 1] else thr[k])
    cuts = np.asarray(cuts)
    return float(cuts[np.argmin(np.abs(cuts - 0.5))])


def choose_attribute_thresholds(y_val, p_val) -> np.ndarray:
    """Per attribute threshold that maximises balanced accuracy on the validation split.

    Rare attributes (a few % positive) are almost never predicted at 0.5 by a model trained on
    plain cross-entropy; a lower cut recovers them. Choose on validation, report on test.
    """
    y = _as_matrix(_as_binary(y_val, "y_val"), "y_val")
    p = _as_matrix(_as_scores(p_val, "p_val"), "p_val")
    _check_same_shape(y, p, "y_val", "p_val")
    return np.array([_best_balanced_threshold(y[:, j], p[:, j]) for j in range(y.shape[1])])


# ---------------------------------------------------------------------------------------------
# Person recognition: ROC, AUC, threshold for a false-accept rate
# ---------------------------------------------------------------------------------------------


def roc_curve(y_true, score) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """False- and true-positive rates at every distinct score, like ``sklearn.metrics.roc_curve``.

    Returns ``fpr, tpr, thresholds``: point ``k`` is the decision ``score >= thresholds[k]``.
    ``thresholds`` falls from ``inf`` (accept nobody: the point (0, 0)) to the lowest score
    (accept everybody: (1, 1)). Tied scores make a single point, so a tie between a positive and
    a negative gives a diagonal step. All points are kept (no ``drop_intermediate``).
    """
    y, s = _ranking_inputs(y_true, score)
    _require_both_classes(y, "roc_curve")
    order = np.argsort(-s, kind="mergesort")
    s_sorted = s[order]
    y_sorted = y[order].astype(np.int64)
    # Last index of each run of equal scores: one ROC point per distinct threshold.
    ends = np.r_[np.flatnonzero(np.diff(s_sorted)), s_sorted.size - 1]
    tps = np.cumsum(y_sorted)[ends]
    fps = ends + 1 - tps
    tpr = np.r_[0, tps] / tps[-1]
    fpr = np.r_[0, fps] / fps[-1]
    thresholds = np.r_[np.inf, s_sorted[ends]]
    return fpr, tpr, thresholds


def roc_auc(y_true, score) -> float:
    """Area under the ROC curve: the chance that a random positive outscores a random negative.

    Computed from ranks (Mann-Whitney U); a positive tied with a negative counts one half.
    """
    y, s = _ranking_inputs(y_true, score)
    _require_both_classes(y, "roc_auc")
    _, inverse, counts = np.unique(s, return_inverse=True, return_counts=True)
    # Tied scores share the mean of the ranks they span (ranks start at 1).
    last = np.cumsum(counts)
    mean_rank = (last - counts + 1 + last) / 2
    ranks = mean_rank[inverse.ravel()]
    n_pos = int(y.sum())
    n_neg = y.size - n_pos
    u = ranks[y == 1].sum() - n_pos * (n_pos + 1) / 2
    return float(u / (n_pos * n_neg))


def threshold_for_false_accept(y_val, score_val, target_fpr: float = 0.01) -> float:
    """The lowest threshold whose false-accept rate on the negatives is at most ``target_fpr``.

    The decision is ``score >= threshold``. Candidates are the observed scores (any value between
    the returned threshold and the next lower score makes the same decisions on these data), so
    the result accepts as many positives as the target allows.

    How many false accepts are allowed is ``floor(target_fpr * n_negatives)``. With few negatives
    that is often zero: 1 % of 50 strangers is 0.5, so no stranger may be accepted and the
    threshold lands above the highest-scoring stranger. If even the highest score belongs to
    (more) strangers (than allowed), the threshold is just above the highest score and nobody is
    accepted. Report the number of negatives beside any rate derived from this threshold.
    """
    y, s = _ranking_inputs(y_val, score_val)
    if not 0.0 <= target_fpr <= 1.0:
        raise ValueError(f"target_fpr must lie in [0, 1], got {target_fpr}")
    negatives = np.sort(s[y == 0])
    if negatives.size == 0:
        raise ValueError("threshold_for_false_accept needs negatives; y_val has none")
    allowed = int(np.floor(target_fpr * negatives.size + _RATE_EPS))
    candidates = np.unique(s)  # ascending
    false_accepts = negatives.size - np.searchsorted(negatives, candidates, side="left")
    ok = false_accepts <= allowed  # False ... False True ... True as the threshold rises
    if ok.any():
        return float(candidates[np.argmax(ok)])
    return float(np.nextafter(candidates[-1], np.inf))


def tpr_at_fpr(y_true, score, target_fpr: float = 0.01) -> float:
    """Share of positives accepted at the threshold chosen on these same data for ``target_fpr``.

    This is the best true-positive rate any threshold reaches without exceeding the target
    false-accept rate here; on unseen data choose the threshold on validation instead.
    """
    y, s = _ranking_inputs(y_true, score)
    if not y.any():
        raise ValueError("tpr_at_fpr needs positives; y_true has none")
    threshold = threshold_for_false_accept(y, s, target_fpr)
    return float((s[y == 1] >= threshold).mean())


def confusion_matrix(y_true, y_pred) -> np.ndarray:
    """2x2 counts ``[[tn, fp], [fn, tp]]``: rows are the truth, columns the decision."""
    y = _as_binary(y_true, "y_true").ravel()
    p = _as_binary(y_pred, "y_pred").ravel()
    _check_same_shape(y, p, "y_true", "y_pred")
    return np.bincount(2 * y.astype(np.int64) + p, minlength=4).reshape(2, 2)


def person_report(y_true, score, threshold: float) -> dict:
    """Everything to judge a person detector at ``threshold`` (decision ``score >= threshold``).

    Keys: ``n_person``, ``n_others`` (how many photos each number rests on), ``roc_auc``,
    ``accuracy``, ``balanced_accuracy``, ``acceptance`` (TPR: photos of the person accepted),
    ``false_accept`` (FPR: strangers accepted), ``false_accepts`` and ``false_rejects`` (counts),
    ``tpr_at_1pct_fpr`` (best acceptance at <= 1 % false accepts on these data),
    ``fpr_resolution`` (1 / n_others: the smallest non-zero false-accept rate these data can
    show; above 0.01 means "1 % FPR" really is "no false accept at all"), ``threshold`` and
    ``confusion_matrix`` ([[tn, fp], [fn, tp]] as nested lists). Values are plain Python numbers
    so the dict can be written as JSON; rates of an absent class are NaN.
    """
    y, s = _ranking_inputs(y_true, score)
    pred = (s >= threshold).astype(np.uint8)
    cm = confusion_matrix(y, pred)
    (tn, fp), (fn, tp) = cm.tolist()
    n_person, n_others = tp + fn, tn + fp
    both = n_person > 0 and n_others > 0
    return {
        "n_person": n_person,
        "n_others": n_others,
        "roc_auc": roc_auc(y, s) if both else float("nan"),
        "accuracy": float((tp + tn) / y.size),
        "balanced_accuracy": balanced_accuracy(y, pred),
        "acceptance": float(_safe_ratio(tp, n_person)),
        "false_accept": float(_safe_ratio(fp, n_others)),
        "false_accepts": fp,
        "false_rejects": fn,
        "tpr_at_1pct_fpr": tpr_at_fpr(y, s, 0.01) if both else float("nan"),
        "fpr_resolution": float(_safe_ratio(1, n_others)),
        "threshold": float(threshold),
        "confusion_matrix": cm.tolist(),
    }


# ---------------------------------------------------------------------------------------------
# The notebooks' tables

PERSON_COLUMNS = ["n_person", "n_others", "roc_auc", "balanced_accuracy", "acceptance",
                  "false_accept", "tpr_at_1pct_fpr", "threshold"]  # fmt: skip
ATTRIBUTE_COLUMNS = ["mean_accuracy", "mean_majority_accuracy", "mean_balanced_accuracy_at_0.5",
                     "mean_balanced_accuracy_tuned", "n_better_than_majority"]  # fmt: skip


def majority_table(labels, splits=("train", "validation", "test")) -> pd.DataFrame:
    """The majority-class baseline per attribute: the commoner answer on the first split (column
    ``majority_answer``, "yes" or "no") and its accuracy on each of ``splits``, one row per
    attribute. ``labels`` gives each split's 0/1 labels as a DataFrame with the attributes as
    columns: a mapping {split: frame}, or a :class:`facetransfer.data.celeba.CelebA` (its
    ``split(name)``)."""
    frames = {s: labels.split(s) if hasattr(labels, "split") else labels[s] for s in splits}
    majority = majority_baseline(frames[splits[0]].to_numpy())
    table = pd.DataFrame(
        {s: majority_accuracy(frame.to_numpy(), majority) for s, frame in frames.items()},
        index=frames[splits[0]].columns,
    )
    table.insert(0, "majority_answer", np.where(majority == 1, "yes", "no"))
    return table


def person_table(results, columns=PERSON_COLUMNS) -> pd.DataFrame:
    """Person models side by side: one column per key of ``results`` (a :func:`person_report`
    dict, or anything with one as ``.report``), one row per name in ``columns`` (NaN if absent)."""
    reports = {key: getattr(r, "report", r) for key, r in results.items()}
    return pd.DataFrame({key: {m: rep.get(m) for m in columns} for key, rep in reports.items()})


def attribute_comparison(evaluations, columns=ATTRIBUTE_COLUMNS) -> pd.DataFrame:
    """Attribute models side by side: one row per key of ``evaluations`` (a
    :func:`summarize_attributes` dict, or anything with one as ``.summary``), the ``columns``
    of it (the model's accuracy beside the majority baseline of the same split)."""
    summaries = {key: getattr(e, "summary", e) for key, e in evaluations.items()}
    return pd.DataFrame(summaries).T[list(columns)]
