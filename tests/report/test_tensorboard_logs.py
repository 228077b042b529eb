"""Tests for facetransfer.report.tensorboard_logs: what lands in a run folder is what
TensorBoard's HParams dashboard and Images tab read (checked through TensorBoard's own event
reader)."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import metadata as hp_metadata

from facetransfer.modeling import fit, networks
from facetransfer.report import tensorboard_logs


def read_run(run_dir: Path) -> EventAccumulator:
    events = EventAccumulator(str(run_dir), size_guidance={"tensors": 0, "images": 0})
    events.Reload()
    return events


def session_hparams(run_dir: Path) -> dict:
    """The hyperparameters TensorBoard's HParams plugin finds in a run folder."""
    events = read_run(run_dir)
    content = events.PluginTagToContent(hp_metadata.PLUGIN_NAME)
    start = hp_metadata.parse_session_start_info_plugin_data(
        content[hp_metadata.SESSION_START_INFO_TAG]
    )
    values = {}
    for name, value in start.hparams.items():
        kind = value.WhichOneof("kind")
        values[name] = getattr(value, kind)
    return values


def final_scalars(run_dir: Path) -> dict[str, float]:
    events = read_run(run_dir)
    return {
        tag: float(tf.make_ndarray(events.Tensors(tag)[-1].tensor_proto))
        for tag in events.Tags()["tensors"]
        if tag.startswith(tensorboard_logs.FINAL_PREFIX)
    }


def tiny_attribute_model(n_outputs: int = 3):
    model = keras.Sequential(
        [
            keras.Input((16, 16, 3)),
            keras.layers.Rescaling(1 / 255),
            keras.layers.Conv2D(4, 3, activation="relu", name="conv1"),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(n_outputs, name="attributes"),
        ]
    )
    return networks.compile_seed(model, "model1")


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (32, 16, 16, 3), dtype=np.uint8)
    y = (rng.random((32, 3)) < 0.3).astype(np.float32)
    return x, y


def test_hparams_and_final_metrics_are_readable_by_tensorboard(tmp_path):
    run = tmp_path / "02_attribute_cnn" / "model2-20260101-000000"
    tensorboard_logs.write_hparams(run, {"config": "model2", "learning_rate": 0.01, "epochs": 30})
    tags = tensorboard_logs.write_final_metrics(
        run, {"test_mean_accuracy": 0.81, "baseline": np.float32(0.8), "note": "x", "bad": np.nan}
    )
    assert tags == ["final/test_mean_accuracy", "final/baseline"]  # text and NaN skipped
    assert session_hparams(run) == {"config": "model2", "learning_rate": 0.01, "epochs": 30.0}
    assert final_scalars(run) == pytest.approx(
        {"final/test_mean_accuracy": 0.81, "final/baseline": 0.8}
    )
    assert len(list(run.glob("events.out.tfevents.*"))) == 1  # one events file per run folder


def test_run_hparams_describe_the_compiled_model():
    model = tiny_attribute_model()
    hparams = tensorboard_logs.run_hparams(
        model, {"arch": "seed", "config": "model1", "attributes": ["a", "b"], "crop": None}, 4
    )
    assert hparams == {
        "arch": "seed",
        "config": "model1",
        "optimizer": "adam",
        "learning_rate": 0.001,  # rounded from float32
        "loss": "binary_crossentropy",
        "epochs": 4,
        "image_size": 16,
        "trainable_params": 4 * 27 + 4 + 4 * 3 + 3,
    }
    improved = networks.compile_improved(networks.improved_cnn(32, widths=(8,)))
    assert tensorboard_logs.run_hparams(improved)["loss"] == "binary_crossentropy (from logits)"


