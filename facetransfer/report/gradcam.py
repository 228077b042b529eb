"""Looking inside a model: Grad-CAM saliency maps and the embeddings a transfer head reads.

Grad-CAM (Selvaraju et al., 2017) weighs each channel of a convolutional layer's output by the mean
gradient of one score with respect to it, sums the weighted channels and keeps the positive part:
the places that, if brighter in that layer, would raise the score. The map has the layer's
resolution (the seed's last conv layer sees a 2x2 grid at 192 px; the improved model's a 4x4 grid
at 128 px), upsampled to the image to be drawn over it.

Works on the seed's Sequential model, the improved functional model and the person models built on
either (their base's layers are part of the person model's graph, so ``"conv6"`` or
``"block4_b_conv"`` is found by name in them too).
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from facetransfer.report import plots


def conv_layer_names(model) -> list[str]:
    """The names of the model's 2-D convolution layers, input to output."""
    return [layer.name for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]


def last_conv_layer_name(model) -> str:
    """The name of the last Conv2D layer: Grad-CAM's usual choice (the most abstract features that
    still have a spatial layout)."""
    names = conv_layer_names(model)
    if not names:
        raise ValueError(f"model {model.name!r} has no Conv2D layer for Grad-CAM to look at")
    return names[-1]


def default_layer_name(model) -> str:
    """The last conv layer, or its block's ReLU when the model names one after it
    (``block4_b_conv`` -> ``block4_b_relu`` in the improved model): the rectified map after
    BatchNorm, as Grad-CAM's authors used. The seed's ``conv6`` has its ReLU built in."""
    conv = last_conv_layer_name(model)
    relu = conv.removesuffix("_conv") + "_relu"
    names = {layer.name for layer in model.layers}
    return relu if conv.endswith("_conv") and relu in names else conv


def describe_layer(model, layer_name: str | None = None) -> str:
    """The layer Grad-CAM reads and its resolution, e.g. "conv6, 2x2 map", for a figure's label
    (a 2x2 map can only say which quarter of the face matters)."""
    name = layer_name or default_layer_name(model)
    height, width = model.get_layer(name).output.shape[1:3]
    return f"{name}, {height}x{width} map"


def _output_index(model, output: int | str | None, names) -> int:
    """Which output unit to explain: an index, an attribute name (with ``names``), or the only
    one."""
    n_outputs = int(model.output_shape[-1])
    if output is None:
        if n_outputs != 1:
            raise ValueError(
                f"model {model.name!r} has {n_outputs} outputs: say which one to explain "
                "(an index, or an attribute name with names=...)"
            )
        return 0
    if isinstance(output, str):
        if names is None or output not in list(names):
            raise ValueError(f"unknown output {output!r}: pass names=[...] that contain it")
        return list(names).index(output)
    index = int(output)
    if not 0 <= index < n_outputs:
        raise ValueError(f"output {index} out of range: model has {n_outputs} outputs")
    return index


def gradcam(
    model,
    images,
    output: int | str | None = None,
    layer_name: str | None = None,
    *,
    names=None,
    batch_size: int = 16,
) -> np.ndarray:
    """Grad-CAM heatmaps of ``images`` for one output of ``model``, in [0, 1], image-sized.

    ``images`` is (N, H, W, 3) raw pixels at the model's input size (uint8 or float; the model
    scales them itself). ``output`` picks the score to explain: None for a one-output model (the
    person model's probability), an index, or an attribute name given ``names``. ``layer_name``
    defaults to :func:`default_layer_name` (the last conv layer, after its ReLU). Returns
    (N, H, W) float32; a map whose gradients are all zero (a saturated unit, a dead layer) is all
    zeros rather than NaN.
    """
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"images must be (N, H, W, 3), got shape {images.shape}")
    expected = tuple(model.input_shape[1:3])
    if tuple(images.shape[1:3]) != expected:
        raise ValueError(f"images are {images.shape[1:3]} but the model expects {expected}")
    index = _output_index(model, output, names)
    layer_name = layer_name or default_layer_name(model)
    try:
        layer = model.get_layer(layer_name)
    except ValueError as error:
        raise ValueError(
            f"model {model.name!r} has no layer {layer_name!r}; conv layers: "
            f"{conv_layer_names(model)}"
        ) from error
    if len(layer.output.shape) != 4:
        raise ValueError(f"layer {layer_name!r} has no spatial map (shape {layer.output.shape})")
    probe = _probe(model, layer)

    maps = []
    for start in range(0, len(images), batch_size):
        batch = tf.convert_to_tensor(images[start : start + batch_size], dtype=tf.float32)
        with tf.GradientTape() as tape:
            features, outputs = probe(batch, training=False)
            score = outputs[:, index]
        grads = tape.gradient(score, features)
        weights = tf.reduce_mean(grads, axis=(1, 2), keepdims=True)  # one weight per channel
        cam = tf.nn.relu(tf.reduce_sum(weights * features, axis=-1))  # (n, h, w)
        maps.append(cam.numpy())
    cams = np.concatenate(maps).astype(np.float32)
    return _normalize_and_upsample(cams, images.shape[1:3])


