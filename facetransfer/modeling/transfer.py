"""Transfer: a frozen attribute base plus a small head that answers "is this photo the person?",
its decision threshold chosen on validation for a target false-accept rate and saved with it."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from facetransfer.config import HEADS, TARGET_FALSE_ACCEPT, UNFREEZE_TOP_LEARNING_RATE
from facetransfer.data.intake import PersonData, load_person_data
from facetransfer.data.pipeline import augmentation, make_dataset
from facetransfer.modeling import networks
from facetransfer.modeling.checkpoints import load_model_file, model_metadata, save_with_sidecar
from facetransfer.modeling.fit import fit
from facetransfer.modeling.predict import scores
from facetransfer.report import evaluate

log = logging.getLogger(__name__)

HEAD_NAMES = ("auto", *HEADS)


def resolve_head(base, head: str = "auto") -> str:
    """ "auto": the embedding head on a base with an embedding layer, the seed's head otherwise."""
    if head not in HEAD_NAMES:
        raise ValueError(f"unknown head {head!r}: expected one of {HEAD_NAMES}")
    if head == "auto":
        return "embedding" if "embedding" in {layer.name for layer in base.layers} else "seed"
    return head


def build_person_model(base, head: str = "auto", unfreeze_top: bool = False):
    """The seed's head on a seed base, a logistic head on an improved base's embedding.

    `unfreeze_top` lets the improved base's last conv block and embedding learn too (train it at
    a low learning rate); its BatchNorm statistics stay frozen, as few photos cannot re-estimate
    them.
    """
    head = resolve_head(base, head)
    if head == "seed":
        model = networks.seed_transfer_model(base)
    else:
        model = networks.embedding_transfer_model(base, dropout=0.0 if head == "centroid" else 0.2)
    if unfreeze_top:
        top = networks.top_block_layers(base)
        if not top:
            raise ValueError("unfreeze_top needs the improved base (it has no top block to tune)")
        base.trainable = True
        for layer in base.layers:
            layer.trainable = layer.name in top and "_bn" not in layer.name
    return model


def class_weights(labels: np.ndarray) -> dict[int, float]:
    """Few photos of the person against many of others: weigh both classes equally."""
    n = len(labels)
    positives = float(labels.sum())
    return {0: n / (2 * max(n - positives, 1)), 1: n / (2 * max(positives, 1))}


@dataclass
class PersonResult:
    threshold: float
    report: dict
    test_scores: np.ndarray
    history: dict


def set_centroid_head(model, data: PersonData, scale: float = 20.0) -> None:
    """No training: the head scores how much closer a face's normalised embedding is to the mean
    of the person's training photos than to the mean of the others' (enrolment by mean, the
    classic way face-verification embeddings are used). Its threshold is chosen like any head's."""
    normalized = keras.Model(model.inputs[0], model.get_layer("head_normalize").output)
    z = normalized.predict(data.images["train"], verbose=0)
    y = data.labels["train"] > 0.5

    def unit(v):
        return v / (np.linalg.norm(v) + 1e-12)

    direction = unit(z[y].mean(axis=0)) - unit(z[~y].mean(axis=0))
    middle = 0.5 * (z[y] @ direction).mean() + 0.5 * (z[~y] @ direction).mean()
    layer = model.get_layer("probability")
    layer.set_weights(
        [scale * direction[:, None].astype("float32"), np.array([-scale * middle], dtype="float32")]
    )


def finish_person(
    model,
    data: PersonData,
    checkpoint,
    *,
    target_false_accept: float = TARGET_FALSE_ACCEPT,
    metadata: dict | None = None,
    history: dict | None = None,
) -> PersonResult:
    """Choose the threshold on validation, report on test, save model + threshold + report."""
    threshold = evaluate.threshold_for_false_accept(
        data.labels["validation"], scores(model, data.images["validation"]), target_false_accept
    )
    test_scores = scores(model, data.images["test"])
    report = evaluate.person_report(data.labels["test"], test_scores, threshold)
    meta = {
        **(metadata or {}),
        "threshold": float(threshold),
        "target_false_accept": target_false_accept,
        "test": {k: v for k, v in report.items() if k != "confusion_matrix"},
        "counts": data.counts().to_dict(),
    }
    save_with_sidecar(model, Path(checkpoint).with_suffix(".h5"), meta)
    return PersonResult(float(threshold), report, test_scores, history or {})


