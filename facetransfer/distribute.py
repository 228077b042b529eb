"""Training past one device and one machine with `tf.distribute`.

- One machine, several devices (GPUs, or logical CPUs for testing): MirroredStrategy.
- Several machines: MultiWorkerMirroredStrategy, configured by the `TF_CONFIG` environment
  variable that every machine sets before starting the same command:

      TF_CONFIG='{"cluster": {"worker": ["host1:12345", "host2:12345"]},
                  "task": {"type": "worker", "index": 0}}'      # index 1 on host2

Both are synchronous data parallelism: every replica holds the whole model, takes its share of
each global batch, and the gradients are summed across replicas before every update, so a run on
N replicas with global batch B follows the same path as one replica with batch B (BatchNorm
layers excepted: each replica normalises by the statistics of its own B/N images). Each worker
reads only its own shard of the training images (`dataset.shard_indices`), and caches only that.

Worker 0 (or the "chief" task, if the cluster names one) writes the checkpoint, the TensorBoard
run and the history; every other worker writes the same files into a scratch folder of its own
(`models/.workers/<index>/`), which it deletes when training ends.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

STRATEGIES = ("auto", "default", "mirrored", "multi-worker")


@dataclass(frozen=True)
class Cluster:
    """This process's place in a multi-worker run, read from TF_CONFIG."""

    num_workers: int = 1
    index: int = 0
    task_type: str = "worker"
    is_chief: bool = True

    @property
    def shard(self) -> tuple[int, int] | None:
        """(num_shards, index) of this worker's share of the images, None when alone."""
        return (self.num_workers, self.index) if self.num_workers > 1 else None


def cluster_from_env(environ=None) -> Cluster:
    """Parse TF_CONFIG: how many workers train together and which one this is.

    The chief is the "chief" task when the cluster has one, else worker 0. A malformed TF_CONFIG
    is an error naming what is wrong, not a silent single-machine run.
    """
    raw = (os.environ if environ is None else environ).get("TF_CONFIG", "").strip()
    if not raw:
        return Cluster()
    try:
        config = json.loads(raw)
        cluster = config["cluster"]
        task_type = str(config["task"]["type"])
        index = int(config["task"]["index"])
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as error:
        raise ValueError(
            f"TF_CONFIG is not valid ({type(error).__name__}: {error}); expected "
            '{"cluster": {"worker": ["host:port", ...]}, "task": {"type": "worker", "index": 0}}'
        ) from error
    chiefs = list(cluster.get("chief", []))
    workers = list(cluster.get("worker", []))
    if task_type not in ("chief", "worker"):
        raise ValueError(f"TF_CONFIG task type {task_type!r}: expected 'chief' or 'worker'")
    members = chiefs + workers
    position = index if task_type == "chief" else len(chiefs) + index
    if not 0 <= position < len(members):
        raise ValueError(f"TF_CONFIG task {task_type}:{index} is not in its cluster {cluster}")
    is_chief = task_type == "chief" or (not chiefs and index == 0)
    return Cluster(len(members), position, task_type, is_chief)


def use_logical_cpus(n: int) -> None:
    """Split the CPU into `n` logical devices, so MirroredStrategy can run `n` replicas on one
    machine (for tests: it shows the mechanics, not a speed-up). Must run before TensorFlow
    touches a device."""
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(n)]
        )
    except RuntimeError as error:
        raise RuntimeError(
            "logical CPUs must be configured before TensorFlow initialises its devices: "
            "call use_logical_cpus first thing, in a fresh process"
        ) from error


def make_strategy(kind: str = "auto", devices=None):
    """A tf.distribute strategy.

    "auto": MultiWorkerMirroredStrategy when TF_CONFIG names more than one task; else
    MirroredStrategy over this machine's GPUs (or logical CPUs) when it has more than one; else
    the default strategy (one device, no overhead). "mirrored" takes `devices` (names such as
    "/cpu:0"), all local accelerators when None. Create it first thing in the program:
    MultiWorkerMirroredStrategy must exist before any other TensorFlow op runs.
    """
    import tensorflow as tf

    if kind not in STRATEGIES:
        raise ValueError(f"unknown strategy {kind!r}: expected one of {STRATEGIES}")
    if kind == "auto":
        if cluster_from_env().num_workers > 1:
            kind = "multi-worker"
        else:
            local = devices or _local_replica_devices()
            kind, devices = ("mirrored", local) if len(local) > 1 else ("default", None)
    if kind == "multi-worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    if kind == "mirrored":
        return tf.distribute.MirroredStrategy(devices or _local_replica_devices() or None)
    return tf.distribute.get_strategy()


