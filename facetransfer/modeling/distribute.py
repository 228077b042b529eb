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
reads only its own shard of the training images (`data.pipeline.shard_indices`), and caches
only that.

Worker 0 (or the "chief" task, if the cluster names one) writes the checkpoint, the TensorBoard
run and the history; every other worker writes the same files into a scratch folder of its own
(`models/.workers/<index>/`), which it deletes when training ends.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf
from keras.src.backend.tensorflow import trainer as tf_trainer

from facetransfer.data.pipeline import make_dataset

log = logging.getLogger(__name__)

STRATEGIES = ("none", "mirrored", "multi-worker", "auto")


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

    "none": the default strategy (one device, no overhead).
    "auto": MultiWorkerMirroredStrategy when TF_CONFIG names more than one task; else
    MirroredStrategy over this machine's GPUs (or logical CPUs) when it has more than one; else
    the default strategy (one device, no overhead). "mirrored" takes `devices` (names such as
    "/cpu:0"), all local accelerators when None. Create it first thing in the program:
    MultiWorkerMirroredStrategy must exist before any other TensorFlow op runs.
    """
    if kind not in STRATEGIES:
        raise ValueError(f"unknown strategy {kind!r}: expected one of {STRATEGIES}")
    if kind == "auto":
        if cluster_from_env().num_workers > 1:
            kind = "multi-worker"
        else:
            local = devices or _local_replica_devices()
            kind, devices = ("mirrored", local) if len(local) > 1 else ("none", None)
    if kind == "multi-worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    if kind == "mirrored":
        return tf.distribute.MirroredStrategy(devices or _local_replica_devices() or None)
    return tf.distribute.get_strategy()


def _local_replica_devices() -> list[str]:
    gpus = tf.config.list_logical_devices("GPU")
    if gpus:
        return [d.name for d in gpus]
    cpus = tf.config.list_logical_devices("CPU")
    return [d.name for d in cpus] if len(cpus) > 1 else []


def num_workers(strategy) -> int:
    """How many machines `strategy` spans (1 for every strategy but a multi-worker one)."""
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return 1
    # Not public API; TF_CONFIG says the same when the strategy was made from it.
    return int(getattr(strategy.extended, "_num_workers", cluster_from_env().num_workers))


def is_multi_worker(strategy) -> bool:
    return num_workers(strategy) > 1


def cluster_of(strategy) -> Cluster:
    """This process's place in `strategy`'s cluster: from TF_CONFIG under a multi-worker
    strategy, alone otherwise."""
    return cluster_from_env() if is_multi_worker(strategy) else Cluster()


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
    *,
    shuffle: bool = False,
    seed: int = 0,
    augment=None,
    sharded_already: bool = False,
    map_targets=None,
):
    """`dataset.make_dataset` over arrays, split across `strategy`'s workers and replicas.

    With several replicas every step must give each of them a whole batch (a replica left
    without one fails inside TensorFlow), so the images are cut to a whole number of global
    batches: fewer than `global_batch_size` images an epoch are left out.
    `sharded_already`: the arrays hold this worker's shard only
    (`attributes.load_attribute_data(..., shard=...)`). `map_targets(x, y)`, if given, maps each
    batch (to split one label array into a model's named targets).
    """
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
        ds = make_dataset(
            images,
            labels,
            batch,
            shuffle=shuffle,
            seed=seed,
            augment=augment,
            shard=None if sharded_already else shard,
            drop_remainder=several,
        )
        return ds.map(map_targets) if map_targets else ds

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


def equal_share(n_local: int, strategy, cluster: Cluster) -> int:
    """The number of training rows every worker keeps: the smallest worker's count, agreed by
    an all-reduce, since a worker may have skipped unreadable files the others did not."""
    if cluster.num_workers == 1:
        return n_local
    # Every worker takes part: all the counts are gathered everywhere, each keeps the smallest.
    counts = strategy.gather(strategy.run(lambda: tf.constant([n_local], tf.int64)), axis=0)
    return int(tf.reduce_min(counts).numpy())


def barrier(strategy) -> None:
    """Return only when every worker has reached this call."""
    equal_share(0, strategy, Cluster(num_workers(strategy)))
