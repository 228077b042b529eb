"""The attribute CNN on CelebA: cached arrays per split, one training function (any architecture,
one device or a `tf.distribute` strategy, with the identity objective where identities are
known), and the one evaluation beside the majority-class baseline of the same split."""

from __future__ import annotations

import contextlib
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import pandas as pd

from facetransfer.config import ARCHITECTURES, DEFAULT_SEED_CONFIG
from facetransfer.data.cache import build_cache
from facetransfer.data.pipeline import shard_indices
from facetransfer.modeling import distribute, networks
from facetransfer.modeling.checkpoints import checkpoint_record
from facetransfer.modeling.fit import FitResult, fit
from facetransfer.modeling.precision import precision_scope
from facetransfer.report import evaluate
from facetransfer.report.tensorboard_logs import SamplePredictions, log_results

log = logging.getLogger(__name__)


@dataclass
class AttributeData:
    names: list[str]
    images: dict[str, np.ndarray]  # split -> (n, size, size, 3) uint8
    labels: dict[str, np.ndarray]  # split -> (n, 40) uint8 0/1
    size: int
    crop: str
    skipped: list[tuple[str, str]]
    # split -> (n,) identity class for the identity objective, -1 where it is not learned
    identities: dict[str, np.ndarray] | None = None
    # (num_shards, index) when the training split holds one worker's shard only
    shard: tuple[int, int] | None = None

    @property
    def n_identities(self) -> int:
        if self.identities is None or not len(self.identities["train"]):
            return 0
        return int(self.identities["train"].max()) + 1

    @property
    def majority(self) -> np.ndarray:
        """The commoner value of each attribute on the training split: the baseline to beat."""
        return evaluate.majority_baseline(self.labels["train"])

    def counts(self) -> dict[str, int]:
        return {split: len(y) for split, y in self.labels.items()}


def load_attribute_data(
    celeba,
    size: int,
    cache_dir,
    *,
    crop: str = "full",
    progress: bool = True,
    exclude_identities=(),
    min_identity_images: int = 2,
    shard: tuple[int, int] | None = None,
) -> AttributeData:
    """Decode and resize every split once (cached), keeping labels aligned with the images read.

    When CelebA's identities are known, each training identity with at least
    `min_identity_images` images becomes a class for the identity objective. People in
    `exclude_identities` are left out entirely (the recognition benchmark's evaluation people).
    `shard` (num_shards, index): the training split keeps only that share of its rows, so each
    worker of a multi-worker run decodes and caches only its own; validation and test stay whole.
    """
    images, labels, ids, skipped = {}, {}, {}, []
    excluded = set(exclude_identities)
    for split in ("train", "validation", "test"):
        frame = celeba.split(split)
        if excluded and celeba.identity is not None:
            frame = frame[~celeba.identity.loc[frame.index].isin(excluded).to_numpy()]
        if split == "train" and shard is not None:
            frame = frame.iloc[shard_indices(len(frame), shard)]
        cache = build_cache(celeba.paths(frame.index), size, cache_dir, crop, progress=progress)
        images[split] = cache.images
        labels[split] = frame.to_numpy(dtype=np.uint8)[cache.ok]
        if celeba.identity is not None:
            ids[split] = celeba.identity.loc[frame.index].to_numpy()[cache.ok]
        skipped += cache.skipped
    data = AttributeData(
        names=list(celeba.attributes.columns),
        images=images,
        labels=labels,
        size=size,
        crop=crop,
        skipped=skipped,
        shard=shard,
    )
    if ids:
        data.identities = identity_classes(ids, min_identity_images)
    return data


