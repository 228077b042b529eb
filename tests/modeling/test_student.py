"""Distillation on tiny drawn data: the teacher's cache, the losses, the student's training and
its calibrated sidecar."""

from __future__ import annotations

import json
import os
from dataclasses import replace

import keras
import numpy as np
import pytest
from PIL import Image

from facetransfer.config import ARCHITECTURES
from facetransfer.data.align import recut_aligned
from facetransfer.data.cache import crop_box
from facetransfer.data.celeba import load_celeba
from facetransfer.data.geometry import DLIB_CHIP_LANDMARKS, GEOMETRIES
from facetransfer.data.images import read_rgb, resize
from facetransfer.modeling import attributes, calibrate, networks, student, teacher
from facetransfer.modeling.checkpoints import save_with_sidecar


@pytest.fixture(scope="module")
def tiny_teacher(tmp_path_factory):
    """A stand-in face network on dlib's 150x150 chip: global pooling and a 128-d projection."""
    inputs = keras.Input((150, 150, 3))
    x = keras.layers.Rescaling(1 / 255)(inputs)
    x = keras.layers.AveragePooling2D(10)(x)
    x = keras.layers.Flatten()(x)
    outputs = keras.layers.Dense(128, name="embedding")(x)
    path = tmp_path_factory.mktemp("teacher") / "tiny.h5"
    save_with_sidecar(keras.Model(inputs, outputs), path, {"arch": "tiny", "geometry": "dlib_chip"})
    return path


# One colour per landmark (left eye, right eye, nose, mouth left, mouth right): a mirrored chip
# swaps the eyes' colours and the mouth corners'.
DOT_COLOURS = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [1, 0, 1]], float)


def _dots(points, size, sigma):
    """A black (width, height) image with a coloured Gaussian dot centred on each point."""
    yy, xx = np.mgrid[0 : size[1], 0 : size[0]]
    image = np.zeros((size[1], size[0], 3))
    for (x, y), colour in zip(points, DOT_COLOURS, strict=True):
        image += np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * sigma**2))[..., None] * colour
    return np.round(255 * np.clip(image, 0, 1)).astype(np.uint8)


def _dot_centres(image, points):
    """The brightness-weighted centre of the dot near each of `points`, and its colour there."""
    image = image.astype(float)
    centres, colours = [], []
    for x, y in points:
        cx, cy = np.round([x, y]).astype(int)
        rows, cols = slice(cy - 5, cy + 6), slice(cx - 5, cx + 6)
        weight = image[rows, cols].sum(axis=-1)
        yy, xx = np.mgrid[rows, cols]
        centres.append([(xx * weight).sum() / weight.sum(), (yy * weight).sum() / weight.sum()])
        colours.append(image[cy, cx] > image[cy, cx].max() / 2)
    return np.array(centres), np.array(colours)


@pytest.mark.parametrize("half", [False, True], ids=["178x218", "89x109"])
def test_teacher_chip_puts_celeba_landmarks_where_the_teacher_wants_them(tmp_path, half):
    """A CelebA-aligned image (full or half size, as the sample has both) whose five template
    landmarks are coloured dots: the teacher's chip puts each dot on dlib's chip template."""
    size = (89, 109) if half else (178, 218)
    celeba = GEOMETRIES["celeba"]
    at_celeba = (celeba.landmarks + 0.5) * np.divide(size, celeba.size) - 0.5
    path = tmp_path / "000001.png"
    Image.fromarray(_dots(at_celeba, size, sigma=1.2 * size[0] / 178)).save(path)
    chip = teacher.teacher_chip(path, "dlib_chip")
    assert chip.shape == (150, 150, 3) and chip.dtype == np.uint8
    centres, colours = _dot_centres(chip, DLIB_CHIP_LANDMARKS)
    # the best similarity between the two templates: centred exactly, each point within the
    # templates' own misfit (under 0.4 px: their shapes differ a little)
    np.testing.assert_allclose(centres.mean(axis=0), DLIB_CHIP_LANDMARKS.mean(axis=0), atol=0.05)
    np.testing.assert_allclose(centres, DLIB_CHIP_LANDMARKS, atol=0.5)
    np.testing.assert_array_equal(colours, DOT_COLOURS.astype(bool))


