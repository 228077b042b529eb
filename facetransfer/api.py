"""The short public API: `import facetransfer as ft`, then `ft.detect`, `ft.represent`,
`ft.verify`, `ft.identify`, `ft.find`, `ft.analyze`, `ft.enrol`, `ft.index`, `ft.cluster`.

Wherever a photo is meant, give a path (str or Path), an RGB uint8 array (a video frame, a
webcam's), or, where the function says so, a folder. Bases are named ("dlib", the default:
dlib's face ResNet from the packaged weights, nothing downloaded or written) or a file trained
here. A base is loaded once per process and kept. Errors are `facetransfer.errors` exceptions:
InputError (missing, unreadable or damaged input), NoFaceError, UsageError.

The CLI's commands call these functions (`facetransfer verify` gives `ft.verify`'s distance).

The examples run as doctests on a real face that matplotlib ships (Grace Hopper's portrait):

>>> import facetransfer as ft
>>> from matplotlib import cbook
>>> photo = cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from facetransfer.config import GROUP_FALSE_ACCEPT, MIN_FACE_CONFIDENCE, TARGET_FALSE_ACCEPT, home
from facetransfer.data import photo_faces
from facetransfer.data.photo_files import existing_folder, photos_in
from facetransfer.errors import InputError, UsageError, check_confidence, check_limits
from facetransfer.library import groups, queries
from facetransfer.library.index import index_library
from facetransfer.library.pages import index_report
from facetransfer.modeling.attribute_head import load_attribute_head
from facetransfer.modeling.clustering import cluster_photos
from facetransfer.modeling.gallery_files import Gallery, load_gallery

if TYPE_CHECKING:
    from facetransfer.modeling.describe import FaceEmbedder

__all__ = [
    "detect",
    "represent",
    "verify",
    "identify",
    "find",
    "cluster",
    "analyze",
    "make_report",
    "enrol",
    "index",
    "photos_in",
]


def _one_or_many(item, recursive: bool, per_photo):
    """A photo's answer, or {path: answer} for each photo of a folder."""
    if not isinstance(item, np.ndarray) and Path(item).expanduser().is_dir():
        return {str(p): per_photo(p) for p in photos_in(item, recursive=recursive)}
    return per_photo(photos_in(item)[0])


def _people():
    """modeling.gallery, and TensorFlow (5 s) under it: imported where a photo is described."""
    from facetransfer.modeling import gallery  # noqa: PLC0415

    return gallery


@functools.lru_cache(maxsize=4)
def _embedder(base: str) -> FaceEmbedder:
    return _people().FaceEmbedder.load(base)


def embedder(base="dlib") -> FaceEmbedder:
    """The base `base` (a name, a file, or a FaceEmbedder already loaded), loaded once."""
    if isinstance(base, _people().FaceEmbedder):
        return base
    return _embedder(str(base))


def detect(img, *, min_face_confidence: float = MIN_FACE_CONFIDENCE, recursive: bool = False):
    """Every face in a photo, largest first: its box (x, y, width, height), the detector's
    confidence and five landmarks. A folder gives {path: faces}.

    >>> faces = ft.detect(photo)
    >>> len(faces), sorted(faces[0])
    (1, ['box', 'confidence', 'landmarks'])
    >>> faces[0]["confidence"] > 0.95
    True
    """
    confidence = check_confidence(min_face_confidence)

    def per_photo(photo):
        image = photo_faces.read_photo(photo) if isinstance(photo, np.ndarray) else photo
        return [face.record() for face in photo_faces.detect(image, confidence)]

    return _one_or_many(img, recursive, per_photo)


def represent(
    img,
    *,
    base="dlib",
    min_face_confidence: float = MIN_FACE_CONFIDENCE,
    recursive: bool = False,
):
    """One descriptor per face (largest first): {"box", "confidence", "descriptor"} with the
    descriptor a float32 array (128 numbers on dlib's base). A folder gives {path: faces}.

    >>> faces = ft.represent(photo)
    >>> faces[0]["descriptor"].shape
    (128,)
    """
    model = embedder(base)
    confidence = check_confidence(min_face_confidence)

    def per_photo(photo):
        found, boxes, vectors, _ = model.detect_and_describe(photo, confidence)
        return [
            {"box": box, "confidence": round(float(f.confidence), 4), "descriptor": vector}
            for box, vector, f in zip(boxes, vectors, found, strict=True)
        ]

    return _one_or_many(img, recursive, per_photo)