def _probe(model, layer):
    """A function image -> (the layer's map, the model's output) on one forward pass.

    A Sequential model is run layer by layer: its layers may hold several graph nodes (Keras
    rebuilds the graph as layers are added), and ``layer.output`` may be one that does not lead
    to ``model.outputs``. A functional model gives both tensors from its own graph.
    """
    if isinstance(model, keras.Sequential):

        def run(x, training=False):
            features = None
            for each in model.layers:
                x = each(x, training=training)
                if each is layer:
                    features = x
            return features, x

        return run
    return keras.Model(model.inputs, [layer.output, model.outputs[0]])


def _normalize_and_upsample(cams: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Scale each map to [0, 1] by its own maximum, then bilinearly resize to the image size."""
    peak = cams.reshape(len(cams), -1).max(axis=1)
    scale = np.where(peak > 0, peak, 1.0)[:, None, None]
    cams = cams / scale
    resized = tf.image.resize(cams[..., None], size, method="bilinear").numpy()[..., 0]
    return np.clip(resized, 0.0, 1.0).astype(np.float32)


def embeddings(model, images, batch_size: int = 64) -> np.ndarray:
    """What a transfer head reads: the "embedding" layer's output (improved base) or "flatten"
    (seed base), for a base or a person model built on one. Returns (N, D) float32."""
    layer = None
    for name in ("embedding", "flatten"):
        try:
            layer = model.get_layer(name)
            break
        except ValueError:
            continue
    if layer is None:
        raise ValueError(
            f"model {model.name!r} has neither an 'embedding' nor a 'flatten' layer: "
            "it is not an attribute or person model made by facetransfer"
        )
    probe = _probe(model, layer)
    images = np.asarray(images)
    out = [
        probe(tf.convert_to_tensor(images[i : i + batch_size], tf.float32), training=False)[0]
        for i in range(0, len(images), batch_size)
    ]
    return np.concatenate([np.asarray(o) for o in out]).astype(np.float32).reshape(len(images), -1)


# ---------------------------------------------------------------------------------------------
# The figures notebook 03 draws: Grad-CAM of each base and its transfer, and the embeddings.


def first_of_each(labels, n: int = 3) -> np.ndarray:
    """Indices of the first ``n`` photos labelled 1 (the person), then the first ``n`` labelled 0
    (the others): the same few photos each time, both kinds shown."""
    labels = np.asarray(labels).ravel()
    return np.r_[np.flatnonzero(labels == 1)[:n], np.flatnonzero(labels == 0)[:n]]


def transfer_saliency(bases, person_models, datas, *, person: str, names, attribute="Smiling", n=3):
    """Grad-CAM of each attribute base (for ``attribute``) and of the person model built on it,
    over the first ``n`` test photos of the person and of the others (:func:`first_of_each`).

    ``bases`` maps a key ("seed", "improved") to its attribute model, None to skip it;
    ``person_models`` the same keys to the transfers; ``datas`` each key to its person data (with
    ``images["test"]`` and ``labels["test"]``: each base sees its own crop). ``names`` are the
    attribute names of the bases' outputs. The top row shows the first base's photos. Returns the
    figure of :func:`facetransfer.report.plots.saliency_grid`.
    """
    bases = {key: model for key, model in bases.items() if model is not None}
    if not bases:
        raise ValueError("transfer_saliency got no base model to explain")
    maps, row_images = {}, {}
    for key, base in bases.items():
        test = datas[key]
        images = test.images["test"][first_of_each(test.labels["test"], n)]
        for label, explained, output in (
            (f"{key} base: {attribute}", base, attribute),
            (f"{key} transfer: {person}", person_models[key], None),
        ):
            row = f"{label}\n({describe_layer(explained)})"
            maps[row] = gradcam(explained, images, output, names=names)
            row_images[row] = images
    first = datas[next(iter(bases))]
    shown = first_of_each(first.labels["test"], n)
    titles = [person if y else "other" for y in first.labels["test"][shown]]
    return plots.saliency_grid(first.images["test"][shown], maps, titles, row_images=row_images)


def embedding_projections(person_models, datas, *, person: str) -> dict:
    """For each key of ``datas``: what its person model's head reads (:func:`embeddings`) on the
    validation and test photos, projected to 2-D, the person's photos against the others
    (:func:`facetransfer.report.plots.embedding_projection`). Returns {key: figure}."""
    figures = {}
    for key, d in datas.items():
        images = np.concatenate([d.images["validation"], d.images["test"]])
        labels = np.concatenate([d.labels["validation"], d.labels["test"]])
        figures[key] = plots.embedding_projection(
            embeddings(person_models[key], images),
            labels == 1,
            title=f"{key} base: what the {person} head reads (validation + test photos)",
        )
    return figures
