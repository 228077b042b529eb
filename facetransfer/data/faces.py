"""Face detection: MTCNN's boxes, confidences and five landmarks for every face in a photo.

Alignment (`data.align`) then turns each face into a CelebA-like 178x218 crop:

CelebA's aligned images put the eyes, nose and mouth corners at nearly fixed places. A model
trained on them expects the same geometry, so a user's photo is aligned the same way: MTCNN finds
the five landmarks, a similarity transform (rotation, uniform scale, shift; no shear, no mirror)
maps them onto CelebA's mean landmarks, and the photo is warped through it.

MTCNN (package `mtcnn` 1.0.0) runs on TensorFlow and takes RGB pixels in 0..255 (it decodes files
with tf.image.decode_image, which yields RGB); it has a `device` option ("CPU:0", "GPU:0") and no
thread option of its own: TensorFlow's thread pools apply.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facetransfer.data.images import check_rgb_image, resize

log = logging.getLogger(__name__)

DETECTOR_DEVICE = "CPU:0"  # small networks: the CPU is quick enough and leaves the GPU to training
MIN_DETECT_SIDE = 160  # smaller images are upscaled: MTCNN misses faces under ~20 px
# Larger images are shrunk for detection only (speed); the warp still uses every pixel. At 640 a
# 12-megapixel photo's faces are found down to about 90 px across (95% of them, in a group photo
# of wild faces; 50 px at 1024, for twice the time): BENCHMARKS.md section 8.
MAX_DETECT_SIDE = 640
# The second try, on the photo in a black frame, is for a face that fills the photo or is cut by
# its edge: a large face, found as well at this size, for a quarter of the time on a phone photo.
RETRY_SIDE = 320

LANDMARK_NAMES = ("left_eye", "right_eye", "nose", "mouth_left", "mouth_right")  # MTCNN's order

_detector = None
_detector_lock = threading.Lock()


@dataclass
class Face:
    """One detected face: box (x, y, w, h) in pixels, MTCNN's confidence, landmarks (5, 2)."""

    box: tuple[int, int, int, int]
    confidence: float
    landmarks: np.ndarray

    @property
    def area(self) -> int:
        return self.box[2] * self.box[3]

    def record(self) -> dict:
        """As `detect` answers: box, confidence (4 digits), landmarks by name (0.1 px)."""
        return {
            "box": [int(v) for v in self.box],
            "confidence": round(float(self.confidence), 4),
            "landmarks": {
                name: [round(float(c), 1) for c in point]
                for name, point in zip(LANDMARK_NAMES, self.landmarks, strict=True)
            },
        }


@dataclass
class AlignResult:
    """What happened to one photo: status "ok", "no_face" or "error".

    `problem` names it in one word for summaries: "" (fine), "several_faces" (used: the largest),
    "no_face", "detection_failed" or an ImageReadError kind ("empty", "truncated", ...).
    """

    path: Path
    status: str
    n_faces: int
    crop: Path | None
    reason: str
    problem: str = ""


def get_detector():
    """The shared MTCNN instance, made on first use (loading TensorFlow takes seconds)."""
    global _detector
    with _detector_lock:
        if _detector is None:
            # loads TensorFlow and its weights: only once a photo needs detecting
            import tensorflow as tf  # noqa: PLC0415
            from mtcnn import MTCNN  # noqa: PLC0415

            _detector = MTCNN(device=DETECTOR_DEVICE)
            # mtcnn calls each stage's network eagerly, once per pyramid scale: Keras then runs
            # it layer by layer from Python. As graphs (traced once per input shape, then for
            # any) the same boxes and landmarks come out, bit for bit, several times faster
            # (`benchmarks/speed.py --faces-only` times both; BENCHMARKS.md, section 3).
            for stage in _detector.stages:
                stage._model = tf.function(stage._model, reduce_retracing=True)
    return _detector


