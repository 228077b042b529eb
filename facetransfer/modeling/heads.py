"""Transfer heads on a frozen base: the seed's (Dense(128, sigmoid) + Dense(1)), a logistic unit on
a normalised embedding, or the centroid of the person's photos; trained on augmented photos or on
the base's cached features."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from facetransfer.config import HEADS
from facetransfer.data.intake import PersonData
from facetransfer.data.pipeline import augmentation, make_dataset
from facetransfer.modeling import networks
from facetransfer.modeling.checkpoints import load_model_file
from facetransfer.modeling.fit import fit

HEAD_NAMES = ("auto", *HEADS)


def resolve_head(base, head: str = "auto") -> str:
    """ "auto": the embedding head on a base with an embedding layer, the seed's head otherwise."""
    if head not in HEAD_NAMES:
        raise ValueError(f"unknown head {head!r}: expected one of {HEAD_NAMES}")
    if head == "auto":
        return "embedding" if "embedding" in {layer.name for layer in base.layers} else "seed"
    return head


def build_person_model(base, head: str = "auto", unfreeze_top: bool = False):
    """The seed's head on a seed base, a logistic head on an improved base's embedding.

    `unfreeze_top` lets the improved base's last conv block and embedding learn too (train it at
    a low learning rate); its BatchNorm statistics stay frozen, as few photos cannot re-estimate
    them.
    """
    head = resolve_head(base, head)
    if head == "seed":
        model = networks.seed_transfer_model(base)
    elif head == "distance":
        raise ValueError("the distance head is built from the person's photos: see transfer()")
    else:
        model = networks.embedding_transfer_model(base, dropout=0.0 if head == "centroid" else 0.2)
    if unfreeze_top:
        top = networks.top_block_layers(base)
        if not top:
            raise ValueError("unfreeze_top needs the improved base (it has no top block to tune)")
        base.trainable = True
        for layer in base.layers:
            layer.trainable = layer.name in top and "_bn" not in layer.name
    return model


def class_weights(labels: np.ndarray) -> dict[int, float]:
    """Few photos of the person against many of others: weigh both classes equally."""
    n = len(labels)
    positives = float(labels.sum())
    return {0: n / (2 * max(n - positives, 1)), 1: n / (2 * max(positives, 1))}


def set_centroid_head(
    model, data: PersonData, scale: float = 20.0, features: np.ndarray | None = None
) -> None:
    """No training: the head scores how much closer a face's normalised embedding is to the mean
    of the person's training photos than to the mean of the others' (enrolment by mean, the
    classic way face-verification embeddings are used). Its threshold is chosen like any head's.
    `features`: the base's features of the training photos, when already computed."""
    if features is None:
        normalized = keras.Model(model.inputs[0], model.get_layer("head_normalize").output)
        z = normalized.predict(data.images["train"], verbose=0)
    else:
        z = features / (np.linalg.norm(features, axis=1, keepdims=True) + 1e-12)
    y = data.labels["train"] > 0.5

    def unit(v):
        return v / (np.linalg.norm(v) + 1e-12)

    direction = unit(z[y].mean(axis=0)) - unit(z[~y].mean(axis=0))
    middle = 0.5 * (z[y] @ direction).mean() + 0.5 * (z[~y] @ direction).mean()
    layer = model.get_layer("probability")
    layer.set_weights(
        [scale * direction[:, None].astype("float32"), np.array([-scale * middle], dtype="float32")]
    )


def head_on_features(model, dim: int) -> keras.Model:
    """The head of a person model as a model of its own, on the base's features: the same layer
    objects, so training it trains the person model."""
    inputs = keras.Input((dim,), name="features")
    x = inputs
    for layer in model.layers:
        if layer.name.startswith("head_") or layer.name == "probability":
            x = layer(x)
    return keras.Model(inputs, x, name="head")


def feature_scores(head: keras.Model, features: np.ndarray) -> np.ndarray:
    return keras.ops.convert_to_numpy(head(features, training=False)).reshape(-1)


