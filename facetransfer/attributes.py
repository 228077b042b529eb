"""The attribute CNN on CelebA: cached arrays per split, training a config, and its report beside
the majority-class baseline of the same split."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from facetransfer import evaluate
from facetransfer.dataset import build_cache, make_dataset

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

    @property
    def n_identities(self) -> int:
        if self.identities is None:
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
    crop: str = "full",
    progress: bool = True,
    exclude_identities=(),
    min_identity_images: int = 2,
) -> AttributeData:
    """Decode and resize every split once (cached), keeping labels aligned with the images read.

    When CelebA's identities are known, each training identity with at least
    `min_identity_images` images becomes a class for the identity objective. People in
    `exclude_identities` are left out entirely (the recognition benchmark's evaluation people).
    """
    images, labels, ids, skipped = {}, {}, {}, []
    excluded = set(exclude_identities)
    for split in ("train", "validation", "test"):
        frame = celeba.split(split)
        if excluded and celeba.identity is not None:
            frame = frame[~celeba.identity.loc[frame.index].isin(excluded).to_numpy()]
        cache = build_cache(celeba.paths(frame.index), size, cache_dir, crop, progress=progress)
        images[split] = cache.images
        labels[split] = frame.to_numpy(dtype=np.uint8)[cache.ok]
        if celeba.identity is not None:
            ids[split] = celeba.identity.loc[frame.index].to_numpy()[cache.ok]
        skipped += cache.skipped
    data = AttributeData(list(celeba.attributes.columns), images, labels, size, crop, skipped)
    if ids:
        data.identities = identity_classes(ids, min_identity_images)
    return data


def checkpoint_name(arch: str, config: str) -> str:
    return f"seed_{config}" if arch == "seed" else arch


def train_attribute_model(
    data: AttributeData,
    arch: str,
    config: str,
    epochs: int,
    models_dir,
    logs_dir,
    batch_size: int = 32,
    learning_rate: float | None = None,
    seed: int = 0,
    resume: bool = True,
    verbose="auto",
    identity_weight: float = 1.0,
    augment: bool | None = None,
    name: str | None = None,
    precision: str = "float32",
):
    """Train one architecture/config; its best epoch by validation binary accuracy is kept in
    models/<name>.h5 (and .keras), with a JSON sidecar naming the image size and crop.

    The improved architecture also learns who each face is (an additive-margin softmax on its
    embedding) when identities are known and `identity_weight` > 0; the saved model is the
    attribute network alone, embedding included. `precision` "auto" computes in bfloat16 where
    the CPU has bfloat16 units (about 2x faster there, see BENCHMARKS.md); checkpoints are float32.
    """
    import keras

    from facetransfer import models, training
    from facetransfer.distribute import precision_scope

    keras.utils.set_random_seed(seed)
    augment = (arch == "improved") if augment is None else augment
    # Mirroring changes no attribute and no identity: free extra data for the improved model.
    # As a batch op it is 3-4x faster than Keras' RandomFlip layer.
    flips = "flip" if augment else None
    use_identity = arch == "improved" and identity_weight > 0 and data.n_identities > 1
    with precision_scope(precision):
        model = models.build_attribute_model(arch, data.size, config, learning_rate)
        if use_identity:
            lr = 2e-3 if learning_rate is None else learning_rate
            trainer = models.with_identity_head(model, data.n_identities, identity_weight, lr)
    if use_identity:
        train_ds = _identity_dataset(data, "train", batch_size, True, seed, flips)
        val_ds = _identity_dataset(data, "validation", batch_size, False, seed)
        monitor = "val_attribute_logits_binary_accuracy"
    else:
        trainer = model
        train_ds = make_dataset(
            data.images["train"],
            data.labels["train"],
            batch_size,
            shuffle=True,
            seed=seed,
            augment=flips,
        )
        val_ds = make_dataset(data.images["validation"], data.labels["validation"], batch_size)
        monitor = "val_binary_accuracy"
    name = name or checkpoint_name(arch, config)
    result = training.fit(
        trainer,
        train_ds,
        val_ds,
        epochs,
        Path(models_dir) / f"{name}.h5",
        logs_dir,
        monitor=monitor,
        mode="max",
        resume=resume,
        verbose=verbose,
        save_model=model,
        metadata={
            **checkpoint_metadata(data, arch, config, seed),
            "identity_classes": data.n_identities if use_identity else 0,
            "identity_weight": identity_weight if use_identity else 0.0,
        },
    )
    return model, result


def checkpoint_metadata(data: AttributeData, arch: str, config: str, seed: int) -> dict:
    """What an attribute checkpoint's sidecar records: enough to feed it the right images."""
    return {
        "arch": arch,
        "config": config,
        "image_size": data.size,
        "crop": data.crop,
        "attributes": data.names,
        "seed": seed,
    }


def attribute_report(
    model, data: AttributeData, split: str = "test", thresholds: np.ndarray | None = None
) -> pd.DataFrame:
    """Per-attribute accuracy and balanced accuracy of `model` on `split`, beside the majority
    baseline learned on train and scored on the same split."""
    from facetransfer.models import attribute_probabilities

    probs = attribute_probabilities(model, np.asarray(data.images[split]))
    return evaluate.attribute_report(
        data.labels[split], probs, data.names, data.majority, thresholds
    )


def tuned_thresholds(model, data: AttributeData) -> np.ndarray:
    """Per-attribute thresholds chosen on validation for balanced accuracy."""
    from facetransfer.models import attribute_probabilities

    probs = attribute_probabilities(model, np.asarray(data.images["validation"]))
    return evaluate.choose_attribute_thresholds(data.labels["validation"], probs)


def best_checkpoint(models_dir, arch: str | None = "seed") -> Path:
    """The attribute checkpoint with the highest recorded validation binary accuracy."""
    from facetransfer.training import checkpoint_record

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


def _identity_dataset(
    data: AttributeData, split: str, batch_size: int, shuffle: bool, seed: int, augment=None
):
    """Images with both targets: the 40 attributes and the identity class (-1: not learned)."""
    both = np.concatenate([data.labels[split], data.identities[split][:, None]], axis=1)
    ds = make_dataset(
        data.images[split], both, batch_size, shuffle=shuffle, seed=seed, augment=augment
    )
    n = len(data.names)

    def split_targets(x, y):
        return x, {"attribute_logits": y[:, :n], "identity": y[:, n:]}

    return ds.map(split_targets)