def identity_classes(ids: dict[str, np.ndarray], min_images: int) -> dict[str, np.ndarray]:
    """Number the training identities seen at least `min_images` times 0..k-1; every other face
    (rarer people, and all of validation and test, whose people CelebA keeps apart) gets -1."""
    people, counts = np.unique(ids["train"], return_counts=True)
    lookup = {person: i for i, person in enumerate(people[counts >= min_images])}
    classes = {}
    for split, who in ids.items():
        if split == "train":
            classes[split] = np.array([lookup.get(p, -1) for p in who], dtype=np.int64)
        else:
            classes[split] = np.full(len(who), -1, dtype=np.int64)
    return classes


def checkpoint_name(arch: str, config: str | None = None) -> str:
    """models/<name>.h5: seed_model1..3 for the seed's configs, the architecture's name else."""
    return f"seed_{config or DEFAULT_SEED_CONFIG}" if arch == "seed" else arch


def checkpoint_metadata(data: AttributeData, arch: str, config: str | None, seed: int) -> dict:
    """What an attribute checkpoint's sidecar records: enough to feed it the right images."""
    return {
        "arch": arch,
        "config": config if arch == "seed" else None,  # the seed's compile configs only
        "image_size": data.size,
        "crop": data.crop,
        "attributes": data.names,
        "seed": seed,
    }


def train_attribute_model(
    data: AttributeData,
    *,
    arch: str,
    models_dir,
    logs_dir,
    config: str | None = None,
    epochs: int | None = None,
    batch_size: int | None = None,
    learning_rate: float | None = None,
    identity_weight: float | None = None,
    augment: str | None = "default",
    precision: str | None = None,
    strategy=None,
    shuffle: bool = True,
    seed: int = 0,
    resume: bool = True,
    name: str | None = None,
    sample_images: int = 8,
    verbose="auto",
) -> tuple[keras.Model, FitResult]:
    """Train one architecture (and, for the seed, one of its compile configs); its best epoch by
    validation binary accuracy is kept in models/<name>.h5 (and .keras), with a JSON sidecar
    naming the image size and crop. Unset settings come from `config.ARCHITECTURES[arch]`.

    The improved architecture also learns who each face is (an additive-margin softmax on its
    embedding) when identities are known and `identity_weight` > 0; the saved model is the
    attribute network alone, embedding included. `precision` "auto" computes in bfloat16 where
    the CPU has bfloat16 units; checkpoints are float32.

    `strategy`: a `tf.distribute` strategy (see `modeling.distribute.make_strategy`), None for
    one device. The model is built in its scope and fed per-replica batches of the global
    `batch_size`; under a multi-worker strategy `data` should hold this worker's shard
    (`load_attribute_data(..., shard=...)`), and only the chief writes the checkpoint and logs.
    `shuffle=False` makes runs comparable step by step: under any strategy Keras reads one batch
    before training starts, so a shuffled first epoch uses the dataset's second permutation.
    `sample_images`: validation faces drawn with the model's answers in TensorBoard each epoch.
    """
    defaults = ARCHITECTURES[arch]
    config = (config or DEFAULT_SEED_CONFIG) if arch == "seed" else None
    epochs = epochs or defaults.epochs
    batch_size = batch_size or defaults.batch_size
    learning_rate = defaults.learning_rate if learning_rate is None else learning_rate
    identity_weight = defaults.identity_weight if identity_weight is None else identity_weight
    augment = defaults.augment if augment == "default" else augment
    strategy = strategy or distribute.make_strategy("none")
    cluster = distribute.cluster_of(strategy)

    keras.utils.set_random_seed(seed)  # MultiWorkerMirrored also copies worker 0's initial weights
    use_identity = arch == "improved" and identity_weight > 0 and data.n_identities > 1
    with strategy.scope(), precision_scope(precision or defaults.precision) as policy:
        model = networks.build_attribute_model(arch, data.size, config, learning_rate)
        trainer = model
        if use_identity:
            trainer = networks.with_identity_head(
                model, data.n_identities, identity_weight, learning_rate
            )
    train_ds, val_ds = _datasets(
        data,
        strategy=strategy,
        cluster=cluster,
        batch_size=batch_size,
        identity=use_identity,
        shuffle=shuffle,
        seed=seed,
        augment=augment,
    )
    name = name or checkpoint_name(arch, config)
    checkpoint, logs = distribute.worker_paths(
        cluster, Path(models_dir) / f"{name}.h5", Path(logs_dir)
    )
    metadata = {
        **checkpoint_metadata(data, arch, config, seed),
        "identity_classes": data.n_identities if use_identity else 0,
        "identity_weight": identity_weight if use_identity else 0.0,
        "replicas": strategy.num_replicas_in_sync,
        "workers": cluster.num_workers,
        "batch_size": batch_size,
        "augment": augment or "none",
        "precision": policy,
    }
    monitor = "val_attribute_logits_binary_accuracy" if use_identity else "val_binary_accuracy"
    callbacks = []
    if sample_images and cluster.is_chief and len(data.images["validation"]):
        callbacks.append(
            SamplePredictions(
                logs,
                data.images["validation"][:sample_images],
                data.labels["validation"][:sample_images],
                names=data.names,
            )
        )
    with distribute.keras_multi_worker_fixes(trainer, strategy):
        result = fit(
            trainer,
            train_ds,
            val_ds,
            epochs=epochs,
            checkpoint=checkpoint,
            logs_dir=logs,
            monitor=monitor,
            mode="max",
            resume=resume,
            verbose=verbose,
            save_model=model,
            metadata=metadata,
            extra_callbacks=callbacks,
        )
    if not cluster.is_chief:
        shutil.rmtree(checkpoint.parent, ignore_errors=True)
        with contextlib.suppress(OSError):  # the last worker out removes the empty folder
            checkpoint.parent.parent.rmdir()
    if cluster.num_workers > 1:
        # Finish together: the chief hosts the cluster's coordination service, and a worker
        # still tearing down when it exits logs connection errors.
        distribute.barrier(strategy)
    return model, result