def test_teacher_descriptors_are_cached_and_rebuilt_when_a_file_changes(
    tiny_celeba, tiny_teacher, tmp_path
):
    celeba = load_celeba(tiny_celeba)
    files = [tmp_path / f.name for f in celeba.paths(celeba.attributes.index[:6])]
    for source, copy in zip(celeba.paths(celeba.attributes.index[:6]), files, strict=True):
        copy.write_bytes(source.read_bytes())
    first = teacher.teacher_descriptors(files, tiny_teacher, tmp_path / "cache", progress=False)
    assert first.values.shape == (6, 128) and first.seconds > 0 and first.rate > 0
    again = teacher.teacher_descriptors(files, tiny_teacher, tmp_path / "cache", progress=False)
    assert again.seconds == 0 and again.path == first.path
    np.testing.assert_array_equal(again.values, first.values)
    # the rows are the files' own: descriptors of a reordered list follow the files
    reordered = teacher.teacher_descriptors(
        files[::-1], tiny_teacher, tmp_path / "cache", progress=False
    )
    np.testing.assert_allclose(reordered.values, first.values[::-1], atol=1e-5)
    os.utime(files[0], ns=(1, 1))  # a changed input: a new cache
    changed = teacher.teacher_descriptors(files, tiny_teacher, tmp_path / "cache", progress=False)
    assert changed.path != first.path and changed.seconds > 0
    assert not list((tmp_path / "cache").glob("*.partial*"))


def test_descriptor_distance_is_the_squared_euclidean_distance():
    student_out = np.array([[0.0, 0.0], [1.0, 1.0]], np.float32)
    teacher_out = np.array([[3.0, 4.0], [1.0, 1.0]], np.float32)
    loss = networks.DescriptorDistance(reduction=None)(teacher_out, student_out)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loss), [25.0, 0.0])


def test_relational_distance_ignores_where_the_student_puts_the_batch(rng):
    teacher_out = rng.normal(size=(8, 4)).astype("float32")
    rotation, _ = np.linalg.qr(rng.normal(size=(4, 4)))
    moved = (teacher_out @ rotation + 3.0).astype("float32")  # same pairwise distances
    loss = networks.RelationalDistance()
    assert float(loss(teacher_out, moved)) < 1e-4
    assert float(loss(teacher_out, teacher_out * 2.0)) > 0.1


def test_calibrated_distance_lets_the_asked_share_of_strangers_through(rng):
    identities = np.repeat(np.arange(40), 5)
    centres = rng.normal(size=(40, 16)) * 3
    vectors = centres[identities] + rng.normal(size=(200, 16))
    result = calibrate.calibrate_distances(vectors, identities, rates=(0.01,))
    distances, same = calibrate.pair_distances(vectors, identities)
    threshold = result["distance_thresholds"]["0.01"]
    assert (distances[~same] < threshold).mean() == pytest.approx(0.01, abs=0.002)
    assert result["same_person_accepted"]["0.01"] > 0.9
    with pytest.raises(ValueError, match="cannot set a threshold"):
        calibrate.calibrate_distances(vectors[:10], identities[:10], rates=(0.001,))


def test_teacher_class_means_are_unit_centres_of_each_identity():
    classes = np.array([0, 0, 1, -1])
    descriptors = np.array([[2.0, 0.0], [4.0, 0.0], [0.0, 5.0], [9.0, 9.0]])
    centres = student.teacher_class_means(classes, descriptors, 2)
    np.testing.assert_allclose(centres, [[1.0, 0.0], [0.0, 1.0]])


