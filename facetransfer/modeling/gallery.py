"""A gallery of people: the descriptors of each person's enrolled faces on one base, and a
distance threshold per person; identify every face in a photo, verify two photos, embed faces.

A face's distance to a person is its mean distance to each of their enrolled faces: on the scale of
one pair's distance, which the base's calibration speaks (the distance to the mean of the enrolled
faces is shorter for everyone, strangers included, so a pair's threshold let 17% of strangers
through on the wild photos: BENCHMARKS.md, section 6). A face is the person's when that distance
is within the person's threshold; when several people pass, the closest wins and the next closest
is reported beside it. Each person's threshold lets `target_false_accept / n_people` of CelebA
strangers through (so the whole gallery accepts at most `target_false_accept` of strangers' faces)
when CelebA is there; without it, the base's own calibrated pair distance (dlib's, or a distilled
student's) for the nearest rate. One or two photos enrol a person just as well. Descriptors are
stored as the base gives them (not unit length): the calibrated distances are distances between
those.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np

from facetransfer.config import MIN_FACE_CONFIDENCE, TARGET_FALSE_ACCEPT
from facetransfer.data.cache import load_square
from facetransfer.data.faces import detect_faces
from facetransfer.data.images import ImageReadError
from facetransfer.modeling import networks
from facetransfer.modeling.checkpoints import (
    ModelFileError,
    load_model_file,
    model_metadata,
    write_json_atomically,
)
from facetransfer.modeling.predict import as_graph, face_crops, prepare_face, read_photo
from facetransfer.progress import progress_bar

log = logging.getLogger(__name__)

GALLERY_FILE = "gallery.json"
FACES_FILE = "faces.npz"


@dataclass
class FaceEmbedder:
    """A base ready to describe faces: its descriptor network, crop geometry, input size and
    crop, and its calibrated distances ({rate: distance}, from its sidecar)."""

    base_path: Path
    extractor: keras.Model
    geometry: str
    size: int
    crop: str
    thresholds: dict[str, float]
    learned_from: dict | None = None
    graph: object = None  # the extractor as one TensorFlow graph, made on first use

    @classmethod
    def load(cls, base_path) -> FaceEmbedder:
        base = load_model_file(base_path, expect="attributes")
        meta = model_metadata(base_path)
        extractor = keras.Model(base.inputs[0], networks.base_features(base))
        return cls(
            Path(base_path),
            extractor,
            meta.get("geometry", "celeba"),
            int(base.input_shape[1]),
            meta.get("crop", "full"),
            {str(k): float(v) for k, v in (meta.get("distance_thresholds") or {}).items()},
            meta.get("learned_from"),
        )

    def describe(self, crops: list[np.ndarray]) -> np.ndarray:
        """Descriptors of aligned face crops in this base's geometry."""
        if not crops:
            return np.zeros((0, self.extractor.output_shape[-1]), np.float32)
        batch = np.stack([prepare_face(c, self.size, self.crop) for c in crops])
        if self.graph is None:
            self.graph = as_graph(self.extractor)
        if len(batch) > 64:
            return self.extractor.predict(batch, batch_size=64, verbose=0).astype(np.float32)
        return np.asarray(self.graph(batch.astype(np.float32)), dtype=np.float32)

    def describe_files(self, crop_paths) -> np.ndarray:
        """Descriptors of aligned crop files (CelebA strangers through the intake)."""
        return self.describe([load_square(p, self.size, self.crop) for p in crop_paths])

    def faces(self, photo, min_face_confidence: float = MIN_FACE_CONFIDENCE):
        """Every face in a photo (path or RGB array), largest first: (boxes, descriptors,
        crops). Raises ImageReadError for an unreadable photo."""
        image = read_photo(photo)
        found = detect_faces(image, min_confidence=min_face_confidence)
        crops, boxes = face_crops(image, found, geometry=self.geometry)
        return boxes, self.describe(crops), crops

    def threshold_for(self, rate: float) -> tuple[str, float]:
        """The calibrated distance whose rate is nearest `rate`, and that rate."""
        if not self.thresholds:
            raise ModelFileError(
                f"{self.base_path}: its sidecar has no calibrated distances; use --base dlib, "
                "or a student distilled from it (train-attributes --teacher dlib)"
            )
        nearest = min(self.thresholds, key=lambda r: abs(float(r) - rate))
        return nearest, self.thresholds[nearest]


