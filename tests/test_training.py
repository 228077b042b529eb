"""Checkpoints are atomic and only improve; interrupted training resumes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import keras
import numpy as np
import pytest

from facetransfer import training


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
    result = training.fit(_tiny_model(), ds, ds, 3, tmp_path / "m.h5", tmp_path / "logs", verbose=0)
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
    training.fit(_tiny_model(), ds, ds, 5, tmp_path / "m.h5", tmp_path / "logs", verbose=0)
    before = (tmp_path / "m.h5").read_bytes()
    best = json.loads((tmp_path / "m.json").read_text())["value"]

    bad = _tiny_model()
    bad.compile(optimizer=keras.optimizers.SGD(0.0), loss="mse")  # cannot learn
    training.fit(bad, ds, ds, 2, tmp_path / "m.h5", tmp_path / "logs", verbose=0)
    assert (tmp_path / "m.h5").read_bytes() == before
    assert json.loads((tmp_path / "m.json").read_text())["value"] == best


def test_save_model_atomically_leaves_old_file_when_saving_fails(tmp_path, monkeypatch):
    model = _tiny_model()
    training.save_model_atomically(model, tmp_path / "m.h5")
    before = (tmp_path / "m.h5").read_bytes()

    def broken_save(path, *args, **kwargs):
        with open(path, "wb") as handle:
            handle.write(b"half")
        raise OSError("disk full")

    monkeypatch.setattr(model, "save", broken_save)
    with pytest.raises(OSError):
        training.save_model_atomically(model, tmp_path / "m.h5")
    assert (tmp_path / "m.h5").read_bytes() == before


RESUMABLE = textwrap.dedent("""
    import sys, time, keras, numpy as np, tensorflow as tf
    from facetransfer import training

    class Slow(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            print("EPOCH", epoch + 1, flush=True)
            time.sleep(float(sys.argv[2]))

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype("float32"); y = x.sum(axis=1, keepdims=True)
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(16)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
    result = training.fit(model, ds, ds, 6, sys.argv[1] + "/m.h5", sys.argv[1] + "/logs",
                          verbose=0, extra_callbacks=[Slow()])
    print("RESUMED_FROM", result.resumed_from_epoch, "EPOCHS", len(result.history["loss"]))
""")


@pytest.mark.slow
def test_sigkill_mid_training_resumes_from_last_completed_epoch(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(RESUMABLE)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.Popen(
        [sys.executable, str(script), str(tmp_path), "2"],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    epochs_seen = 0
    deadline = time.time() + 120
    for line in proc.stdout:
        if line.startswith("EPOCH"):
            epochs_seen = int(line.split()[1])
            if epochs_seen == 3:
                break
        assert time.time() < deadline
    time.sleep(0.5)  # let the epoch-end backup finish; the kill lands during the pause
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert (tmp_path / ".resume" / "m").exists()

    done = subprocess.run(
        [sys.executable, str(script), str(tmp_path), "0"],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    last = [ln for ln in done.stdout.splitlines() if ln.startswith("RESUMED_FROM")][-1].split()
    resumed_from, epochs = int(last[1]), int(last[3])
    assert resumed_from >= 3
    # the second run trains only the remaining epochs, and the history covers all six
    assert epochs == 6
    assert not (tmp_path / ".resume" / "m").exists(), "finished: resume state removed"