@pytest.mark.parametrize(("centres", "geometry"), [(False, "celeba"), (True, "dlib_chip")])
def test_student_learns_the_teacher_and_saves_a_plain_calibrated_model(
    tiny_celeba, tiny_teacher, tmp_path, centres, geometry
):
    celeba = load_celeba(tiny_celeba)
    data = attributes.load_attribute_data(
        celeba,
        32,
        tmp_path / "cache",
        crop="face",
        progress=False,
        teacher=tiny_teacher,
        geometry=geometry,
    )
    assert data.descriptors["train"].shape == (len(data.labels["train"]), 128)
    assert data.teacher["name"] == "tiny" and data.teacher["images"]["train"] > 0
    # The student learns from its geometry's crop: each CelebA image cut again to dlib's chip
    # (data.align.recut_aligned) before the face crop, or CelebA's own crop as it is ...
    first = [read_rgb(p) for p in data.paths["train"][:3]]
    if geometry != "celeba":
        first = [recut_aligned(image, geometry) for image in first]
    for image, learned in zip(first, data.images["train"][:3], strict=True):
        left, top, right, bottom = crop_box(image.shape[1], image.shape[0], "face")
        expected = resize(image[top:bottom, left:right], (32, 32)).astype(int)
        assert np.abs(expected - learned).max() <= 1
    # ... and the teacher's descriptors are of dlib's chips whatever the student's geometry
    chips = np.stack([recut_aligned(read_rgb(p), "dlib_chip") for p in data.paths["train"][:3]])
    described = keras.models.load_model(tiny_teacher, compile=False).predict(chips, verbose=0)
    np.testing.assert_allclose(data.descriptors["train"][:3], described, rtol=1e-4, atol=1e-4)
    _, result = attributes.train_attribute_model(
        data,
        replace(
            ARCHITECTURES["improved"],
            epochs=3,
            batch_size=16,
            relational_weight=1.0,
            teacher_centres=centres,
        ),
        models_dir=tmp_path / "models",
        logs_dir=tmp_path / "logs",
        verbose=0,
    )
    history = result.history
    assert history["descriptor_loss"][-1] < history["descriptor_loss"][0]
    assert "relations_loss" in history and "identity_loss" in history
    record = json.loads((tmp_path / "models" / "improved.json").read_text())
    assert record["monitor"] == "val_descriptor_loss"
    assert record["teacher"]["name"] == "tiny" and record["teacher_centres"] is centres
    assert record["geometry"] == geometry  # the photo intake will cut photos to it
    assert record["learned_from"]["drawn"] is True and record["learned_from"]["images"] > 0
    # the drawn validation split is too few people to calibrate on: no thresholds, no crash
    assert "distance_thresholds" not in record
    # plain Keras, no custom objects: the training heads are not in the file
    loaded = keras.models.load_model(result.checkpoint, compile=False)
    assert {"identity", "descriptor", "relations"}.isdisjoint(layer.name for layer in loaded.layers)
    assert loaded.get_layer("embedding").output.shape[-1] == 128


def test_a_teacher_with_both_weights_zero_is_refused(tiny_celeba, tiny_teacher, tmp_path):
    data = attributes.load_attribute_data(
        load_celeba(tiny_celeba), 32, tmp_path, crop="face", progress=False, teacher=tiny_teacher
    )
    with pytest.raises(ValueError, match="distillation weights are 0"):
        attributes.train_attribute_model(
            data,
            replace(ARCHITECTURES["improved"], distill_weight=0.0),
            models_dir=tmp_path,
            logs_dir=tmp_path,
        )


def test_calibrated_thresholds_join_the_students_sidecar(tmp_path, rng):
    model = networks.improved_cnn(32, widths=(8,))
    path = tmp_path / "improved.h5"
    save_with_sidecar(model, path, {"arch": "improved", "monitor": "val_descriptor_loss"})
    images = rng.integers(0, 256, (60, 32, 32, 3), dtype=np.uint8)
    result = student.calibrate_student(path, images, np.repeat(np.arange(20), 3))
    record = json.loads(path.with_suffix(".json").read_text())
    assert record["monitor"] == "val_descriptor_loss"  # what was there stays
    assert record["distance_thresholds"] == result["distance_thresholds"]
    assert record["calibration"]["pairs_different"] == 60 * 59 // 2 - 20 * 3
    assert record["embedding_dim"] == 128