def train_person(
    model,
    data: PersonData,
    *,
    epochs: int,
    checkpoint,
    logs_dir,
    optimizer: str = "adam",
    learning_rate: float = 1e-3,
    loss: str = "binary_crossentropy",
    batch_size: int = 16,
    target_false_accept: float = TARGET_FALSE_ACCEPT,
    augment: bool = True,
    seed: int = 0,
    metadata: dict | None = None,
    verbose="auto",
) -> PersonResult:
    """Fit the head, keep its best epoch by validation AUC, choose the threshold on validation for
    the target false-accept rate, report on test, and save model, threshold and report."""
    keras.utils.set_random_seed(seed)
    networks.compile_person(model, optimizer, learning_rate, loss)
    train_ds = make_dataset(
        data.images["train"],
        data.labels["train"],
        batch_size,
        shuffle=True,
        seed=seed,
        augment=augmentation(seed) if augment else None,
    )
    val_ds = make_dataset(data.images["validation"], data.labels["validation"], batch_size)
    weights = class_weights(data.labels["train"])
    class_weighted = train_ds.map(lambda x, y: (x, y, _sample_weights(y, weights)))
    checkpoint = Path(checkpoint).with_suffix(".h5")
    # The person model's best epoch is chosen afresh each run (replace_worse): a new person or new
    # photos make an old value meaningless. It is still written atomically.
    result = fit(
        model,
        class_weighted,
        val_ds,
        epochs=epochs,
        checkpoint=checkpoint,
        logs_dir=logs_dir,
        monitor="val_auc",
        mode="max",
        replace_worse=True,
        verbose=verbose,
    )
    best = load_model_file(checkpoint, expect="person")
    return finish_person(
        best,
        data,
        checkpoint,
        target_false_accept=target_false_accept,
        metadata=metadata,
        history=result.history,
    )


def _sample_weights(y, weights):
    y = tf.reshape(y, [-1])
    return tf.where(y > 0.5, weights[1], weights[0])


def transfer(
    base_path,
    frame: pd.DataFrame,
    *,
    out,
    logs_dir,
    cache_dir,
    person: str,
    head: str = "auto",
    epochs: int | None = None,
    optimizer: str | None = None,
    learning_rate: float | None = None,
    loss: str | None = None,
    batch_size: int | None = None,
    target_false_accept: float = TARGET_FALSE_ACCEPT,
    augment: bool = True,
    unfreeze_top: bool = False,
    align: bool = False,
    seed: int = 0,
    verbose=0,
    progress: bool = True,
):
    """The whole transfer from a split of photos: load the base, read the photos at its input
    size and crop, build and train the head, choose the threshold, save `out` (.h5, .keras,
    .json with the threshold). Returns (PersonResult, PersonData, model). The notebooks, the CLI
    and the benchmark all call this. Unset training settings come from `config.HEADS`."""
    base = load_model_file(base_path, expect="attributes")
    crop = model_metadata(base_path).get("crop", "full")
    size = int(base.input_shape[1])
    data = load_person_data(frame, size, crop, cache_dir, progress=progress)
    head = resolve_head(base, head)
    defaults = HEADS[head]
    if learning_rate is None:
        learning_rate = UNFREEZE_TOP_LEARNING_RATE if unfreeze_top else defaults.learning_rate
    model = build_person_model(base, head, unfreeze_top)
    metadata = {
        "person": person,
        "base": str(base_path),
        "crop": crop,
        "align": align,
        "image_size": size,
        "head": head,
        "unfreeze_top": unfreeze_top,
    }
    if head == "centroid":
        set_centroid_head(model, data)
        result = finish_person(
            model, data, out, target_false_accept=target_false_accept, metadata=metadata
        )
        return result, data, model
    result = train_person(
        model,
        data,
        epochs=epochs or defaults.epochs,
        checkpoint=out,
        logs_dir=logs_dir,
        optimizer=optimizer or defaults.optimizer,
        learning_rate=learning_rate,
        loss=loss or defaults.loss,
        batch_size=batch_size or defaults.batch_size,
        target_false_accept=target_false_accept,
        augment=augment,
        seed=seed,
        verbose=verbose,
        metadata=metadata,
    )
    return result, data, model
