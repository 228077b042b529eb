"""The networks: the seed's attribute CNN and its three compile configs, an improved CNN, and the
transfer heads that turn a frozen base into a one-person recogniser.

Every model takes raw RGB uint8 pixels and scales them itself (a Rescaling layer, no weights), so a
saved H5 needs no preprocessing code outside it.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np
from keras import layers

N_ATTRIBUTES = 40

# The seed's numbers, asserted by the tests: they prove the architecture is the seed's.
SEED_PARAMS = 56_520
SEED_HEAD_TRAINABLE_PARAMS = 4_353


def seed_cnn(image_size: int = 192, n_outputs: int = N_ATTRIBUTES, name: str = "seed_cnn"):
    """The seed's network exactly: 6 x [Conv2D(32, 3, relu) + MaxPooling2D], Flatten,
    Dense(128, sigmoid), Dense(40) with no activation.

    At 192x192 the six blocks shrink the image to a 1x1x32 map, so the head sees 32 numbers: one of
    the reasons the seed learned nothing. It is kept as the baseline.
    """
    side = image_size
    for _ in range(6):
        side = (side - 2) // 2
    if side < 1:
        raise ValueError(
            f"the seed's six conv + pool blocks need an input of at least 190 px; got {image_size}"
        )
    model = keras.Sequential(name=name)
    model.add(keras.Input(shape=(image_size, image_size, 3), name="image"))
    model.add(layers.Rescaling(1.0 / 255, name="scale"))
    for block in range(1, 7):
        model.add(layers.Conv2D(32, 3, activation="relu", name=f"conv{block}"))
        model.add(layers.MaxPooling2D(name=f"pool{block}"))
    model.add(layers.Flatten(name="flatten"))
    model.add(layers.Dense(128, activation="sigmoid", name="dense"))
    model.add(layers.Dense(n_outputs, name="attributes"))
    return model


@dataclass(frozen=True)
class CompileConfig:
    """One of the seed's three ways to compile the same network."""

    name: str
    optimizer: str
    loss: str
    learning_rate: float
    description: str


# Kept as the seed had them, faults included: Keras' defaults for the losses (probabilities
# expected, but Dense(40) outputs unbounded scores), and a softmax-style loss over 40 independent
# labels in Model 3. The notebook explains why each is wrong; the improved model fixes them.
SEED_CONFIGS = {
    "model1": CompileConfig(
        "model1", "adam", "binary_crossentropy", 1e-3, "Model 1: Adam + binary cross-entropy"
    ),
    "model2": CompileConfig("model2", "sgd", "mse", 1e-2, "Model 2: SGD + mean squared error"),
    "model3": CompileConfig(
        "model3",
        "adam",
        "categorical_crossentropy",
        1e-3,
        "Model 3: Adam + categorical cross-entropy",
    ),
}


def make_optimizer(name: str, learning_rate: float):
    if name == "adam":
        return keras.optimizers.Adam(learning_rate)
    if name == "sgd":
        return keras.optimizers.SGD(learning_rate)
    raise ValueError(f"unknown optimizer {name!r}: expected 'adam' or 'sgd'")


LOSSES = {
    "binary_crossentropy": keras.losses.BinaryCrossentropy,
    "mse": keras.losses.MeanSquaredError,
    "categorical_crossentropy": keras.losses.CategoricalCrossentropy,
}


def make_loss(name: str):
    """A loss object rather than its string: Keras 3 saves a string "mse" into H5 as a metric
    function it then cannot load back (`keras.models.load_model` fails on the seed's Model 2)."""
    if name not in LOSSES:
        raise ValueError(f"unknown loss {name!r}: expected one of {sorted(LOSSES)}")
    return LOSSES[name]()


def compile_seed(model, config: str | CompileConfig, learning_rate: float | None = None):
    """Compile with one of the seed's configs, measured by binary accuracy as the seed was."""
    cfg = SEED_CONFIGS[config] if isinstance(config, str) else config
    lr = cfg.learning_rate if learning_rate is None else learning_rate
    model.compile(
        optimizer=make_optimizer(cfg.optimizer, lr),
        loss=make_loss(cfg.loss),
        metrics=[keras.metrics.BinaryAccuracy(name="binary_accuracy")],
    )
    return model