def test_fit_logs_hparams_best_metric_and_sample_images(tmp_path, data):
    x, y = data
    train = tf.data.Dataset.from_tensor_slices((x, y)).batch(8)
    runs = {}
    for config in ("model1", "model2"):
        keras.utils.set_random_seed(0)
        model = networks.compile_seed(tiny_attribute_model(), config)
        run = fit.run_dir(tmp_path / "logs", "02_attribute_cnn", config)
        samples = tensorboard_logs.SamplePredictions(run, x[:4], y[:4], names=["A", "B", "C"])
        result = fit.fit(
            model,
            train,
            train,
            epochs=2,
            checkpoint=tmp_path / "models" / f"seed_{config}.h5",
            logs_dir=run,
            monitor="val_binary_accuracy",
            mode="max",
            metadata={"arch": "seed", "config": config},
            verbose=0,
            extra_callbacks=[samples],
        )
        runs[config] = (run, result)
    for config, (run, result) in runs.items():
        hparams = session_hparams(run)
        assert hparams["config"] == config and hparams["epochs"] == 2.0
        assert hparams["optimizer"] == ("adam" if config == "model1" else "sgd")
        best = final_scalars(run)["final/best_val_binary_accuracy"]
        assert best == pytest.approx(max(result.history["val_binary_accuracy"]))
        events = read_run(run)
        assert list(events.PluginTagToContent("images")) == [tensorboard_logs.SAMPLES_TAG]
        grids = events.Tensors(tensorboard_logs.SAMPLES_TAG)
        assert [e.step for e in grids] == [1, 2]  # one grid per epoch
        width, height, png = tf.make_ndarray(grids[-1].tensor_proto)[:3]
        assert int(width) > 100 and int(height) > 100 and png.startswith(b"\x89PNG")
        scalars = read_run(run / "validation").Tags()["tensors"]
        assert "epoch_binary_accuracy" in scalars  # same tag for every config: side by side


def test_fit_can_skip_hparams(tmp_path, data):
    x, y = data
    train = tf.data.Dataset.from_tensor_slices((x, y)).batch(8)
    run = tmp_path / "run"
    fit.fit(
        tiny_attribute_model(),
        train,
        train,
        epochs=1,
        checkpoint=tmp_path / "m.h5",
        logs_dir=run,
        verbose=0,
        hparams=False,
    )
    with pytest.raises(KeyError, match="hparams"):
        read_run(run).PluginTagToContent(hp_metadata.PLUGIN_NAME)


def test_person_captions_mark_right_and_wrong():
    captions, colors = tensorboard_logs.person_captions(
        np.array([0.9, 0.2, 0.7, 0.1]), np.array([1, 0, 0, 1]), threshold=0.5, person="paco"
    )
    assert captions == ["paco 0.90", "unknown 0.20", "paco 0.70", "unknown 0.10"]
    assert colors == ["green", "green", "red", "red"]


def test_attribute_captions_count_right_answers():
    probs = np.array([[0.9, 0.1, 0.2], [0.2, 0.3, 0.1]])
    labels = np.array([[1, 0, 0], [1, 0, 0]])
    captions, colors = tensorboard_logs.attribute_captions(probs, labels, ["Male", "Hat", "Smile"])
    assert captions[0] == "3/3 right\nMale+ Smile-"
    assert captions[1] == "2/3 right\nHat- Male+"
    # Answering "no" to everything gets 2 of 3: the first face beats it, the second only ties.
    assert colors == ["green", "black"]


def test_sample_grid_is_an_rgb_batch_of_one(tmp_path):
    faces = np.random.default_rng(2).integers(0, 256, (3, 20, 20, 3), dtype=np.uint8)
    grid = tensorboard_logs.predictions_image(faces, ["a", "b", "c"], ["red", "green", "red"])
    assert grid.dtype == np.uint8 and grid.ndim == 4 and grid.shape[0] == 1 and grid.shape[3] == 3
    with pytest.raises(ValueError, match="labels"):
        tensorboard_logs.SamplePredictions(tmp_path, faces, np.zeros(2))


