"""A gallery as it lies on disk, read and checked with numpy alone (no TensorFlow: the CLI checks
a gallery before any model loads, and a photo index answers from it in a second): its files,
the names inside it, the `Gallery` and its decision rule (`match`).

A face's distance to a person is its mean distance to each of their enrolled faces: on the scale
of one pair's distance, which the base's calibration speaks. A face is the person's when that
distance is within the person's max_distance; when several people pass, the closest wins and the
next closest is reported beside it."""

from __future__ import annotations

import hashlib
import os
import re
import zipfile
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from facetransfer.config import TARGET_FALSE_ACCEPT
from facetransfer.errors import InputError, UsageError
from facetransfer.modeling.card import (
    BaseRef,
    CardError,
    Decision,
    ModelCard,
    read_card,
    write_card,
)

GALLERY_FILE = "gallery.json"  # the gallery's card: base, people, each one's max distance
FACES_FILE = "faces.npz"  # each enrolled face's descriptor and owner
CARRIED_BASE = "base.h5"  # a base given as a file travels inside the gallery folder


def gallery_folder(path) -> Path:
    """The gallery folder for a folder or its gallery.json, checked to hold both files (no model
    is needed for that, so the CLI checks it before loading one)."""
    path = Path(path)
    folder = path.parent if path.name == GALLERY_FILE else path
    if not folder.exists():
        raise InputError(f"{folder}: no such gallery folder (make one with `facetransfer enrol`)")
    if not folder.is_dir():
        raise InputError(f"{folder}: a file, not a gallery folder")
    for name in (GALLERY_FILE, FACES_FILE):
        if not (folder / name).is_file():
            raise InputError(
                f"{folder / name}: missing, so {folder} is not a gallery (make one with "
                "`facetransfer enrol`)"
            )
    return folder


def check_person_name(name: str, where) -> str:
    """A person's or group's name as it becomes a folder: plain, visible, one path part."""
    if (
        not isinstance(name, str)
        or not name.strip()
        or name in (".", "..")
        or name.startswith(".")
        or re.search(r"[/\\\x00-\x1f]", name)
        or len(name) > 100
    ):
        raise UsageError(
            f"{where}: {name!r} is not a usable name (a plain folder name: not empty, no '/', "
            "'\\', leading '.', or control characters, at most 100 characters)"
        )
    return name


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
        enrolled = self.vectors.astype(np.float64)
        # |a - b|^2 = |a|^2 + |b|^2 - 2 a.b: one matrix product (float64: the same distances to
        # 1e-12), ten times faster than the differences for an index's 50,000 faces
        squares = (vectors**2).sum(1)[:, None] + (enrolled**2).sum(1)[None]
        squares -= 2 * vectors @ enrolled.T
        pairs = np.sqrt(np.maximum(squares, 0.0))
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
    # the base's crop and calibration, as the gallery's card repeats them
    base_card = replace(card, kind="base", decision=None, base=None, extra={})
    return Gallery(
        card.base, names, vectors, people, rate or TARGET_FALSE_ACCEPT, base_card, folder
    )


def match(gallery: Gallery, vectors: np.ndarray, max_distance: float | None = None) -> list[dict]:
    """For each descriptor: the person (the closest of those within their max_distance, or
    "unknown"), its distance, and the next closest person and their distance. `max_distance`
    replaces every person's own."""
    names, table = gallery.distances(vectors)
    limits = np.array(
        [gallery.people[n]["max_distance"] if max_distance is None else max_distance for n in names]
    )
    if not len(table):
        return []
    # in whole arrays: 50,000 indexed faces are matched in a few hundredths of a second
    rows = np.arange(len(table))
    order = np.argsort(table, axis=1, kind="stable")
    passing = table[rows[:, None], order] <= limits[order]
    known = passing.any(axis=1)
    best = np.where(known, order[rows, passing.argmax(axis=1)], order[:, 0])
    if len(names) > 1:
        runner = np.where(best == order[:, 0], order[:, 1], order[:, 0])
        runner_distance = table[rows, runner].tolist()
    else:
        runner, runner_distance = np.full(len(table), -1), [None] * len(table)
    best_distance = table[rows, best].tolist()
    answers = []
    for k, (b, r) in enumerate(zip(best.tolist(), runner.tolist(), strict=True)):
        answers.append(
            {
                "person": names[b] if known[k] else "unknown",
                "distance": round(best_distance[k], 4),
                "max_distance": round(float(limits[b]), 4),
                "runner_up": names[r] if r >= 0 else None,
                "runner_up_distance": None if r < 0 else round(runner_distance[k], 4),
            }
        )
    return answers
