"""Tests for report.gradcam on tiny models whose right answer is known by construction."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from keras import layers

from facetransfer.modeling import networks
from facetransfer.report import gradcam, plots

SIZE = 24


def red_detector(sequential: bool) -> keras.Model:
    """Score = mean redness: a 1x1 conv that passes only the red channel, then global pooling.

    Grad-CAM of that score must light up wherever the image is red, and nowhere else.
    """
    conv = layers.Conv2D(1, 1, activation="relu", name="conv_red")
    stack = [
        layers.Rescaling(1.0 / 255, name="scale"),
        conv,
        layers.GlobalAveragePooling2D(name="pool"),
        layers.Dense(1, name="score"),
    ]
    if sequential:
        model = keras.Sequential([keras.Input((SIZE, SIZE, 3), name="image"), *stack])
    else:
        inputs = keras.Input((SIZE, SIZE, 3), name="image")
        x = inputs
        for layer in stack:
            x = layer(x)
        model = keras.Model(inputs, x)
    conv.set_weights([np.array([1.0, -1.0, -1.0]).reshape(1, 1, 3, 1), np.zeros(1)])
    model.get_layer("score").set_weights([np.ones((1, 1)), np.zeros(1)])
    return model


def images_with_red_squares() -> tuple[np.ndarray, list[tuple[slice, slice]]]:
    """Grey images, each with a red square in a different corner."""
    images = np.full((3, SIZE, SIZE, 3), 90, dtype=np.uint8)
    where = [
        (slice(2, 8), slice(2, 8)),
        (slice(14, 20), slice(15, 21)),
        (slice(3, 9), slice(16, 22)),
    ]
    for image, (rows, cols) in zip(images, where, strict=True):
        image[rows, cols] = (230, 20, 20)
    return images, where


@pytest.mark.parametrize("sequential", [True, False])
def test_gradcam_finds_the_red_square(sequential):
    model = red_detector(sequential)
    images, where = images_with_red_squares()
    maps = gradcam.gradcam(model, images)
    assert maps.shape == (3, SIZE, SIZE)
    assert maps.dtype == np.float32
    assert maps.min() >= 0.0 and maps.max() <= 1.0
    for heat, (rows, cols) in zip(maps, where, strict=True):
        peak_row, peak_col = np.unravel_index(np.argmax(heat), heat.shape)
        assert rows.start <= peak_row < rows.stop and cols.start <= peak_col < cols.stop
        inside = heat[rows, cols].mean()
        outside = heat.copy()
        outside[rows, cols] = np.nan
        assert inside > 0.8 > 0.05 > np.nanmean(outside)


def test_gradcam_of_a_zero_gradient_is_zeros_not_nan():
    model = red_detector(sequential=False)
    model.get_layer("score").set_weights([np.zeros((1, 1)), np.zeros(1)])  # score ignores input
    maps = gradcam.gradcam(model, images_with_red_squares()[0])
    assert np.isfinite(maps).all() and maps.max() == 0.0


def test_layer_choice_on_the_seed_and_improved_models():
    seed = networks.seed_cnn(192)
    assert gradcam.last_conv_layer_name(seed) == "conv6"
    assert gradcam.default_layer_name(seed) == "conv6"  # its ReLU is built into the conv
    assert gradcam.describe_layer(seed) == "conv6, 2x2 map"
    improved = networks.improved_cnn(32, widths=(8, 16))
    assert gradcam.last_conv_layer_name(improved) == "block2_b_conv"
    assert gradcam.default_layer_name(improved) == "block2_b_relu"  # after BatchNorm and ReLU
    person = networks.embedding_transfer_model(improved)
    assert gradcam.default_layer_name(person) == "block2_b_relu"  # found inside the person model


def test_gradcam_on_attribute_and_person_models_by_name():
    rng = np.random.default_rng(0)
    base = networks.improved_cnn(32, n_outputs=3, widths=(8,))
    faces = rng.integers(0, 256, (2, 32, 32, 3), dtype=np.uint8)
    maps = gradcam.gradcam(base, faces, "Smiling", names=["Male", "Smiling", "Young"])
    assert maps.shape == (2, 32, 32) and np.isfinite(maps).all()
    person = networks.embedding_transfer_model(base)
    assert gradcam.gradcam(person, faces, layer_name="block1_a_conv").shape == (2, 32, 32)


def test_gradcam_errors_name_the_problem():
    model = networks.improved_cnn(32, n_outputs=3, widths=(8,))
    faces = np.zeros((1, 32, 32, 3), dtype=np.uint8)
    with pytest.raises(ValueError, match="3 outputs"):
        gradcam.gradcam(model, faces)
    with pytest.raises(ValueError, match="Bald"):
        gradcam.gradcam(model, faces, "Bald", names=["Male", "Smiling", "Young"])
    with pytest.raises(ValueError, match="out of range"):
        gradcam.gradcam(model, faces, 7)
    with pytest.raises(ValueError, match="no layer 'conv9'"):
        gradcam.gradcam(model, faces, 0, layer_name="conv9")
    with pytest.raises(ValueError, match="expects"):
        gradcam.gradcam(model, np.zeros((1, 40, 40, 3)), 0)
    dense_only = keras.Sequential([keras.Input((4,)), layers.Dense(1)])
    with pytest.raises(ValueError, match="no Conv2D"):
        gradcam.last_conv_layer_name(dense_only)


def test_embeddings_read_the_layer_a_head_reads():
    rng = np.random.default_rng(1)
    faces = rng.integers(0, 256, (5, 32, 32, 3), dtype=np.uint8)
    base = networks.improved_cnn(32, n_outputs=3, embedding_dim=6, widths=(8,))
    person = networks.embedding_transfer_model(base)
    from_base = gradcam.embeddings(base, faces)
    assert from_base.shape == (5, 6)
    np.testing.assert_allclose(gradcam.embeddings(person, faces), from_base, rtol=1e-5, atol=1e-6)
    seed = networks.seed_cnn(192)
    seed_faces = rng.integers(0, 256, (2, 192, 192, 3), dtype=np.uint8)
    assert gradcam.embeddings(seed, seed_faces).shape == (2, 32)  # Flatten of the 1x1x32 map


def test_first_of_each_takes_the_person_then_the_others_in_order():
    labels = np.array([0, 1, 0, 1, 1, 0, 1, 0])
    np.testing.assert_array_equal(gradcam.first_of_each(labels, 2), [1, 3, 0, 2])
    np.testing.assert_array_equal(gradcam.first_of_each(labels), [1, 3, 4, 0, 2, 5])
    np.testing.assert_array_equal(gradcam.first_of_each(np.zeros(3), 2), [0, 1])


class _Data:
    """What notebook 03's person data offers the report: images and labels per split."""

    def __init__(self, images, labels):
        n = len(images) // 2
        self.images = {"validation": images[:n], "test": images[n:]}
        self.labels = {"validation": labels[:n], "test": labels[n:]}