def test_a_model_trained_with_an_identity_head_is_described_and_sampled(tmp_path):
    keras.utils.set_random_seed(0)
    base = networks.improved_cnn(32, n_outputs=3, widths=(8,), embedding_dim=8)
    trainer = networks.with_training_heads(base, n_identities=5)
    hparams = tensorboard_logs.run_hparams(trainer, {"arch": "improved"}, 2)
    assert hparams["loss"].startswith("attribute_logits: binary_crossentropy (from logits) + ")
    faces = np.random.default_rng(3).integers(0, 256, (4, 32, 32, 3), dtype=np.uint8)
    labels = np.zeros((4, 3))
    grid = tensorboard_logs.write_sample_predictions(tmp_path, trainer, faces, labels, step=1)
    assert grid.shape[0] == 1
    logits = base.predict(faces, verbose=0)
    np.testing.assert_allclose(  # the attribute output, read as logits
        tensorboard_logs._probabilities(trainer, faces), 1 / (1 + np.exp(-logits)), rtol=1e-5
    )


def test_shared_tag_aliases_line_up_multi_output_runs():
    logs = {
        "loss": 3.0,
        "attribute_logits_loss": 0.5,
        "attribute_logits_binary_accuracy": 0.8,
        "identity_loss": 2.5,
        "val_loss": 3.2,
        "val_attribute_logits_binary_accuracy": 0.78,
    }
    assert tensorboard_logs.shared_tag_aliases(logs) == {
        ("train", "epoch_binary_accuracy"): 0.8,
        ("validation", "epoch_binary_accuracy"): 0.78,
    }  # the total loss keeps its own tag; identity metrics have no plain twin
    assert tensorboard_logs.shared_tag_aliases({"binary_accuracy": 0.8, "val_loss": 1.0}) == {}


def test_fit_with_an_identity_head_logs_the_plain_tags(tmp_path):
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(4)
    x = rng.integers(0, 256, (16, 32, 32, 3), dtype=np.uint8)
    targets = {
        "attribute_logits": (rng.random((16, 3)) < 0.3).astype(np.float32),
        "identity": rng.integers(0, 4, 16),
    }
    train = tf.data.Dataset.from_tensor_slices((x, targets)).batch(8)
    base = networks.improved_cnn(32, n_outputs=3, widths=(8,), embedding_dim=8)
    trainer = networks.with_training_heads(base, n_identities=4)
    run = tmp_path / "improved-run"
    result = fit.fit(
        trainer,
        train,
        train,
        epochs=2,
        checkpoint=tmp_path / "improved.h5",
        logs_dir=run,
        verbose=0,
        monitor="val_attribute_logits_binary_accuracy",
        mode="max",
        save_model=base,
    )
    events = read_run(run / "validation")
    values = [
        float(tf.make_ndarray(e.tensor_proto)) for e in events.Tensors("epoch_binary_accuracy")
    ]
    assert values == pytest.approx(result.history["val_attribute_logits_binary_accuracy"])


def test_log_person_runs_writes_each_models_test_report_and_its_answers(tmp_path):
    from types import SimpleNamespace

    keras.utils.set_random_seed(0)
    base = networks.improved_cnn(32, n_outputs=3, widths=(8,), embedding_dim=4)
    person = networks.embedding_transfer_model(base)
    faces = np.random.default_rng(4).integers(0, 256, (10, 32, 32, 3), dtype=np.uint8)
    labels = np.array([1, 0] * 5)
    data = SimpleNamespace(images={"test": faces}, labels={"test": labels})
    report = {"roc_auc": 0.75, "acceptance": 0.5, "confusion_matrix": [[1, 2], [3, 4]]}
    result = SimpleNamespace(report=report, history={"loss": [1.0, 0.5, 0.2]}, threshold=0.4)
    runs = {"improved": tmp_path / "improved", "unused": tmp_path / "unused"}
    logged = tensorboard_logs.log_person_runs(
        runs,
        {"improved": result},
        {"improved": data},
        {"improved": person},
        person="paco",
        n_images=3,
    )
    assert logged == {"improved": str(tmp_path / "improved")}
    assert not (tmp_path / "unused").exists()
    scalars = final_scalars(tmp_path / "improved")
    assert scalars == {"final/test_roc_auc": 0.75, "final/test_acceptance": 0.5}  # no matrix
    grids = read_run(tmp_path / "improved").Tensors(tensorboard_logs.SAMPLES_TAG)
    assert [e.step for e in grids] == [3]  # the run's last epoch
