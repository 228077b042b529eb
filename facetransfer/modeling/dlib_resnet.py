"""dlib's face-recognition ResNet as a plain Keras model, built from the weights that the
`face_recognition_models` package ships (public domain / CC0): no dlib at run time, nothing
downloaded.

The network is the `anet_type` of dlib's examples/dnn_face_recognition_ex.cpp: a 150x150 RGB chip
scaled as (pixel - mean) / 256, a 7x7/2 convolution with 32 filters, an affine (frozen batch
norm), ReLU and a 3x3/2 max-pool; 14 residual blocks (conv3x3, affine, ReLU, conv3x3, affine, add,
ReLU) of 32, 64, 128 and 256 filters, four of them downsampling (first conv stride 2 and unpadded,
the skip path a 2x2 average-pool); global average pooling; a 128-unit dense layer without bias.
Its output is not normalised; dlib calls two faces one person below a Euclidean distance of 0.6.

Each affine follows a convolution, so it is folded into that convolution's weights and bias
(exact up to float rounding): dlib's file holds 5,614,592 parameters, 7,104 of them affine, and the
Keras model 5,607,488. dlib's `add_prev` adds tensors of different shapes by padding the smaller
with zeros (bottom, right and extra channels), which `keras.layers.Add` alone cannot; standard
zero-padding layers do it (`zero_pad_add`), so the model has no custom layer at all, and the base
and every person model built on it load with a plain `keras.models.load_model`, anywhere.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import keras
import numpy as np
from keras import layers

from facetransfer.modeling.dlib_format import DlibFormatError, DlibNetwork, read_network

WEIGHTS_PACKAGE = "face_recognition_models"
WEIGHTS_FILE = "models/dlib_face_recognition_resnet_model_v1.dat"
CHIP_SIZE = 150
EMBEDDING_DIM = 128
SAME_PERSON_DISTANCE = 0.6  # dlib's own threshold on the unnormalised descriptor
# (filters, downsampling) of each residual block, from the input on.
BLOCKS = (
    *[(32, False)] * 3,
    (64, True),
    *[(64, False)] * 3,
    (128, True),
    *[(128, False)] * 2,
    (256, True),
    *[(256, False)] * 2,
    (256, True),
)


def _zero_padded(x, shape: tuple[int, int, int], name: str):
    """`x` padded with zeros at the bottom, the right and in extra channels to `shape` (rows,
    columns, channels), with standard layers only: ZeroPadding2D for the map, and for the
    channels a ZeroPadding3D over the map seen as (rows, columns, channels, 1)."""
    rows, cols, channels = x.shape[1:]
    if (rows, cols) != shape[:2]:
        x = layers.ZeroPadding2D(((0, shape[0] - rows), (0, shape[1] - cols)), name=f"{name}_map")(
            x
        )
    if channels != shape[2]:
        x = layers.Reshape((*shape[:2], channels, 1), name=f"{name}_as_volume")(x)
        x = layers.ZeroPadding3D(((0, 0), (0, 0), (0, shape[2] - channels)), name=f"{name}_ch")(x)
        x = layers.Reshape(shape, name=f"{name}_as_map")(x)
    return x


def zero_pad_add(a, b, name: str):
    """dlib's add_prev: the sum of two feature maps of different shapes, the smaller padded with
    zeros at the bottom, at the right and in the extra channels."""
    shape = tuple(max(x, y) for x, y in zip(a.shape[1:], b.shape[1:], strict=True))
    a, b = _zero_padded(a, shape, f"{name}_pad_a"), _zero_padded(b, shape, f"{name}_pad_b")
    return layers.Add(name=name)([a, b])


def weights_path() -> Path:
    """The .dat file inside the installed `face_recognition_models` package."""
    spec = importlib.util.find_spec(WEIGHTS_PACKAGE)  # not pkg_resources: newer setuptools lack it
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            f"the dlib base needs the {WEIGHTS_PACKAGE} package (pip install -r requirements.txt)"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / WEIGHTS_FILE
    if not path.exists():
        raise FileNotFoundError(f"{path}: missing from the installed {WEIGHTS_PACKAGE}")
    return path


def _take(network: DlibNetwork, names: list[str]):
    if len(network.layers) < len(names):
        raise DlibFormatError(f"the file ends after {len(network.layers)} layers")
    got = [network.layers.pop(0) for _ in names]
    found = [layer.name for layer in got]
    if found != names:
        raise DlibFormatError(f"expected layers {names}, found {found}: not dlib's face ResNet")
    return got


def _conv_affine(x, con, affine, name: str):
    """A dlib convolution and the affine after it, as one Keras Conv2D."""
    w = con.fields["weights"]  # (out, in, rows, cols) -> Keras (rows, cols, in, out)
    gamma, beta = affine.fields["gamma"], affine.fields["beta"]
    bias = con.fields["bias"] if con.fields["bias"] is not None else np.zeros(w.shape[0], "f4")
    kernel = np.transpose(w, (2, 3, 1, 0)) * gamma
    pad_y, pad_x = con.fields["padding"]
    if pad_y or pad_x:
        x = layers.ZeroPadding2D(((pad_y, pad_y), (pad_x, pad_x)), name=f"{name}_pad")(x)
    conv = layers.Conv2D(
        w.shape[0], w.shape[2:], strides=con.fields["stride"], padding="valid", name=name
    )
    out = conv(x)
    conv.set_weights([kernel.astype("float32"), (bias * gamma + beta).astype("float32")])
    return out


def _pool(x, pool, kind, name: str):
    size, stride = pool.fields["size"], pool.fields["stride"]
    if pool.fields["padding"] != (0, 0):
        raise DlibFormatError(f"{name}: padded pooling is not supported")
    if kind == "avg" and size == (0, 0):
        return layers.GlobalAveragePooling2D(name=name)(x)
    cls = layers.MaxPooling2D if kind == "max" else layers.AveragePooling2D
    return cls(size, stride, padding="valid", name=name)(x)


def build_dlib_resnet(path=None, name: str = "dlib_resnet") -> keras.Model:
    """The Keras model of the network in `path` (default: the packaged .dat). It takes raw RGB
    pixels, (None, 150, 150, 3), and gives dlib's 128-d descriptor."""
    network = read_network(path or weights_path())
    if network.input_size != (CHIP_SIZE, CHIP_SIZE):
        raise DlibFormatError(f"input {network.input_size}, expected {CHIP_SIZE}x{CHIP_SIZE}")
    inputs = keras.Input((CHIP_SIZE, CHIP_SIZE, 3), name="image")
    x = layers.Normalization(mean=list(network.input_means), variance=[256.0**2] * 3, name="scale")(
        inputs
    )
    con, affine, _ = _take(network, ["con", "affine", "relu"])
    x = layers.ReLU(name="stem_relu")(_conv_affine(x, con, affine, "stem_conv"))
    (pool,) = _take(network, ["max_pool"])
    x = _pool(x, pool, "max", "stem_pool")
    for i, (filters, down) in enumerate(BLOCKS, start=1):
        con1, aff1, _, con2, aff2 = _take(network, ["con", "affine", "relu", "con", "affine"])
        if con1.fields["weights"].shape[0] != filters:
            raise DlibFormatError(f"block {i}: {con1.fields['weights'].shape[0]} filters")
        y = layers.ReLU(name=f"block{i}_relu1")(_conv_affine(x, con1, aff1, f"block{i}_conv1"))
        y = _conv_affine(y, con2, aff2, f"block{i}_conv2")
        skip = x
        if down:
            (pool,) = _take(network, ["avg_pool"])
            skip = _pool(x, pool, "avg", f"block{i}_skip_pool")
        _take(network, ["add_prev", "relu"])
        x = layers.ReLU(name=f"block{i}_relu2")(zero_pad_add(y, skip, f"block{i}_add"))
    (pool,) = _take(network, ["avg_pool"])
    x = _pool(x, pool, "avg", "pool")
    (fc,) = _take(network, ["fc"])
    if fc.fields["bias"] is not None or fc.fields["weights"].shape[1] != EMBEDDING_DIM:
        raise DlibFormatError("the last layer is not a 128-unit dense layer without bias")
    dense = layers.Dense(EMBEDDING_DIM, use_bias=False, name="embedding")
    out = dense(x)
    dense.set_weights([fc.fields["weights"]])
    if network.layers:
        raise DlibFormatError(f"{len(network.layers)} layers left over")
    return keras.Model(inputs, out, name=name)
