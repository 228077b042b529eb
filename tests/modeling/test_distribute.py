"""tf.distribute: TF_CONFIG parsing, per-worker paths, and training under two replicas (two logical
CPUs with MirroredStrategy, two local processes with MultiWorkerMirroredStrategy) that ends where a
single-replica run with the same global batch ends."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from facetransfer.modeling import distribute, precision

# Runs in a fresh interpreter: logical devices and MultiWorkerMirroredStrategy must be set up
# before TensorFlow initialises. Trains the seed network one epoch (4 steps of 16) on the same
# arrays, in file order (see attributes.train_attribute_model on shuffling), and saves its weights.
TRAIN_SCRIPT = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    import numpy as np
    from facetransfer.modeling import distribute

    kind, out = sys.argv[1], Path(sys.argv[2])
    if kind == "mirrored":
        distribute.use_logical_cpus(2)
    strategy = distribute.make_strategy(kind)
    from facetransfer.modeling.attributes import AttributeData

    data_dir = out.parent
    images = np.load(data_dir / "images.npy", mmap_mode="r")
    labels = np.load(data_dir / "labels.npy")
    data = AttributeData(
        [f"a{i}" for i in range(labels.shape[1])],
        {"train": images, "validation": images[:16], "test": images[:16]},
        {"train": labels, "validation": labels[:16], "test": labels[:16]},
        images.shape[1], "full", [],
    )
    from dataclasses import replace
    from facetransfer.config import ARCHITECTURES
    from facetransfer.modeling.attributes import train_attribute_model

    model, result = train_attribute_model(
        data, replace(ARCHITECTURES["seed"], epochs=1, batch_size=16, precision="float32"),
        config="model2", models_dir=out / "models", logs_dir=out / "logs", strategy=strategy,
        seed=3, resume=False, shuffle=False, sample_images=0, verbose=0,
    )
    np.savez(out / "weights.npz", *[w.numpy() for w in model.weights])
    import keras
    from facetransfer.modeling import networks

    keras.utils.set_random_seed(3)  # what train_attribute_model starts from
    start = networks.build_attribute_model("seed", images.shape[1], "model2")
    np.savez(out / "initial.npz", *[w.numpy() for w in start.weights])
    summary = {"replicas": strategy.num_replicas_in_sync,
               "iterations": int(model.optimizer.iterations.numpy()),
               "loss": result.history["loss"][-1],
               "checkpoint": result.checkpoint.exists()}
    (out / "summary.json").write_text(json.dumps(summary))
    """
)


def _env(**extra) -> dict:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **extra}
    env.pop("TF_CONFIG", None)
    env.update(extra)
    return env


def _write_data(folder: Path, n: int = 64, size: int = 190) -> None:
    rng = np.random.default_rng(0)
    np.save(folder / "images.npy", rng.integers(0, 256, (n, size, size, 3), dtype=np.uint8))
    np.save(folder / "labels.npy", (rng.random((n, 40)) < 0.3).astype(np.uint8))


