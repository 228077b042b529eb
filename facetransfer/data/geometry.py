"""Crop geometries: the crop a base was trained on, as a size and the five places a face's
landmarks fall in it (CelebA's 178x218 aligned crop, dlib's 150x150 face chip), and the
similarity transform that puts a face's landmarks there."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from facetransfer.config import CELEBA_CROP_SIZE

# Five landmarks (x, y) in CelebA's 178x218 aligned crop, pixel centres at integer coordinates:
# left eye, right eye, nose, mouth left, mouth right ("left" = smaller x, as MTCNN names them).
# Measured, not copied: the median of this module's detect_faces (MTCNN 1.0.0, float landmarks)
# over the first 300 full-size (178x218) rows of kind aligned_full in
# /work/shared/data/manifest.csv (celeba/img_align_celeba); 297 had a face at confidence >= 0.9.
# Median absolute deviation per point, x/y: eyes 1.1/0.7, nose 4.2/2.8, mouth 2.1/1.1 px. The
# usual guess (69,111),(108,111),(88,136),(71,152),(106,152) is within 0.7 px of it.
CELEBA_LANDMARKS = np.array(
    [
        [69.4, 111.5],  # left eye
        [107.7, 111.3],  # right eye
        [88.3, 135.6],  # nose
        [71.3, 152.2],  # mouth left
        [105.4, 152.1],  # mouth right
    ],
    dtype=np.float64,
)

# Where MTCNN's five landmarks fall in dlib's 150x150 face chips (get_face_chip, padding 0.25).
# Measured, not copied: `benchmarks/dlib_chips.py --stage template --limit 800` ran dlib itself
# (dlib-bin 20.0.1: HOG detector, 5-point predictor, get_face_chip) on the first 800 wild photos
# of the CelebA sample, then this package's detect_faces on each chip; the median over the 741
# chips where both found a face (AMD EPYC, 2 cores). Median absolute deviation per point, x/y:
# eyes 1.0/0.9, nose 3.0/2.4, mouth 3.3/3.8 px (dlib's 5 points have no mouth: it varies more).
DLIB_CHIP_LANDMARKS = np.array(
    [
        [46.80, 44.31],  # left eye
        [100.26, 44.30],  # right eye
        [73.39, 78.16],  # nose
        [49.82, 100.55],  # mouth left
        [97.16, 100.28],  # mouth right
    ],
    dtype=np.float64,
)


def similarity_transform(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """The 2x3 matrix [sR | t] that best maps `src` points onto `dst` (least squares).

    Umeyama's method (1991): rotation, uniform scale and translation, reflections excluded so a
    face is never mirrored.
    """
    src = np.asarray(src, dtype=np.float64)
    dst = np.asarray(dst, dtype=np.float64)
    if src.shape != dst.shape or src.ndim != 2 or src.shape[1] != 2 or len(src) < 2:
        raise ValueError(f"need two (N, 2) point arrays with N >= 2, got {src.shape}, {dst.shape}")
    src_mean, dst_mean = src.mean(axis=0), dst.mean(axis=0)
    src_centred, dst_centred = src - src_mean, dst - dst_mean
    src_variance = (src_centred**2).sum() / len(src)
    if src_variance < 1e-12:
        raise ValueError("source points all coincide: no transform fits them")
    covariance = dst_centred.T @ src_centred / len(src)
    u, singular, vt = np.linalg.svd(covariance)
    no_reflection = np.diag([1.0, np.sign(np.linalg.det(u) * np.linalg.det(vt)) or 1.0])
    rotation = u @ no_reflection @ vt
    scale = np.trace(np.diag(singular) @ no_reflection) / src_variance
    translation = dst_mean - scale * rotation @ src_mean
    return np.hstack([scale * rotation, translation[:, None]])


@dataclass(frozen=True)
class Geometry:
    """The crop a base was trained on: its size and where a face's five landmarks fall in it."""

    name: str
    size: tuple[int, int]  # (width, height)
    landmarks: np.ndarray  # (5, 2), MTCNN's order, pixel centres at integer coordinates
    fill: str  # beyond the photo's border: "edge" (repeat its pixels) or "black"

    def landmarks_at(self, size: tuple[int, int] | None = None) -> np.ndarray:
        """The landmarks for a crop of `size` = (width, height), scaled per axis."""
        if size is None or tuple(size) == tuple(self.size):
            return self.landmarks
        factors = np.array([size[0] / self.size[0], size[1] / self.size[1]])
        return (self.landmarks + 0.5) * factors - 0.5


GEOMETRIES = {
    # CelebA's aligned crops; beyond the photo they repeat its edge pixels, as CelebA's do.
    "celeba": Geometry("celeba", CELEBA_CROP_SIZE, CELEBA_LANDMARKS, "edge"),
    # dlib's 150x150 face chips (get_face_chip, padding 0.25); black beyond the photo, as dlib's.
    "dlib_chip": Geometry("dlib_chip", (150, 150), DLIB_CHIP_LANDMARKS, "black"),
}


def resolve_geometry(geometry: str | Geometry) -> Geometry:
    if isinstance(geometry, Geometry):
        return geometry
    if geometry not in GEOMETRIES:
        raise ValueError(f"unknown crop geometry {geometry!r}: expected one of {list(GEOMETRIES)}")
    return GEOMETRIES[geometry]
