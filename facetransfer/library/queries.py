"""Questions answered from an index, never from the photos: who is each indexed face (a
gallery's own decision rule, `gallery.match`), where is a person or the person of a photo (closest
first). Which unknown faces group together, grouped once and kept in the index: library.groups."""

from __future__ import annotations

import json
import logging
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from facetransfer.config import MIN_FACE_CONFIDENCE
from facetransfer.errors import InputError, UsageError
from facetransfer.library import store
from facetransfer.modeling.card import ModelCard, card_from_dict
from facetransfer.modeling.gallery_files import Gallery, match

log = logging.getLogger(__name__)

CHUNK = 2048  # descriptors compared at a time (a gallery's pair table stays a few MB)


@dataclass
class IndexedFaces:
    """The faces of an index's photos (status ok) on one base: where each is, and its
    descriptor; `card`, the base's card (its calibrated distances), when the index has it."""

    paths: list[str]
    numbers: np.ndarray  # each face's number in its photo (0: the largest)
    boxes: np.ndarray  # (n, 4) x, y, w, h in full-size pixels
    confidences: np.ndarray
    vectors: np.ndarray  # (n, dim) float32
    base: str
    card: ModelCard | None
    hashes: list[str] = field(default_factory=list)  # each face's photo content (its key)

    def __len__(self) -> int:
        return len(self.paths)

    def record(self, k: int) -> dict:
        return {
            "path": self.paths[k],
            "face": int(self.numbers[k]),
            "box": [int(v) for v in self.boxes[k]],
        }


def bases(db: sqlite3.Connection) -> list[str]:
    return [r[0] for r in db.execute("SELECT DISTINCT base FROM described ORDER BY base")]


def load_faces(
    index_file,
    base: str | None = None,
    *,
    min_face_confidence: float = MIN_FACE_CONFIDENCE,
) -> IndexedFaces:
    """Every face of the index's photos on `base` (a weights digest; None: the index's only
    base). InputError names the file when it holds no faces on that base."""
    path = Path(index_file).expanduser()
    db = store.connect(path)
    try:
        described = bases(db)
        if base is None:
            if len(described) > 1:
                raise UsageError(f"{path}: described on {len(described)} bases; say which")
            base = described[0] if described else ""
        elif base not in described:
            raise InputError(
                f"{path}: no faces described on base {base[:12]} (it holds "
                f"{', '.join(b[:12] for b in described) or 'no faces yet'}): index the library "
                "again with that base"
            )
        rows = db.execute(
            "SELECT p.path, f.face, f.x, f.y, f.w, f.h, f.confidence, f.descriptor, f.hash "
            "FROM photos p JOIN faces f ON f.hash = p.hash "
            "WHERE p.status = 'ok' AND f.base = ? AND f.confidence >= ? ORDER BY p.path, f.face",
            (base, float(min_face_confidence)),
        ).fetchall()
        card_row = db.execute("SELECT value FROM meta WHERE key = ?", (f"card:{base}",)).fetchone()
    except sqlite3.DatabaseError as error:
        raise store.IndexFileError(f"{path}: damaged index ({error})") from None
    finally:
        db.close()
    card = card_from_dict(json.loads(card_row[0]), path) if card_row else None
    if not rows:
        return IndexedFaces(
            [],
            np.zeros(0, int),
            np.zeros((0, 4), int),
            np.zeros(0),
            np.zeros((0, 0), np.float32),
            base,
            card,
        )
    paths, numbers, x, y, w, h, confidences, blobs, hashes = zip(*rows, strict=True)
    return IndexedFaces(
        list(paths),
        np.array(numbers),
        np.stack([x, y, w, h], axis=1),
        np.array(confidences),
        np.frombuffer(b"".join(blobs), dtype="<f4").reshape(len(rows), -1),
        base,
        card,
        list(hashes),
    )


def identify_faces(
    faces: IndexedFaces, gallery: Gallery, *, max_distance: float | None = None
) -> list[dict]:
    """Each indexed face named with the gallery's decision (gallery.match): per face {"path",
    "face", "box", "person", "distance", "max_distance", "runner_up", "runner_up_distance"}."""
    _check_base(faces, gallery)
    answers = []
    for start in range(0, len(faces), CHUNK):
        answers += match(gallery, faces.vectors[start : start + CHUNK], max_distance)
    paths, numbers, boxes = faces.paths, faces.numbers.tolist(), faces.boxes.tolist()
    return [
        {"path": paths[k], "face": numbers[k], "box": boxes[k], **a} for k, a in enumerate(answers)
    ]


def identify_by_photo(
    index_file, gallery: Gallery, *, max_distance=None, min_face_confidence=MIN_FACE_CONFIDENCE
) -> dict[str, list[dict]]:
    """{path: faces} for every indexed photo with a face, each face named as identify_faces
    names it."""
    faces = load_faces(
        index_file, gallery.base.weights_sha256, min_face_confidence=min_face_confidence
    )
    named: dict[str, list] = {}
    for answer in identify_faces(faces, gallery, max_distance=max_distance):
        named.setdefault(answer.pop("path"), []).append(answer)
    return named


def _check_base(faces: IndexedFaces, gallery: Gallery) -> None:
    if gallery.base.weights_sha256 and faces.base != gallery.base.weights_sha256:
        raise InputError(
            f"the gallery was enrolled on base {gallery.base.weights_sha256[:12]}, the index "
            f"described on {faces.base[:12]}: their distances would mean nothing"
        )


def find_person(
    faces: IndexedFaces, gallery: Gallery, person: str, *, max_distance: float | None = None
) -> list[dict]:
    """The faces within the person's max distance (or `max_distance`) of their enrolled faces
    (mean distance, as identify measures it), closest first."""
    if person not in gallery.people:
        known = ", ".join(sorted(gallery.people))
        raise UsageError(f"--person {person}: not in the gallery (it holds {known})")
    _check_base(faces, gallery)

    enrolled = gallery.vectors[gallery.names == person].astype(np.float64)
    limit = gallery.people[person]["max_distance"] if max_distance is None else max_distance
    distances = np.concatenate(
        [
            np.linalg.norm(
                faces.vectors[s : s + CHUNK, None].astype(np.float64) - enrolled[None], axis=-1
            ).mean(axis=1)
            for s in range(0, len(faces), CHUNK)
        ]
        or [np.zeros(0)]
    )
    return _hits(faces, distances, limit)


def find_face(faces: IndexedFaces, vector: np.ndarray, limit: float) -> list[dict]:
    """The faces within `limit` of a descriptor, closest first."""
    distances = np.linalg.norm(faces.vectors.astype(np.float64) - vector, axis=1)
    return _hits(faces, distances, limit)


def _hits(faces: IndexedFaces, distances: np.ndarray, limit: float) -> list[dict]:
    order = np.argsort(distances, kind="stable")
    return [
        {**faces.record(k), "distance": round(float(distances[k]), 4)}
        for k in order
        if distances[k] <= limit
    ]


def distance_limit(
    faces: IndexedFaces, target_false_accept: float, max_distance: float | None
) -> float:
    """`max_distance`, else the base's calibrated distance for `target_false_accept`."""
    if max_distance is not None:
        return float(max_distance)
    if faces.card is None:
        raise UsageError("the index does not hold its base's calibration: give --max-distance")
    return faces.card.distance_for(target_false_accept)
