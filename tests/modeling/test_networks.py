"""The seed's architecture and the transfer head, by their parameter counts; H5 round trips."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from facetransfer.modeling import networks


def test_seed_cnn_has_the_seeds_56520_parameters():
    model = networks.seed_cnn(192)
    assert model.count_params() == networks.SEED_PARAMS == 56_520
    assert model.output_shape == (None, 40)
    # the 1x1x32 map before the head, the seed's bottleneck
    assert model.get_layer("flatten").output.shape[-1] == 32


def test_seed_head_has_4353_trainable_parameters():
    base = networks.seed_cnn(192)
    person = networks.seed_transfer_model(base)
    assert networks.trainable_params(person) == networks.SEED_HEAD_TRAINABLE_PARAMS == 4_353
    assert person.output_shape == (None, 1)
    assert all(not layer.trainable for layer in base.layers)


@pytest.mark.parametrize("config", ["model1", "model2", "model3"])
def test_seed_configs_compile_with_their_loss_and_optimizer(config, tmp_path):
    model = networks.build_attribute_model("seed", 192, config)
    cfg = networks.SEED_CONFIGS[config]
    assert isinstance(model.loss, networks.LOSSES[cfg.loss])
    assert model.optimizer.__class__.__name__.lower() == cfg.optimizer
    # a user's plain `keras.models.load_model` on the H5, compiled (Keras' default), must work
    model.save(tmp_path / "m.h5")
    loaded = keras.models.load_model(tmp_path / "m.h5")
    assert isinstance(loaded.loss, networks.LOSSES[cfg.loss])


def test_improved_model_gives_logits_and_an_embedding():
    model = networks.build_attribute_model("improved", 64)
    assert model.output_shape == (None, 40)
    assert model.get_layer("embedding").output.shape[-1] == 128
    head = networks.embedding_transfer_model(model)
    assert networks.trainable_params(head) == 129


def test_unknown_architecture_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown architecture"):
        networks.build_attribute_model("resnet", 64)


def test_seed_cnn_refuses_an_input_too_small_for_its_six_blocks():
    with pytest.raises(ValueError, match="at least 190"):
        networks.seed_cnn(128)


@pytest.mark.parametrize(("arch", "size"), [("seed", 192), ("improved", 64)])
def test_h5_round_trip_gives_identical_predictions(tmp_path, arch, size):
    model = networks.build_attribute_model(arch, size)
    images = np.random.default_rng(0).integers(0, 256, (4, size, size, 3), dtype=np.uint8)
    labels = np.random.default_rng(1).integers(0, 2, (4, 40)).astype("float32")
    model.fit(images, labels, epochs=1, verbose=0)  # non-trivial weights and BatchNorm statistics
    path = tmp_path / "m.h5"
    model.save(path)
    loaded = keras.models.load_model(path, compile=False)
    np.testing.assert_allclose(
        loaded.predict(images, verbose=0), model.predict(images, verbose=0), rtol=1e-5, atol=1e-6
    )


def test_seed_transfer_works_on_a_loaded_h5_base(tmp_path):
    networks.seed_cnn(192).save(tmp_path / "base.h5")
    base = keras.models.load_model(tmp_path / "base.h5", compile=False)
    person = networks.seed_transfer_model(base)
    assert networks.trainable_params(person) == 4_353


def test_additive_margin_loss_ignores_unknown_identities_and_rewards_the_margin():
    loss = networks.AdditiveMarginLoss(margin=0.35, scale=30.0)
    cos = np.array([[0.9, 0.1, 0.0], [0.2, 0.8, 0.1], [0.5, 0.5, 0.5]], dtype="float32")
    right = float(loss(np.array([[0], [1], [-1]]), cos))
    wrong = float(loss(np.array([[2], [0], [-1]]), cos))
    assert right < wrong
    # a face with unknown identity (-1) adds nothing, whatever its cosines
    alone = float(loss(np.array([[0], [1]]), cos[:2]))
    assert right == pytest.approx(alone, rel=1e-5)
    # the margin makes a correct answer cost more than plain softmax would
    no_margin = float(networks.AdditiveMarginLoss(margin=0.0)(np.array([[0], [1], [-1]]), cos))
    assert right > no_margin


def test_identity_head_trains_and_the_saved_base_has_no_identity_layer(tmp_path):
    base = networks.improved_cnn(64)
    trainer = networks.with_training_heads(base, n_identities=4)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (16, 64, 64, 3), dtype=np.uint8)
    targets = {
        "attribute_logits": rng.integers(0, 2, (16, 40)).astype("float32"),
        "identity": rng.integers(-1, 4, (16, 1)).astype("float32"),
    }
    history = trainer.fit(images, targets, epochs=3, verbose=0).history
    assert history["identity_loss"][-1] < history["identity_loss"][0]
    base.save(tmp_path / "base.h5")  # the shared layers, without the cosine classifier
    loaded = keras.models.load_model(tmp_path / "base.h5", compile=False)
    assert "identity" not in {layer.name for layer in loaded.layers}
    np.testing.assert_allclose(
        loaded.predict(images, verbose=0), base.predict(images, verbose=0), rtol=1e-5, atol=1e-5
    )