@dataclass
class Gallery:
    """Enrolled people on one base: each face's descriptor and owner, and each person's
    threshold and how it was chosen."""

    base_path: str
    names: np.ndarray  # (n_faces,) the person each enrolled face belongs to
    vectors: np.ndarray  # (n_faces, dim)
    people: dict[str, dict] = field(default_factory=dict)  # name -> threshold, counts, ...
    target_false_accept: float = TARGET_FALSE_ACCEPT

    def distances(self, vectors: np.ndarray) -> tuple[list[str], np.ndarray]:
        """(names, (n_vectors, n_people)): each descriptor's mean distance to each person's
        enrolled faces."""
        names = sorted(self.people)
        vectors = np.asarray(vectors, np.float64).reshape(-1, self.vectors.shape[1])
        pairs = np.linalg.norm(vectors[:, None] - self.vectors[None].astype(np.float64), axis=-1)
        return names, np.stack([pairs[:, self.names == n].mean(axis=1) for n in names], axis=1)

    def save(self, out_dir) -> Path:
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        partial = out_dir / f".{FACES_FILE}.partial.npz"
        np.savez(partial, names=self.names.astype(str), vectors=self.vectors)
        os.replace(partial, out_dir / FACES_FILE)
        record = {
            "base": self.base_path,
            "target_false_accept": self.target_false_accept,
            "people": self.people,
        }
        return write_json_atomically(out_dir / GALLERY_FILE, record)


def load_gallery(path) -> Gallery:
    path = Path(path)
    folder = path.parent if path.name == GALLERY_FILE else path
    if not (folder / GALLERY_FILE).exists() or not (folder / FACES_FILE).exists():
        raise FileNotFoundError(f"{folder}: not a gallery (make one with `facetransfer enrol`)")
    record = json.loads((folder / GALLERY_FILE).read_text())
    with np.load(folder / FACES_FILE, allow_pickle=False) as saved:
        names, vectors = saved["names"], saved["vectors"]
    return Gallery(record["base"], names, vectors, record["people"], record["target_false_accept"])


def enrol(
    people: dict[str, list[Path]],
    embedder: FaceEmbedder,
    *,
    strangers: list | None = None,
    target_false_accept: float = TARGET_FALSE_ACCEPT,
    min_face_confidence: float = MIN_FACE_CONFIDENCE,
    progress: bool = True,
) -> Gallery:
    """Enrol each person's photos (the largest face of each: a photo with several faces is
    enrolled by its largest, and said so). `strangers`: aligned crop files of CelebA faces of
    other people, in the base's geometry, to choose each threshold on."""
    names, vectors, records = [], [], {}
    for name, photos in people.items():
        kept, skipped = 0, []
        for photo in progress_bar(photos, desc=f"enrolling {name}", enabled=progress):
            try:
                boxes, described, _ = embedder.faces(photo, min_face_confidence)
            except ImageReadError as error:
                skipped.append([str(photo), error.reason])
                log.warning("skipped %s", error)
                continue
            if not len(described):
                skipped.append([str(photo), "no face found"])
                log.warning("%s: no face found, not enrolled", photo)
                continue
            if len(described) > 1:
                log.warning("%s: %d faces; enrolled the largest", photo, len(described))
            names.append(name)
            vectors.append(described[0])
            kept += 1
        records[name] = {"photos": len(photos), "faces": kept, "skipped": skipped}
        if not kept:
            log.warning("%s: no face in any photo; not enrolled", name)
            del records[name]
    if not records:
        raise ValueError("no face found in any photo: nobody was enrolled")
    gallery = Gallery(
        str(embedder.base_path),
        np.array(names),
        np.stack(vectors).astype(np.float32),
        records,
        target_false_accept,
    )
    _choose_thresholds(gallery, embedder, strangers)
    return gallery