def _local_replica_devices() -> list[str]:
    import tensorflow as tf

    gpus = tf.config.list_logical_devices("GPU")
    if gpus:
        return [d.name for d in gpus]
    cpus = tf.config.list_logical_devices("CPU")
    return [d.name for d in cpus] if len(cpus) > 1 else []


def num_workers(strategy) -> int:
    """How many machines `strategy` spans (1 for every strategy but a multi-worker one)."""
    import tensorflow as tf

    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return 1
    # Not public API; TF_CONFIG says the same when the strategy was made from it.
    return int(getattr(strategy.extended, "_num_workers", cluster_from_env().num_workers))


def is_multi_worker(strategy) -> bool:
    return num_workers(strategy) > 1


# ---------------------------------------------------------------------------------------------
# Precision: bfloat16 compute where the CPU has bfloat16 units. BENCHMARKS.md: on a 2-core
# Xeon with AMX the seed network trains 2.4x and the improved one 1.4x faster; elsewhere bfloat16
# is emulated and slow, so "auto" keeps float32 there.

PRECISIONS = ("auto", "float32", "bfloat16")


def bfloat16_hardware() -> bool:
    """Whether this CPU computes bfloat16 natively (Intel AMX or AVX512-BF16) and TensorFlow
    sees no GPU (on a GPU, mixed precision is float16's business, not this)."""
    import tensorflow as tf

    if tf.config.list_physical_devices("GPU"):
        return False
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return " amx_bf16" in flags or " avx512_bf16" in flags


def policy_name(precision: str = "auto") -> str:
    """The Keras dtype policy for `precision`: "mixed_bfloat16" (float32 weights, bfloat16
    compute) or "float32"."""
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}: expected one of {PRECISIONS}")
    if precision == "auto":
        precision = "bfloat16" if bfloat16_hardware() else "float32"
    return "mixed_bfloat16" if precision == "bfloat16" else "float32"


@contextlib.contextmanager
def precision_scope(precision: str = "auto"):
    """Build models inside this block to compute in `precision`; the global Keras policy is
    restored afterwards (a policy only matters when a layer is made)."""
    import keras

    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(policy_name(precision))
    try:
        yield keras.mixed_precision.global_policy().name
    finally:
        keras.mixed_precision.set_global_policy(previous)


def float32_copy(model):
    """The same network and weights with every layer in float32: what is saved, so a model
    trained in bfloat16 predicts at full speed on CPUs without bfloat16 units too. Returns
    `model` itself when it is float32 already."""
    import keras

    if all(layer.dtype_policy.name == "float32" for layer in model.layers):
        return model

    def in_float32(layer):
        return layer.__class__.from_config({**layer.get_config(), "dtype": "float32"})

    with precision_scope("float32"):
        copy = keras.models.clone_model(model, clone_function=in_float32)
    copy.set_weights(model.get_weights())
    return copy


def distribute_dataset(strategy, build, global_batch_size: int):
    """A dataset for `strategy`: `build(batch_size, shard)` makes one input pipeline.

    - One replica: `build(global_batch_size, None)`, untouched.
    - One machine, several replicas: one pipeline of global batches that tf.distribute splits
      between the replicas. (Keras then knows the exact number of steps; fed per-replica
      pipelines instead, it reads one step past the end and MirroredStrategy counts that
      aborted step in the optimizer's iterations.)
    - Several machines: each worker builds its own pipeline over its own shard
      (shard=(num_workers, index)) and feeds its replicas batches of
      global_batch_size / replicas images.
    """
    replicas = strategy.num_replicas_in_sync
    if replicas == 1:
        return build(global_batch_size, None)
    if global_batch_size % replicas:
        raise ValueError(
            f"global batch {global_batch_size} does not split evenly over {replicas} replicas"
        )
    if not is_multi_worker(strategy):
        return strategy.experimental_distribute_dataset(build(global_batch_size, None))

    def per_worker(context):
        # Per-replica batches: with one replica a worker (one CPU, or one GPU, a machine), Keras
        # counts the steps exactly; with several, see the note above on the step past the end.
        batch = context.get_per_replica_batch_size(global_batch_size)
        shard = (context.num_input_pipelines, context.input_pipeline_id)
        return build(batch, shard)

    return strategy.distribute_datasets_from_function(per_worker)


