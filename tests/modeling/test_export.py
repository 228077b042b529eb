"""Tests for modeling.export: each export gives the Keras person model's scores on the same
aligned faces (drawn ones, at the model's input size)."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from facetransfer.data.cache import load_square
from facetransfer.modeling import export, networks
from facetransfer.modeling.checkpoints import save_model_atomically

SIZE = 48


@pytest.fixture(scope="module")
def aligned_faces(tiny_celeba):
    """Drawn faces in CelebA's aligned geometry, squared to the model's input as training does."""
    paths = sorted((tiny_celeba / "img_align_celeba").glob("*.jpg"))[:12]
    return np.stack([load_square(p, SIZE, "face") for p in paths])


@pytest.fixture(scope="module")
def person_h5(tmp_path_factory, aligned_faces):
    """A person model as `transfer` saves it: an improved base (BatchNorm, embedding) frozen under
    the logistic head, the head pointed along the faces' main difference so the scores spread
    over (0, 1) instead of sitting at one value."""
    keras.utils.set_random_seed(0)
    base = networks.improved_cnn(SIZE, widths=(8, 16), embedding_dim=16)
    person = networks.embedding_transfer_model(base)
    normalized = keras.Model(person.inputs, person.get_layer("head_normalize").output)
    emb = normalized.predict(aligned_faces, verbose=0)
    centre = emb.mean(axis=0)
    direction = np.linalg.svd(emb - centre, full_matrices=False)[2][0]
    kernel = direction / ((emb - centre) @ direction).std() * 2.0  # logits with std 2
    person.get_layer("probability").set_weights([kernel[:, None], np.array([-centre @ kernel])])
    path = tmp_path_factory.mktemp("models") / "paco.h5"
    save_model_atomically(person, path)
    return path


def test_exports_match_the_keras_scores(person_h5, aligned_faces, tmp_path):
    result = export.export_person_model(person_h5, aligned_faces, out_dir=tmp_path)
    assert result.keras_path == tmp_path / "paco.keras" and result.keras_path.exists()
    assert (result.savedmodel_dir / "saved_model.pb").exists()
    assert result.tflite_path.read_bytes()[4:8] == b"TFL3"  # the flatbuffer's identifier
    assert set(result.max_abs_diff) == {"savedmodel", "tflite"}
    assert result.max_abs_diff["savedmodel"] <= export.SAVEDMODEL_TOLERANCE
    assert result.max_abs_diff["tflite"] <= export.TFLITE_TOLERANCE

    keras_scores = keras.models.load_model(person_h5).predict(aligned_faces, verbose=0).ravel()
    assert keras_scores.std() > 0.1  # the faces get different scores: the check means something
    saved = export.savedmodel_scores(result.savedmodel_dir, aligned_faces)
    lite = export.tflite_scores(result.tflite_path, aligned_faces)
    np.testing.assert_allclose(saved, keras_scores, atol=1e-5)
    np.testing.assert_allclose(lite, keras_scores, atol=1e-4)
    # One face at a time (a phone app's batch) gives the same answer as the batch.
    np.testing.assert_allclose(
        export.tflite_scores(result.tflite_path, aligned_faces[:1]), lite[:1]
    )


def test_export_beside_the_model_keeps_its_keras_file(person_h5, aligned_faces):
    before = person_h5.with_suffix(".keras").stat().st_mtime_ns
    result = export.export_person_model(person_h5, tflite=False)  # no faces: no check
    assert result.keras_path == person_h5.with_suffix(".keras")
    assert result.keras_path.stat().st_mtime_ns == before  # already current: not rewritten
    assert result.savedmodel_dir == person_h5.parent / "paco_savedmodel"
    assert result.tflite_path is None and result.max_abs_diff == {}
    again = export.export_savedmodel(keras.models.load_model(person_h5), result.savedmodel_dir)
    assert again == result.savedmodel_dir and not list(person_h5.parent.glob(".*partial*"))


def test_tolerances_are_enforced():
    export.check_tolerances({"savedmodel": 1e-6, "tflite": 5e-5})
    with pytest.raises(ValueError, match="tflite by 2.00e-03"):
        export.check_tolerances({"savedmodel": 0.0, "tflite": 2e-3})
    with pytest.raises(ValueError, match="savedmodel"):
        export.check_tolerances({"savedmodel": float("nan")})


def test_export_rejects_an_attribute_model(tmp_path):
    base = networks.improved_cnn(SIZE, widths=(8,))
    save_model_atomically(base, tmp_path / "improved.h5")
    with pytest.raises(ValueError, match="40 outputs"):
        export.export_person_model(tmp_path / "improved.h5")


def test_bad_image_batches_are_rejected():
    with pytest.raises(ValueError, match=r"\(N, H, W, 3\)"):
        export.tflite_scores("unused.tflite", np.zeros((SIZE, SIZE, 3)))
