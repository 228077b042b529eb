"""A numpy reader of dlib's own serialisation, enough for the face-recognition ResNet
(`dlib_face_recognition_resnet_model_v1.dat`, shipped by the `face_recognition_models` package).

The format, from dlib's public source (dlib/serialize.h, dlib/dnn/core.h, layers.h, input.h,
loss.h and cuda/tensor.h):

- an integer is a control byte (low nibble: how many bytes follow; 0x80: negative) and then that
  many little-endian bytes; a string is its length (an integer) and its bytes; a bool is the
  character '0' or '1'; a double is two integers, mantissa and exponent;
- a tensor is a version (2), four dimensions (samples, k, rows, columns) and raw little-endian
  float32 values; an alias tensor (a view into a layer's parameters) is a version (1) and four
  dimensions;
- a network is written outermost layer first, each wrapper writing its version and then its
  sub-network, so the file starts with one small integer per wrapper; the input layer follows,
  then every layer's own fields, innermost first, each after its version string (`con_4`,
  `affine_`, `relu_`, `max_pool_2`, `avg_pool_2`, `add_prev_`, `fc_2`, ...) and followed by the
  wrapper's state (three bools and three tensors: gradients and cached outputs, empty here).
  The loss layer is the exception: its fields come first, before its network.

`read_network` returns the layers in the order data flows through them; tags and skips, which
write no fields of their own, are not in the file and come from the architecture instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


class DlibFormatError(ValueError):
    """A file that is not a dlib network of the kind expected, or is cut short."""


@dataclass
class DlibLayer:
    """One layer's fields as the file holds them: its version string and named values."""

    kind: str  # the version string, e.g. "con_4"
    fields: dict = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The layer type without its version suffix: con, affine, relu, max_pool, ..."""
        return self.kind.rstrip("0123456789").rstrip("_")


@dataclass
class DlibNetwork:
    input_means: tuple[float, float, float]  # red, green, blue, subtracted before / 256
    input_size: tuple[int, int]  # rows, columns
    layers: list[DlibLayer]
    loss: str


class _Reader:
    def __init__(self, data: bytes, path: Path):
        self.data, self.pos, self.path = data, 0, path

    def fail(self, what: str) -> DlibFormatError:
        return DlibFormatError(f"{self.path}: {what} at byte {self.pos} of {len(self.data)}")

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise self.fail(f"cut short: {n} more bytes needed")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def peek(self) -> int:
        if self.pos >= len(self.data):
            raise self.fail("cut short")
        return self.data[self.pos]

    def integer(self) -> int:
        control = self.take(1)[0]
        size = control & 0x0F
        if control & 0x70 or size > 8:
            raise self.fail(f"not a dlib integer (control byte {control:#04x})")
        value = int.from_bytes(self.take(size), "little") if size else 0
        return -value if control & 0x80 else value

    def string(self, limit: int = 256) -> str:
        n = self.integer()
        if not 0 <= n <= limit:
            raise self.fail(f"a string of {n} bytes")
        raw = self.take(n)
        try:
            return raw.decode("ascii")
        except UnicodeDecodeError:
            raise self.fail("a string that is not text") from None

    def boolean(self) -> bool:
        char = self.take(1)
        if char not in (b"0", b"1"):
            raise self.fail(f"not a dlib bool ({char!r})")
        return char == b"1"

    def double(self) -> float:
        mantissa, exponent = self.integer(), self.integer()
        return float(mantissa) * 2.0**exponent

    def tensor(self) -> np.ndarray:
        version = self.integer()
        if version != 2:
            raise self.fail(f"tensor version {version}, expected 2")
        shape = tuple(self.integer() for _ in range(4))
        if any(d < 0 for d in shape):
            raise self.fail(f"tensor of shape {shape}")
        count = int(np.prod(shape))
        values = np.frombuffer(self.take(4 * count), dtype="<f4")
        return values.reshape(shape).astype(np.float32)

    def alias(self) -> tuple[int, int, int, int]:
        version = self.integer()
        if version != 1:
            raise self.fail(f"alias tensor version {version}, expected 1")
        return tuple(self.integer() for _ in range(4))


def _con(r: _Reader, kind: str) -> dict:
    params = r.tensor()
    num_filters, nr, nc = r.integer(), r.integer(), r.integer()
    stride = (r.integer(), r.integer())
    padding = (r.integer(), r.integer())
    filters, _ = r.alias(), r.alias()  # the filters and biases views of `params`
    for _ in range(4):  # learning-rate and weight-decay multipliers
        r.double()
    use_bias = r.boolean() if kind in ("con_5", "con_6") else True
    if kind == "con_6":
        r.boolean()  # a fused relu, never set in this network
    n_filter = int(np.prod(filters))
    weights = params.reshape(-1)[:n_filter].reshape(filters)  # (out, in, rows, cols)
    bias = params.reshape(-1)[n_filter : n_filter + num_filters] if use_bias else None
    if (filters[2], filters[3]) != (nr, nc):
        raise r.fail(f"{kind}: filters {filters} for a {nr}x{nc} kernel")
    return {"weights": weights, "bias": bias, "stride": stride, "padding": padding}


def _affine(r: _Reader, kind: str) -> dict:
    params = r.tensor().reshape(-1)
    gamma, beta = r.alias(), r.alias()
    r.integer()  # mode: per channel (conv) or per unit (fc)
    if kind == "affine_2":
        r.boolean()
    n = int(np.prod(gamma))
    return {"gamma": params[:n], "beta": params[n : n + int(np.prod(beta))]}


def _pool(r: _Reader, kind: str) -> dict:
    size = (r.integer(), r.integer())
    stride = (r.integer(), r.integer())
    padding = (r.integer(), r.integer())
    return {"size": size, "stride": stride, "padding": padding}


def _fc(r: _Reader, kind: str) -> dict:
    num_outputs, num_inputs = r.integer(), r.integer()
    params = r.tensor().reshape(-1)
    weights, _ = r.alias(), r.alias()
    bias_mode = r.integer()
    for _ in range(4):
        r.double()
    use_bias = r.boolean() if kind == "fc_3" else True
    n = int(np.prod(weights))
    w = params[:n].reshape(num_inputs, num_outputs)
    has_bias = bias_mode == 0 and use_bias and params.size > n
    return {"weights": w, "bias": params[n : n + num_outputs] if has_bias else None}


def _relu(r: _Reader, kind: str) -> dict:
    if kind == "relu_2":
        r.boolean()
    return {}


def _nothing(r: _Reader, kind: str) -> dict:
    return {}


LAYER_READERS = {
    "con_4": _con,
    "con_5": _con,
    "con_6": _con,
    "affine_": _affine,
    "affine_2": _affine,
    "relu_": _relu,
    "relu_2": _relu,
    "max_pool_2": _pool,
    "avg_pool_2": _pool,
    "add_prev_": _nothing,
    "fc_2": _fc,
    "fc_3": _fc,
}
INPUT_KIND = "input_rgb_image_sized"
LOSS_KINDS = ("loss_metric_", "loss_metric_2")


def read_network(path) -> DlibNetwork:
    """Read a dlib DNN file of the layer kinds above; a truncated or foreign file raises
    DlibFormatError naming the file and where it went wrong."""
    path = Path(path)
    data = path.read_bytes()
    r = _Reader(data, path)
    try:
        if r.integer() != 1:  # the loss wrapper's version; its fields come before its network
            raise r.fail("not a dlib network")
        loss = r.string()
    except DlibFormatError as error:
        raise DlibFormatError(f"{path}: not a dlib network file ({error})") from None
    if loss not in LOSS_KINDS:
        raise DlibFormatError(f"{path}: not a dlib metric-learning network (loss {loss!r})")
    if loss == "loss_metric_2":
        r.double(), r.double()  # margin and distance threshold, used only in training
    wrappers = 0
    while True:  # one small version number per wrapper, until the input layer's name
        start = r.pos
        value = r.integer()
        if value > 3:
            r.pos = start
            break
        wrappers += 1
    if wrappers == 0 or r.string() != INPUT_KIND:
        raise DlibFormatError(f"{path}: not a dlib network with an RGB image input")
    means = (r.double(), r.double(), r.double())
    size = (r.integer(), r.integer())
    layers = []
    while r.pos < len(data):
        kind = r.string()
        if kind not in LAYER_READERS:
            raise r.fail(f"unknown layer {kind!r}")
        layers.append(DlibLayer(kind, LAYER_READERS[kind](r, kind)))
        for _ in range(3):  # setup called, gradient stale, outputs disabled
            r.boolean()
        for _ in range(3):  # gradients and cached output: empty in a saved model
            r.tensor()
        if len(layers) == 1:  # the layer that wraps the input also keeps its sample expansion
            r.integer()
    return DlibNetwork(means, size, layers, loss)