def _choose_thresholds(gallery: Gallery, embedder: FaceEmbedder, strangers) -> None:
    per_person = gallery.target_false_accept / len(gallery.people)
    stranger_vectors = embedder.describe_files(strangers) if strangers else None
    names, to_strangers = gallery.distances(stranger_vectors) if strangers else (None, None)
    for k, name in enumerate(sorted(gallery.people)):
        record = gallery.people[name]
        if to_strangers is not None:
            distances = to_strangers[:, k]
            record["threshold"] = float(np.quantile(distances, per_person))
            record["chosen_on"] = f"{len(distances)} CelebA strangers, {per_person:.2%} accepted"
        else:
            rate, distance = embedder.threshold_for(per_person)
            record["threshold"] = distance
            record["chosen_on"] = f"the base's calibrated distance for {float(rate):.1%}"


def match(gallery: Gallery, vectors: np.ndarray) -> list[dict]:
    """For each descriptor: the person (closest of those within their threshold, or "unknown"),
    its distance as score, and the next closest person and distance."""
    names, table = gallery.distances(vectors)
    thresholds = np.array([gallery.people[n]["threshold"] for n in names])
    answers = []
    for distances in table:
        order = np.argsort(distances)
        passing = [i for i in order if distances[i] < thresholds[i]]
        best = passing[0] if passing else order[0]
        others = [i for i in order if i != best]
        answers.append(
            {
                "person": names[best] if passing else "unknown",
                "score": round(float(distances[best]), 4),
                "threshold": round(float(thresholds[best]), 4),
                "runner_up": names[others[0]] if others else None,
                "runner_up_score": round(float(distances[others[0]]), 4) if others else None,
            }
        )
    return answers


def identify_image(
    gallery: Gallery,
    embedder: FaceEmbedder,
    photo,
    *,
    min_face_confidence: float = MIN_FACE_CONFIDENCE,
) -> dict:
    """{"path", "faces": [{"box", "person", "score", "runner_up", "runner_up_score", ...}]} for a
    photo path or an RGB array; an unreadable photo has an "error" instead."""
    result = {"path": None if isinstance(photo, np.ndarray) else str(photo), "faces": []}
    try:
        boxes, vectors, _ = embedder.faces(photo, min_face_confidence)
    except ImageReadError as error:
        result["error"] = str(error)
        return result
    for box, answer in zip(boxes, match(gallery, vectors), strict=True):
        result["faces"].append({"box": box, **answer})
    return result


def verify(
    embedder: FaceEmbedder,
    first: list,
    second: list,
    *,
    target_false_accept: float = TARGET_FALSE_ACCEPT,
    min_face_confidence: float = MIN_FACE_CONFIDENCE,
) -> dict:
    """Are the largest faces of the photos in `first` and in `second` one person? The distance
    is the mean over every pair across the two sets (one pair for two photos), on the scale the
    base's distances were calibrated on. Raises ValueError naming a photo with no face."""

    def largest_faces(photos):
        out = []
        for photo in photos:
            _, vectors, _ = embedder.faces(photo, min_face_confidence)
            if not len(vectors):
                raise ValueError(f"{photo}: no face found")
            out.append(vectors[0])
        return np.stack(out)

    a, b = largest_faces(first), largest_faces(second)
    distance = float(np.linalg.norm(a[:, None] - b[None], axis=-1).mean())
    rate, threshold = embedder.threshold_for(target_false_accept)
    return {
        "distance": round(distance, 4),
        "threshold": round(threshold, 4),
        "target_false_accept": float(rate),
        "same": distance < threshold,
        "photos": [len(first), len(second)],
    }