def verify(
    a,
    b,
    *,
    base="dlib",
    target_false_accept: float = TARGET_FALSE_ACCEPT,
    max_distance: float | None = None,
    min_face_confidence: float = MIN_FACE_CONFIDENCE,
) -> dict:
    """Are the largest faces of `a` and `b` one person? Each is a photo, an array, or a folder
    of one person's photos (then the mean distance over every pair). Returns {"distance",
    "max_distance", "same", ...}: one person when the distance is at most `max_distance`
    (default: the base's calibrated distance that lets `target_false_accept` of pairs of
    different people through).

    >>> answer = ft.verify(photo, photo)
    >>> answer["same"], answer["distance"]
    (True, 0.0)
    """
    check_limits(target_false_accept, max_distance)
    return _people().verify(
        embedder(base),
        photos_in(a),
        photos_in(b),
        target_false_accept=target_false_accept,
        max_distance=max_distance,
        min_face_confidence=check_confidence(min_face_confidence),
    )


def enrol(
    folder,
    *,
    base="dlib",
    gallery=None,
    target_false_accept: float = TARGET_FALSE_ACCEPT,
    min_face_confidence: float = MIN_FACE_CONFIDENCE,
    strangers: list | None = None,
) -> Gallery:
    """A gallery of the people in `folder` (`folder/<name>/` holds each person's photos; one
    photo is enough), saved to the folder `gallery` when given. Each person's max_distance comes
    from the base's calibration (or from `strangers`, aligned CelebA crops, as the CLI does with
    --celeba-dir).

    >>> import shutil, tempfile
    >>> family = Path(tempfile.mkdtemp())
    >>> (family / "grace").mkdir()
    >>> _ = shutil.copy(photo, family / "grace" / "1.jpg")
    >>> g = ft.enrol(family)
    >>> sorted(g.people)
    ['grace']
    """
    check_limits(target_false_accept, None)
    model = embedder(base)
    from facetransfer.data.fotos import people_folders  # noqa: PLC0415  (pandas: 0.4 s)

    people = people_folders(existing_folder(folder))
    made = _people().enrol(
        people,
        model,
        strangers=strangers,
        target_false_accept=target_false_accept,
        min_face_confidence=check_confidence(min_face_confidence),
        progress=False,
    )
    if gallery is not None:
        _people().carry_base(model, gallery)
        made.save(gallery)
        made.folder = Path(gallery)
    return made


def _gallery(gallery) -> Gallery:
    return gallery if isinstance(gallery, Gallery) else load_gallery(gallery)


def identify(
    img,
    gallery,
    *,
    base=None,
    max_distance: float | None = None,
    min_face_confidence: float = MIN_FACE_CONFIDENCE,
    recursive: bool = False,
    index=None,
):
    """Name every face of a photo from a gallery (a folder from `enrol`, or a Gallery): per
    face {"box", "person" (or "unknown"), "distance", "max_distance", "runner_up",
    "runner_up_distance"}. A folder gives {path: faces}. `base`: where the gallery's base is
    when it is neither dlib nor carried in the gallery folder. With `index` (an index file from
    `ft.index`) and `img` None: {path: faces} for every indexed photo with a face, no photo read.

    >>> [face["person"] for face in ft.identify(photo, g)]
    ['grace']
    """
    check_limits(None, max_distance)
    known = _gallery(gallery)
    if index is not None:
        if img is not None:
            raise UsageError("identify: give a photo or an index, not both")
        return queries.identify_by_photo(
            index, known, max_distance=max_distance, min_face_confidence=min_face_confidence
        )
    model = _people().embedder_for(known, None if base is None else embedder(base))
    confidence = check_confidence(min_face_confidence)

    def per_photo(photo):
        result = _people().identify_image(
            known, model, photo, min_face_confidence=confidence, max_distance=max_distance
        )
        if "error" in result:
            raise InputError(result["error"])
        return result["faces"]

    return _one_or_many(img, recursive, per_photo)


