"""Model files in one place: atomic writes of models and JSON sidecars, loading a model file with
a clear error when it is broken, of the wrong kind, or carries code.

Every model is saved twice, `name.h5` (the seed's format, which the design asks for) and
`name.keras` (Keras' native one), each written to a temporary name and renamed, so a crash
mid-write never leaves a half-written file under the real name. Beside them, `name.json` is the
model card (modeling.card): what the model is, what it learned from and how to use it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import warnings
from pathlib import Path

import keras

from facetransfer.errors import InputError
from facetransfer.modeling.card import (
    CardError,
    ModelCard,
    read_card,
    write_card,
    write_json_atomically,
)
from facetransfer.modeling.precision import float32_copy

__all__ = ["ModelFileError", "write_json_atomically", "save_with_sidecar", "load_model_file"]


class ModelFileError(InputError):
    """A model file that cannot be used: missing, corrupt, carrying code, or not the kind
    expected."""


@contextlib.contextmanager
def _quiet_h5_notice():
    """Keras logs (through absl) that H5 is "legacy" on every H5 save; the H5 copy is kept on
    purpose (the design asks for it, README says so once) beside the native .keras one."""
    absl = logging.getLogger("absl")
    level = absl.level
    absl.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*HDF5 file.*legacy")
            yield
    finally:
        absl.setLevel(level)


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
        with _quiet_h5_notice():
            model.save(partial)
        os.replace(partial, target)
        written.append(target)
    return written


def save_with_sidecar(model, path, card: ModelCard | dict) -> list[Path]:
    """The model (.h5 + .keras) and its model card, each written atomically. The card records
    the SHA-256 of the weights saved when it is a base's."""
    written = save_model_atomically(model, path)
    return [*written, write_card(path, card)]


def checkpoint_record(path) -> dict | None:
    """What chose a training checkpoint (its metric, value and epoch) from its card, or None
    when the model or its card is missing or unreadable."""
    if not Path(path).with_suffix(".h5").exists():
        return None
    try:
        card = read_card(path, required=False)
    except CardError:
        return None
    if card is None or "value" not in card.extra:
        return None
    return card.to_dict()


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
    if path.is_dir():
        raise ModelFileError(f"{path}: is a folder, not a model file (.h5 or .keras)")
    try:
        model = keras.models.load_model(path, compile=False, safe_mode=True)
    except Exception as error:  # h5py, zip and Keras raise many kinds for a broken file
        if "lambda" in str(error).lower() or "safe_mode" in str(error):
            raise ModelFileError(
                f"{path}: carries Python code (a Lambda layer); facetransfer refuses to load "
                "it, since loading would run that code. Rebuild the model without Lambda layers."
            ) from error
        first_line = (str(error).strip().splitlines() or [""])[0][:160]
        raise ModelFileError(
            f"{path}: not a readable Keras model, damaged or of another kind "
            f"({type(error).__name__}: {first_line})"
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
