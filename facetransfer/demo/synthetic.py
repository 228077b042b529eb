"""The embedded default data: drawn faces in CelebA's layout, so everything runs without CelebA.

:func:`make_celeba` writes a small dataset laid out exactly like the official CelebA download
(``img_align_celeba/000001.jpg`` ..., ``list_attr_celeba.txt``, ``list_eval_partition.txt``,
``identity_CelebA.txt``); :func:`make_fotos` writes a folder of one "person" and of strangers, laid
out like a user's ``fotos/``. Both are deterministic from a seed and need only Pillow and numpy.

The faces are cartoons, but they sit in CelebA's aligned geometry (eyes near (69, 111) and
(108, 111), nose tip near (88, 136), mouth corners near (71, 152) and (106, 152) in the 178x218
crop) and the attributes in :data:`DRAWN_ATTRIBUTES` are drawn so that the picture agrees with the
label: a model that learns them learns something visible. The remaining attributes (``Attractive``,
``High_Cheekbones``) cannot be drawn convincingly; they are random at CelebA's own rates, so a
model can do no better than the majority baseline on them, as it should.

Each identity (:class:`FaceIdentity`) keeps its skin, face shape, eyes, nose, hair, sex and habits
across photos; each photo varies pose, light, background, expression and accessories.

Rendering draws at twice the size on a canvas with a margin, turns and shifts it for the pose, and
halves it (a box filter), which smooths the edges at a fraction of the cost of anti-aliased drawing.
"""

from __future__ import annotations

import json
import os
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

from facetransfer.config import DRAWN_CELEBA_MARKER
from facetransfer.data.labels import ATTRIBUTE_NAMES
from facetransfer.demo.identities import (
    IMAGE_NAME,
    STREAM_ORDER,
    STREAM_OTHERS,
    STREAM_PERSON,
    STREAM_PHOTOS,
    make_identities,
    other_identities,
    person_identity,
    sample_attributes,
)
from facetransfer.demo.palette import JPEG_QUALITY
from facetransfer.demo.render import render_face

# Bump when the drawing changes, so a cached dataset made by an older version is redrawn.
GENERATOR_VERSION = 1
CELEBA_MARKER = DRAWN_CELEBA_MARKER
FOTOS_MARKER = "synthetic_fotos.json"


def _check_count(name: str, value: int, minimum: int) -> None:
    if not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")


