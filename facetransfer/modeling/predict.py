"""Prediction: every face in a photo (a file or an RGB array) detected, aligned, scored by a saved
person model and decided against its saved threshold (or one given); and the counts that end a
run (photos, accepted, unknown, ...)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf

from facetransfer.config import MIN_FACE_CONFIDENCE
from facetransfer.data.align import align_face
from facetransfer.data.cache import crop_box
from facetransfer.data.faces import Face, detect_faces
from facetransfer.data.images import ImageReadError, resize
from facetransfer.data.photo_faces import read_photo
from facetransfer.modeling.card import ModelCard, read_card
from facetransfer.modeling.checkpoints import ModelFileError, load_model_file


@dataclass
class PersonModel:
    """A saved person model with what is needed to use it on any photo."""

    model: object
    person: str
    threshold: float
    crop: str
    align: bool
    path: Path
    geometry: str = "celeba"  # the crop its base was trained on (data.geometry.GEOMETRIES)
    base_learned_from: dict | None = None  # what its base learned from (drawn or real faces)
    card: ModelCard | None = None
    graph: object = None  # the model as one TensorFlow graph (as_graph), made on first use

    def score(self, faces: np.ndarray) -> np.ndarray:
        """Scores of a photo's faces (its model input crops)."""
        if self.graph is None:
            self.graph = as_graph(self.model)
        return scores(self.model, faces, graph=self.graph)

    @property
    def size(self) -> int:
        return int(self.model.input_shape[1])


def load_person_model(path) -> PersonModel:
    """A person model from `transfer` with its card (checked before the network is read)."""
    card = read_card(path, required=False)
    if card is None:  # the network first: a base or a wrong file says what it is
        load_model_file(path, expect="person")
        card = read_card(path)
    if card.kind != "person" or card.decision is None:
        raise ModelFileError(
            f"{Path(path)}: its card says it is a {card.kind}, not a person model from "
            "`facetransfer transfer`"
        )
    model = load_model_file(path, expect="person")
    return PersonModel(
        model=model,
        person=card.person or Path(path).stem,
        threshold=card.decision.threshold,
        crop=card.crop,
        align=bool(card.extra.get("align", True)),
        path=Path(path),
        geometry=card.geometry,
        base_learned_from=card.extra.get("base_learned_from"),
        card=card,
    )


def as_graph(model):
    """`model` as one TensorFlow graph for a few faces at a time (traced again only for a new
    input shape; any number of faces after the second): called eagerly, Keras runs a network
    layer by layer from Python, several times slower on a 2-core CPU (BENCHMARKS.md, section 5,
    has the per-face times as graphs)."""
    return tf.function(lambda x: model(x, training=False), reduce_retracing=True)


def scores(model, images: np.ndarray, batch_size: int = 64, *, graph=None) -> np.ndarray:
    """The model's score for each image, as a flat float32 array. `graph`: `as_graph(model)`,
    for a model scoring one photo's faces at a time."""
    if len(images) <= batch_size:  # one photo's faces: skip predict()'s per-call setup
        out = (graph or model)(tf.convert_to_tensor(images))
        return np.asarray(out, dtype=np.float32).reshape(-1)
    return model.predict(images, batch_size=batch_size, verbose=0).reshape(-1)


def prepare_face(face: np.ndarray, size: int, crop: str) -> np.ndarray:
    """An aligned face crop as the model's input: the model's crop, resized square."""
    box = crop_box(face.shape[1], face.shape[0], crop)
    if box is not None:
        left, top, right, bottom = box
        face = face[top:bottom, left:right]
    return resize(face, (size, size))


def face_crops(
    image: np.ndarray, faces: list[Face] | None, *, geometry: str = "celeba"
) -> tuple[list[np.ndarray], list[list[int]]]:
    """Each detected face aligned to `geometry`, and its box (x, y, w, h); `faces` None means
    the image is already one aligned crop (the drawn default data)."""
    if faces is None:
        return [image], [[0, 0, int(image.shape[1]), int(image.shape[0])]]
    crops = [align_face(image, face.landmarks, geometry=geometry) for face in faces]
    return crops, [list(map(int, face.box)) for face in faces]


def predict_image(
    person: PersonModel,
    photo,
    *,
    threshold: float | None = None,
    min_face_confidence: float = MIN_FACE_CONFIDENCE,
    faces: list[Face] | None = None,
) -> dict:
    """{"path", "faces": [{"box", "probability", "is_person"}], "probability", "is_person",
    "threshold"} for a photo path or an RGB array: the photo's probability is its most likely
    face's, null when no face was found; an unreadable photo has an "error" instead.

    `threshold` overrides the model's saved one; `faces`, the faces already detected in this
    photo (several models scoring one photo detect once)."""
    threshold = person.threshold if threshold is None else float(threshold)
    path = None if isinstance(photo, np.ndarray) else str(photo)
    result = {"path": path, "faces": [], "probability": None, "is_person": False}
    result["threshold"] = threshold
    try:
        image = read_photo(photo)
    except ImageReadError as error:
        result["error"] = str(error)
        return result
    if person.align and faces is None:
        faces = detect_faces(image, min_confidence=min_face_confidence)
    crops, boxes = face_crops(image, faces if person.align else None, geometry=person.geometry)
    if crops:
        batch = np.stack([prepare_face(c, person.size, person.crop) for c in crops])
        probs = person.score(batch)
        for box, p in zip(boxes, probs, strict=True):
            result["faces"].append(
                {"box": box, "probability": float(p), "is_person": bool(p >= threshold)}
            )
        result["probability"] = float(probs.max())
        result["is_person"] = bool(probs.max() >= threshold)
    return result


def decision(result: dict, person: str) -> str:
    """What a photo's result says: the person's name, "unknown", "no face" or "unreadable"."""
    if "error" in result:
        return "unreadable"
    if result["probability"] is None:
        return "no face"
    return person if result["is_person"] else "unknown"


class PredictionCounts:
    """How many photos got each decision; its text is the summary line that ends a run."""

    def __init__(self, person: str):
        self.person = person
        self.counts = Counter({"photos": 0, person: 0, "unknown": 0, "no face": 0, "unreadable": 0})

    def add(self, result: dict) -> str:
        said = decision(result, self.person)
        self.counts["photos"] += 1
        self.counts[said] += 1
        return said

    def as_dict(self) -> dict[str, int]:
        return dict(self.counts)

    def __str__(self) -> str:
        return "summary: " + ", ".join(f"{k} {v}" for k, v in self.counts.items())