def _datasets(
    data: AttributeData, *, strategy, cluster, batch_size, identity, shuffle, seed, augment
):
    """Training and validation pipelines for `strategy`: every worker takes the same number of
    steps (even where one skipped a file another read); with the identity objective each image
    carries both targets, the 40 attributes and its identity class (-1: not learned)."""
    n = len(data.names)

    def arrays(split):
        labels = data.labels[split]
        if identity:
            labels = np.concatenate([labels, data.identities[split][:, None]], axis=1)
        keep = distribute.equal_share(len(labels), strategy, cluster)
        return data.images[split][:keep], labels[:keep]

    def split_targets(x, y):
        return x, {"attribute_logits": y[:, :n], "identity": y[:, n:]}

    targets = split_targets if identity else None
    train_images, train_labels = arrays("train")
    train_ds = distribute.distributed_arrays(
        strategy,
        train_images,
        train_labels,
        batch_size,
        shuffle=shuffle,
        seed=seed + cluster.index,
        augment=augment,
        sharded_already=data.shard is not None,
        map_targets=targets,
    )
    val_images, val_labels = arrays("validation")
    val_ds = distribute.distributed_arrays(
        strategy, val_images, val_labels, batch_size, map_targets=targets
    )
    return train_ds, val_ds


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


def best_checkpoint(models_dir, arch: str | None = "seed") -> Path:
    """The attribute checkpoint with the highest recorded validation binary accuracy."""
    best, best_value = None, -np.inf
    for sidecar in sorted(Path(models_dir).glob("*.json")):
        record = checkpoint_record(sidecar)
        if not record or not str(record.get("monitor", "")).endswith("binary_accuracy"):
            continue
        if arch is not None and record.get("arch") != arch:
            continue
        if record["value"] > best_value:
            best, best_value = sidecar.with_suffix(".h5"), record["value"]
    if best is None:
        raise FileNotFoundError(
            f"no attribute model in {models_dir}: run notebook "
            "02_attribute_cnn or `facetransfer train-attributes` first"
        )
    return best
