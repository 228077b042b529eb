"""The bases a person model can stand on, by name or by file.

`--base dlib` (or `resolve_base("dlib")`) is dlib's face-recognition ResNet, built once from the
weights the `face_recognition_models` package ships and written to `models/dlib.h5` (and .keras,
and a JSON sidecar saying what it learned from and the crop it expects); a path is a base trained
here (`models/improved.h5`, `models/seed_model2.h5`, ...). Every base's sidecar names its crop
geometry (`data.align.GEOMETRIES`), so the photo intake gives it the crop it was trained on.
"""

from __future__ import annotations

import logging
from pathlib import Path

from facetransfer.config import DLIB_DISTANCE_THRESHOLDS
from facetransfer.modeling import dlib_resnet
from facetransfer.modeling.checkpoints import (
    model_metadata,
    save_with_sidecar,
    write_json_atomically,
)

log = logging.getLogger(__name__)

NAMED_BASES = ("dlib",)

DLIB_METADATA = {
    "arch": "dlib",
    "geometry": "dlib_chip",
    "image_size": dlib_resnet.CHIP_SIZE,
    "crop": "full",
    "embedding_dim": dlib_resnet.EMBEDDING_DIM,
    "same_person_distance": dlib_resnet.SAME_PERSON_DISTANCE,
    # for 1% and 0.1% of different people accepted, calibrated on CelebA (config.py)
    "distance_thresholds": {str(k): v for k, v in DLIB_DISTANCE_THRESHOLDS.items()},
    "learned_from": {
        "data": "real faces: about 3 million photos of 7,485 people (dlib's training set)",
        "images": 3_000_000,
        "people": 7485,
        "drawn": False,
        "weights": "dlib_face_recognition_resnet_model_v1.dat from the face_recognition_models "
        "package (public domain / CC0 1.0)",
    },
}


def geometry_of(base_path) -> str:
    """The crop geometry a base file was trained on (CelebA's for every base before this)."""
    return model_metadata(base_path).get("geometry", "celeba")


def dlib_base(models_dir) -> Path:
    """models/dlib.h5, written from the packaged weights the first time and reused after."""
    path = Path(models_dir) / "dlib.h5"
    if path.exists() and path.with_suffix(".json").exists():
        record = model_metadata(path)
        if any(record.get(k) != v for k, v in DLIB_METADATA.items()):
            # written by an older facetransfer (no calibrated distances, say): the weights are
            # the same, the sidecar is brought up to date
            write_json_atomically(path.with_suffix(".json"), {**record, **DLIB_METADATA})
        return path
    log.info("writing dlib's face ResNet to %s (once)", path)
    model = dlib_resnet.build_dlib_resnet()
    metadata = {**DLIB_METADATA, "source": str(dlib_resnet.weights_path())}
    save_with_sidecar(model, path, metadata)
    return path


def resolve_base(base, models_dir) -> Path:
    """A base's file: a named base ("dlib") is written into `models_dir` if needed; a path is
    returned as it is (load_model_file checks it)."""
    if str(base) in NAMED_BASES:
        return dlib_base(models_dir)
    return Path(base)


def drawn_faces_warning(learned_from: dict | None, what: str) -> str | None:
    """A warning for real photos meeting `what` (a base, or a person model's base) when it
    learned from drawn faces only; None when it learned from real faces."""
    if learned_from is None:
        return (
            f"{what} records nothing about what it learned from (made before facetransfer "
            "recorded it); if it learned from the drawn demo faces, its answers on real photos "
            "mean little: use --base dlib or a base trained on real CelebA"
        )
    if learned_from.get("drawn"):
        return (
            f"{what} learned from drawn faces only ({learned_from.get('images')} images): its "
            "answers on real photos mean little. Use --base dlib, or train the base on real "
            "CelebA (README: Bring real CelebA)"
        )
    return None