def distributed_arrays(
    strategy,
    images: np.ndarray,
    labels: np.ndarray,
    global_batch_size: int,
    shuffle: bool = False,
    seed: int = 0,
    augment=None,
    sharded_already: bool = False,
):
    """`dataset.make_dataset` over arrays, split across `strategy`'s workers and replicas.

    With several replicas every step must give each of them a whole batch (a replica left
    without one fails inside TensorFlow), so the images are cut to a whole number of global
    batches: fewer than `global_batch_size` images an epoch are left out.
    `sharded_already`: the arrays hold this worker's shard only (see `load_worker_data`).
    """
    from facetransfer.dataset import make_dataset

    several = strategy.num_replicas_in_sync > 1
    if several:
        unit = global_batch_size // (num_workers(strategy) if sharded_already else 1)
        keep = len(images) // unit * unit
        if keep == 0:
            raise ValueError(
                f"{len(images)} images make no whole global batch of {global_batch_size}"
            )
        images, labels = images[:keep], labels[:keep]

    def build(batch, shard):
        return make_dataset(
            images,
            labels,
            batch,
            shuffle=shuffle,
            seed=seed,
            augment=augment,
            shard=None if sharded_already else shard,
            drop_remainder=several,
        )

    return distribute_dataset(strategy, build, global_batch_size)


@contextlib.contextmanager
def keras_multi_worker_fixes(model, strategy):
    """Work around Keras 3's `fit` under MultiWorkerMirroredStrategy (tensorflow/tensorflow
    #72388): it averages each step's scalar logs with `reduce(axis=0)`, which fails on scalars,
    and reduces the whole first batch (a tuple) to infer shapes, which fails too. Inside this
    block a scalar is averaged over replicas without an axis (the values are already identical:
    metrics are synchronised) and the first batch is read from the local replica. Nothing changes
    for any other strategy."""
    if not is_multi_worker(strategy):
        yield
        return
    import tensorflow as tf
    from keras.src.backend.tensorflow import trainer as tf_trainer

    original_reduce = tf_trainer.reduce_per_replica

    def reduce_per_replica(values, strategy_, reduction):
        if reduction in ("auto", "mean") and is_multi_worker(strategy_):
            return tf.nest.map_structure(
                lambda v: strategy_.reduce("MEAN", v, axis=0 if v.shape.rank else None), values
            )
        return original_reduce(values, strategy_, reduction)

    def symbolic_build(iterator=None, data_batch=None):
        if iterator is not None:
            for _, _, it in iterator:
                batch = next(it)
                break
            data_batch = tf.nest.map_structure(
                lambda v: strategy.experimental_local_results(v)[0], batch
            )
        with strategy.scope():
            model._symbolic_build(data_batch=data_batch)  # noqa: SLF001

    tf_trainer.reduce_per_replica = reduce_per_replica
    model._maybe_symbolic_build = symbolic_build  # noqa: SLF001
    try:
        yield
    finally:
        tf_trainer.reduce_per_replica = original_reduce
        del model._maybe_symbolic_build  # noqa: SLF001


def worker_paths(cluster: Cluster, checkpoint: Path, logs_dir: Path) -> tuple[Path, Path]:
    """Where this worker writes: the real paths on the chief, a scratch folder elsewhere (two
    workers writing one file on a shared disk would corrupt it)."""
    if cluster.is_chief:
        return Path(checkpoint), Path(logs_dir)
    scratch = Path(checkpoint).parent / ".workers" / str(cluster.index)
    return scratch / Path(checkpoint).name, scratch / "logs"