def attribute_probabilities(model, images, batch_size: int = 64):
    """Scores in [0, 1] from an attribute model, whichever its output: the improved model gives
    logits, the seed's configs give raw scores that their losses read as probabilities."""
    raw = model.predict(images, batch_size=batch_size, verbose=0)
    if model.get_layer(index=-1).name == "attribute_logits":
        return 1.0 / (1.0 + np.exp(-raw))
    return np.clip(raw, 0.0, 1.0)


def improved_cnn(
    image_size: int = 128,
    n_outputs: int = N_ATTRIBUTES,
    embedding_dim: int = 128,
    widths=(64, 128, 192, 256),
    *,
    name: str = "improved_cnn",
):
    """A small modern CNN a 2-core CPU trains: a strided stem, conv + BatchNorm + ReLU blocks that
    halve the map and widen it, global average pooling, an embedding layer, and 40 attribute logits.

    Uses only built-in layers, so it saves to H5 and loads with plain `keras.models.load_model`.
    The layer named "embedding" is what the transfer head reads.
    """
    inputs = keras.Input(shape=(image_size, image_size, 3), name="image")
    x = layers.Rescaling(1.0 / 127.5, offset=-1.0, name="scale")(inputs)
    x = _conv_bn_relu(x, 32, stride=2, name="stem")
    for i, width in enumerate(widths, start=1):
        x = _conv_bn_relu(x, width, stride=2, name=f"block{i}_a")
        x = _conv_bn_relu(x, width, stride=1, name=f"block{i}_b")
    x = layers.GlobalAveragePooling2D(name="pool")(x)
    x = layers.Dropout(0.2, name="dropout")(x)
    embedding = layers.Dense(embedding_dim, name="embedding")(x)
    x = layers.BatchNormalization(name="embedding_bn")(embedding)
    x = layers.ReLU(name="embedding_relu")(x)
    logits = layers.Dense(n_outputs, name="attribute_logits")(x)
    return keras.Model(inputs, logits, name=name)


def _conv_bn_relu(x, width: int, stride: int, name: str):
    x = layers.Conv2D(
        width, 3, strides=stride, padding="same", use_bias=False, name=f"{name}_conv"
    )(x)
    x = layers.BatchNormalization(name=f"{name}_bn")(x)
    return layers.ReLU(name=f"{name}_relu")(x)


def compile_improved(model, learning_rate: float = 2e-3):
    """Binary cross-entropy on logits: 40 independent yes/no answers, numerically stable."""
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=keras.losses.BinaryCrossentropy(from_logits=True),
        metrics=[keras.metrics.BinaryAccuracy(name="binary_accuracy", threshold=0.0)],
    )
    return model


def build_attribute_model(
    arch: str,
    image_size: int,
    config: str = "model2",
    learning_rate: float | None = None,
    *,
    widths=(32, 64, 128, 256),
):
    """The attribute network of `arch` ("seed" or "improved"), compiled."""
    if arch == "seed":
        return compile_seed(seed_cnn(image_size, name=f"seed_{config}"), config, learning_rate)
    if arch == "improved":
        lr = 2e-3 if learning_rate is None else learning_rate
        return compile_improved(improved_cnn(image_size, widths=tuple(widths)), lr)
    raise ValueError(f"unknown architecture {arch!r}: expected 'seed' or 'improved'")


def base_features(base):
    """The tensor a transfer head reads: the seed's Flatten output (32 numbers at 192x192) or the
    improved model's embedding."""
    for name in ("embedding", "flatten"):
        try:
            return base.get_layer(name).output
        except ValueError:
            continue
    raise ValueError(
        f"model {base.name!r} has neither an 'embedding' nor a 'flatten' layer: "
        "it is not an attribute model made by facetransfer"
    )


def seed_transfer_model(base, name: str = "person"):
    """The seed's transfer: the base frozen up to Flatten, a new head Dense(128, sigmoid) +
    Dense(1).

    The seed's Dense(1) was linear and thresholded like a probability; here it is a logit and the
    model ends in a sigmoid, so its output is a probability (the head's 4,353 weights are the
    same).
    """
    base.trainable = False
    features = base_features(base)
    x = layers.Dense(128, activation="sigmoid", name="head_dense")(features)
    logit = layers.Dense(1, name="head_logit")(x)
    prob = layers.Activation("sigmoid", name="probability")(logit)
    return keras.Model(base.inputs[0], prob, name=name)


