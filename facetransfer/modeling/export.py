"""Exporting a person model for use outside Keras: a TensorFlow SavedModel (for TF Serving and
any TensorFlow program) and a TensorFlow Lite flatbuffer (for phones), each checked to give the
Keras model's scores on the same faces.

The model takes raw RGB pixels (the Rescaling layer is inside it) as float32, shape
(batch, size, size, 3), and ends in a sigmoid: its output is the probability that the face is the
person. The exports keep that contract; the decision threshold stays in the model's JSON sidecar.

TensorFlow Lite: TF 2.21 still ships ``tf.lite.TFLiteConverter`` (used here) and
``tf.lite.Interpreter``, but the interpreter is deprecated in favour of LiteRT (the
``ai-edge-litert`` package, ``from ai_edge_litert.interpreter import Interpreter``), and the
``.tflite`` format is the same. :func:`tflite_scores` uses LiteRT when it is installed and falls
back to ``tf.lite.Interpreter`` otherwise, so it works offline with only TensorFlow.
"""

from __future__ import annotations

import logging
import os
import shutil
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import tensorflow as tf

from facetransfer.modeling.checkpoints import load_model_file

log = logging.getLogger(__name__)

# How far an export's scores may drift from Keras' on the same faces. The SavedModel runs the same
# TensorFlow kernels; TFLite has its own kernels (different summation order, fused ops).
SAVEDMODEL_TOLERANCE = 1e-5
TFLITE_TOLERANCE = 1e-4


@dataclass
class ExportResult:
    """Where each export went and how far its scores are from the Keras model's."""

    keras_path: Path
    savedmodel_dir: Path
    tflite_path: Path | None
    max_abs_diff: dict[str, float] = field(default_factory=dict)


def _as_float_batch(images) -> np.ndarray:
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"images must be (N, H, W, 3) RGB, got shape {images.shape}")
    return images.astype(np.float32)


