"""A person model with no one else to learn from decides by a gallery's rule: the mean distance
of a face's descriptor to each enrolled photo against the base's calibrated pair distance, so
`predict` and `identify`/`verify` with a gallery of the same photos agree. (It once used the
distance to the mean of the photos against that pair distance: shorter for everyone, so it let
strangers through.)"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from facetransfer.modeling import networks
from facetransfer.modeling.gallery_files import Gallery, match
from facetransfer.modeling.heads import gallery_rule_scores, mean_distances


def _gallery_of(enrolled: np.ndarray, max_distance: float) -> Gallery:
    return Gallery(
        base=None,
        names=np.array(["p"] * len(enrolled)),
        vectors=np.asarray(enrolled, np.float32),
        people={"p": {"max_distance": max_distance}},
    )


def test_the_scores_decide_as_a_gallery_of_the_same_descriptors():
    rng = np.random.default_rng(0)
    enrolled = rng.normal(0, 0.05, (8, 128)) + rng.normal(0, 0.05, 128)
    faces = np.r_[enrolled + rng.normal(0, 0.01, enrolled.shape), rng.normal(0, 0.06, (40, 128))]
    limit = float(np.median(mean_distances(faces, enrolled)))
    accepted = gallery_rule_scores(faces, enrolled, limit) >= 0.5
    said = [a["person"] == "p" for a in match(_gallery_of(enrolled, limit), faces)]
    assert accepted.tolist() == said
    assert 0 < accepted.sum() < len(faces)
    _, table = _gallery_of(enrolled, limit).distances(faces)
    np.testing.assert_allclose(mean_distances(faces, enrolled), table[:, 0], rtol=1e-6)


def _plain_colours(rng, n, side):
    """Photos of one colour each: far apart on a random network, unlike noise."""
    colours = rng.integers(0, 256, (n, 1, 1, 3))
    return np.broadcast_to(colours, (n, side, side, 3)).astype(np.uint8)


def _photos_only_of_the_person(tmp_path, n=8):
    rng = np.random.default_rng(3)
    rows = []
    for i, image in enumerate(_plain_colours(rng, n, 40)):
        path = tmp_path / f"p{i}.png"
        Image.fromarray(image).save(path)
        split = "train" if i < 4 else "validation" if i < 6 else "test"
        rows.append({"path": str(path), "label": 1, "split": split, "source": "fotos"})
    return pd.DataFrame(rows)


def test_a_stranger_near_the_mean_photo_but_far_from_each_is_refused(tmp_path):
    """The calibrated distance lies between the stranger's distance to the mean of the enrolled
    photos and its mean distance to each: the old model accepted it, a gallery refuses it, and
    so does the person model now."""
    import keras

    from facetransfer.config import PersonSettings
    from facetransfer.data.intake import load_person_data
    from facetransfer.modeling.checkpoints import load_model_file, save_with_sidecar
    from facetransfer.modeling.predict import scores
    from facetransfer.modeling.transfer import transfer

    frame = _photos_only_of_the_person(tmp_path)
    keras.utils.set_random_seed(1)
    base = networks.improved_cnn(32, widths=(8,), embedding_dim=4)
    embedding = keras.Model(base.inputs[0], base.get_layer("embedding").output)
    data = load_person_data(frame, 32, "full", tmp_path / "cache", progress=False)
    enrolled = np.asarray(embedding(np.r_[data.images["train"], data.images["validation"]]))
    rng = np.random.default_rng(7)
    strangers = _plain_colours(rng, 64, 32).astype("float32")
    described = np.asarray(embedding(strangers))
    to_mean = np.linalg.norm(described - enrolled.mean(axis=0), axis=1)
    to_each = mean_distances(described, enrolled)
    k = int(np.argmax(to_each - to_mean))  # the stranger the two distances tell apart most
    assert to_each[k] - to_mean[k] > 1e-3
    calibrated = float((to_each[k] + to_mean[k]) / 2)
    base_file = tmp_path / "calibrated.h5"
    save_with_sidecar(
        base, base_file, {"crop": "full", "distance_thresholds": {"0.01": calibrated}}
    )
    result, _, _ = transfer(
        base_file,
        frame,
        out=tmp_path / "p.h5",
        logs_dir=tmp_path / "logs",
        cache_dir=tmp_path / "cache",
        settings=PersonSettings(person="p"),
        progress=False,
    )
    assert result.threshold == 0.5
    card = json.loads((tmp_path / "p.json").read_text())
    assert card["head"] == "distance" and card["distance"] == pytest.approx(calibrated)
    model = load_model_file(tmp_path / "p.h5", expect="person")  # saved and read back
    said = scores(model, strangers)
    assert said[k] < 0.5  # the old model's score was above 0.5: accepted
    expected = gallery_rule_scores(described, enrolled, calibrated)
    np.testing.assert_allclose(said, expected, atol=1e-3)
    gallery = [a["person"] == "p" for a in match(_gallery_of(enrolled, calibrated), described)]
    sure = np.abs(to_each - calibrated) > 1e-4  # not on the boundary, where float32 may differ
    assert ((said >= 0.5) == np.array(gallery))[sure].all()
