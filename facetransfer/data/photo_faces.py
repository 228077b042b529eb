"""Every face of one photo, detected and aligned at the cost the photo's size requires: the one
way a photo becomes faces, for the people commands on photos and for the library index alike
(so a face described from an index is the face described from its photo, to the last digit).

A JPEG is decoded by libjpeg at the smallest 1/2, 1/4 or 1/8 scale whose longer side stays at
least DECODE_LONG_SIDE (a 4032x3024 phone photo at 1/4, 1008x756: 30 ms against 260 ms at full
size), and detection runs on that (data.faces bounds it to MAX_DETECT_SIDE). Each face is then cut
from the coarsest decode in which it is at least CROP_FACE_SIDE pixels across (read again at a
finer scale only for a photo holding such a face), so a face is never upsampled from fewer pixels
than the photo has. Boxes and landmarks are given in the photo's full-size pixels.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from facetransfer.data.align import align_face
from facetransfer.data.faces import MAX_DETECT_SIDE, Face, detect_faces
from facetransfer.data.images import (
    MIN_SIDE,
    ImageReadError,
    ScaledPhoto,
    check_rgb_image,
    read_rgb,
    read_scaled,
)

# Decoded at least this long on the longer side: detection then shrinks it to MAX_DETECT_SIDE
# (never enlarges it), the size BENCHMARKS.md section 8 measures the small faces found at.
DECODE_LONG_SIDE = round(MAX_DETECT_SIDE * 0.9)
# A face narrower than this in the decode (MTCNN's box) is cut from a finer one: dlib's 150-px
# chip holds a face about 100 px across, and a face described from fewer pixels moves its
# descriptor (0.04 at 100 px, 0.12 at 64 px, against 0.64 between different people at 1% false
# accepts: BENCHMARKS.md section 8).
CROP_FACE_SIDE = 100
JPEG_SCALES = (1, 2, 4, 8)


@dataclass
class PhotoFaces:
    """The faces of one photo, largest first: each Face in full-size pixels and its aligned crop;
    the photo's upright full size (width, height) and EXIF time taken."""

    faces: list[Face]
    crops: list[np.ndarray]
    full_size: tuple[int, int]
    taken: str | None = None
    decodes: list[int] = field(default_factory=list)  # JPEG scales read again (0: none)


def read_photo(photo) -> np.ndarray:
    """A photo as an RGB uint8 array: a path is read (EXIF rotation applied); an array (a video
    frame, a webcam's: RGB, so an OpenCV frame needs cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)) is
    used as it is, a greyscale or RGBA one made RGB. Raises ImageReadError for a bad one."""
    if isinstance(photo, np.ndarray):
        image = photo
        if image.ndim == 2:
            image = np.repeat(image[:, :, None], 3, axis=2)
        elif image.ndim == 3 and image.shape[2] == 4:
            image = image[:, :, :3]
        try:
            check_rgb_image(image)
            if min(image.shape[:2]) < MIN_SIDE:
                raise ValueError(f"{image.shape[1]}x{image.shape[0]} pixels: too small for a face")
        except ValueError as error:
            raise ImageReadError("<array>", str(error), "not_image") from error
        return np.ascontiguousarray(image)
    return read_rgb(photo)


def decode(path, data: bytes | None = None) -> ScaledPhoto:
    """A photo decoded at the scale detection needs (ImageReadError for a bad one)."""
    return read_scaled(path, data, long_side=DECODE_LONG_SIDE)


def detect(photo, min_confidence: float) -> list[Face]:
    """The faces of a photo (a path, decoded as `decode` does, or an RGB array), largest first,
    in its full-size pixels: what `photo_faces` finds, without aligning them."""
    if not isinstance(photo, ScaledPhoto):
        photo = whole(photo) if isinstance(photo, np.ndarray) else decode(photo)
    found = detect_faces(photo.pixels, min_confidence=min_confidence)
    return [_full_size(face, photo.ratio) for face in found]


def whole(image: np.ndarray) -> ScaledPhoto:
    """An RGB array as a photo at full size."""
    return ScaledPhoto(image, (image.shape[1], image.shape[0]), None)


def photo_faces(
    photo: ScaledPhoto,
    *,
    geometry: str,
    min_confidence: float,
    path=None,
    data: bytes | None = None,
) -> PhotoFaces:
    """Detect and align every face of a decoded photo. A face too small in `photo` for its
    crop is cut from a finer decode of `path` (its bytes `data`, when already read)."""
    found = detect_faces(photo.pixels, min_confidence=min_confidence)
    return cut_faces(photo, found, geometry=geometry, path=path, data=data)


def cut_faces(
    photo: ScaledPhoto, found: list[Face], *, geometry: str, path=None, data: bytes | None = None
) -> PhotoFaces:
    """The faces `detect_faces` found in `photo.pixels`, aligned (the second half of
    `photo_faces`: no network runs here, so the index does it on another thread while the
    next photo is detected)."""
    ratio = photo.ratio
    sources = {0: photo}  # by JPEG scale; 0: the decode detection ran on
    faces, crops = [], []
    for face in found:
        scale = _finer_scale(face.box[2], ratio) if path is not None else 0
        if scale not in sources:
            sources[scale] = read_scaled(Path(path), data, scale=scale)
        source = sources[scale]
        landmarks = np.asarray(face.landmarks, np.float64)
        if source is not photo:  # pixel centres at i + 0.5
            landmarks = (landmarks + 0.5) * (source.ratio / ratio) - 0.5
        crops.append(align_face(source.pixels, landmarks, geometry=geometry))
        faces.append(_full_size(face, ratio))
    return PhotoFaces(faces, crops, photo.full_size, photo.taken, sorted(sources))


def _finer_scale(face_width: float, ratio: float) -> int:
    """0 when a face `face_width` decoded pixels wide at `ratio` is CROP_FACE_SIDE across there
    (or the photo is at full size); else the JPEG scale (1, 2, 4 or 8) of the coarsest decode in
    which it is, or 1 (full size)."""
    if face_width >= CROP_FACE_SIDE or ratio >= 1.0:
        return 0
    wanted = CROP_FACE_SIDE * ratio / face_width  # decoded pixels per full-size pixel
    return max(s for s in JPEG_SCALES if 1 / s >= min(1.0, wanted))


def _full_size(face: Face, ratio: float) -> Face:
    if ratio == 1.0:
        return face
    landmarks = (np.asarray(face.landmarks, np.float64) + 0.5) / ratio - 0.5  # centres at i + 0.5
    box = tuple(round(v / ratio) for v in face.box)
    return Face(box=box, confidence=face.confidence, landmarks=landmarks)