def embedding_transfer_model(base, hidden: int = 0, dropout: float = 0.2, name: str = "person"):
    """A head on the improved base's embedding: L2-normalised embedding, dropout, a logistic unit
    (or one hidden layer). Few photos call for few weights."""
    base.trainable = False
    features = base_features(base)
    x = layers.UnitNormalization(name="head_normalize")(features)
    x = layers.Dropout(dropout, name="head_dropout")(x)
    if hidden:
        x = layers.Dense(hidden, activation="relu", name="head_dense")(x)
    prob = layers.Dense(1, activation="sigmoid", name="probability")(x)
    return keras.Model(base.inputs[0], prob, name=name)


def compile_person(
    model, optimizer: str = "adam", learning_rate: float = 1e-3, loss: str = "binary_crossentropy"
):
    """The seed compiled its head with SGD + MSE at lr 1e-5; binary cross-entropy with Adam is
    the default here because the output is a probability."""
    model.compile(
        optimizer=make_optimizer(optimizer, learning_rate),
        loss=make_loss(loss),
        metrics=[
            keras.metrics.BinaryAccuracy(name="binary_accuracy"),
            keras.metrics.AUC(name="auc"),
        ],
    )
    return model


def trainable_params(model) -> int:
    return int(sum(keras.ops.size(w) for w in model.trainable_weights))


def input_size(model) -> int:
    """The square image side a model expects."""
    return int(model.input_shape[1])


# ---------------------------------------------------------------------------------------------
# Identity objective: an additive-margin softmax (CosFace) on the embedding, used only while
# training. The saved base is the attribute model alone, so it loads without custom objects.


@keras.saving.register_keras_serializable(package="facetransfer")
class CosineClassifier(layers.Layer):
    """Cosine similarity between the L2-normalised input and one learned direction per class."""

    def __init__(self, n_classes: int, **kwargs):
        super().__init__(**kwargs)
        self.n_classes = n_classes

    def build(self, input_shape):
        self.centres = self.add_weight(
            name="centres", shape=(input_shape[-1], self.n_classes), initializer="glorot_uniform"
        )

    def call(self, inputs):
        x = keras.ops.normalize(inputs, axis=-1)
        w = keras.ops.normalize(self.centres, axis=0)
        return keras.ops.matmul(x, w)

    def get_config(self):
        return {**super().get_config(), "n_classes": self.n_classes}


@keras.saving.register_keras_serializable(package="facetransfer")
class AdditiveMarginLoss(keras.losses.Loss):
    """CosFace: cross-entropy on scale * (cos - margin at the true class). Faces of one person are
    pulled within a margin of their centre and away from everyone else's. Labels < 0 mean "identity
    unknown or too rare to learn" and add nothing."""

    def __init__(self, margin: float = 0.35, scale: float = 30.0, name="additive_margin", **kw):
        super().__init__(name=name, **kw)
        self.margin = margin
        self.scale = scale

    def call(self, y_true, y_pred):
        ops = keras.ops
        labels = ops.cast(ops.reshape(y_true, (-1,)), "int32")
        known = ops.cast(labels >= 0, y_pred.dtype)
        safe = ops.maximum(labels, 0)
        onehot = ops.one_hot(safe, ops.shape(y_pred)[-1], dtype=y_pred.dtype)
        logits = self.scale * (y_pred - self.margin * onehot)
        per_face = keras.losses.sparse_categorical_crossentropy(safe, logits, from_logits=True)
        # mean over the faces whose identity is learned, not the whole batch
        return (
            per_face * known * ops.cast(ops.shape(known)[0], y_pred.dtype) / (ops.sum(known) + 1e-6)
        )

    def get_config(self):
        return {**super().get_config(), "margin": self.margin, "scale": self.scale}


