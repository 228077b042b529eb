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

import hashlib
import logging
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from facetransfer.config import MIN_FACE_CONFIDENCE, TARGET_FALSE_ACCEPT
from facetransfer.data.images import ImageReadError
from facetransfer.errors import InputError, NoFaceError
from facetransfer.modeling.bases import NAMED_BASES
from facetransfer.modeling.card import (
    BaseRef,
    CardError,
    Decision,
    ModelCard,
    card_from_dict,
    read_card,
    write_card,
)
from facetransfer.modeling.describe import FaceEmbedder
from facetransfer.modeling.gallery_files import (
    CARRIED_BASE,
    FACES_FILE,
    GALLERY_FILE,
    check_person_name,
    gallery_folder,
)
from facetransfer.progress import progress_bar

log = logging.getLogger(__name__)


@dataclass
class Gallery:
    """Enrolled people on one base: each face's descriptor and owner, and each person's
    `max_distance` (a face within it may be theirs) and how it was chosen."""

    base: BaseRef
    names: np.ndarray  # (n_faces,) the person each enrolled face belongs to
    vectors: np.ndarray  # (n_faces, dim)
    people: dict[str, dict] = field(default_factory=dict)  # name -> max_distance, counts, ...
    target_false_accept: float = TARGET_FALSE_ACCEPT
    card: ModelCard | None = None  # the base's card: the crop its faces were described in
    folder: Path | None = None  # where it was loaded from (a carried base lies there)

    def distances(self, vectors: np.ndarray) -> tuple[list[str], np.ndarray]:
        """(names, (n_vectors, n_people)): each descriptor's mean distance to each person's
        enrolled faces."""
        names = sorted(self.people)
        vectors = np.asarray(vectors, np.float64).reshape(-1, self.vectors.shape[1])
        pairs = np.linalg.norm(vectors[:, None] - self.vectors[None].astype(np.float64), axis=-1)
        return names, np.stack([pairs[:, self.names == n].mean(axis=1) for n in names], axis=1)

    def gallery_card(self, faces_sha256: str) -> ModelCard:
        base = self.card or ModelCard(kind="base")
        widest = max(float(p["max_distance"]) for p in self.people.values())
        return ModelCard(
            kind="gallery",
            geometry=base.geometry,
            image_size=base.image_size,
            crop=base.crop,
            arch=base.arch,
            learned_from=base.learned_from,
            distance_thresholds=base.distance_thresholds,
            decision=Decision(
                "distance",
                widest,
                self.target_false_accept,
                "each person's own max_distance (people.<name>.max_distance); this is the widest",
            ),
            base=self.base,
            extra={"people": self.people, "faces": len(self.names), "faces_sha256": faces_sha256},
        )

    def save(self, out_dir) -> Path:
        """faces.npz, then gallery.json (which records faces.npz's digest), each written to a
        temporary name and renamed: a kill leaves the previous gallery or the new one."""
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        partial = out_dir / f".{FACES_FILE}.partial.npz"
        np.savez(partial, names=self.names.astype(str), vectors=self.vectors)
        digest = _sha256_file(partial)
        os.replace(partial, out_dir / FACES_FILE)
        return write_card(out_dir / GALLERY_FILE, self.gallery_card(digest))