def find(
    img,
    folder=None,
    *,
    index=None,
    person: str | None = None,
    gallery=None,
    base="dlib",
    target_false_accept: float = TARGET_FALSE_ACCEPT,
    max_distance: float | None = None,
    min_face_confidence: float = MIN_FACE_CONFIDENCE,
    recursive: bool = False,
) -> list[dict]:
    """The faces in the photos of `folder` that are the person of `img`'s largest face, closest
    first: [{"path", "face", "box", "distance"}], each within `max_distance` (default: the
    base's calibrated distance for `target_false_accept`).

    >>> [Path(hit["path"]).name for hit in ft.find(photo, family / "grace")]
    ['1.jpg']

    With `index` (an index file from `ft.index`) instead of `folder`, the indexed faces, no photo
    read: of the person of `img`, or (img None) of `person` enrolled in `gallery`, within their
    max_distance and at their mean distance to the enrolled faces, as identify decides
    (`ft.index` shows it).
    """
    check_limits(target_false_accept, max_distance)
    confidence = check_confidence(min_face_confidence)
    if index is not None:
        if folder is not None:
            raise UsageError("find: give a folder or an index, not both")
        return _find_in_index(
            img,
            index,
            person=person,
            gallery=gallery,
            base=base,
            target_false_accept=target_false_accept,
            max_distance=max_distance,
            confidence=confidence,
        )
    if folder is None or img is None:
        raise UsageError("find: give a photo and a folder (or an index)")
    model = embedder(base)
    wanted = _people().largest_faces(model, photos_in(img), confidence)[0]
    limit = model.distance_for(target_false_accept) if max_distance is None else max_distance
    photos = photos_in(existing_folder(folder), recursive=recursive)
    return _people().find_in_photos(model, wanted, photos, limit, min_face_confidence=confidence)


def _find_in_index(
    img, index, *, person, gallery, base, target_false_accept, max_distance, confidence
) -> list[dict]:
    if (img is None) == (person is None):
        raise UsageError("find in an index: give either a photo or a person (with a gallery)")
    if person is not None:
        if gallery is None:
            raise UsageError(f"find person {person!r}: give the gallery they are enrolled in")
        known = _gallery(gallery)
        faces = queries.load_faces(index, known.base.weights_sha256, min_face_confidence=confidence)
        return queries.find_person(faces, known, person, max_distance=max_distance)
    model = embedder(base)
    faces = queries.load_faces(index, model.card.weights_sha256, min_face_confidence=confidence)
    wanted = _people().largest_faces(model, photos_in(img), confidence)[0]
    limit = model.distance_for(target_false_accept) if max_distance is None else max_distance
    return queries.find_face(faces, wanted, limit)


def index(
    library,
    index_file=None,
    *,
    base="dlib",
    recursive: bool = False,
    min_face_confidence: float = MIN_FACE_CONFIDENCE,
    shard: tuple[int, int] | None = None,
    progress: bool = False,
) -> dict:
    """Describe every face of every photo of `library` (a folder, a photo, or a list of them)
    once, into the SQLite index `index_file` (default: library.sqlite in the working directory
    or $FACETRANSFER_HOME); run again, only new, edited, moved and removed photos cost anything.
    Returns the run's counts: {"photos", "new", "changed", "moved", "unchanged", "removed",
    "skipped", "faces"}. `shard=(k, n)`: only shard k of n (by content hash; see
    facetransfer.library.shards).

    >>> library = family / "library.sqlite"
    >>> counts = ft.index(family, library, recursive=True)
    >>> counts["photos"], counts["new"], counts["faces"]
    (1, 1, 1)
    >>> ft.index(family, library, recursive=True)["unchanged"]
    1
    >>> [Path(hit["path"]).name for hit in ft.find(None, index=library, person="grace", gallery=g)]
    ['1.jpg']
    >>> list(ft.identify(None, g, index=library).values())[0][0]["person"]
    'grace'
    """
    check_confidence(min_face_confidence)
    roots = library if isinstance(library, (list, tuple)) else [library]
    target = Path(index_file).expanduser() if index_file is not None else home() / "library.sqlite"
    model = str(base) if isinstance(base, (str, Path)) else base  # a name, a file, a FaceEmbedder
    summary = index_library(
        [Path(r) for r in roots],
        target,
        base=model,
        recursive=recursive,
        min_face_confidence=min_face_confidence,
        shard=shard,
        progress=progress,
    )
    return summary.as_dict()