def _read_marker(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _write_marker(path: Path, content: dict) -> None:
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(content, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(temporary, path)


def _split_sizes(n_identities: int) -> tuple[int, int, int]:
    """Train, validation and test identity counts: 80/10/10, at least one each."""
    n_val = max(1, round(n_identities * 0.1))
    n_test = max(1, round(n_identities * 0.1))
    return n_identities - n_val - n_test, n_val, n_test


def _attribute_file_text(names: list[str], labels: list[dict[str, bool]]) -> str:
    """list_attr_celeba.txt exactly as CelebA writes it: count, names (with a trailing space),
    rows of right-aligned -1/1 in two-character fields, CRLF line ends."""
    lines = [str(len(names)), " ".join(ATTRIBUTE_NAMES) + " "]
    for name, attrs in zip(names, labels, strict=True):
        lines.append(name + "".join(f" {1 if attrs[a] else -1:2d}" for a in ATTRIBUTE_NAMES))
    return "\r\n".join(lines) + "\r\n"


def _save_jpeg(image: Image.Image, path: Path) -> None:
    image.save(path, "JPEG", quality=JPEG_QUALITY)


def make_celeba(root, n_identities: int = 60, images_per_identity: int = 20, seed: int = 0) -> Path:
    """Write a CelebA-format dataset of drawn faces under ``root`` and return ``root``.

    Writes ``img_align_celeba/000001.jpg`` ... (178x218 JPEG, quality 90), the official-format
    ``list_attr_celeba.txt``, ``list_eval_partition.txt`` (identity-disjoint 80/10/10; training
    images numbered first, as in CelebA) and ``identity_CelebA.txt``. A marker file written last
    records the parameters; a call that finds a complete set made with the same ones returns at
    once. Refuses to write into an ``img_align_celeba`` that holds images it did not make.
    """
    _check_count("n_identities", n_identities, 3)
    _check_count("images_per_identity", images_per_identity, 1)
    if n_identities * images_per_identity > 999_999:
        raise ValueError("at most 999,999 images: CelebA's names have six digits")
    root = Path(root)
    images = root / "img_align_celeba"
    marker_path = root / CELEBA_MARKER
    params = {
        "generator": "facetransfer.demo.synthetic.make_celeba",
        "version": GENERATOR_VERSION,
        "n_identities": int(n_identities),
        "images_per_identity": int(images_per_identity),
        "seed": int(seed),
    }
    total = n_identities * images_per_identity
    if _celeba_is_complete(root, marker_path, params, total):
        return root
    _prepare_folder(root, images, marker_path)

    identities = make_identities(n_identities, seed)
    order_rng = np.random.default_rng([seed, STREAM_ORDER])
    n_train, n_val, _ = _split_sizes(n_identities)
    split_of = np.zeros(n_identities, dtype=int)
    shuffled = order_rng.permutation(n_identities)
    split_of[shuffled[n_train : n_train + n_val]] = 1
    split_of[shuffled[n_train + n_val :]] = 2
    # CelebA numbers training images first, then validation, then test; identities interleave.
    photos = []
    for split in (0, 1, 2):
        members = [
            (i, k) for i in np.flatnonzero(split_of == split) for k in range(images_per_identity)
        ]
        photos += [(members[j], split) for j in order_rng.permutation(len(members))]

    names, labels, partition_lines, identity_lines = [], [], [], []
    for number, ((person, k), split) in enumerate(photos, start=1):
        name = f"{number:06d}.jpg"
        identity = identities[person]
        rng = np.random.default_rng([seed, STREAM_PHOTOS, int(person), int(k)])
        attrs = sample_attributes(identity, rng)
        _save_jpeg(render_face(identity, attrs, rng), images / name)
        names.append(name)
        labels.append(attrs)
        partition_lines.append(f"{name} {split}")
        identity_lines.append(f"{name} {identity.identity_id}")

    _write_text(root / "list_attr_celeba.txt", _attribute_file_text(names, labels))
    _write_text(root / "list_eval_partition.txt", "\r\n".join(partition_lines) + "\r\n")
    _write_text(root / "identity_CelebA.txt", "\r\n".join(identity_lines) + "\r\n")
    _write_marker(marker_path, {**params, "n_images": total, "complete": True})
    return root


def _write_text(path: Path, text: str) -> None:
    path.write_bytes(text.encode("ascii"))  # bytes: CRLF stays CRLF on every platform


def _celeba_is_complete(root: Path, marker_path: Path, params: dict, total: int) -> bool:
    marker = _read_marker(marker_path)
    if not marker or not marker.get("complete") or {k: marker.get(k) for k in params} != params:
        return False
    labels = ("list_attr_celeba.txt", "list_eval_partition.txt", "identity_CelebA.txt")
    if not all((root / name).is_file() for name in labels):
        return False
    present = [n for n in os.listdir(root / "img_align_celeba") if IMAGE_NAME.match(n)]
    return len(present) == total


def _prepare_folder(root: Path, images: Path, marker_path: Path) -> None:
    """Make ``root`` ready for a fresh set: remove our old drawings, never someone's data.

    Without our marker, CelebA-named images or an attribute file mean the folder holds data
    that make_celeba did not write (real CelebA, perhaps): that is an error, not a cache.
    """
    numbered = [n for n in os.listdir(images) if IMAGE_NAME.match(n)] if images.is_dir() else []
    if _read_marker(marker_path) is None:
        labels = root / "list_attr_celeba.txt"
        if numbered or labels.exists():
            found = f"{len(numbered)} images in {images}" if numbered else str(labels)
            raise FileExistsError(
                f"{root} holds data that make_celeba did not write ({found}, and no "
                f"{marker_path.name}); refusing to overwrite it. Choose an empty folder."
            )
    for name in numbered:
        (images / name).unlink()
    images.mkdir(parents=True, exist_ok=True)
    # Written first (incomplete) so an interrupted run is recognised as ours next time.
    _write_marker(
        marker_path, {"generator": "facetransfer.demo.synthetic.make_celeba", "complete": False}
    )


def make_fotos(
    root, person: str = "paco", n_person: int = 40, n_others: int = 40, *, seed: int = 0
) -> Path:
    """Write ``root/<person>/`` (photos of one drawn person) and ``root/others/``; return ``root``.

    The person is :func:`person_identity`, never one of :func:`make_celeba`'s identities; the
    others are further never-seen people, two photos each. Photos vary pose, light, expression,
    accessories and background, in CelebA's 178x218 crop geometry. Skips the work when a marker
    from an identical earlier call is there.
    """
    _check_count("n_person", n_person, 1)
    _check_count("n_others", n_others, 0)
    if not person or person in (".", "..", "others") or any(c in person for c in "/\\"):
        raise ValueError(f"person must be a plain folder name other than 'others', got {person!r}")
    root = Path(root)
    marker_path = root / FOTOS_MARKER
    params = {
        "generator": "facetransfer.demo.synthetic.make_fotos",
        "version": GENERATOR_VERSION,
        "person": person,
        "n_person": int(n_person),
        "n_others": int(n_others),
        "seed": int(seed),
    }
    marker = _read_marker(marker_path)
    person_dir, others_dir = root / person, root / "others"
    if marker and marker.get("complete") and {k: marker.get(k) for k in params} == params:
        if (
            len(list(person_dir.glob("*.jpg"))) >= n_person
            and len(list(others_dir.glob("*.jpg"))) >= n_others
        ):
            return root
    person_dir.mkdir(parents=True, exist_ok=True)
    others_dir.mkdir(parents=True, exist_ok=True)

    identity = person_identity(person, seed)
    key = zlib.crc32(person.encode("utf-8"))
    for k in range(n_person):
        rng = np.random.default_rng([seed, STREAM_PERSON, key, k])
        image = render_face(identity, sample_attributes(identity, rng), rng)
        _save_jpeg(image, person_dir / f"{person}_{k + 1:03d}.jpg")
    strangers = other_identities((n_others + 1) // 2, seed)
    for k in range(n_others):
        stranger = strangers[k // 2]
        rng = np.random.default_rng([seed, STREAM_OTHERS, k])
        image = render_face(stranger, sample_attributes(stranger, rng), rng)
        _save_jpeg(image, others_dir / f"other_{k + 1:03d}.jpg")
    _write_marker(marker_path, {**params, "complete": True})
    return root
