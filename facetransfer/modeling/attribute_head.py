"""CelebA's 40 attributes read off dlib's 128-d face descriptor by a tiny head.

Why: `analyze` must answer out of the box, with no training and nothing downloaded. dlib's
descriptor already carries sex, age, hair, glasses and the like, so one logistic unit per
attribute on it (or a small MLP, where that measures better on validation) is enough; trained once
on CelebA's labels (`benchmarks/analyze.py --write-weights`), its weights ship in
`weights/dlib_attributes.npz`, a few tens of KB. Prediction is plain numpy: no model to build, no
TensorFlow beyond the descriptor itself.

The file is a numpy `.npz` read with `allow_pickle=False`: a schema version, the kind of head, the
attribute names in CelebA's file order, the input standardisation, the layers (`w0`, `b0`, ...,
ReLU between them, a sigmoid after the last), the per-attribute decision thresholds tuned on the
validation split for balanced accuracy, and a JSON note of what it learned from.
"""

from __future__ import annotations

import json
import os
import secrets
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from facetransfer.data.labels import ATTRIBUTE_NAMES
from facetransfer.report import evaluate

SCHEMA_VERSION = 1
DESCRIPTOR_DIM = 128  # dlib's face descriptor
WEIGHTS_FILE = Path(__file__).resolve().parent / "weights" / "dlib_attributes.npz"
KINDS = ("logistic", "mlp")
# CelebA's terms: the labels (and so anything learned from them) are for non-commercial research.
LICENCE = (
    "learned from CelebA's attribute labels: CelebA is for non-commercial research purposes only; "
    "dlib's face recognition weights (the descriptor it reads) are CC0"
)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    # exp(-log(1 + exp(-z))): no overflow warning for large |z|
    return np.exp(-np.logaddexp(0.0, -z))


@dataclass(frozen=True)
class AttributeHead:
    """A fitted head: standardise the descriptor, run the layers, sigmoid per attribute."""

    names: tuple[str, ...]
    thresholds: np.ndarray  # (k,) decide() answers yes where p >= threshold
    mean: np.ndarray  # (d,) subtracted from each descriptor
    scale: np.ndarray  # (d,) then divided by
    layers: tuple[tuple[np.ndarray, np.ndarray], ...]  # (w (in, out), b (out,)), ReLU between
    kind: str = "logistic"
    learned_from: dict = field(default_factory=dict)

    @property
    def dim(self) -> int:
        return int(self.mean.shape[0])

    def predict(self, descriptors) -> np.ndarray:
        """(n, d) or (d,) descriptors -> (n, k) probabilities, float32 (pure numpy)."""
        x = np.asarray(descriptors, dtype=np.float64)
        if x.ndim == 1:
            x = x[None, :]
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise ValueError(
                f"descriptors must be (n, {self.dim}) (dlib's descriptor), got shape "
                f"{np.shape(descriptors)}"
            )
        if not np.isfinite(x).all():
            raise ValueError("descriptors hold NaN or infinite values")
        h = (x - self.mean) / self.scale
        for i, (w, b) in enumerate(self.layers):
            h = h @ w + b
            if i < len(self.layers) - 1:
                h = np.maximum(h, 0.0)
        return _sigmoid(h).astype(np.float32)

    def decide(self, probs) -> np.ndarray:
        """(n, k) probabilities -> (n, k) bool, each attribute at its tuned threshold."""
        p = np.asarray(probs)
        if p.shape[-1:] != (len(self.names),):
            raise ValueError(f"probs must end in {len(self.names)} attributes, got {p.shape}")
        return p >= self.thresholds

    def save(self, path) -> Path:
        """Write the `.npz` (under a temporary name, then renamed: never half a file)."""
        path = Path(path)
        arrays = {
            "schema_version": np.array(SCHEMA_VERSION, dtype=np.int64),
            "kind": np.array(self.kind),
            "names": np.array(self.names),
            "thresholds": np.asarray(self.thresholds, dtype=np.float32),
            "mean": np.asarray(self.mean, dtype=np.float32),
            "scale": np.asarray(self.scale, dtype=np.float32),
            "n_layers": np.array(len(self.layers), dtype=np.int64),
            "learned_from": np.array(json.dumps(self.learned_from, sort_keys=True)),
        }
        for i, (w, b) in enumerate(self.layers):
            arrays[f"w{i}"] = np.asarray(w, dtype=np.float32)
            arrays[f"b{i}"] = np.asarray(b, dtype=np.float32)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(3)}.partial")
        with open(partial, "wb") as f:
            np.savez(f, **arrays)
        os.replace(partial, path)
        return path


