"""Model files: a file that carries code is refused, a broken one is named, atomic writes leave no
partial file, and the sidecar is read back."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from facetransfer.modeling import checkpoints
from facetransfer.modeling.card import read_card
from facetransfer.modeling.checkpoints import ModelFileError, load_model_file


def _lambda_model():
    inputs = keras.Input((8, 8, 3), name="image")
    x = keras.layers.Lambda(lambda t: t * 2.0, name="runs_code")(inputs)
    x = keras.layers.Flatten(name="flatten")(x)
    return keras.Model(inputs, keras.layers.Dense(1, name="probability")(x))


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_a_model_file_that_carries_code_is_refused(tmp_path, suffix):
    path = tmp_path / f"paco{suffix}"
    _lambda_model().save(path)
    with pytest.raises(ModelFileError, match="carries Python code"):
        load_model_file(path, expect=None)


def test_a_broken_model_file_is_named(tmp_path):
    path = tmp_path / "broken.h5"
    path.write_bytes(b"not an HDF5 file at all")
    with pytest.raises(ModelFileError, match="broken.h5: not a readable Keras model"):
        load_model_file(path)


def test_saves_are_atomic_and_the_sidecar_reads_back(tmp_path):
    inputs = keras.Input((8, 8, 3), name="image")
    x = keras.layers.Flatten(name="flatten")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(2, name="attributes")(x))
    written = checkpoints.save_with_sidecar(model, tmp_path / "m.h5", {"crop": "face"})
    assert [p.name for p in written] == ["m.h5", "m.keras", "m.json"]
    assert not list(tmp_path.glob(".*partial*"))
    card = read_card(tmp_path / "m.h5")
    assert card.crop == "face" and card.kind == "base" and card.schema_version == 1
    loaded = load_model_file(tmp_path / "m.keras")
    x = np.zeros((1, 8, 8, 3), np.float32)
    np.testing.assert_allclose(loaded(x), model(x))
