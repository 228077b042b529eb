"""The bases a person model can stand on, by name or by file.

`--base dlib` (or `resolve_base("dlib")`) is dlib's face-recognition ResNet, built once from the
weights the `face_recognition_models` package ships and written to `models/dlib.h5` (and .keras,
and a JSON sidecar saying what it learned from and the crop it expects); a path is a base trained
here (`models/improved.h5`, `models/seed_model2.h5`, ...). Every base's sidecar names its crop
geometry (`data.geometry.GEOMETRIES`), so the photo intake gives it the crop it was trained on.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import replace
from pathlib import Path

from facetransfer.config import DLIB_DISTANCE_THRESHOLDS, NAMED_BASES
from facetransfer.modeling import dlib_resnet
from facetransfer.modeling.card import ModelCard, read_card, weights_sha256, write_card
from facetransfer.modeling.checkpoints import ModelFileError, load_model_file, save_with_sidecar

log = logging.getLogger(__name__)

DLIB_LEARNED_FROM = {
    "data": "real faces: about 3 million photos of 7,485 people (dlib's training set)",
    "images": 3_000_000,
    "people": 7485,
    "drawn": False,
    "weights": "dlib_face_recognition_resnet_model_v1.dat from the face_recognition_models "
    "package (public domain / CC0 1.0)",
}


def dlib_card(sha256: str) -> ModelCard:
    """dlib's base: its chip geometry, and its distances calibrated on CelebA for 1% and 0.1% of
    different people accepted (config.DLIB_DISTANCE_THRESHOLDS says how they were measured)."""
    return ModelCard(
        kind="base",
        arch="dlib",
        geometry="dlib_chip",
        image_size=dlib_resnet.CHIP_SIZE,
        crop="full",
        learned_from=DLIB_LEARNED_FROM,
        distance_thresholds={str(k): v for k, v in DLIB_DISTANCE_THRESHOLDS.items()},
        weights_sha256=sha256,
        extra={
            "embedding_dim": dlib_resnet.EMBEDDING_DIM,
            "same_person_distance": dlib_resnet.SAME_PERSON_DISTANCE,
            "source": "face_recognition_models: " + dlib_resnet.weights_path().name,
        },
    )


def geometry_of(base_path) -> str:
    """The crop geometry a base file was trained on (CelebA's for a base with no card)."""
    card = read_card(base_path, required=False)
    return card.geometry if card else "celeba"


def dlib_base(models_dir) -> Path:
    """models/dlib.h5 (for training and transfer, which read bases from files), written from the
    packaged weights the first time and reused after; an older card is brought up to date."""
    path = Path(models_dir) / "dlib.h5"
    if path.exists() and path.with_suffix(".json").exists():
        card = read_card(path)
        wanted = dlib_card(card.weights_sha256 or dlib_weights_sha256())
        wanted = replace(wanted, extra={**card.extra, **wanted.extra})  # keep what else it says
        if card.to_dict() != wanted.to_dict():
            write_card(path, wanted)
        return path
    log.info("writing dlib's face ResNet to %s (once)", path)
    model = dlib_resnet.build_dlib_resnet()
    save_with_sidecar(model, path, dlib_card(weights_sha256(model)))
    return path


@functools.lru_cache(maxsize=1)
def dlib_weights_sha256() -> str:
    """The digest of dlib's packaged weights, as the Keras network holds them (built once)."""
    return weights_sha256(dlib_resnet.build_dlib_resnet())


def resolve_base(base, models_dir) -> Path:
    """A base's file: a named base ("dlib") is written into `models_dir` if needed; a path is
    returned as it is (load_model_file checks it)."""
    if str(base) in NAMED_BASES:
        return dlib_base(models_dir)
    return Path(base)


def load_base(base):
    """(model, card, path) for a base given by name or file. The named dlib base is built in
    memory from the packaged weights (under a second), so describing faces writes nothing; a
    file needs its card (the .json beside it) to say which crop it expects."""
    if str(base) in NAMED_BASES:
        model = dlib_resnet.build_dlib_resnet()
        return model, dlib_card(weights_sha256(model)), None
    path = Path(base)
    model = load_model_file(path, expect="attributes")
    card = read_card(path, required=False)
    if card is None:
        raise ModelFileError(
            f"{path.with_suffix('.json')}: missing; a base needs its model card (the .json "
            "saved beside it) to know which face crop it expects"
        )
    if card.kind != "base":
        raise ModelFileError(f"{path}: its card says it is a {card.kind}, not a base")
    sha = weights_sha256(model)
    if card.weights_sha256 and card.weights_sha256 != sha:
        raise ModelFileError(
            f"{path}: its weights do not match its card's record of them (the .h5 or the .json "
            "was replaced): save the base again"
        )
    card = card if card.weights_sha256 else replace(card, weights_sha256=sha)
    return model, card, path


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