def cluster(
    img=None,
    *,
    index=None,
    gallery=None,
    names: dict[int, str] | None = None,
    regroup: bool = False,
    base="dlib",
    target_false_accept: float = GROUP_FALSE_ACCEPT,
    max_distance: float | None = None,
    min_face_confidence: float = MIN_FACE_CONFIDENCE,
    recursive: bool = False,
) -> list[dict]:
    """The faces of photos grouped by person (as `facetransfer cluster`): one {"path", "face",
    "box", "cluster"} per face, -1 for a face in no group. Groups join faces within
    `max_distance` (default: the base's calibrated distance for `target_false_accept`).

    With `index` (from `ft.index`) instead of photos, no photo is read, and the grouping is kept
    in the index: the faces `gallery` does not name (all, without one) are grouped once, later
    calls place only faces indexed since, a group keeps its id, and `names` ({group: name})
    names groups, who keep their names as photos come (`regroup` groups everything again,
    carrying the names). Each face then has "name" too (None: an unnamed group).

    >>> [(Path(f["path"]).name, f["cluster"], f["name"]) for f in ft.cluster(index=library)]
    [('1.jpg', -1, None)]
    """
    check_limits(target_false_accept, max_distance)
    confidence = check_confidence(min_face_confidence)
    if index is not None:
        if img is not None:
            raise UsageError("cluster: give photos or an index, not both")
        grouping = groups.group_index(
            index,
            None if gallery is None else _gallery(gallery),
            target_false_accept=target_false_accept,
            max_distance=max_distance,
            min_face_confidence=confidence,
            regroup=regroup,
            names=names,
        )
        return grouping.records()
    if img is None:
        raise UsageError("cluster: give photos (a folder, paths) or an index")
    if names or regroup or gallery is not None:
        raise UsageError("cluster: names, regroup and gallery need an index (index=...)")
    photos = photos_in(img, recursive=recursive)
    model = embedder(base)
    return cluster_photos(
        photos, model, target_false_accept=target_false_accept, max_distance=max_distance,
        min_face_confidence=confidence, progress=False,
    ).records()  # fmt: skip


def make_report(index_file, out_dir, *, gallery=None, max_distance: float | None = None):
    """A static HTML page of a photo index (`out_dir/index.html`, as `facetransfer report`): the
    people `gallery` names, the groups of everyone else, the photos where nobody was found;
    returns its summary.

    >>> print(ft.make_report(library, family / "site", gallery=g))
    1 face in 1 photo: 1 person, 0 unnamed groups, 0 in no group; 0 photos with nobody found: ...
    """
    return index_report(index_file, out_dir, gallery=gallery, max_distance=max_distance)


def analyze(img, *, min_face_confidence: float = MIN_FACE_CONFIDENCE, recursive: bool = False):
    """CelebA's 40 attributes for every face (largest first): {"box", "attributes": {name:
    probability}, "present": [names decided yes]}, from a head on dlib's descriptor trained on
    CelebA's labels (BENCHMARKS.md, section 7, says how well). A folder gives {path: faces}.

    >>> face = ft.analyze(photo)[0]
    >>> len(face["attributes"]), "Male" in face["attributes"]
    (40, True)
    """
    head = load_attribute_head()
    faces = represent(
        img, base="dlib", min_face_confidence=min_face_confidence, recursive=recursive
    )

    def per_photo(found):
        if not found:
            return []
        probs = head.predict(np.stack([f["descriptor"] for f in found]))
        decided = head.decide(probs)
        return [
            {
                "box": f["box"],
                "attributes": {n: round(float(p), 4) for n, p in zip(head.names, row, strict=True)},
                "present": [n for n, yes in zip(head.names, said, strict=True) if yes],
            }
            for f, row, said in zip(found, probs, decided, strict=True)
        ]

    if isinstance(faces, dict):
        return {path: per_photo(found) for path, found in faces.items()}
    return per_photo(faces)