def load_attribute_head(path=None) -> AttributeHead:
    """The head in `path`, or the packaged one (trained on the CelebA sample) when None.

    Anything wrong with the file (truncated, not an npz, an array missing or of the wrong shape,
    another schema version) raises one ValueError that names the file."""
    path = Path(WEIGHTS_FILE if path is None else path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such attribute weights file")
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {key: z[key] for key in z.files}
    # BadZipFile, EOFError, OSError, zlib.error, ValueError: whatever a damaged file raises
    except Exception as error:
        raise ValueError(f"{path}: not a readable attribute weights file ({error})") from error
    try:
        return _from_arrays(arrays)
    except (KeyError, ValueError, TypeError) as error:
        what = f"missing array {error}" if isinstance(error, KeyError) else str(error)
        raise ValueError(f"{path}: damaged attribute weights file: {what}") from error


def _from_arrays(a: dict) -> AttributeHead:
    version = int(a["schema_version"])
    if version != SCHEMA_VERSION:
        raise ValueError(f"schema version {version}, this facetransfer reads {SCHEMA_VERSION}")
    names = tuple(str(n) for n in a["names"].reshape(-1))
    k = len(names)
    mean = np.asarray(a["mean"], np.float64)
    scale = np.asarray(a["scale"], np.float64)
    thresholds = np.asarray(a["thresholds"], np.float64)
    if mean.ndim != 1 or scale.shape != mean.shape:
        raise ValueError(f"mean {mean.shape} and scale {scale.shape} must be one equal vector")
    if thresholds.shape != (k,):
        raise ValueError(f"thresholds has shape {thresholds.shape}, expected ({k},)")
    layers, width = [], mean.shape[0]
    for i in range(int(a["n_layers"])):
        w, b = np.asarray(a[f"w{i}"], np.float64), np.asarray(a[f"b{i}"], np.float64)
        if w.ndim != 2 or w.shape[0] != width or b.shape != (w.shape[1],):
            raise ValueError(f"layer {i}: w {w.shape}, b {b.shape} do not follow width {width}")
        layers.append((w, b))
        width = w.shape[1]
    if not layers or width != k:
        raise ValueError(f"the layers end in {width} outputs for {k} attribute names")
    values = [mean, scale, thresholds, *(x for layer in layers for x in layer)]
    if not all(np.isfinite(v).all() for v in values) or (scale <= 0).any():
        raise ValueError("non-finite weights or a non-positive scale")
    return AttributeHead(
        names=names,
        thresholds=thresholds,
        mean=mean,
        scale=scale,
        layers=tuple(layers),
        kind=str(a["kind"]),
        learned_from=json.loads(str(a["learned_from"])),
    )


def train_attribute_head(
    descriptors,
    labels,
    val_descriptors,
    val_labels,
    *,
    names=ATTRIBUTE_NAMES,
    kind: str = "logistic",
    c: float = 1.0,
    hidden: int = 64,
    epochs: int = 200,
    seed: int = 0,
    learned_from: dict | None = None,
) -> AttributeHead:
    """Fit the head on (n, d) descriptors and (n, k) 0/1 labels; tune each attribute's threshold
    on the validation split for balanced accuracy (rare attributes are seldom said at 0.5).

    kind "logistic": one L2-regularised logistic regression per attribute (inverse strength `c`);
    "mlp": one hidden ReLU layer of `hidden` units shared by all attributes (sklearn's
    MLPClassifier, multi-label, Adam for `epochs`; L2 1/c scaled to its `alpha`)."""
    # Training only: loading and predicting should not wait for scikit-learn.
    from sklearn.exceptions import ConvergenceWarning  # noqa: PLC0415
    from sklearn.linear_model import LogisticRegression  # noqa: PLC0415
    from sklearn.neural_network import MLPClassifier  # noqa: PLC0415

    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    x, y = _check_xy(descriptors, labels, "training")
    xv, yv = _check_xy(val_descriptors, val_labels, "validation")
    names = tuple(str(n) for n in names)
    if y.shape[1] != len(names) or yv.shape[1] != len(names) or xv.shape[1] != x.shape[1]:
        raise ValueError(
            f"{len(names)} names, labels {y.shape} and {yv.shape}, descriptors {x.shape} and "
            f"{xv.shape} do not agree"
        )
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-12] = 1.0
    z = (x - mean) / scale
    if kind == "logistic":
        w = np.zeros((x.shape[1], len(names)))
        b = np.zeros(len(names))
        for j in range(len(names)):
            rate = y[:, j].mean()
            if rate in (0.0, 1.0):  # one class only: a constant answer
                b[j] = np.log(np.clip(rate, 1e-4, 1 - 1e-4) / np.clip(1 - rate, 1e-4, 1 - 1e-4))
                continue
            model = LogisticRegression(C=c, max_iter=1000).fit(z, y[:, j])
            w[:, j], b[j] = model.coef_[0], model.intercept_[0]
        layers = ((w, b),)
    else:
        # A fixed budget of epochs: sklearn's early stopping scores a multi-label fit by exact
        # match of all 40 answers, which hardly moves, so it would stop after a few epochs.
        model = MLPClassifier(
            hidden_layer_sizes=(hidden,),
            alpha=1.0 / (c * len(x)),
            max_iter=epochs,
            random_state=seed,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(z, y)
        layers = tuple(zip(model.coefs_, model.intercepts_, strict=True))
    head = AttributeHead(
        names=names,
        thresholds=np.full(len(names), 0.5),
        mean=mean,
        scale=scale,
        layers=tuple((np.asarray(w, np.float64), np.asarray(b, np.float64)) for w, b in layers),
        kind=kind,
        learned_from=dict(learned_from or {}),
    )
    thresholds = evaluate.choose_attribute_thresholds(yv, head.predict(xv))
    return AttributeHead(**{**head.__dict__, "thresholds": thresholds})


def _check_xy(x, y, split: str) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y)
    if x.ndim != 2 or y.ndim != 2 or len(x) != len(y) or not len(x):
        raise ValueError(
            f"{split}: descriptors {x.shape} and labels {y.shape} must be (n, d), (n, k)"
        )
    if not np.isin(y, (0, 1)).all():
        raise ValueError(f"{split}: labels must be 0/1")
    if not np.isfinite(x).all():
        raise ValueError(f"{split}: descriptors hold NaN or infinite values")
    return x, y.astype(np.uint8)