def test_transfer_saliency_draws_each_base_and_its_transfer_on_its_own_photos():
    rng = np.random.default_rng(2)
    base = networks.improved_cnn(32, n_outputs=2, embedding_dim=4, widths=(8,))
    person = networks.embedding_transfer_model(base)
    labels = np.array([1, 0, 1, 1, 0, 0, 1, 0, 0, 1])
    data = _Data(rng.integers(0, 256, (10, 32, 32, 3), dtype=np.uint8), labels)
    fig = gradcam.transfer_saliency(
        {"improved": base, "seed": None}, {"improved": person}, {"improved": data},
        person="paco", names=["Male", "Smiling"], n=2,
    )  # fmt: skip
    shown = gradcam.first_of_each(data.labels["test"], 2)  # test labels 1 0 0 1 0
    assert len(fig.axes) == 3 * len(shown)  # faces, base row, transfer row
    n = len(shown)
    assert [ax.get_title() for ax in fig.axes[:n]] == [
        "paco", "paco", "other", "other"
    ]  # fmt: skip
    rows = [fig.axes[0].get_ylabel(), fig.axes[n].get_ylabel(), fig.axes[2 * n].get_ylabel()]
    assert rows[1].startswith("improved base: Smiling") and rows[2].startswith("improved transfer")
    np.testing.assert_array_equal(fig.axes[0].images[0].get_array(), data.images["test"][shown[0]])
    with pytest.raises(ValueError, match="no base"):
        gradcam.transfer_saliency({"seed": None}, {}, {}, person="paco", names=["Smiling"])
    plots.plt.close("all")


def test_embedding_projections_one_figure_per_person_model_over_validation_and_test():
    rng = np.random.default_rng(3)
    base = networks.improved_cnn(32, n_outputs=2, embedding_dim=4, widths=(8,))
    person = networks.embedding_transfer_model(base)
    labels = np.array([1, 0, 0, 1, 0, 1, 0, 0])
    data = _Data(rng.integers(0, 256, (8, 32, 32, 3), dtype=np.uint8), labels)
    figures = gradcam.embedding_projections({"improved": person}, {"improved": data}, person="paco")
    assert list(figures) == ["improved"]
    ax = figures["improved"].axes[0]
    assert "improved base: what the paco head reads" in ax.get_title()
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["others (n=5)", "person (n=3)"]  # both splits, split by label
    plots.plt.close("all")
