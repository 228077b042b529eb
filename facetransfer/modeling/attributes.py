"""The attribute CNN on CelebA: cached arrays per split and one training function (any
architecture, one device or a `tf.distribute` strategy, with the identity objective where
identities are known and a teacher's descriptor to distil where one is given). Its evaluation is
in `modeling.attribute_evaluation`."""

from __future__ import annotations

import contextlib
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from facetransfer.config import ARCHITECTURES, DEFAULT_SEED_CONFIG, Architecture
from facetransfer.data.cache import build_cache
from facetransfer.data.pipeline import shard_indices
from facetransfer.modeling import distribute, networks
from facetransfer.modeling.card import read_card
from facetransfer.modeling.checkpoints import checkpoint_record
from facetransfer.modeling.fit import FitResult, fit
from facetransfer.modeling.precision import precision_scope
from facetransfer.modeling.student import calibrate_student, teacher_class_means
from facetransfer.modeling.teacher import teacher_descriptors
from facetransfer.report import evaluate
from facetransfer.report.tensorboard_logs import SamplePredictions

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
    # split -> the image files behind each row, and each row's CelebA identity (-1: unknown)
    paths: dict[str, list[str]] | None = None
    people: dict[str, np.ndarray] | None = None
    # train/validation -> (n, dim) the teacher's descriptor of each row (distillation)
    descriptors: dict[str, np.ndarray] | None = None
    teacher: dict | None = None  # which teacher, its cache files and build times
    learned_from: dict | None = None  # drawn or real faces, how many images and people
    geometry: str = "celeba"  # the crop geometry the images were cut to (data.geometry)

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
    teacher=None,
    fraction: float = 1.0,
    geometry: str = "celeba",
) -> AttributeData:
    """Decode and resize every split once (cached), keeping labels aligned with the images read.

    When CelebA's identities are known, each training identity with at least
    `min_identity_images` images becomes a class for the identity objective. People in
    `exclude_identities` are left out entirely (the recognition benchmark's evaluation people).
    `shard` (num_shards, index): the training split keeps only that share of its rows, so each
    worker of a multi-worker run decodes and caches only its own; validation and test stay whole.
    `fraction` < 1 keeps that share of the training rows (a random draw; the scaling benchmark).
    `teacher` (a base file, e.g. models/dlib.h5): the teacher's descriptor of every training and
    validation image, cached beside the image cache (`modeling.teacher`). `geometry` other than
    "celeba": every image cut again to that crop geometry (dlib's chip) before `crop` and resizing,
    so the base learns the crop the photo intake will give it.
    """
    images, labels, ids, skipped, paths = {}, {}, {}, [], {}
    excluded = set(exclude_identities)
    for split in ("train", "validation", "test"):
        frame = celeba.split(split)
        if excluded and celeba.identity is not None:
            frame = frame[~celeba.identity.loc[frame.index].isin(excluded).to_numpy()]
        if split == "train" and fraction < 1.0:
            keep = np.random.default_rng(0).permutation(len(frame))[: round(fraction * len(frame))]
            frame = frame.iloc[np.sort(keep)]
        if split == "train" and shard is not None:
            frame = frame.iloc[shard_indices(len(frame), shard)]
        files = celeba.paths(frame.index)
        cache = build_cache(files, size, cache_dir, crop, progress=progress, geometry=geometry)
        paths[split] = [str(f) for f, ok in zip(files, cache.ok, strict=True) if ok]
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
        paths=paths,
        geometry=geometry,
    )
    data.learned_from = {
        **celeba.learned_from(),
        "images": int(len(labels["train"])),
        "people": int(len(np.unique(ids["train"]))) if ids else None,
    }
    if ids:
        data.identities = identity_classes(ids, min_identity_images)
        data.people = ids
    if teacher is not None:
        built = {
            split: teacher_descriptors(paths[split], teacher, cache_dir, progress=progress)
            for split in ("train", "validation")
        }
        data.descriptors = {split: b.values for split, b in built.items()}
        data.teacher = {
            "name": read_card(teacher).arch or Path(teacher).stem,
            "learned_from": read_card(teacher).learned_from,
            "base": str(teacher),
            "images": {split: len(b.values) for split, b in built.items()},
            "build_seconds": round(sum(b.seconds for b in built.values()), 1),
            "cache": [b.path.name for b in built.values()],
        }
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
        "geometry": data.geometry,
        "attributes": data.names,
        "seed": seed,
    }


