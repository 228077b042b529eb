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

import logging
import shutil
from pathlib import Path

import numpy as np

from facetransfer.config import MIN_FACE_CONFIDENCE, TARGET_FALSE_ACCEPT
from facetransfer.data.images import ImageReadError
from facetransfer.errors import InputError, NoFaceError
from facetransfer.modeling.bases import NAMED_BASES
from facetransfer.modeling.describe import FaceEmbedder
from facetransfer.modeling.gallery_files import (
    CARRIED_BASE,
    FACES_FILE,
    GALLERY_FILE,
    Gallery,
    check_person_name,
    load_gallery,
    match,
)
from facetransfer.progress import progress_bar

log = logging.getLogger(__name__)

__all__ = [
    "CARRIED_BASE",
    "FACES_FILE",
    "GALLERY_FILE",
    "Gallery",
    "load_gallery",
    "match",
    "embedder_for",
    "enrol",
    "identify_image",
    "largest_faces",
    "verify",
    "carry_base",
]


def embedder_for(gallery: Gallery, base=None) -> FaceEmbedder:
    """The base a gallery's faces were described on: `base` when given (refused when it is
    another network), else its named base (dlib), the copy it carries, or the file it was
    enrolled with. Found by the digest of its weights, so a moved gallery or base still works."""
    ref = gallery.base
    where = gallery.folder / GALLERY_FILE if gallery.folder else "the gallery"
    if base is None:
        carried = gallery.folder / CARRIED_BASE if gallery.folder else None
        if ref.name in NAMED_BASES:
            base = ref.name
        elif carried is not None and carried.exists():
            base = carried
        elif ref.path and Path(ref.path).exists():
            base = ref.path
        else:
            raise InputError(
                f"{where}: its base {ref.path} is not there; pass the base it was enrolled on "
                "with --base FILE"
            )
    embedder = base if isinstance(base, FaceEmbedder) else FaceEmbedder.load(base)
    if ref.weights_sha256 and embedder.card.weights_sha256 != ref.weights_sha256:
        raise InputError(
            f"{where}: enrolled on another base (weights {ref.weights_sha256[:12]}) than "
            f"{embedder.base} (weights {embedder.card.weights_sha256[:12]}): its distances "
            "would mean nothing; use the base it was enrolled on, or enrol again"
        )
    return embedder


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
    other people, in the base's geometry, to choose each max_distance on."""
    names, vectors, records = [], [], {}
    for name, photos in people.items():
        check_person_name(name, "person")
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
        raise NoFaceError("no face found in any photo: nobody was enrolled")
    gallery = Gallery(
        embedder.ref,
        np.array(names),
        np.stack(vectors).astype(np.float32),
        records,
        target_false_accept,
        embedder.card,
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
            record["max_distance"] = float(np.quantile(distances, per_person))
            record["chosen_on"] = f"{len(distances)} CelebA strangers, {per_person:.2%} accepted"
            if len(distances) * per_person < 1:
                record["chosen_on"] += " (too few strangers to measure that: about the closest's)"
                log.warning(
                    "%s: %d strangers cannot measure %.2f%% of false accepts; its max distance "
                    "is about the closest stranger's (give more with --strangers)",
                    name,
                    len(distances),
                    per_person * 100,
                )
        else:
            # the gallery's share split between its people, never looser than the base's
            # strictest calibrated rate (a stricter answer is safe; a looser one is not)
            low, _ = embedder.card.calibrated_range()
            rate = max(per_person, low)
            record["max_distance"] = embedder.distance_for(rate)
            record["chosen_on"] = f"the base's calibrated distance for {rate:.2%} false accepts"


def identify_image(
    gallery: Gallery,
    embedder: FaceEmbedder,
    photo,
    *,
    min_face_confidence: float = MIN_FACE_CONFIDENCE,
    max_distance: float | None = None,
) -> dict:
    """{"path", "faces": [{"box", "person", "distance", "max_distance", "runner_up",
    "runner_up_distance"}]} for a photo path or an RGB array; an unreadable photo has an
    "error" instead."""
    result = {"path": None if isinstance(photo, np.ndarray) else str(photo), "faces": []}
    try:
        boxes, vectors, _ = embedder.faces(photo, min_face_confidence)
    except ImageReadError as error:
        result["error"] = str(error)
        return result
    for box, answer in zip(boxes, match(gallery, vectors, max_distance), strict=True):
        result["faces"].append({"box": box, **answer})
    return result


def find_in_photos(embedder: FaceEmbedder, wanted, photos, limit: float, *, min_face_confidence):
    """The faces of `photos` within `limit` of the descriptor `wanted`, closest first: {"path",
    "face", "box", "distance"}; an unreadable photo is skipped, as everywhere."""
    hits = []
    for photo in photos:
        try:
            boxes, vectors, _ = embedder.faces(photo, min_face_confidence)
        except ImageReadError:
            continue
        for k, (box, vector) in enumerate(zip(boxes, vectors, strict=True)):
            distance = float(np.linalg.norm(vector - wanted))
            if distance <= limit:
                hits.append({"path": str(photo), "face": k, "box": box, "distance": distance})
    return sorted(hits, key=lambda hit: hit["distance"])


def largest_faces(embedder: FaceEmbedder, photos, min_face_confidence: float) -> np.ndarray:
    """The descriptor of each photo's largest face; NoFaceError names a photo with none."""
    out = []
    for photo in photos:
        _, vectors, _ = embedder.faces(photo, min_face_confidence)
        if not len(vectors):
            shown = "the array" if isinstance(photo, np.ndarray) else photo
            raise NoFaceError(f"{shown}: no face found")
        out.append(vectors[0])
    if not out:
        raise InputError("no photos to compare")
    return np.stack(out)


def verify(
    embedder: FaceEmbedder,
    first: list,
    second: list,
    *,
    target_false_accept: float = TARGET_FALSE_ACCEPT,
    max_distance: float | None = None,
    min_face_confidence: float = MIN_FACE_CONFIDENCE,
) -> dict:
    """Are the largest faces of the photos in `first` and in `second` one person? The distance
    is the mean over every pair across the two sets (one pair for two photos), on the scale the
    base's distances were calibrated on; they are one person when it is at most `max_distance`
    (default: the base's calibrated distance for `target_false_accept`)."""
    a = largest_faces(embedder, first, min_face_confidence)
    b = largest_faces(embedder, second, min_face_confidence)
    distance = float(np.linalg.norm(a[:, None] - b[None], axis=-1).mean())
    limit = embedder.distance_for(target_false_accept) if max_distance is None else max_distance
    return {
        "distance": round(distance, 4),
        "max_distance": round(float(limit), 4),
        "target_false_accept": None if max_distance is not None else float(target_false_accept),
        "same": bool(distance <= limit),
        "photos": [len(first), len(second)],
    }


def carry_base(model: FaceEmbedder, gallery_dir) -> None:
    """A base given as a file is copied into the gallery folder (base.h5 + its card), so the
    gallery finds it wherever the folder goes; a named base (dlib) is rebuilt from the package."""
    if model.path is None:
        return
    target = Path(gallery_dir) / CARRIED_BASE
    target.parent.mkdir(parents=True, exist_ok=True)
    for source, dest in ((model.path, target), (model.path.with_suffix(".json"), None)):
        dest = dest or target.with_suffix(".json")
        partial = dest.with_name(f".{dest.name}.partial")
        shutil.copyfile(source, partial)
        Path(partial).replace(dest)
