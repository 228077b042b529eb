"""The attribute head on dlib's descriptor: the packaged weights, training, the file format."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest

from facetransfer.data.labels import ATTRIBUTE_NAMES
from facetransfer.modeling import attribute_head
from facetransfer.modeling.attribute_head import (
    AttributeHead,
    load_attribute_head,
    train_attribute_head,
)


def synthetic(n: int, seed: int, noise: float = 0.2):
    """Descriptors where attribute k is whether dimension k (plus noise) is positive."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 128)).astype(np.float32)
    y = (x[:, :40] + noise * rng.normal(size=(n, 40)) > 0).astype(np.uint8)
    return x, y


@pytest.fixture(scope="module")
def trained():
    x, y = synthetic(600, 0)
    xv, yv = synthetic(200, 1)
    return train_attribute_head(x, y, xv, yv, learned_from={"data": "synthetic"})


def test_packaged_weights_give_40_probabilities_in_celeba_order():
    head = load_attribute_head()
    assert head.names == ATTRIBUTE_NAMES
    assert head.learned_from["images"] > 1000 and "non-commercial" in head.learned_from["licence"]
    probs = head.predict(np.random.default_rng(0).normal(0, 0.1, size=(5, 128)))
    assert probs.shape == (5, 40) and probs.dtype == np.float32
    assert ((probs >= 0) & (probs <= 1)).all()
    assert head.predict(np.zeros(128)).shape == (1, 40)
    decided = head.decide(probs)
    assert decided.dtype == bool and decided.shape == (5, 40)
    assert attribute_head.WEIGHTS_FILE.stat().st_size < 100_000


def test_training_recovers_which_dimension_each_attribute_reads(trained):
    x, y = synthetic(500, 2)
    accuracy = (trained.decide(trained.predict(x)) == y).mean(axis=0)
    assert accuracy.min() > 0.8, accuracy  # chance: about 0.5
    # attribute k leans on dimension k above all others
    w = trained.layers[0][0]
    assert (np.abs(w).argmax(axis=0) == np.arange(40)).all()
    assert trained.thresholds.shape == (40,) and trained.names == ATTRIBUTE_NAMES


def test_mlp_head_learns_too():
    x, y = synthetic(600, 0)
    xv, yv = synthetic(200, 1)
    head = train_attribute_head(x, y, xv, yv, kind="mlp", hidden=64, epochs=100)
    xt, yt = synthetic(300, 2)
    assert len(head.layers) == 2
    assert (head.decide(head.predict(xt)) == yt).mean() > 0.7  # chance: about 0.5


def test_save_and_load_give_identical_predictions(trained, tmp_path):
    path = trained.save(tmp_path / "head.npz")
    again = load_attribute_head(path)
    x, _ = synthetic(50, 3)
    np.testing.assert_allclose(again.predict(x), trained.predict(x), rtol=0, atol=1e-6)
    np.testing.assert_array_equal(
        again.decide(again.predict(x)), trained.decide(trained.predict(x))
    )
    assert again.names == trained.names and again.learned_from == {"data": "synthetic"}
    assert not list(tmp_path.glob("*.partial"))  # written atomically
    with np.load(path, allow_pickle=False) as z:  # plain arrays, no pickle needed
        assert int(z["schema_version"]) == attribute_head.SCHEMA_VERSION


def test_truncated_file_is_a_value_error_naming_it(trained, tmp_path):
    path = trained.save(tmp_path / "head.npz")
    data = path.read_bytes()
    for cut in (len(data) // 2, 10, 0):
        path.write_bytes(data[:cut])
        with pytest.raises(ValueError, match="head.npz"):
            load_attribute_head(path)


def test_missing_array_is_a_value_error_naming_it(trained, tmp_path):
    path = trained.save(tmp_path / "head.npz")
    damaged = tmp_path / "damaged.npz"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(damaged, "w") as dst:
        for item in src.infolist():
            if item.filename != "thresholds.npy":
                dst.writestr(item, src.read(item))
    with pytest.raises(ValueError, match=r"damaged\.npz.*thresholds"):
        load_attribute_head(damaged)


def test_wrong_shapes_and_versions_are_refused(trained, tmp_path):
    wrong = AttributeHead(**{**trained.__dict__, "thresholds": trained.thresholds[:39]})
    with pytest.raises(ValueError, match=r"wrong\.npz.*thresholds"):
        load_attribute_head(wrong.save(tmp_path / "wrong.npz"))
    path = trained.save(tmp_path / "future.npz")
    with np.load(path) as z:
        arrays = dict(z)
    arrays["schema_version"] = np.array(99)
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match=r"future\.npz.*schema version 99"):
        load_attribute_head(path)
    with pytest.raises(FileNotFoundError, match="absent.npz"):
        load_attribute_head(tmp_path / "absent.npz")


def test_bad_inputs_are_refused(trained):
    with pytest.raises(ValueError, match=r"\(n, 128\)"):
        trained.predict(np.zeros((2, 64)))
    with pytest.raises(ValueError, match="NaN"):
        trained.predict(np.full((1, 128), np.nan))
    x, y = synthetic(20, 0)
    with pytest.raises(ValueError, match="0/1"):
        train_attribute_head(x, y * 2, x, y)