def train_attribute_model(
    data: AttributeData,
    arch: str | Architecture = "seed",
    *,
    models_dir,
    logs_dir,
    config: str | None = None,
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
    naming the image size and crop. `arch`: a name of `config.ARCHITECTURES`, or one of its
    entries with settings replaced, e.g. `replace(ARCHITECTURES["improved"], epochs=3)`.

    The improved architecture also learns who each face is (an additive-margin softmax on its
    embedding) when identities are known and `identity_weight` > 0; the saved model is the
    attribute network alone, embedding included. `precision` "auto" computes in bfloat16 where
    the CPU has bfloat16 units; checkpoints are float32.

    When `data` carries a teacher's descriptors (`load_attribute_data(..., teacher=...)`), the
    improved network is a student: its embedding learns the teacher's descriptor of each face
    (`distill_weight` on the squared distance, `relational_weight` on the batch's pairwise
    distances; a mirrored view keeps its source's descriptor), `teacher_centres` fixes the
    identity centres at the teacher's class means, the best epoch is the one closest to the
    teacher on validation, and the sidecar gets distance thresholds calibrated on validation
    faces (CelebA keeps its validation people out of train), as dlib's base has.

    `strategy`: a `tf.distribute` strategy (see `modeling.distribute.make_strategy`), None for
    one device. The model is built in its scope and fed per-replica batches of the global
    `batch_size`; under a multi-worker strategy `data` should hold this worker's shard
    (`load_attribute_data(..., shard=...)`), and only the chief writes the checkpoint and logs.
    `shuffle=False` makes runs comparable step by step: under any strategy Keras reads one batch
    before training starts, so a shuffled first epoch uses the dataset's second permutation.
    `sample_images`: validation faces drawn with the model's answers in TensorBoard each epoch.
    """
    defaults = ARCHITECTURES[arch] if isinstance(arch, str) else arch
    arch = defaults.name
    config = (config or DEFAULT_SEED_CONFIG) if arch == "seed" else None
    epochs, batch_size, augment = defaults.epochs, defaults.batch_size, defaults.augment
    learning_rate, identity_weight = defaults.learning_rate, defaults.identity_weight
    distill_weight, relational_weight = defaults.distill_weight, defaults.relational_weight
    teacher_centres = defaults.teacher_centres
    strategy = strategy or distribute.make_strategy("none")
    cluster = distribute.cluster_of(strategy)

    keras.utils.set_random_seed(seed)  # MultiWorkerMirrored also copies worker 0's initial weights
    use_identity = arch == "improved" and identity_weight > 0 and data.n_identities > 1
    distilling = arch == "improved" and data.descriptors is not None
    if not distilling:
        distill_weight = relational_weight = 0.0
    if not (distilling and use_identity):
        teacher_centres = False
    if distilling and distill_weight <= 0 and relational_weight <= 0:
        raise ValueError("a teacher was given but both distillation weights are 0")
    teacher_dim = data.descriptors["train"].shape[1] if distilling else 0
    rate = learning_rate
    if defaults.schedule == "cosine" and learning_rate is not None:
        steps = -(-len(data.labels["train"]) // batch_size) * epochs
        rate = keras.optimizers.schedules.CosineDecay(learning_rate, steps, alpha=0.02)
    with strategy.scope(), precision_scope(defaults.precision) as policy:
        model = networks.build_attribute_model(
            arch, data.size, config, rate, widths=defaults.widths or (32, 64, 128, 256)
        )
        trainer = model
        if use_identity or distilling:
            trainer = networks.with_training_heads(
                model,
                n_identities=data.n_identities if use_identity else 0,
                identity_weight=identity_weight,
                teacher_dim=teacher_dim,
                distill_weight=distill_weight,
                relational_weight=relational_weight,
                centres=(
                    teacher_class_means(
                        data.identities["train"], data.descriptors["train"], data.n_identities
                    )
                    if teacher_centres
                    else None
                ),
                learning_rate=rate,
            )
    targets = (
        [name for name in trainer.output_names if name != "attribute_logits"]
        if trainer is not model
        else []
    )
    train_ds, val_ds = _datasets(
        data,
        strategy=strategy,
        cluster=cluster,
        batch_size=batch_size,
        targets=targets,
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
        "learned_from": data.learned_from,
        "teacher": data.teacher if distilling else None,
        "distill_weight": distill_weight,
        "relational_weight": relational_weight,
        "teacher_centres": teacher_centres,
        "widths": list(defaults.widths) if arch == "improved" else None,
        "learning_rate": learning_rate,
        "schedule": defaults.schedule,
        "replicas": strategy.num_replicas_in_sync,
        "workers": cluster.num_workers,
        "batch_size": batch_size,
        "augment": augment or "none",
        "precision": policy,
    }
    monitor, mode = "val_binary_accuracy", "max"
    if targets:
        monitor = "val_attribute_logits_binary_accuracy"
    if distilling:  # the student is chosen for recognition: its closeness to the teacher
        monitor = "val_descriptor_loss" if distill_weight > 0 else "val_relations_loss"
        mode = "min"
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
            mode=mode,
            resume=resume,
            verbose=verbose,
            save_model=model,
            metadata=metadata,
            extra_callbacks=callbacks,
        )
    if distilling and cluster.is_chief and result.checkpoint.exists():
        if data.people is None:
            log.warning("no identities: the student's distances are not calibrated")
        else:
            calibrate_student(
                result.checkpoint, data.images["validation"], data.people["validation"]
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
    data: AttributeData, *, strategy, cluster, batch_size, targets, shuffle, seed, augment
):
    """Training and validation pipelines for `strategy`: every worker takes the same number of
    steps (even where one skipped a file another read). Each image carries its 40 attributes and
    whatever `targets` asks ("identity": its class, -1 where it is not learned; "descriptor" and
    "relations": the teacher's descriptor) in one label array, split per output batch by batch;
    a mirrored view keeps the descriptor of its source image."""
    n = len(data.names)
    teacher = bool({"descriptor", "relations"} & set(targets))

    def arrays(split):
        columns = [data.labels[split]]
        if "identity" in targets:
            columns.append(data.identities[split][:, None])
        if teacher:
            columns.append(data.descriptors[split])
        labels = np.concatenate(columns, axis=1, dtype=np.float32)
        keep = distribute.equal_share(len(labels), strategy, cluster)
        return data.images[split][:keep], labels[:keep]

    def split_targets(x, y):
        out, column = {"attribute_logits": y[:, :n]}, n
        if "identity" in targets:
            out["identity"], column = y[:, column : column + 1], column + 1
        for name in ("descriptor", "relations"):
            if name in targets:
                out[name] = y[:, column:]
        return x, out

    map_targets = split_targets if targets else None
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
        map_targets=map_targets,
    )
    val_images, val_labels = arrays("validation")
    val_ds = distribute.distributed_arrays(
        strategy, val_images, val_labels, batch_size, map_targets=map_targets
    )
    return train_ds, val_ds


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
