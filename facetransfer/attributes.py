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

    @property
    def majority(self) -> np.ndarray:
        """The commoner value of each attribute on the training split: the baseline to beat."""
        return evaluate.majority_baseline(self.labels["train"])

    def counts(self) -> dict[str, int]:
        return {split: len(y) for split, y in self.labels.items()}


def load_attribute_data(
    celeba, size: int, cache_dir, crop: str = "full", progress: bool = True
) -> AttributeData:
    """Decode and resize every split once (cached), keeping labels aligned with the images read."""
    images, labels, skipped = {}, {}, []
    for split in ("train", "validation", "test"):
        frame = celeba.split(split)
        cache = build_cache(celeba.paths(frame.index), size, cache_dir, crop, progress=progress)
        images[split] = cache.images
        labels[split] = frame.to_numpy(dtype=np.uint8)[cache.ok]
        skipped += cache.skipped
    return AttributeData(list(celeba.attributes.columns), images, labels, size, crop, skipped)


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
):
    """Train one architecture/config; its best epoch by validation binary accuracy is kept in
    models/<name>.h5 (and .keras), with a JSON sidecar naming the image size and crop."""
    import keras

    from facetransfer import models, training

    keras.utils.set_random_seed(seed)
    model = models.build_attribute_model(arch, data.size, config, learning_rate)
    train_ds = make_dataset(
        data.images["train"], data.labels["train"], batch_size, shuffle=True, seed=seed
    )
    val_ds = make_dataset(data.images["validation"], data.labels["validation"], batch_size)
    name = checkpoint_name(arch, config)
    result = training.fit(
        model,
        train_ds,
        val_ds,
        epochs,
        Path(models_dir) / f"{name}.h5",
        logs_dir,
        monitor="val_binary_accuracy",
        mode="max",
        resume=resume,
        verbose=verbose,
        metadata={
            "arch": arch,
            "config": config,
            "image_size": data.size,
            "crop": data.crop,
            "attributes": data.names,
            "seed": seed,
        },
    )
    return model, result


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
        if not record or record.get("monitor") != "val_binary_accuracy":
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
