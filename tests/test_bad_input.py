"""Bad input through the paths a user takes: the CLI, the image cache, the label files.

Each test feeds one kind of bad input (or a folder of many) and checks the documented outcome:
used, skipped with the file named, or a clear error (one line on stderr naming the file, and
the documented exit status: 3 for a missing, unreadable or damaged input).
docs/bad_input.md lists every kind with its outcome and the test that covers it; the single-file
cases for images live in test_images.py, for photos and faces in test_faces.py, for label files in
test_celeba.py, for checkpoints in test_training.py and for leakage in test_leakage.py.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from facetransfer import cli

SIZE = 32


def _base_model(path: Path, outputs: int = 40, input_shape=(SIZE, SIZE, 3)) -> Path:
    """A tiny attribute-base-shaped model (a 'flatten' layer, `outputs` sigmoid outputs)."""
    import keras

    model = keras.Sequential(
        [
            keras.Input(input_shape),
            keras.layers.Rescaling(1 / 255),
            keras.layers.Flatten(name="flatten"),
            keras.layers.Dense(outputs, activation="sigmoid"),
        ]
    )
    model.save(path)
    return path


def _person_model(path: Path, sidecar: dict | None) -> Path:
    _base_model(path, outputs=1)
    if sidecar is not None:
        path.with_suffix(".json").write_text(json.dumps(sidecar))
    return path


@pytest.fixture(scope="module")
def person_model(tmp_path_factory) -> Path:
    """A working person model that takes photos as they are (no face alignment: fast)."""
    folder = tmp_path_factory.mktemp("models")
    return _person_model(
        folder / "paco.h5", {"person": "paco", "threshold": 0.5, "align": False, "crop": "full"}
    )


# --- model files given to predict and transfer --------------------------------------------------


def _written(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _truncated(source: Path, target: Path) -> Path:
    data = source.read_bytes()
    target.write_bytes(data[: len(data) // 2])  # a copy interrupted half way
    return target


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda d, good: d / "absent.h5", "no such person model file"),
        (lambda d, good: _written(d / "empty.h5", b""), "not a readable"),
        (lambda d, good: _truncated(good, d / "half.h5"), "not a readable Keras model"),
        (lambda d, good: _base_model(d / "base.h5"), "has 40 outputs; a person model has 1"),
        (lambda d, good: _person_model(d / "bare.h5", None), "no model card"),
        (
            lambda d, good: _base_model(d / "grey.h5", 1, (SIZE, SIZE, 1)),
            "not square RGB images",
        ),
    ],
    ids=["missing", "zero-byte", "truncated-h5", "attribute-base", "no-sidecar", "grey-input"],
)
def test_predict_with_a_bad_model_is_a_clear_error(tmp_path, capsys, person_model, make, words):
    photo = tmp_path / "photo.png"
    Image.new("RGB", (40, 40), (90, 60, 30)).save(photo)
    model = make(tmp_path, person_model)
    capsys.readouterr()  # what making the model printed
    assert cli.main(["predict", "--model", str(model), str(photo)]) == 3
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("facetransfer: error: ") and words in err[0]
    last = err[0]
    assert str(model.with_suffix("")) in last  # the model file (or its .json sidecar) named


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda d, good: _truncated(good, d / "half.h5"), "not a readable Keras model"),
        (lambda d, good: _written(d / "text.h5", b"weights"), "not a readable"),
        (lambda d, good: d / "absent.h5", "no such base model file"),
    ],
    ids=["truncated-h5", "text-file", "missing"],
)
def test_transfer_with_a_bad_base_is_a_clear_error(tmp_path, capsys, person_model, make, words):
    base = make(tmp_path, person_model)
    assert cli.main(["transfer", "--base", str(base), "--data-dir", str(tmp_path / "data")]) == 3
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith("facetransfer: error: ") and words in last and str(base) in last


def test_transfer_with_one_photo_as_person_and_as_others_stops_before_training(tmp_path, capsys):
    fotos = tmp_path / "fotos"
    for folder, colours in (("paco", range(6)), ("others", range(10, 16))):
        (fotos / folder).mkdir(parents=True)
        for c in colours:
            picture = np.random.default_rng(c).integers(0, 255, (6, 8, 3), dtype=np.uint8)
            Image.fromarray(picture).resize((160, 120), Image.Resampling.BICUBIC).save(
                fotos / folder / f"{c}.jpg", quality=95
            )
    Image.open(fotos / "paco" / "3.jpg").resize((80, 60)).save(fotos / "others" / "copy.png")
    base = _base_model(tmp_path / "base.h5")
    args = ["--base", str(base), "--fotos", str(fotos), "--data-dir", str(tmp_path / "data")]
    assert cli.main(["transfer", *args, "--models-dir", str(tmp_path / "models")]) == 3
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert str(fotos / "paco" / "3.jpg") in last and str(fotos / "others" / "copy.png") in last
    assert not (tmp_path / "models").exists() or not any((tmp_path / "models").iterdir())


# --- a folder of photos given to predict ---------------------------------------------------------


def test_predict_on_a_folder_of_bad_photos_answers_each_and_goes_on(tmp_path, capsys, person_model):
    photos = tmp_path / "photos"
    photos.mkdir()
    Image.new("RGB", (64, 64), (200, 120, 90)).save(photos / "good one.png")
    Image.new("RGBA", (64, 64), (200, 120, 90, 128)).save(photos / "alpha ñ.png")
    (photos / "empty.jpg").touch()
    (photos / "notes.jpg").write_text("not pixels")
    Image.new("RGB", (10, 10)).save(photos / "tiny.png")
    (photos / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    (photos / "Thumbs.db").write_bytes(b"\xd0\xcf\x11\xe0")
    (photos / "old").mkdir()
    assert cli.main(["predict", "--model", str(person_model), "--json", str(photos)]) in (0, 1)
    lines = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
    by_name = {Path(line["path"]).name: line for line in lines}
    assert set(by_name) == {"good one.png", "alpha ñ.png", "empty.jpg", "notes.jpg", "tiny.png"}
    for name in ("good one.png", "alpha ñ.png"):
        assert 0.0 <= by_name[name]["probability"] <= 1.0 and "error" not in by_name[name]
    for name, words in (
        ("empty.jpg", "empty"),
        ("notes.jpg", "not an image"),
        ("tiny.png", "small"),
    ):
        assert by_name[name]["probability"] is None and not by_name[name]["is_person"]
        assert name in by_name[name]["error"] and words in by_name[name]["error"]


# --- images for the training cache ---------------------------------------------------------------


def test_the_image_cache_skips_and_names_every_bad_file(tmp_path, caplog):
    from facetransfer.data.cache import build_cache

    folder = tmp_path / "images"
    folder.mkdir()
    good = []
    for i, mode in enumerate(("RGB", "L", "P", "CMYK", "RGBA", "I;16")):
        path = folder / f"{i} {mode.replace(';', '')}.{'jpg' if mode in ('RGB', 'CMYK') else 'png'}"
        Image.new(mode, (40, 50), 120 if mode in ("L", "P", "I;16") else None).save(path)
        good.append(path)
    (folder / "empty.jpg").touch()
    (folder / "text.jpg").write_text("not pixels")
    Image.new("RGB", (12, 12)).save(folder / "tiny.png")
    bad = [folder / "empty.jpg", folder / "text.jpg", folder / "tiny.png", folder / "gone.jpg"]
    with caplog.at_level(logging.WARNING):
        cache = build_cache([*good, *bad], SIZE, tmp_path / "cache", progress=False)
    assert cache.images.shape == (len(good), SIZE, SIZE, 3)
    assert cache.ok.tolist() == [True] * len(good) + [False] * len(bad)
    skipped = dict(cache.skipped)
    assert set(skipped) == {str(p) for p in bad}
    for path in bad:
        assert str(path) in skipped[str(path)]  # the reason names the file
        assert path.name in caplog.text


# --- label files given to the CLI ----------------------------------------------------------------


def test_prepare_with_a_malformed_label_file_names_the_file_and_line(tmp_path, capsys):
    from facetransfer.data.labels import ATTRIBUTE_NAMES

    root = tmp_path / "celeba"
    (root / "img_align_celeba").mkdir(parents=True)
    rows = [f"{i:06d}.jpg " + " ".join(["-1"] * 40) for i in range(1, 4)]
    rows[1] = rows[1].replace("-1", "0", 1)  # a value other than 1/-1 on line 4
    text = "3\r\n" + " ".join(ATTRIBUTE_NAMES) + "\r\n" + "\r\n".join(rows) + "\r\n"
    (root / "list_attr_celeba.txt").write_bytes(b"\xef\xbb\xbf" + text.encode())  # BOM + CRLF
    code = cli.main(["prepare", "--celeba-dir", str(root), "--data-dir", str(tmp_path / "data")])
    assert code == 3
    error = capsys.readouterr().err
    assert f"{root / 'list_attr_celeba.txt'}, line 4: " in error
    assert "values must be 1 or -1" in error


def test_non_image_arrays_are_refused_with_their_shape():
    from facetransfer.data.images import resize

    with pytest.raises(ValueError, match=r"shape \(4, 4\)"):
        resize(np.zeros((4, 4), dtype=np.uint8), (8, 8))


# --- an interrupted training, killed in the middle of an epoch -----------------------------------

MID_EPOCH = """
import sys, time, keras, numpy as np, tensorflow as tf
from facetransfer.modeling import fit