def detect_faces(image: np.ndarray, min_confidence: float = 0.9) -> list[Face]:
    """Faces in an RGB uint8 image, largest first, with MTCNN's five landmarks.

    Small images are upscaled and large ones shrunk before detection; boxes and landmarks are
    given in the original image's pixels either way. When nothing is found, detection is tried
    once more on the image framed by a black margin: MTCNN often misses faces that fill the frame
    or are cut by its edge (on CelebA's wild photos this rescued 9 of 36 misses).
    """
    check_rgb_image(image)
    height, width = image.shape[:2]
    scale = _detection_scale(width, height)
    work = image
    if scale != 1.0:
        work = resize(image, (max(1, round(width * scale)), max(1, round(height * scale))))
    sx, sy = work.shape[1] / width, work.shape[0] / height
    rows = _confident(_run_mtcnn(work), min_confidence)
    if len(rows) == 0:
        rows = _framed_retry(work, min_confidence)
    faces = [_face_from_row(row, sx, sy, width, height) for row in rows]
    return sorted(faces, key=lambda face: face.area, reverse=True)


def _framed_retry(work: np.ndarray, min_confidence: float) -> np.ndarray:
    """Detection on the image (at most RETRY_SIDE long, never under MIN_DETECT_SIDE short) in a
    black frame a quarter of its longer side wide; rows in `work`'s pixels."""
    height, width = work.shape[:2]
    shrink = min(1.0, max(RETRY_SIDE / max(width, height), MIN_DETECT_SIDE / min(width, height)))
    small = work
    if shrink < 1.0:
        small = resize(work, (max(1, round(width * shrink)), max(1, round(height * shrink))))
    margin = max(small.shape[:2]) // 4
    framed = np.pad(small, ((margin, margin), (margin, margin), (0, 0)))
    rows = _confident(_run_mtcnn(framed), min_confidence)
    rows[:, 1:5] -= margin
    rows[:, 6:16] -= margin
    if shrink < 1.0:  # back to `work`'s pixels (centres at i + 0.5)
        xs, ys = [1, 3, *range(6, 11)], [2, 4, *range(11, 16)]
        rows[:, xs] = (rows[:, xs] + 0.5) * (width / small.shape[1]) - 0.5
        rows[:, ys] = (rows[:, ys] + 0.5) * (height / small.shape[0]) - 0.5
    return rows


def _run_mtcnn(image: np.ndarray) -> np.ndarray:
    """MTCNN's rows [image, x1, y1, x2, y2, confidence, 5 x's, 5 y's], float landmarks."""
    rows = get_detector().detect_faces(
        image.astype(np.float32), box_format="xyxy", output_type="numpy"
    )
    return np.array(rows, dtype=np.float64).reshape(-1, 16)


def _confident(rows: np.ndarray, min_confidence: float) -> np.ndarray:
    return rows[rows[:, 5] >= min_confidence]


def _detection_scale(width: int, height: int) -> float:
    if min(width, height) < MIN_DETECT_SIDE:
        return MIN_DETECT_SIDE / min(width, height)
    if max(width, height) > MAX_DETECT_SIDE:
        return MAX_DETECT_SIDE / max(width, height)
    return 1.0


def _face_from_row(row: np.ndarray, sx: float, sy: float, width: int, height: int) -> Face:
    """One MTCNN numpy row [image, x1, y1, x2, y2, conf, 5 x's, 5 y's] in original pixels."""

    def back(values: np.ndarray, factor: float) -> np.ndarray:
        # Pixel centres sit at i + 0.5 in PIL's resize, so undo the scale about those.
        return (np.asarray(values, dtype=np.float64) + 0.5) / factor - 0.5

    x1, x2 = back(row[[1, 3]], sx)
    y1, y2 = back(row[[2, 4]], sy)
    x1, y1 = max(0, int(round(x1))), max(0, int(round(y1)))
    x2, y2 = min(width - 1, int(round(x2))), min(height - 1, int(round(y2)))
    landmarks = np.stack([back(row[6:11], sx), back(row[11:16], sy)], axis=1)
    return Face(
        box=(x1, y1, max(0, x2 - x1), max(0, y2 - y1)),
        confidence=float(row[5]),
        landmarks=landmarks,
    )