def _replace_dir(partial: Path, target: Path) -> None:
    """Swap a freshly written folder into place: the old export stays until the new one is whole."""
    old = target.with_name(f".{target.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        os.replace(target, old)
    os.replace(partial, target)
    shutil.rmtree(old, ignore_errors=True)


def export_savedmodel(model, out_dir) -> Path:
    """``model.export()`` as a SavedModel in ``out_dir`` (written beside it, then renamed). Its
    ``serve`` signature takes float32 pixels (batch, size, size, 3) and returns the scores."""
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    partial = out_dir.with_name(f".{out_dir.name}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    model.export(str(partial), format="tf_saved_model", verbose=False)
    _replace_dir(partial, out_dir)
    return out_dir


def convert_to_tflite(savedmodel_dir, out_path, optimize: bool = False) -> Path:
    """Convert a SavedModel to a ``.tflite`` file with ``tf.lite.TFLiteConverter``.

    ``optimize`` applies dynamic-range quantisation (weights to int8: about 4x smaller, scores move
    by ~1e-2, so the 1e-4 check then does not apply); off by default.
    """
    converter = tf.lite.TFLiteConverter.from_saved_model(str(savedmodel_dir))
    if optimize:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    flatbuffer = converter.convert()
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    partial = out_path.with_name(f".{out_path.name}.partial")
    partial.write_bytes(flatbuffer)
    os.replace(partial, out_path)
    return out_path


def savedmodel_scores(savedmodel_dir, images) -> np.ndarray:
    """Scores from a SavedModel's ``serve`` endpoint, as a flat float array."""
    loaded = tf.saved_model.load(str(savedmodel_dir))
    out = loaded.serve(tf.constant(_as_float_batch(images)))
    return np.asarray(out, dtype=np.float64).reshape(len(images), -1).squeeze(-1)


def _tflite_interpreter(path: Path):
    try:  # LiteRT: the interpreter's new home
        # optional: installed by users who want LiteRT; TensorFlow's interpreter otherwise
        from ai_edge_litert.interpreter import Interpreter  # noqa: PLC0415

        return Interpreter(model_path=str(path))
    except ImportError:
        with warnings.catch_warnings():  # its deprecation notice, once per call, says the above
            warnings.simplefilter("ignore")
            return tf.lite.Interpreter(model_path=str(path))


def tflite_scores(tflite_path, images) -> np.ndarray:
    """Scores from a ``.tflite`` model, the whole batch in one call."""
    batch = _as_float_batch(images)
    interpreter = _tflite_interpreter(Path(tflite_path))
    (inp,) = interpreter.get_input_details()
    interpreter.resize_tensor_input(inp["index"], list(batch.shape))
    interpreter.allocate_tensors()
    interpreter.set_tensor(inp["index"], batch)
    interpreter.invoke()
    (out,) = interpreter.get_output_details()
    scores = interpreter.get_tensor(out["index"])
    return np.asarray(scores, dtype=np.float64).reshape(len(batch), -1).squeeze(-1)


def _max_diff(scores: np.ndarray, reference: np.ndarray) -> float:
    if scores.shape != reference.shape:
        raise ValueError(f"export gave {scores.shape} scores, the Keras model {reference.shape}")
    return float(np.abs(scores - reference).max())


def compare_scores(model, images, savedmodel_dir=None, tflite_path=None) -> dict[str, float]:
    """The largest absolute difference between the Keras model's scores and each export's."""
    images = _as_float_batch(images)
    reference = np.asarray(model.predict(images, verbose=0), dtype=np.float64).reshape(-1)
    diffs = {}
    if savedmodel_dir is not None:
        diffs["savedmodel"] = _max_diff(savedmodel_scores(savedmodel_dir, images), reference)
    if tflite_path is not None:
        diffs["tflite"] = _max_diff(tflite_scores(tflite_path, images), reference)
    return diffs


def export_person_model(
    model_path, images=None, tflite: bool = True, out_dir=None, *, check: bool = True
) -> ExportResult:
    """Export a saved person model (``.h5`` or ``.keras``) next to it, or into ``out_dir``:

    - ``<name>.keras`` (written if missing or older than the model: Keras' native format),
    - ``<name>_savedmodel/`` (``model.export()``),
    - ``<name>.tflite`` (from the SavedModel) unless ``tflite`` is False.

    With ``images`` (aligned faces at the model's input size, e.g. its test photos) and
    ``check``, each export's scores are compared with the Keras model's and a ValueError is
    raised beyond 1e-5 (SavedModel) or 1e-4 (TFLite).
    """
    model_path = Path(model_path)
    model = load_model_file(model_path, expect="person")
    folder = Path(out_dir) if out_dir is not None else model_path.parent
    stem = model_path.stem
    keras_path = folder / f"{stem}.keras"
    if _stale(keras_path, model_path):
        partial = keras_path.with_name(f".{stem}.partial.keras")
        folder.mkdir(parents=True, exist_ok=True)
        model.save(partial)
        os.replace(partial, keras_path)
    savedmodel_dir = export_savedmodel(model, folder / f"{stem}_savedmodel")
    tflite_path = convert_to_tflite(savedmodel_dir, folder / f"{stem}.tflite") if tflite else None
    result = ExportResult(keras_path, savedmodel_dir, tflite_path)
    if images is not None and check:
        result.max_abs_diff = compare_scores(model, images, savedmodel_dir, tflite_path)
        check_tolerances(result.max_abs_diff)
        log.info("exports match the Keras model: %s", result.max_abs_diff)
    return result


def _stale(copy: Path, source: Path) -> bool:
    """True when ``copy`` is missing or older than ``source`` (and is not ``source`` itself)."""
    if not copy.exists():
        return True
    if copy.resolve() == source.resolve():
        return False
    return copy.stat().st_mtime < source.stat().st_mtime


def check_tolerances(diffs: dict[str, float]) -> None:
    """Raise ValueError naming each export whose scores drift beyond its tolerance."""
    limits = {"savedmodel": SAVEDMODEL_TOLERANCE, "tflite": TFLITE_TOLERANCE}
    bad = [
        f"{name} by {diff:.2e} (allowed {limits.get(name, 0.0):.0e})"
        for name, diff in diffs.items()
        if not diff <= limits.get(name, 0.0)  # NaN fails too
    ]
    if bad:
        raise ValueError("exported scores differ from the Keras model's: " + ", ".join(bad))