def load_worker_data(celeba, size: int, cache_dir, crop: str, cluster: Cluster, progress=True):
    """Like `attributes.load_attribute_data`, but the training split holds only this worker's
    shard (`dataset.shard_indices` of the training rows), so each machine decodes and caches
    1/num_workers of it. Validation and test stay whole (validation is sharded in the pipeline;
    test is for the chief's report)."""
    from facetransfer.attributes import AttributeData
    from facetransfer.dataset import build_cache, shard_indices

    images, labels, skipped = {}, {}, []
    for split in ("train", "validation", "test"):
        frame = celeba.split(split)
        if split == "train" and cluster.shard is not None:
            frame = frame.iloc[shard_indices(len(frame), cluster.shard)]
        cache = build_cache(celeba.paths(frame.index), size, cache_dir, crop, progress=progress)
        images[split] = cache.images
        labels[split] = frame.to_numpy(dtype=np.uint8)[cache.ok]
        skipped += cache.skipped
    return AttributeData(list(celeba.attributes.columns), images, labels, size, crop, skipped)


def equal_share(n_local: int, strategy, cluster: Cluster) -> int:
    """The number of training rows every worker keeps: the smallest worker's count, agreed by
    an all-reduce, since a worker may have skipped unreadable files the others did not."""
    if cluster.num_workers == 1:
        return n_local
    import tensorflow as tf

    # Every worker takes part: all the counts are gathered everywhere, each keeps the smallest.
    counts = strategy.gather(strategy.run(lambda: tf.constant([n_local], tf.int64)), axis=0)
    return int(tf.reduce_min(counts).numpy())


def _same_length(data, split: str, strategy, cluster: Cluster, sharded: bool):
    """A split cut to the length every worker has: the shortest worker's shard when `sharded`,
    else the shortest worker's whole split (the pipeline shards it)."""
    images, labels = data.images[split], data.labels[split]
    if cluster.num_workers == 1:
        return images, labels
    keep = equal_share(len(images), strategy, cluster)
    return images[:keep], labels[:keep]


def train_attribute_model(
    data,
    arch: str,
    config: str,
    epochs: int,
    models_dir,
    logs_dir,
    strategy=None,
    global_batch_size: int = 32,
    learning_rate: float | None = None,
    seed: int = 0,
    resume: bool = True,
    augment=None,
    sharded_data: bool = False,
    shuffle: bool = True,
    precision: str = "auto",
    verbose="auto",
):
    """Train the attribute network (40 attributes, seed or improved) under a tf.distribute
    strategy: the model is built inside the strategy's scope and fed sharded, per-replica
    batches; the chief keeps the best epoch in models/<name>.h5 like
    `attributes.train_attribute_model` (without its identity objective).

    `strategy`: None for `make_strategy("auto")`. `sharded_data`: `data` came from
    `load_worker_data`, its training split is this worker's shard already. `shuffle=False`
    makes runs comparable step by step: under any strategy Keras reads one batch before
    training starts, so a shuffled first epoch uses the dataset's second permutation.
    `precision`: see `policy_name`; checkpoints are saved in float32 whatever it is. Returns
    (model, training.FitResult).
    """
    import keras

    from facetransfer import models, training
    from facetransfer.attributes import checkpoint_metadata, checkpoint_name

    strategy = strategy or make_strategy("auto")
    cluster = cluster_from_env() if is_multi_worker(strategy) else Cluster()
    keras.utils.set_random_seed(seed)  # MultiWorkerMirrored also copies worker 0's initial weights
    with strategy.scope(), precision_scope(precision) as policy:
        model = models.build_attribute_model(arch, data.size, config, learning_rate)
    # Every worker must take the same number of steps, even where one skipped a file another read.
    train_images, train_labels = _same_length(data, "train", strategy, cluster, sharded_data)
    val_images, val_labels = _same_length(data, "validation", strategy, cluster, False)
    train_ds = distributed_arrays(
        strategy,
        train_images,
        train_labels,
        global_batch_size,
        shuffle=shuffle,
        seed=seed + cluster.index,
        augment=augment,
        sharded_already=sharded_data,
    )
    val_ds = distributed_arrays(strategy, val_images, val_labels, global_batch_size)
    name = checkpoint_name(arch, config)
    checkpoint, logs = worker_paths(cluster, Path(models_dir) / f"{name}.h5", Path(logs_dir))
    metadata = {
        **checkpoint_metadata(data, arch, config, seed),
        "replicas": strategy.num_replicas_in_sync,
        "workers": cluster.num_workers,
        "global_batch_size": global_batch_size,
        "precision": policy,
    }
    with keras_multi_worker_fixes(model, strategy):
        result = training.fit(
            model,
            train_ds,
            val_ds,
            epochs,
            checkpoint,
            logs,
            monitor="val_binary_accuracy",
            mode="max",
            resume=resume,
            verbose=verbose,
            metadata=metadata,
        )
    if not cluster.is_chief:
        shutil.rmtree(checkpoint.parent, ignore_errors=True)
        with contextlib.suppress(OSError):  # the last worker out removes the empty folder
            checkpoint.parent.parent.rmdir()
    if cluster.num_workers > 1:
        # Finish together: the chief hosts the cluster's coordination service, and a worker
        # still tearing down when it exits logs connection errors.
        barrier(strategy)
    return model, result


