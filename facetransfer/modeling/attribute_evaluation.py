"""The one evaluation of an attribute model: accuracy and balanced accuracy per attribute beside
the majority-class baseline of the same split, at 0.5 and at thresholds tuned on validation."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from facetransfer.modeling import networks
from facetransfer.modeling.attributes import AttributeData
from facetransfer.report import evaluate
from facetransfer.report.tensorboard_logs import log_results


@dataclass
class AttributeEvaluation:
    """An attribute model on one split: per-attribute reports at 0.5 and at thresholds tuned on
    validation for balanced accuracy, and their means under distinct names."""

    report: pd.DataFrame  # at a 0.5 threshold
    tuned_report: pd.DataFrame  # at the validation-tuned thresholds
    thresholds: np.ndarray
    summary: dict


def evaluate_attribute_model(
    model, data: AttributeData, split: str = "test", *, run_dir=None, step: int = 0
) -> AttributeEvaluation:
    """The one evaluation of an attribute model, for the CLI, notebook 02 and the benchmarks:
    accuracy and balanced accuracy beside the majority baseline learned on train, at 0.5 and at
    thresholds tuned on validation. With `run_dir`, the summary joins that TensorBoard run's
    HParams row (`final/test_...`) and eight faces of `split` with the model's answers go to its
    Images tab."""
    report = attribute_report(model, data, split)
    thresholds = tuned_thresholds(model, data)
    tuned = attribute_report(model, data, split, thresholds)
    at_half, at_tuned = evaluate.summarize_attributes(report), evaluate.summarize_attributes(tuned)
    summary = {
        "mean_accuracy": at_half["mean_accuracy"],
        "mean_majority_accuracy": at_half["mean_majority_accuracy"],
        "n_better_than_majority": at_half["n_better_than_majority"],
        "mean_balanced_accuracy_at_0.5": at_half["mean_balanced_accuracy"],
        "mean_balanced_accuracy_tuned": at_tuned["mean_balanced_accuracy"],
        "mean_accuracy_tuned": at_tuned["mean_accuracy"],
    }
    if run_dir is not None:
        log_results(
            run_dir,
            summary,
            model,
            data.images[split][:8],
            labels=data.labels[split][:8],
            step=step,
            names=data.names,
            prefix=f"{split}_",
        )
    return AttributeEvaluation(report, tuned, thresholds, summary)


def attribute_report(
    model, data: AttributeData, split: str = "test", thresholds: np.ndarray | None = None
) -> pd.DataFrame:
    """Per-attribute accuracy and balanced accuracy of `model` on `split`, beside the majority
    baseline learned on train and scored on the same split."""
    probs = networks.attribute_probabilities(model, np.asarray(data.images[split]))
    return evaluate.attribute_report(
        data.labels[split], probs, data.names, data.majority, thresholds=thresholds
    )


def tuned_thresholds(model, data: AttributeData) -> np.ndarray:
    """Per-attribute thresholds chosen on validation for balanced accuracy."""
    probs = networks.attribute_probabilities(model, np.asarray(data.images["validation"]))
    return evaluate.choose_attribute_thresholds(data.labels["validation"], probs)
