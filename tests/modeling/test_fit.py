"""Checkpoints are atomic and only improve; interrupted training resumes."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest

from facetransfer.modeling import fit


def _tiny_model():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, name="out")])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    return model


def _data(n=64):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 4)).astype("float32")
    return x, x.sum(axis=1, keepdims=True)


def test_fit_saves_h5_keras_and_sidecar(tmp_path):
    x, y = _data()
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(16)
    result = fit.fit(
        _tiny_model(),
        ds,
        ds,
        epochs=3,
        checkpoint=tmp_path / "m.h5",
        logs_dir=tmp_path / "logs",
        verbose=0,
    )
    assert (tmp_path / "m.h5").exists() and (tmp_path / "m.keras").exists()
    record = json.loads((tmp_path / "m.json").read_text())
    assert record["monitor"] == "val_loss"
    assert record["value"] == pytest.approx(min(result.history["val_loss"]))
    assert len(result.history["loss"]) == 3
    assert not list(tmp_path.glob(".*partial*")), "no temporary file left behind"
    assert any((tmp_path / "logs").rglob("events.out.tfevents*")), "TensorBoard events written"


def test_a_worse_run_never_replaces_the_best_checkpoint(tmp_path):
    import tensorflow as tf

    x, y = _data()
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(16)
    fit.fit(
        _tiny_model(),
        ds,
        ds,
        epochs=5,
        checkpoint=tmp_path / "m.h5",
        logs_dir=tmp_path / "logs",
        verbose=0,
    )
    before = (tmp_path / "m.h5").read_bytes()
    best = json.loads((tmp_path / "m.json").read_text())["value"]

    bad = _tiny_model()
    bad.compile(optimizer=keras.optimizers.SGD(0.0), loss="mse")  # cannot learn
    fit.fit(
        bad, ds, ds, epochs=2, checkpoint=tmp_path / "m.h5", logs_dir=tmp_path / "logs", verbose=0
    )
    assert (tmp_path / "m.h5").read_bytes() == before
    assert json.loads((tmp_path / "m.json").read_text())["value"] == best


def test_save_model_atomically_leaves_old_file_when_saving_fails(tmp_path, monkeypatch):
    model = _tiny_model()
    fit.save_model_atomically(model, tmp_path / "m.h5")
    before = (tmp_path / "m.h5").read_bytes()

    def broken_save(path, *args, **kwargs):
        with open(path, "wb") as handle:
            handle.write(b"half")
        raise OSError("disk full")

    monkeypatch.setattr(model, "save", broken_save)
    with pytest.raises(OSError):
        fit.save_model_atomically(model, tmp_path / "m.h5")
    assert (tmp_path / "m.h5").read_bytes() == before


# Killing a training mid-epoch and resuming it: tests/test_bad_input.py.