def barrier(strategy) -> None:
    """Return only when every worker has reached this call."""
    equal_share(0, strategy, Cluster(num_workers(strategy)))


def build_parser():
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m facetransfer.distribute",
        description="Train the attribute CNN under tf.distribute: on every machine of a "
        "multi-worker run, set TF_CONFIG and run the same command (see the module docstring).",
    )
    parser.add_argument("--strategy", choices=STRATEGIES, default="auto")
    parser.add_argument(
        "--logical-cpus",
        type=int,
        default=0,
        help="split the CPU into this many logical devices (to try MirroredStrategy on one "
        "machine; it shows the mechanics, not a speed-up)",
    )
    parser.add_argument("--celeba-dir", type=Path, default=None)
    parser.add_argument("--synthetic-size", choices=("tiny", "default"), default="default")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--models-dir", type=Path, default=None)
    parser.add_argument("--logs-dir", type=Path, default=None)
    parser.add_argument("--arch", choices=("seed", "improved"), default="seed")
    parser.add_argument("--config", choices=("model1", "model2", "model3"), default="model2")
    parser.add_argument("--image-size", type=int, default=None)
    parser.add_argument("--crop", choices=("full", "face"), default=None)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument(
        "--batch-size", type=int, default=32, help="global batch, split over all replicas"
    )
    parser.add_argument("--learning-rate", type=float, default=None)
    parser.add_argument("--augment", choices=("none", "flip", "light"), default="none")
    parser.add_argument(
        "--precision",
        choices=PRECISIONS,
        default="auto",
        help="auto: bfloat16 compute on CPUs with bfloat16 units (AMX), float32 elsewhere",
    )
    parser.add_argument("--no-resume", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if args.logical_cpus > 1:
        use_logical_cpus(args.logical_cpus)
    strategy = make_strategy(args.strategy)  # first: MultiWorkerMirrored must precede other ops
    cluster = cluster_from_env() if is_multi_worker(strategy) else Cluster()

    from facetransfer.celeba import load_celeba
    from facetransfer.config import Paths
    from facetransfer.sources import resolve_celeba
    from facetransfer.training import run_dir

    paths = Paths(data=args.data_dir, models=args.models_dir, logs=args.logs_dir)
    source = resolve_celeba(args.celeba_dir, paths, args.synthetic_size, args.seed)
    celeba = load_celeba(source.root, limit=args.limit, seed=args.seed)
    size = args.image_size or (192 if args.arch == "seed" else 128)
    crop = args.crop or ("full" if args.arch == "seed" else "face")
    log.info(
        "data: %s; %s with %d replicas, worker %d of %d",
        source,
        type(strategy).__name__,
        strategy.num_replicas_in_sync,
        cluster.index,
        cluster.num_workers,
    )
    data = load_worker_data(celeba, size, paths.cache, crop, cluster, progress=cluster.is_chief)
    name = args.config if args.arch == "seed" else args.arch
    model, result = train_attribute_model(
        data,
        args.arch,
        args.config,
        args.epochs,
        paths.models,
        run_dir(paths.logs, "train-attributes", f"{name}-distributed"),
        strategy,
        args.batch_size,
        args.learning_rate,
        args.seed,
        resume=not args.no_resume,
        augment=None if args.augment == "none" else args.augment,
        sharded_data=cluster.num_workers > 1,
        precision=args.precision,
        verbose=2,
    )
    if cluster.is_chief:
        summary = {
            "checkpoint": str(result.checkpoint),
            "logs": str(result.run_dir),
            "best_val_binary_accuracy": result.best,
            "seconds": round(result.seconds, 1),
            "replicas": strategy.num_replicas_in_sync,
            "workers": cluster.num_workers,
        }
        print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