@keras.saving.register_keras_serializable(package="facetransfer")
class DescriptorDistance(keras.losses.Loss):
    """Distillation: the squared Euclidean distance between the student's embedding and the
    teacher's descriptor of the same face, so the student's distances are the teacher's (and so
    are its thresholds, before any calibration)."""

    def __init__(self, name="descriptor_distance", **kw):
        super().__init__(name=name, **kw)

    def call(self, y_true, y_pred):
        return keras.ops.sum(keras.ops.square(y_pred - keras.ops.cast(y_true, y_pred.dtype)), -1)


@keras.saving.register_keras_serializable(package="facetransfer")
class RelationalDistance(keras.losses.Loss):
    """Relational distillation (Park et al., 2019): each face's distances to the other faces of
    the batch should be the teacher's, whatever the student's own coordinates."""

    def __init__(self, name="relational_distance", **kw):
        super().__init__(name=name, **kw)

    def call(self, y_true, y_pred):
        ops = keras.ops
        teacher = ops.cast(y_true, y_pred.dtype)

        def distances(x):
            squared = ops.sum(ops.square(x), -1)
            d2 = squared[:, None] + squared[None, :] - 2.0 * ops.matmul(x, ops.transpose(x))
            return ops.sqrt(ops.maximum(d2, 1e-12))

        return ops.mean(ops.square(distances(y_pred) - distances(teacher)), -1)


def with_training_heads(
    model,
    *,
    n_identities: int = 0,
    identity_weight: float = 1.0,
    teacher_dim: int = 0,
    distill_weight: float = 0.0,
    relational_weight: float = 0.0,
    centres: np.ndarray | None = None,
    learning_rate: float = 2e-3,
    margin: float = 0.35,
    scale: float = 30.0,
):
    """A training model sharing every layer of the improved `model`: its 40 attribute logits,
    and where asked the cosine similarities of its embedding to `n_identities` identity centres
    (CosFace) and the embedding itself against a teacher's `teacher_dim`-d descriptor
    (`distill_weight`: squared distance; `relational_weight`: the batch's pairwise distances).
    `centres` (embedding_dim, n_identities): fixed identity centres, the teacher's class means
    (as ProxylessKD does), instead of learned ones. Saving `model` at any time saves the shared
    weights without these heads."""
    embedding = model.get_layer("embedding").output
    outputs = {"attribute_logits": model.output}
    losses = {"attribute_logits": keras.losses.BinaryCrossentropy(from_logits=True)}
    weights = {"attribute_logits": 1.0}
    if n_identities > 1 and identity_weight > 0:
        classifier = CosineClassifier(n_identities, name="identity")
        outputs["identity"] = classifier(embedding)
        if centres is not None:
            classifier.set_weights([np.asarray(centres, np.float32)])
            classifier.trainable = False
        losses["identity"] = AdditiveMarginLoss(margin, scale)
        weights["identity"] = identity_weight
    if teacher_dim and distill_weight > 0:
        if embedding.shape[-1] != teacher_dim:
            raise ValueError(
                f"the embedding has {embedding.shape[-1]} numbers, the teacher's descriptor "
                f"{teacher_dim}: build the student with embedding_dim={teacher_dim}"
            )
        outputs["descriptor"] = layers.Identity(name="descriptor")(embedding)
        losses["descriptor"] = DescriptorDistance()
        weights["descriptor"] = distill_weight
    if teacher_dim and relational_weight > 0:
        outputs["relations"] = layers.Identity(name="relations")(embedding)
        losses["relations"] = RelationalDistance()
        weights["relations"] = relational_weight
    trainer = keras.Model(model.inputs[0], outputs, name=f"{model.name}_training")
    trainer.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=losses,
        loss_weights=weights,
        metrics={
            "attribute_logits": [
                keras.metrics.BinaryAccuracy(name="binary_accuracy", threshold=0.0)
            ]
        },
    )
    return trainer


def top_block_layers(base) -> set[str]:
    """Names of the improved base's last conv block and embedding: what fine-tuning unfreezes."""
    names = [layer.name for layer in base.layers]
    blocks = sorted({n.split("_")[0] for n in names if n.startswith("block")})
    if not blocks:
        return set()
    last = blocks[-1]
    return {n for n in names if n.startswith(f"{last}_") or n.startswith("embedding")}