def _train(tmp_path: Path, kind: str, name: str, env=None) -> subprocess.Popen:
    out = tmp_path / name
    out.mkdir()
    script = tmp_path / "train.py"
    script.write_text(TRAIN_SCRIPT)
    return subprocess.Popen(
        [sys.executable, str(script), kind, str(out)],
        env=env or _env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _finish(process: subprocess.Popen, timeout: float = 240) -> None:
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()  # never leave a training process behind
        raise
    assert process.returncode == 0, output[-3000:]


def _weights(folder: Path, name: str = "weights") -> list[np.ndarray]:
    with np.load(folder / f"{name}.npz") as archive:
        return [archive[k] for k in sorted(archive.files, key=lambda k: int(k.split("_")[1]))]


def _assert_same_training(reference: Path, other: Path) -> None:
    """Both runs moved every weight the same way: their difference is a small fraction of how
    far training moved it (summing gradients over two replicas rounds differently, so
    bit-equality is not expected)."""
    start, a, b = _weights(reference, "initial"), _weights(reference), _weights(other)
    assert len(a) == len(b) == len(start)
    moved_total = sum(float(np.sum((x - s) ** 2)) for x, s in zip(a, start, strict=True))
    assert moved_total > 0, "training changed nothing: the comparison would prove nothing"
    for s, x, y in zip(start, a, b, strict=True):
        moved = np.abs(x - s).max()
        assert np.abs(x - y).max() <= 1e-3 * moved + 1e-8
    differ = sum(float(np.sum((x - y) ** 2)) for x, y in zip(a, b, strict=True))
    assert differ <= 1e-6 * moved_total


def _free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("localhost", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two runs at once on the same 64 images, global batch 16: the reference (one replica) and
    two mirrored replicas on two logical CPUs."""
    tmp_path = tmp_path_factory.mktemp("distribute")
    _write_data(tmp_path)
    processes = [_train(tmp_path, "none", "single"), _train(tmp_path, "mirrored", "mirrored")]
    for process in processes:
        _finish(process)
    return tmp_path


# Two local gRPC workers once hung past the timeout in a fresh-clone CI run on the 2-core machine
# (worker 1 waiting on worker 0): the cluster test runs when asked, not in every CI run.
MULTI_WORKER = os.environ.get("FACETRANSFER_TEST_MULTI_WORKER") == "1"


@pytest.fixture(scope="module")
def worker_runs(runs):
    """A two-worker cluster of two local processes, each reading its own shard."""
    if not MULTI_WORKER:
        pytest.skip("set FACETRANSFER_TEST_MULTI_WORKER=1 to run a local two-worker cluster")
    hosts = [f"localhost:{port}" for port in _free_ports(2)]
    processes = []
    for index in range(2):
        config = {"cluster": {"worker": hosts}, "task": {"type": "worker", "index": index}}
        env = _env(TF_CONFIG=json.dumps(config))
        processes.append(_train(runs, "multi-worker", f"worker{index}", env))
    try:
        for process in processes:
            _finish(process)
    finally:
        for process in processes:
            process.kill()
    return runs


def _summary(folder: Path) -> dict:
    return json.loads((folder / "summary.json").read_text())


def test_two_mirrored_replicas_match_one_replica(runs):
    single, mirrored = _summary(runs / "single"), _summary(runs / "mirrored")
    assert single["replicas"] == 1 and mirrored["replicas"] == 2
    assert mirrored["iterations"] == single["iterations"] == 4
    assert mirrored["loss"] == pytest.approx(single["loss"], rel=1e-4)
    assert mirrored["checkpoint"]
    _assert_same_training(runs / "single", runs / "mirrored")


# The improved network with its identity objective, on two mirrored replicas (logical CPUs):
# 32 images of 8 identities, one epoch of 2 steps of a global batch 16.
IDENTITY_SCRIPT = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    import numpy as np
    from facetransfer.modeling import distribute

    out = Path(sys.argv[1])
    distribute.use_logical_cpus(2)
    strategy = distribute.make_strategy("mirrored")
    import keras
    from dataclasses import replace

    from facetransfer.config import ARCHITECTURES
    from facetransfer.modeling.attributes import AttributeData, train_attribute_model

    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (32, 32, 32, 3), dtype=np.uint8)
    labels = (rng.random((32, 40)) < 0.3).astype(np.uint8)
    ids = {"train": np.repeat(np.arange(8), 4), "validation": np.full(16, -1),
           "test": np.full(16, -1)}
    data = AttributeData(
        [f"a{i}" for i in range(40)],
        {"train": images, "validation": images[:16], "test": images[:16]},
        {"train": labels, "validation": labels[:16], "test": labels[:16]},
        32, "face", [], identities=ids,
    )
    model, result = train_attribute_model(
        data, replace(ARCHITECTURES["improved"], epochs=1, batch_size=16),
        models_dir=out / "models", logs_dir=out / "logs",
        strategy=strategy, resume=False, sample_images=0, verbose=0,
    )
    saved = keras.models.load_model(result.checkpoint)  # plain: no custom objects needed
    summary = {"replicas": strategy.num_replicas_in_sync,
               "epochs": len(result.history["loss"]),
               "identity_loss": result.history["identity_loss"][-1],
               "outputs": int(saved.output_shape[-1]),
               "sidecar": json.loads(result.checkpoint.with_suffix(".json").read_text())}
    (out / "summary.json").write_text(json.dumps(summary))
    """
)


def test_the_identity_objective_trains_on_two_mirrored_replicas(tmp_path):
    script = tmp_path / "identity.py"
    script.write_text(IDENTITY_SCRIPT)
    process = subprocess.Popen(
        [sys.executable, str(script), str(tmp_path)],
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    _finish(process)
    summary = _summary(tmp_path)
    assert summary["replicas"] == 2 and summary["epochs"] == 1
    assert np.isfinite(summary["identity_loss"]) and summary["identity_loss"] > 0
    assert summary["outputs"] == 40  # the saved base is the attribute network alone
    assert summary["sidecar"]["identity_classes"] == 8 and summary["sidecar"]["replicas"] == 2


def test_two_workers_match_one_replica(worker_runs):
    """Both workers end with the single-replica run's weights; only worker 0 keeps files."""
    runs = worker_runs
    chief, other = _summary(runs / "worker0"), _summary(runs / "worker1")
    assert chief["replicas"] == other["replicas"] == 2
    assert chief["iterations"] == other["iterations"] == 4
    assert chief["checkpoint"] and not other["checkpoint"]
    assert not (runs / "worker1" / "models" / ".workers").exists(), "scratch folder left behind"
    _assert_same_training(runs / "single", runs / "worker0")
    _assert_same_training(runs / "single", runs / "worker1")


def test_cluster_from_tf_config():
    assert distribute.cluster_from_env({}) == distribute.Cluster()
    hosts = ["a:1", "b:1", "c:1"]
    config = {"cluster": {"worker": hosts}, "task": {"type": "worker", "index": 2}}
    cluster = distribute.cluster_from_env({"TF_CONFIG": json.dumps(config)})
    assert (cluster.num_workers, cluster.index, cluster.is_chief) == (3, 2, False)
    assert cluster.shard == (3, 2)
    config["task"]["index"] = 0
    assert distribute.cluster_from_env({"TF_CONFIG": json.dumps(config)}).is_chief
    with_chief = {
        "cluster": {"chief": ["c:1"], "worker": ["a:1"]},
        "task": {"type": "worker", "index": 0},
    }
    cluster = distribute.cluster_from_env({"TF_CONFIG": json.dumps(with_chief)})
    assert (cluster.num_workers, cluster.index, cluster.is_chief) == (2, 1, False)


@pytest.mark.parametrize(
    "raw, message",
    [
        ("{not json", "TF_CONFIG is not valid"),
        ('{"cluster": {"worker": ["a:1"]}}', "TF_CONFIG is not valid"),
        ('{"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", "index": 3}}', "not in"),
        ('{"cluster": {"worker": ["a:1"]}, "task": {"type": "ps", "index": 0}}', "'ps'"),
    ],
)
def test_bad_tf_config_is_a_clear_error(raw, message):
    with pytest.raises(ValueError, match=message):
        distribute.cluster_from_env({"TF_CONFIG": raw})


def test_only_the_chief_writes_the_real_checkpoint(tmp_path):
    checkpoint, logs = tmp_path / "models" / "seed.h5", tmp_path / "logs" / "run"
    chief = distribute.Cluster(2, 0, "worker", True)
    other = distribute.Cluster(2, 1, "worker", False)
    assert distribute.worker_paths(chief, checkpoint, logs) == (checkpoint, logs)
    scratch_checkpoint, scratch_logs = distribute.worker_paths(other, checkpoint, logs)
    assert scratch_checkpoint != checkpoint and scratch_checkpoint.name == "seed.h5"
    assert ".workers" in scratch_checkpoint.parts and scratch_logs != logs


def test_unknown_strategy_is_refused():
    with pytest.raises(ValueError, match="unknown strategy"):
        distribute.make_strategy("parameter-server")


def test_precision_names_and_scope_restores_the_global_policy():
    import keras

    assert precision.policy_name("float32") == "float32"
    assert precision.policy_name("bfloat16") == "mixed_bfloat16"
    assert precision.policy_name("auto") in ("float32", "mixed_bfloat16")
    with pytest.raises(ValueError, match="unknown precision"):
        precision.policy_name("float16")
    before = keras.mixed_precision.global_policy().name
    with precision.precision_scope("bfloat16") as policy:
        assert policy == keras.mixed_precision.global_policy().name == "mixed_bfloat16"
    assert keras.mixed_precision.global_policy().name == before


def test_a_bfloat16_model_is_saved_as_its_float32_twin(tmp_path, rng):
    import keras

    from facetransfer.modeling import fit, networks

    with precision.precision_scope("bfloat16"):
        model = networks.improved_cnn(32, widths=(8, 16))
    assert model.get_layer("stem_conv").compute_dtype == "bfloat16"
    images = rng.integers(0, 256, (2, 32, 32, 3), dtype=np.uint8)
    copy = precision.float32_copy(model)
    assert {layer.dtype_policy.name for layer in copy.layers} == {"float32"}
    for a, b in zip(model.get_weights(), copy.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(
        np.asarray(copy(images), np.float32), np.asarray(model(images), np.float32), atol=0.1
    )
    assert precision.float32_copy(copy) is copy  # float32 already: nothing to do

    fit.save_model_atomically(model, tmp_path / "m.h5")
    loaded = keras.models.load_model(tmp_path / "m.h5", compile=False)
    assert {layer.dtype_policy.name for layer in loaded.layers} == {"float32"}
