"""Tests for report.evaluate: metrics checked against brute force and hand-made examples."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from facetransfer.report import evaluate as ev


def brute_force_auc(y: np.ndarray, s: np.ndarray) -> float:
    """Count every (positive, negative) pair: 1 if the positive scores higher, 1/2 on a tie."""
    pos, neg = s[y == 1], s[y == 0]
    wins = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return wins / (pos.size * neg.size)


# --- majority baseline and balanced accuracy -------------------------------------------------


def test_majority_baseline_on_hand_made_matrix():
    y = np.array([[1, 0, 1, 0], [1, 0, 0, 0], [0, 1, 1, 1], [1, 0, 0, 1]], dtype=np.uint8)
    # columns: 3/4 positive, 1/4, 2/4 (tie -> 0), 2/4 (tie -> 0)
    majority = ev.majority_baseline(y)
    assert majority.tolist() == [1, 0, 0, 0]
    assert majority.dtype == np.uint8
    assert ev.majority_accuracy(y, majority).tolist() == [0.75, 0.75, 0.5, 0.5]


def test_majority_accuracy_uses_the_given_baseline_on_another_split():
    train_majority = np.array([1, 0])
    y_test = np.array([[0, 0], [0, 1], [1, 0]])
    assert ev.majority_accuracy(y_test, train_majority).tolist() == pytest.approx([1 / 3, 2 / 3])


def test_labels_in_file_convention_are_refused_with_a_clear_error():
    with pytest.raises(ValueError, match="y_train must hold 0/1 labels.*-1"):
        ev.majority_baseline(np.array([[-1, 1], [1, 1]]))


def test_balanced_accuracy_edge_cases():
    # Perfect, inverted, and the classic imbalanced "always no" case.
    assert ev.balanced_accuracy([0, 1, 1, 0], [0, 1, 1, 0]) == 1.0
    assert ev.balanced_accuracy([0, 1, 1, 0], [1, 0, 0, 1]) == 0.0
    assert ev.balanced_accuracy([0] * 9 + [1], [0] * 10) == 0.5
    # TPR 1/2, TNR 2/3.
    assert ev.balanced_accuracy([1, 1, 0, 0, 0], [1, 0, 0, 0, 1]) == pytest.approx(
        (0.5 + 2 / 3) / 2
    )
    # One class only: the one defined rate.
    assert ev.balanced_accuracy([1, 1, 1, 1], [1, 1, 0, 1]) == 0.75
    assert ev.balanced_accuracy([0, 0], [1, 1]) == 0.0
    assert isinstance(ev.balanced_accuracy([0, 1], [0, 1]), float)


def test_balanced_accuracy_per_column():
    y = np.array([[1, 0, 1], [0, 0, 1], [1, 0, 0], [0, 0, 1]])
    p = np.array([[1, 1, 1], [0, 0, 0], [0, 0, 0], [0, 0, 1]])
    result = ev.balanced_accuracy(y, p)
    assert result.shape == (3,)
    # col 0: TPR 1/2, TNR 1 -> 0.75; col 1 (negatives only): TNR 3/4; col 2: TPR 2/3, TNR 1.
    assert result == pytest.approx([0.75, 0.75, (2 / 3 + 1) / 2])


def test_balanced_accuracy_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="shape"):
        ev.balanced_accuracy([0, 1, 1], [0, 1])


# --- attribute report and thresholds ---------------------------------------------------------


def test_attribute_report_columns_and_values():
    y = np.array([[1, 0], [0, 0], [1, 1], [1, 0]])
    prob = np.array([[0.9, 0.2], [0.6, 0.1], [0.4, 0.7], [0.8, 0.6]])
    report = ev.attribute_report(y, prob, ["Smiling", "Bald"])
    assert list(report.index) == ["Smiling", "Bald"]
    assert report.index.name == "attribute"
    assert report.loc["Smiling", "positive_rate"] == 0.75
    # Smiling at 0.5: predictions 1,1,0,1 vs truth 1,0,1,1 -> 2/4 right; baseline "always 1" 3/4.
    assert report.loc["Smiling", "accuracy"] == 0.5
    assert report.loc["Smiling", "majority_accuracy"] == 0.75
    assert report.loc["Smiling", "gain"] == pytest.approx(-0.25)
    # Bald: predictions 0,0,1,1 vs 0,0,1,0 -> 3/4; TPR 1, TNR 2/3.
    assert report.loc["Bald", "accuracy"] == 0.75
    assert report.loc["Bald", "balanced_accuracy"] == pytest.approx((1 + 2 / 3) / 2)

    summary = ev.summarize_attributes(report)
    assert summary["mean_accuracy"] == pytest.approx(0.625)
    assert summary["mean_majority_accuracy"] == pytest.approx(0.75)
    assert summary["n_better_than_majority"] == 0
    assert summary["n_attributes"] == 2


def test_attribute_report_uses_thresholds_and_training_majority():
    y = np.array([[1], [0], [1], [0]])
    prob = np.array([[0.3], [0.1], [0.35], [0.2]])
    at_half = ev.attribute_report(y, prob, ["A"])
    tuned = ev.attribute_report(y, prob, ["A"], majority=np.array([1]), thresholds=[0.25])
    assert at_half.loc["A", "accuracy"] == 0.5
    assert tuned.loc["A", "accuracy"] == 1.0
    assert tuned.loc["A", "threshold"] == 0.25
    assert tuned.loc["A", "majority_accuracy"] == 0.5
    with pytest.raises(ValueError, match="names"):
        ev.attribute_report(y, prob, ["A", "B"])
    with pytest.raises(ValueError, match="thresholds"):
        ev.attribute_report(y, prob, ["A"], thresholds=[0.1, 0.2])


def test_choose_attribute_thresholds_beats_one_half_on_imbalanced_data():
    rng = np.random.default_rng(0)
    n, rates = 4000, np.array([0.03, 0.1, 0.5, 0.9])

    def draw():
        y = (rng.random((n, rates.size)) < rates).astype(np.uint8)
        # Scores of an under-confident model: positives only slightly above negatives, all low.
        logits = -2.5 + 1.5 * y + rng.normal(0, 1, y.shape)
        return y, 1 / (1 + np.exp(-logits))

    y_val, p_val = draw()
    y_test, p_test = draw()
    thresholds = ev.choose_attribute_thresholds(y_val, p_val)
    assert thresholds.shape == (rates.size,)
    assert (thresholds < 0.5).all()  # every column's scores sit low
    for y, p in ((y_val, p_val), (y_test, p_test)):
        at_half = ev.balanced_accuracy(y, (p >= 0.5).astype(np.uint8))
        tuned = ev.balanced_accuracy(y, (p >= thresholds).astype(np.uint8))
        assert (tuned > at_half + 0.1).all()


def test_choose_attribute_thresholds_falls_back_to_one_half_without_information():
    y = np.array([[1, 0], [1, 1], [1, 0], [1, 1]])
    p = np.array([[0.2, 0.5], [0.9, 0.5], [0.4, 0.5], [0.7, 0.5]])
    # Column 0 has positives only, column 1 has constant scores: neither can pick a cut.
    assert ev.choose_attribute_thresholds(y, p).tolist() == [0.5, 0.5]


def test_chosen_threshold_sits_between_scores_and_separates_perfectly():
    y = np.array([0, 0, 1, 1])
    p = np.array([0.1, 0.2, 0.3, 0.4])
    (threshold,) = ev.choose_attribute_thresholds(y, p)
    assert threshold == pytest.approx(0.25)


# --- ROC, AUC and thresholds for a false-accept rate -----------------------------------------


@pytest.mark.parametrize("seed", range(5))
def test_roc_auc_matches_brute_force_with_ties(seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, 300)
    s = rng.integers(0, 12, 300) + 2 * y  # few distinct values: many ties across classes
    assert ev.roc_auc(y, s) == pytest.approx(brute_force_auc(y, s), abs=1e-12)


def test_roc_auc_extremes():
    assert ev.roc_auc([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]) == 1.0
    assert ev.roc_auc([0, 0, 1, 1], [0.9, 0.8, 0.2, 0.1]) == 0.0
    assert ev.roc_auc([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5]) == 0.5
    with pytest.raises(ValueError, match="no positives"):
        ev.roc_auc([0, 0], [0.1, 0.2])


def test_roc_curve_endpoints_monotonic_and_area():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 200)
    s = np.round(rng.normal(size=200) + y, 1)  # rounded: ties
    fpr, tpr, thresholds = ev.roc_curve(y, s)
    assert (fpr[0], tpr[0]) == (0.0, 0.0) and thresholds[0] == np.inf
    assert (fpr[-1], tpr[-1]) == (1.0, 1.0) and thresholds[-1] == s.min()
    assert (np.diff(fpr) >= 0).all() and (np.diff(tpr) >= 0).all()
    assert (np.diff(thresholds) < 0).all()  # one point per distinct score
    assert len(thresholds) == len(np.unique(s)) + 1
    # Each point is the decision score >= threshold.
    k = len(thresholds) // 2
    accepted = s >= thresholds[k]
    assert fpr[k] == accepted[y == 0].mean() and tpr[k] == accepted[y == 1].mean()
    # Trapezoids under the curve (ties drawn as diagonals) equal the rank-based AUC.
    area = float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))
    assert area == pytest.approx(ev.roc_auc(y, s))


def test_threshold_for_false_accept_is_the_smallest_that_meets_the_target():
    rng = np.random.default_rng(2)
    y = np.r_[np.zeros(500, int), np.ones(40, int)]
    s = np.round(np.r_[rng.normal(0, 1, 500), rng.normal(2, 1, 40)], 2)
    for target in (0.0, 0.01, 0.05, 0.2):
        t = ev.threshold_for_false_accept(y, s, target)
        assert (s[y == 0] >= t).mean() <= target
        # Any lower observed score breaks the target.
        lower = np.unique(s[s < t])
        if lower.size:
            assert (s[y == 0] >= lower[-1]).mean() > target


def test_threshold_for_false_accept_with_few_negatives_allows_none():
    # 50 strangers: 1 % of 50 is half a stranger, so no stranger may be accepted.
    negatives = np.linspace(0.0, 0.6, 50)
    person = np.array([0.3, 0.7, 0.8, 0.9])
    y = np.r_[np.zeros(50, int), np.ones(4, int)]
    t = ev.threshold_for_false_accept(y, np.r_[negatives, person], 0.01)
    assert t == 0.7  # the lowest score above the highest stranger
    # 0.29 * 100 is 28.999999999999996 in floating point; 29 false accepts must still be allowed.
    y100 = np.zeros(100, int)
    s100 = np.arange(100) / 100
    assert ev.threshold_for_false_accept(y100, s100, 0.29) == pytest.approx(0.71)


def test_threshold_when_the_top_score_is_a_stranger():
    y = np.array([0, 1, 0])
    s = np.array([0.9, 0.5, 0.1])
    # The person's photo scores below a stranger: at 0 % nobody can be accepted.
    t = ev.threshold_for_false_accept(y, s, 0.0)
    assert t > 0.9 and not (s >= t).any()
    # At 50 % one of the two strangers may be accepted: the person's 0.5 is reachable.
    assert ev.threshold_for_false_accept(y, s, 0.5) == 0.5
    t_all = ev.threshold_for_false_accept(np.array([0, 0, 1]), np.array([0.9, 0.9, 0.9]), 0.4)
    assert t_all > 0.9  # the strangers tie the top score: accept nobody


def test_tpr_at_fpr_hand_made():
    # 10 strangers (1 allowed at 10 %), 4 photos of the person.
    y = np.array([0] * 10 + [1] * 4)
    s = np.array([0.1, 0.2, 0.2, 0.3, 0.3, 0.4, 0.5, 0.6, 0.75, 0.95] + [0.5, 0.7, 0.8, 0.9])
    # At 10 %: threshold 0.8 (0.75 would also accept the stranger at 0.95) -> 2 of 4 accepted.
    assert ev.tpr_at_fpr(y, s, 0.1) == 0.5
    # At 0 %: nobody above 0.95 -> 0 accepted. At 30 %: threshold 0.6 -> 3 of 4.
    assert ev.tpr_at_fpr(y, s, 0.0) == 0.0
    assert ev.tpr_at_fpr(y, s, 0.3) == 0.75


def test_confusion_matrix_layout():
    cm = ev.confusion_matrix([0, 0, 0, 1, 1], [0, 1, 1, 1, 0])
    assert cm.tolist() == [[1, 2], [1, 1]]


def test_person_report_hand_made():
    y = np.array([0, 0, 0, 0, 0, 0, 1, 1, 1, 1])
    s = np.array([0.1, 0.2, 0.3, 0.4, 0.6, 0.7, 0.5, 0.8, 0.9, 0.95])
    report = ev.person_report(y, s, threshold=0.65)
    assert set(report) == {
        "n_person",
        "n_others",
        "roc_auc",
        "accuracy",
        "balanced_accuracy",
        "acceptance",
        "false_accept",
        "false_accepts",
        "false_rejects",
        "tpr_at_1pct_fpr",
        "fpr_resolution",
        "threshold",
        "confusion_matrix",
    }
    assert report["n_person"] == 4 and report["n_others"] == 6
    # Accepted: stranger 0.7, person 0.8, 0.9, 0.95 -> tn 5, fp 1, fn 1, tp 3.
    assert report["confusion_matrix"] == [[5, 1], [1, 3]]
    assert report["accuracy"] == pytest.approx(0.8)
    assert report["acceptance"] == pytest.approx(0.75)
    assert report["false_accept"] == pytest.approx(1 / 6)
    assert report["balanced_accuracy"] == pytest.approx((0.75 + 5 / 6) / 2)
    # Pairs the person loses: 0.5 < 0.6 and 0.5 < 0.7 -> 22 of 24 won.
    assert report["roc_auc"] == pytest.approx(22 / 24)
    # 1 % of 6 strangers: none allowed, threshold 0.8 -> 3 of 4.
    assert report["tpr_at_1pct_fpr"] == pytest.approx(0.75)
    assert report["fpr_resolution"] == pytest.approx(1 / 6)
    assert report["threshold"] == 0.65
    json.dumps(report)  # plain Python values only


def test_person_report_without_strangers_marks_undefined_rates():
    report = ev.person_report([1, 1, 1], [0.2, 0.6, 0.9], threshold=0.5)
    assert report["n_others"] == 0
    assert np.isnan(report["roc_auc"]) and np.isnan(report["false_accept"])
    assert report["acceptance"] == pytest.approx(2 / 3)


def test_scores_with_nan_are_refused():
    with pytest.raises(ValueError, match="NaN"):
        ev.roc_auc([0, 1], [0.1, np.nan])


def test_report_is_a_dataframe():
    report = ev.attribute_report(np.array([[0], [1]]), np.array([[0.2], [0.7]]), ["A"])
    assert isinstance(report, pd.DataFrame)


def test_majority_table_learns_the_answer_on_train_and_scores_every_split():
    cols = ["Smiling", "Bald"]
    train = pd.DataFrame([[1, 0], [1, 0], [0, 1]], columns=cols)
    test = pd.DataFrame([[0, 0], [1, 1]], columns=cols)
    table = ev.majority_table({"train": train, "test": test}, splits=("train", "test"))
    assert list(table.columns) == ["majority_answer", "train", "test"]
    assert list(table.index) == cols
    assert list(table["majority_answer"]) == ["yes", "no"]
    np.testing.assert_allclose(table["train"], [2 / 3, 2 / 3])
    np.testing.assert_allclose(table["test"], [0.5, 0.5])

    class Split:  # a CelebA: labels through .split(name)
        def split(self, name):
            return {"train": train, "test": test}[name]

    pd.testing.assert_frame_equal(ev.majority_table(Split(), splits=("train", "test")), table)


def test_person_table_puts_models_side_by_side_from_reports_or_results():
    y, s = np.array([0, 0, 1, 1]), np.array([0.1, 0.6, 0.4, 0.9])
    report = ev.person_report(y, s, 0.5)

    class Result:
        def __init__(self, report):
            self.report = report

    table = ev.person_table({"seed": Result(report), "dlib": {"roc_auc": 0.9}})
    assert list(table.columns) == ["seed", "dlib"]
    assert list(table.index) == ev.PERSON_COLUMNS
    assert table.loc["n_person", "seed"] == 2 and table.loc["false_accept", "seed"] == 0.5
    assert table.loc["roc_auc", "dlib"] == 0.9 and pd.isna(table.loc["threshold", "dlib"])


def test_attribute_comparison_one_row_per_model_in_the_columns_asked():
    class Evaluation:
        def __init__(self, accuracy):
            self.summary = {c: 0.0 for c in ev.ATTRIBUTE_COLUMNS} | {"mean_accuracy": accuracy}
            self.summary["extra"] = 1.0

    table = ev.attribute_comparison({"model1": Evaluation(0.8), "improved": Evaluation(0.9)})
    assert list(table.index) == ["model1", "improved"]
    assert list(table.columns) == ev.ATTRIBUTE_COLUMNS
    assert table["mean_accuracy"].idxmax() == "improved"
