"""Alignment: a photo warped so that its five landmarks fall where a base's crop geometry puts them
(data.geometry: CelebA's 178x218 crop, dlib's 150x150 chip), and one photo file aligned into a
crop file (align_file), which the photo intake (data.intake.align_photos) caches by content."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
from PIL import Image

from facetransfer.config import MIN_FACE_CONFIDENCE
from facetransfer.data.faces import AlignResult, Face, detect_faces
from facetransfer.data.geometry import (
    Geometry,
    resolve_geometry,
    similarity_transform,
)
from facetransfer.data.images import ImageReadError, check_rgb_image, read_rgb, resize

log = logging.getLogger(__name__)


def align_face(
    image: np.ndarray,
    landmarks: np.ndarray,
    size: tuple[int, int] | None = None,
    *,
    geometry: str | Geometry = "celeba",
) -> np.ndarray:
    """Warp `image` so its five `landmarks` land where `geometry` puts them (CelebA's crop by
    default); an RGB uint8 (height, width, 3), `size` = (width, height) or the geometry's own.

    Beyond the photo's border the geometry's fill is used (edge pixels repeated for CelebA's
    crops, black for dlib's chips), and a face larger than the crop's is first shrunk with PIL's
    antialiasing resize so the bilinear warp does not alias.
    """
    check_rgb_image(image)
    geometry = resolve_geometry(geometry)
    size = tuple(size) if size is not None else geometry.size
    landmarks = np.asarray(landmarks, dtype=np.float64).reshape(5, 2)
    out_width, out_height = size
    # Work in continuous coordinates (pixel i spans [i, i+1)), PIL's convention for warps.
    target = geometry.landmarks_at(size)
    to_crop = _as_3x3(similarity_transform(landmarks + 0.5, target + 0.5))
    scale = float(np.sqrt(abs(np.linalg.det(to_crop[:2, :2]))))

    source, to_source = image, np.eye(3)
    if scale < 1.0:  # the face is bigger than the crop: shrink first, then warp at ~1:1
        height, width = image.shape[:2]
        small_size = (max(1, round(width * scale)), max(1, round(height * scale)))
        source = resize(image, small_size)
        to_source = np.diag([small_size[0] / width, small_size[1] / height, 1.0])
    to_crop = to_crop @ np.linalg.inv(to_source)  # from the (possibly shrunk) source

    patch, offset = _padded_patch(
        source, np.linalg.inv(to_crop), out_width, out_height, black=geometry.fill == "black"
    )
    patch_to_crop = to_crop @ np.array([[1, 0, offset[0]], [0, 1, offset[1]], [0, 0, 1]])
    crop_to_patch = np.linalg.inv(patch_to_crop)
    warped = Image.fromarray(patch).transform(
        (out_width, out_height),
        Image.Transform.AFFINE,
        data=tuple(crop_to_patch[:2].ravel()),
        resample=Image.Resampling.BILINEAR,
    )
    return np.asarray(warped, dtype=np.uint8)


def recut_aligned(image: np.ndarray, geometry: str | Geometry) -> np.ndarray:
    """An image already aligned to CelebA's crop (any size: the sample has half-size copies), cut
    again to another geometry (dlib's chip) from CelebA's landmark template: what training a base
    of that geometry, or its teacher, sees of a CelebA image."""
    height, width = image.shape[:2]
    landmarks = resolve_geometry("celeba").landmarks_at((width, height))
    return align_face(image, landmarks, geometry=geometry)


def _as_3x3(matrix: np.ndarray) -> np.ndarray:
    return np.vstack([matrix, [0.0, 0.0, 1.0]])


def _padded_patch(
    image: np.ndarray, crop_to_source: np.ndarray, out_width: int, out_height: int, black: bool
) -> tuple[np.ndarray, tuple[int, int]]:
    """The part of `image` the crop needs, with edge pixels repeated (or black, when `black`)
    wherever it leaves the photo.

    Returns the patch and the (x, y) of its top-left corner in image coordinates.
    """
    corners = np.array(
        [[0, 0, 1], [out_width, 0, 1], [0, out_height, 1], [out_width, out_height, 1]]
    )
    mapped = (crop_to_source @ corners.T)[:2]
    x0, y0 = np.floor(mapped.min(axis=1)).astype(int) - 2
    x1, y1 = np.ceil(mapped.max(axis=1)).astype(int) + 2
    height, width = image.shape[:2]
    rows, cols = np.arange(y0, y1), np.arange(x0, x1)
    patch = image[np.clip(rows, 0, height - 1)][:, np.clip(cols, 0, width - 1)]
    if black:
        outside = ((rows < 0) | (rows >= height))[:, None] | ((cols < 0) | (cols >= width))[None]
        patch = np.where(outside[..., None], np.uint8(0), patch)
    return np.ascontiguousarray(patch), (int(x0), int(y0))


def align_image(
    image: np.ndarray,
    geometry: str | Geometry = "celeba",
    min_confidence: float = MIN_FACE_CONFIDENCE,
) -> tuple[np.ndarray | None, list[Face]]:
    """Detect faces and align the largest: (crop or None, all faces found, largest first)."""
    faces = detect_faces(image, min_confidence=min_confidence)
    if not faces:
        return None, faces
    return align_face(image, faces[0].landmarks, geometry=geometry), faces


# --- one photo file into one crop file (data.intake caches the crops by content) ------------


def align_file(
    source: str | os.PathLike,
    crop_path: str | os.PathLike,
    geometry: str | Geometry = "celeba",
    min_confidence: float = MIN_FACE_CONFIDENCE,
) -> AlignResult:
    """Read one photo, align its largest face and write the crop as PNG; never raises for a bad
    photo (the result says what went wrong)."""
    source, crop_path = Path(source), Path(crop_path)
    try:
        image = read_rgb(source)
        crop, faces = align_image(image, geometry, min_confidence)
    except ImageReadError as error:
        return AlignResult(source, "error", 0, None, error.reason, error.kind)
    except Exception as error:  # one odd photo must not stop a folder of hundreds
        log.exception("%s: face detection failed", source)
        reason = f"{type(error).__name__}: {error}"
        return AlignResult(source, "error", 0, None, reason, "detection_failed")
    if crop is None:
        reason = f"no face with confidence >= {min_confidence}"
        return AlignResult(source, "no_face", 0, None, reason, "no_face")
    _write_png_atomically(crop, crop_path)
    if len(faces) > 1:
        reason = f"{len(faces)} faces; used the largest"
        log.warning("%s: %s", source, reason)  # it may be someone else: worth a look
        return AlignResult(source, "ok", len(faces), crop_path, reason, "several_faces")
    return AlignResult(source, "ok", len(faces), crop_path, "")


def _write_png_atomically(image: np.ndarray, path: Path) -> None:
    temporary = path.with_name(path.name + ".tmp")
    Image.fromarray(image).save(temporary, format="PNG")
    os.replace(temporary, path)