def train_head_on_features(
    model,
    features: dict[str, np.ndarray],
    labels: dict[str, np.ndarray],
    *,
    epochs: int,
    checkpoint,
    logs_dir,
    optimizer: str = "adam",
    learning_rate: float = 1e-2,
    loss: str = "binary_crossentropy",
    batch_size: int = 16,
    seed: int = 0,
    verbose=0,
):
    """Fit the head of `model` on cached base features (train, validation), keeping the best
    epoch of the whole person model by validation AUC in `checkpoint`. Returns (best person
    model, its head on features, history)."""
    keras.utils.set_random_seed(seed)
    head = head_on_features(model, features["train"].shape[1])
    networks.compile_person(head, optimizer, learning_rate, loss)
    weights = class_weights(labels["train"])
    w = np.where(labels["train"] > 0.5, weights[1], weights[0]).astype("float32")
    train_ds = (
        tf.data.Dataset.from_tensor_slices((features["train"], labels["train"], w))
        .shuffle(len(w), seed=seed, reshuffle_each_iteration=True)
        .batch(batch_size)
    )
    val_ds = tf.data.Dataset.from_tensor_slices(
        (features["validation"], labels["validation"])
    ).batch(256)
    best, history = _fit_keeping_the_best(
        head,
        train_ds,
        val_ds,
        epochs=epochs,
        checkpoint=checkpoint,
        logs_dir=logs_dir,
        verbose=verbose,
        save_model=model,
    )
    return best, head_on_features(best, features["train"].shape[1]), history


def train_person(
    model,
    data: PersonData,
    *,
    epochs: int,
    checkpoint,
    logs_dir,
    optimizer: str = "adam",
    learning_rate: float = 1e-3,
    loss: str = "binary_crossentropy",
    batch_size: int = 16,
    augment: bool = True,
    seed: int = 0,
    verbose="auto",
):
    """Fit the head on augmented photos and keep its best epoch by validation AUC in
    `checkpoint`. Returns (the best person model, the history)."""
    keras.utils.set_random_seed(seed)
    networks.compile_person(model, optimizer, learning_rate, loss)
    train_ds = make_dataset(
        data.images["train"],
        data.labels["train"],
        batch_size,
        shuffle=True,
        seed=seed,
        augment=augmentation(seed) if augment else None,
    )
    val_ds = make_dataset(data.images["validation"], data.labels["validation"], batch_size)
    weights = class_weights(data.labels["train"])
    class_weighted = train_ds.map(lambda x, y: (x, y, _sample_weights(y, weights)))
    return _fit_keeping_the_best(
        model,
        class_weighted,
        val_ds,
        epochs=epochs,
        checkpoint=checkpoint,
        logs_dir=logs_dir,
        verbose=verbose,
    )


def _fit_keeping_the_best(trained, train_ds, val_ds, *, checkpoint, save_model=None, **fit_args):
    """Fit `trained` and return the best person model by validation AUC, and the history. The
    best epoch is chosen afresh each run (replace_worse): a new person or new photos make an old
    value meaningless; it is still written atomically. `save_model`: the person model, when
    `trained` is its head alone."""
    checkpoint = Path(checkpoint).with_suffix(".h5")
    result = fit(
        trained,
        train_ds,
        val_ds,
        checkpoint=checkpoint,
        monitor="val_auc",
        mode="max",
        replace_worse=True,
        save_model=save_model,
        hparams=None if save_model is None else False,
        **fit_args,
    )
    return load_model_file(checkpoint, expect="person"), result.history


def _sample_weights(y, weights):
    y = tf.reshape(y, [-1])
    return tf.where(y > 0.5, weights[1], weights[0])


DISTANCE_SHARPNESS = 4.0  # gentle: scores keep the order of distances in float32, no ties at 0 or 1


def distance_scores(features: np.ndarray, centre: np.ndarray, distance: float) -> np.ndarray:
    """What `distance_person_model` gives for these base features (the same formula)."""
    squared = ((np.asarray(features) - centre) ** 2).sum(axis=1)
    return 1.0 / (1.0 + np.exp(-DISTANCE_SHARPNESS * (distance**2 - squared)))