class StallInEpoch4(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
    def on_train_batch_end(self, batch, logs=None):
        if self.epoch == 3 and batch == 1 and sys.argv[2] == "stall":
            print("MID_EPOCH_4", flush=True)
            time.sleep(120)

keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)
x = rng.normal(size=(64, 4)).astype("float32"); y = x.sum(axis=1, keepdims=True)
ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(16)
model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
result = fit.fit(model, ds, ds, epochs=6, checkpoint=sys.argv[1] + "/m.h5",
                 logs_dir=sys.argv[1] + "/logs", verbose=0, extra_callbacks=[StallInEpoch4()])
print("RESUMED_FROM", result.resumed_from_epoch, "EPOCHS", len(result.history["loss"]))
"""


@pytest.mark.slow
def test_sigkill_in_the_middle_of_an_epoch_resumes_after_the_last_whole_one(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(MID_EPOCH)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    command = [sys.executable, str(script), str(tmp_path)]
    proc = subprocess.Popen([*command, "stall"], stdout=subprocess.PIPE, text=True, env=env)
    deadline = time.time() + 120
    for line in proc.stdout:
        if line.startswith("MID_EPOCH_4"):
            break
        assert time.time() < deadline
    proc.send_signal(signal.SIGKILL)  # two batches into epoch 4: no chance to clean up
    proc.wait()
    best_before = json.loads((tmp_path / "m.json").read_text())
    assert best_before["epoch"] <= 3

    done = subprocess.run(
        [*command, "go"], capture_output=True, text=True, env=env, timeout=180
    )  # the same command again
    assert done.returncode == 0, done.stderr[-2000:]
    last = [ln for ln in done.stdout.splitlines() if ln.startswith("RESUMED_FROM")][-1].split()
    assert int(last[1]) == 3, "resumed after epoch 3, the last one completed"
    assert int(last[3]) == 6, "the history covers all six epochs, none twice"
    best_after = json.loads((tmp_path / "m.json").read_text())
    assert best_after["value"] <= best_before["value"], "the best checkpoint never got worse"
