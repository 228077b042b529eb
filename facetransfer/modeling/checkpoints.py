"""Model files in one place: atomic writes of models and JSON sidecars, loading a model file with
a clear error when it is broken, of the wrong kind, or carries code.

Every model is saved twice, `name.h5` (the seed's format) and `name.keras` (Keras' native one),
each written to a temporary name and renamed, so a crash mid-write never leaves a half-written
file under the real name. Beside them, `name.json` records what the model learned from and how to
use it (image size, crop, threshold, ...).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import keras

from facetransfer.modeling.precision import float32_copy


class ModelFileError(ValueError):
    """A model file that cannot be used: missing, corrupt, carrying code, or not the kind
    expected."""


def write_json_atomically(path, data: dict) -> Path:
    """Write `data` as JSON to a temporary name beside `path`, then rename it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(json.dumps(data, indent=2, default=float))
    os.replace(partial, path)
    return path


def save_model_atomically(model, path) -> list[Path]:
    """Save `path` (.h5) and the native .keras beside it, each to a temporary name first and then
    renamed. A model trained in mixed bfloat16 is saved as its float32 twin, which predicts
    anywhere."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    model = float32_copy(model)
    written = []
    for target in (path.with_suffix(".h5"), path.with_suffix(".keras")):
        partial = target.with_name(f".{target.stem}.partial{target.suffix}")
        model.save(partial)
        os.replace(partial, target)
        written.append(target)
    return written


def save_with_sidecar(model, path, metadata: dict) -> list[Path]:
    """The model (.h5 + .keras) and its JSON sidecar, each written atomically."""
    written = save_model_atomically(model, path)
    return [*written, write_json_atomically(Path(path).with_suffix(".json"), metadata)]


def model_metadata(path) -> dict:
    """The JSON sidecar saved beside a model (image crop, threshold, person...), or {}."""
    sidecar = Path(path).with_suffix(".json")
    return json.loads(sidecar.read_text()) if sidecar.exists() else {}


def checkpoint_record(path) -> dict | None:
    """The sidecar of a training checkpoint (which metric chose it, its value and epoch), or None
    when the model or its sidecar is missing or unreadable."""
    sidecar = Path(path).with_suffix(".json")
    if not sidecar.exists() or not Path(path).with_suffix(".h5").exists():
        return None
    try:
        return json.loads(sidecar.read_text())
    except json.JSONDecodeError:
        return None


def load_model_file(path, expect: str = "attributes"):
    """Load an H5 or .keras file made by facetransfer, with a clear error when it is not one.

    Keras' safe mode stays on: a file that carries code (a Lambda layer holding Python bytecode)
    is refused, since loading it would run that code; a model someone sends you should not.
    `expect`: "attributes" (a base with a 'flatten' or 'embedding' layer), "person" (one output)
    or None (any square-RGB model).
    """
    path = Path(path)
    if not path.exists():
        raise ModelFileError(f"{path}: no such model file")
    try:
        model = keras.models.load_model(path, compile=False, safe_mode=True)
    except Exception as error:  # h5py, zip and Keras raise many kinds for a broken file
        if "lambda" in str(error).lower() or "safe_mode" in str(error):
            raise ModelFileError(
                f"{path}: carries Python code (a Lambda layer); facetransfer refuses to load "
                "it, since loading would run that code. Rebuild the model without Lambda layers."
            ) from error
        raise ModelFileError(
            f"{path}: not a readable Keras model ({type(error).__name__}: {error})"
        ) from error
    shape = model.input_shape
    if len(shape) != 4 or shape[1] != shape[2] or shape[3] != 3:
        raise ModelFileError(f"{path}: expects input {shape}, not square RGB images")
    outputs = model.output_shape[-1]
    if expect == "attributes" and not any(
        n in {layer.name for layer in model.layers} for n in ("flatten", "embedding")
    ):
        raise ModelFileError(f"{path}: not an attribute base (no 'flatten' or 'embedding' layer)")
    if expect == "person" and outputs != 1:
        raise ModelFileError(
            f"{path}: has {outputs} outputs; a person model has 1 "
            "(did you pass the attribute base instead?)"
        )
    return model