def _sha256_file(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _read_faces(faces_path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        with np.load(faces_path, allow_pickle=False) as saved:
            missing = {"names", "vectors"} - set(saved.files)
            if missing:
                raise InputError(f"{faces_path}: damaged, no {' or '.join(sorted(missing))} array")
            names, vectors = saved["names"], saved["vectors"]
    except InputError:
        raise
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError) as error:
        first = (str(error).splitlines() or [""])[0][:120]
        raise InputError(f"{faces_path}: damaged ({type(error).__name__}: {first})") from None
    if vectors.ndim != 2 or len(names) != len(vectors) or not len(vectors):
        raise InputError(f"{faces_path}: damaged, {len(names)} names for {vectors.shape} vectors")
    if not np.isfinite(vectors).all():
        raise InputError(f"{faces_path}: damaged, descriptors that are not finite numbers")
    return names.astype(str), vectors.astype(np.float32)


def _people(card: ModelCard, where: Path) -> dict[str, dict]:
    people = card.extra.get("people")
    if not isinstance(people, dict) or not people:
        raise CardError(f"{where}: lists no people")
    checked = {}
    for name, record in people.items():
        check_person_name(name, where)
        if not isinstance(record, dict):
            raise CardError(f"{where}: person {name!r} is not a record")
        record = dict(record)
        if "max_distance" not in record and "threshold" in record:  # before the model card
            record["max_distance"] = record.pop("threshold")
        value = record.get("max_distance")
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not (np.isfinite(value) and value > 0)
        ):
            raise CardError(f"{where}: person {name!r} has max_distance {value!r}, not a distance")
        checked[name] = record
    return checked


def load_gallery(path) -> Gallery:
    """A gallery folder (or its gallery.json), every part checked: its card, its faces, that the
    two belong together (faces.npz's digest, the people in both)."""
    folder = gallery_folder(path)
    card = read_card(folder / GALLERY_FILE)
    where = folder / GALLERY_FILE
    if card.kind != "gallery":
        raise CardError(f"{where}: its card says it is a {card.kind}, not a gallery")
    if card.base is None:
        raise CardError(f"{where}: does not say which base its faces were described on")
    people = _people(card, where)
    faces_path = folder / FACES_FILE
    recorded = card.extra.get("faces_sha256")
    if recorded and recorded != _sha256_file(faces_path):
        raise InputError(
            f"{faces_path}: not the faces {where} was saved with (edited, or another "
            "gallery's file): enrol again"
        )
    names, vectors = _read_faces(faces_path)
    if set(names) != set(people):
        extra, lacking = sorted(set(names) - set(people)), sorted(set(people) - set(names))
        said = f"faces of {', '.join(extra)} not listed" if extra else ""
        said += ("; " if said else "") + (f"no faces for {', '.join(lacking)}" if lacking else "")
        raise InputError(f"{faces_path}: does not match {where} ({said}): enrol again")
    rate = card.decision.target_false_accept if card.decision else None
    base_card = card_from_dict(
        {
            "kind": "base",
            "geometry": card.geometry,
            "crop": card.crop,
            "arch": card.arch,
            "image_size": card.image_size,
            "distance_thresholds": card.distance_thresholds,
            "schema_version": card.schema_version,
        },
        where,
    )
    return Gallery(
        card.base, names, vectors, people, rate or TARGET_FALSE_ACCEPT, base_card, folder
    )


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
        else:
            # the gallery's share split between its people, never looser than the base's
            # strictest calibrated rate (a stricter answer is safe; a looser one is not)
            low, _ = embedder.card.calibrated_range()
            rate = max(per_person, low)
            record["max_distance"] = embedder.distance_for(rate)
            record["chosen_on"] = f"the base's calibrated distance for {rate:.2%} false accepts"


def match(gallery: Gallery, vectors: np.ndarray, max_distance: float | None = None) -> list[dict]:
    """For each descriptor: the person (the closest of those within their max_distance, or
    "unknown"), its distance, and the next closest person and their distance. `max_distance`
    replaces every person's own."""
    names, table = gallery.distances(vectors)
    limits = np.array(
        [gallery.people[n]["max_distance"] if max_distance is None else max_distance for n in names]
    )
    answers = []
    for distances in table:
        order = np.argsort(distances)
        passing = [i for i in order if distances[i] <= limits[i]]
        best = passing[0] if passing else order[0]
        others = [i for i in order if i != best]
        answers.append(
            {
                "person": names[best] if passing else "unknown",
                "distance": round(float(distances[best]), 4),
                "max_distance": round(float(limits[best]), 4),
                "runner_up": names[others[0]] if others else None,
                "runner_up_distance": round(float(distances[others[0]]), 4) if others else None,
            }
        )
    return answers


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