def distance_person_model(
    base, centre: np.ndarray, distance: float, sharpness: float = DISTANCE_SHARPNESS
):
    """A person model with no negatives to learn from: the face is the person when its
    descriptor lies within `distance` of `centre` (the mean of the person's photos), as
    face_recognition compares dlib descriptors with its tolerance 0.6. The score is
    sigmoid(sharpness * (distance² - |e - centre|²)), so 0.5 is the distance itself. Standard
    layers only: |e - c|² = e·e - 2 c·e + c·c."""
    features = networks.base_features(base)
    base.trainable = False
    dim = int(features.shape[-1])
    squares = keras.layers.Multiply(name="head_square")([features, features])
    norm = keras.layers.Dense(1, use_bias=False, trainable=False, name="head_norm2")
    cross = keras.layers.Dense(1, trainable=False, name="head_cross")
    squared = keras.layers.Add(name="head_distance2")([norm(squares), cross(features)])
    probability = keras.layers.Dense(1, activation="sigmoid", name="probability")
    out = probability(squared)
    norm.set_weights([np.ones((dim, 1), np.float32)])
    centre = np.asarray(centre, np.float32)
    cross.set_weights([(-2 * centre)[:, None], np.array([centre @ centre], np.float32)])
    probability.set_weights(
        [np.array([[-sharpness]], np.float32), np.array([sharpness * distance**2], np.float32)]
    )
    return keras.Model(base.inputs[0], out, name="person")


# -- the gallery's rule, for a person with no one else to learn from -------------------------------

GALLERY_SHARPNESS = 10.0  # per unit of distance: 0.1 from the threshold is sigmoid(±1)


def mean_distances(features: np.ndarray, enrolled: np.ndarray) -> np.ndarray:
    """Each descriptor's mean Euclidean distance to the enrolled descriptors: the distance a
    gallery gives a face for a person (modeling.gallery_files.Gallery.distances), on the scale
    of one pair's distance, which the base's calibration speaks. (The distance to the mean of
    the enrolled descriptors is shorter for everyone, strangers included, so a pair's calibrated
    threshold lets far more strangers through there.)"""
    features = np.asarray(features, np.float64).reshape(-1, np.shape(enrolled)[1])
    enrolled = np.asarray(enrolled, np.float64)
    return np.linalg.norm(features[:, None] - enrolled[None], axis=-1).mean(axis=1)


def gallery_rule_scores(
    features: np.ndarray,
    enrolled: np.ndarray,
    max_distance: float,
    sharpness: float = GALLERY_SHARPNESS,
) -> np.ndarray:
    """What `gallery_rule_person_model` gives for these base features (the same formula):
    sigmoid(sharpness * (max_distance - mean distance)), at least 0.5 exactly when the mean
    distance is within `max_distance`."""
    gap = max_distance - mean_distances(features, enrolled)
    return (1.0 / (1.0 + np.exp(-sharpness * gap))).astype(np.float32)


def gallery_rule_person_model(
    base, enrolled: np.ndarray, max_distance: float, sharpness: float = GALLERY_SHARPNESS
):
    """A person model that decides as a one-person gallery of the same photos does
    (`facetransfer identify` / `verify`): a face is the person when its descriptor's mean
    distance to each enrolled descriptor is at most `max_distance` (the base's calibrated pair
    distance for the target false-accept rate). The score is sigmoid(sharpness * (max_distance
    - mean distance)), so 0.5 is that distance itself. Standard layers only (it saves, loads and
    exports like any person model): the differences to each enrolled descriptor (a fixed Dense),
    their lengths (each difference times its unit vector, summed), then their mean."""
    features = networks.base_features(base)
    base.trainable = False
    enrolled = np.asarray(enrolled, np.float32)
    n, dim = enrolled.shape
    differences = keras.layers.Dense(n * dim, trainable=False, name="head_differences")
    pairs = keras.layers.Reshape((n, dim), name="head_pairs")(differences(features))
    directions = keras.layers.UnitNormalization(axis=-1, name="head_directions")(pairs)
    along = keras.layers.Multiply(name="head_along")([pairs, directions])
    lengths = keras.layers.Dense(1, use_bias=False, trainable=False, name="head_lengths")
    distances = keras.layers.Reshape((n,), name="head_distances")(lengths(along))
    mean = keras.layers.Dense(1, use_bias=False, trainable=False, name="head_mean_distance")
    probability = keras.layers.Dense(1, activation="sigmoid", name="probability")
    out = probability(mean(distances))
    differences.set_weights([np.tile(np.eye(dim, dtype=np.float32), (1, n)), -enrolled.ravel()])
    lengths.set_weights([np.ones((dim, 1), np.float32)])
    mean.set_weights([np.full((n, 1), 1.0 / n, np.float32)])
    probability.set_weights(
        [np.array([[-sharpness]], np.float32), np.array([sharpness * max_distance], np.float32)]
    )
    return keras.Model(base.inputs[0], out, name="person")
