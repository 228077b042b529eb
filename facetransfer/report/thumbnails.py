"""Face and photo thumbnails for the HTML report: each photo read once, at the smallest scale its
thumbnails need (a big JPEG decoded at 1/2 to 1/8 by libjpeg), faces cut from boxes given in the
upright full-size photo's pixels, saved as small JPEGs under names keyed by the photo's path, size
and time (a photo unchanged since the last report is not read again), each written to a
temporary name and renamed."""

from __future__ import annotations

import hashlib
import math
import os
import re
from collections.abc import Mapping
from pathlib import Path

from PIL import Image

from facetransfer.data.images import ImageReadError, read_rgb
from facetransfer.progress import progress_bar

FACE_SIDE = 128  # a face thumbnail's longest side at most, in pixels (shown at 96 px high)
PHOTO_SIDE = 192  # a whole-photo thumbnail's longest side at most (photos with nobody found)
FACE_MARGIN = 0.25  # of the box's larger side, around the face
JPEG_QUALITY = 85
_VERSION = "1"  # part of each thumbnail's key: a change of how they are cut makes new ones
_THUMB_NAME = re.compile(r"^[0-9a-f]{20}\.jpg$")


def _upright_size(path: Path) -> tuple[int, int] | None:
    """The photo's (width, height) once turned upright by its EXIF orientation, from its header;
    None where the header cannot be read (read_rgb then says why)."""
    try:
        with Image.open(path) as image:
            width, height = image.size
            orientation = image.getexif().get(0x0112, 1)
    except Exception:  # any fault here is read_rgb's to report, with its reason
        return None
    return (height, width) if orientation in (5, 6, 7, 8) else (width, height)


def _crop_box(box, shape, scale: float) -> tuple[int, int, int, int]:
    """A square around the face with FACE_MARGIN on each side, in the decoded image's pixels,
    clipped to it: (left, top, right, bottom), empty (right <= left) for a box outside it."""
    x, y, w, h = (v * scale for v in box)
    side = max(w, h) * (1 + 2 * FACE_MARGIN)
    cx, cy = x + w / 2, y + h / 2
    left, top = max(0, int(cx - side / 2)), max(0, int(cy - side / 2))
    right = min(shape[1], int(math.ceil(cx + side / 2)))
    bottom = min(shape[0], int(math.ceil(cy + side / 2)))
    return left, top, right, bottom


def _read_for(path: Path, boxes, whole: bool):
    """The photo decoded no larger than its thumbnails need (a big JPEG at 1/2 to 1/8 scale),
    and the factor from full-size pixels (the boxes') to the decoded ones."""
    size = _upright_size(path)
    draft = None
    if size:
        short = min(size)
        need = short * PHOTO_SIDE / max(size) if whole else 0.0
        for box in boxes:  # the smallest face must still fill its thumbnail
            crop = max(box[2], box[3]) * (1 + 2 * FACE_MARGIN)
            need = max(need, short * FACE_SIDE / max(crop, 1.0))
        draft = min(short, int(math.ceil(need)))
    image = read_rgb(path, draft_min_side=draft)
    scale = image.shape[1] / size[0] if size else 1.0
    return image, scale


def _save_jpeg(pixels, target: Path, side: int) -> tuple[int, int]:
    thumb = Image.fromarray(pixels)
    thumb.thumbnail((side, side), Image.Resampling.LANCZOS)
    partial = target.with_name(f".{target.name}.partial")
    thumb.save(partial, format="JPEG", quality=JPEG_QUALITY)
    os.replace(partial, target)
    return thumb.size


def _key(path: Path, stat: os.stat_result, what) -> str:
    text = f"{_VERSION}|{path}|{stat.st_size}|{stat.st_mtime_ns}|{what}|{FACE_SIDE}|{PHOTO_SIDE}"
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:20]


def _thumb_size(target: Path) -> tuple[int, int] | None:
    try:
        with Image.open(target) as image:
            return image.size
    except Exception:  # a damaged thumbnail from an earlier run: made again
        return None


def make_thumbnails(wanted: Mapping[Path, set], thumbs: Path, *, progress: bool = True):
    """Thumbnails in the folder `thumbs` for {photo (absolute): {box (x, y, w, h) of a face, or
    None for the whole photo}}. Returns {(photo, box): (file name, (w, h))} ((None, reason) for
    a box outside its photo), {photo: reason} for the photos that could not be read, and how
    many thumbnails were made (not found already made)."""
    made, failed, count = {}, {}, 0
    for photo in progress_bar(sorted(wanted), desc="thumbnails", enabled=progress, unit="photo"):
        boxes = sorted(wanted[photo], key=lambda b: (b is not None, b or ()))
        try:
            stat = photo.stat()
        except OSError as error:
            failed[photo] = "file not found" if isinstance(error, FileNotFoundError) else str(error)
            continue
        names = {box: _key(photo, stat, box) + ".jpg" for box in boxes}
        sizes = {box: _thumb_size(thumbs / name) for box, name in names.items()}
        todo = [box for box in boxes if sizes[box] is None]
        if todo:
            try:
                image, scale = _read_for(
                    photo, [b for b in todo if b is not None], whole=None in todo
                )
            except ImageReadError as error:
                failed[photo] = error.reason
                continue
            for box in todo:
                if box is None:
                    sizes[box] = _save_jpeg(image, thumbs / names[box], PHOTO_SIDE)
                else:
                    left, top, right, bottom = _crop_box(box, image.shape, scale)
                    if right - left < 2 or bottom - top < 2:  # the photo changed since?
                        names[box], sizes[box] = None, "face box outside the photo"
                        continue
                    pixels = image[top:bottom, left:right]
                    sizes[box] = _save_jpeg(pixels, thumbs / names[box], FACE_SIDE)
                count += 1
        for box in boxes:
            made[(photo, box)] = (names[box], sizes[box])
    return made, failed, count


def remove_unused(thumbs: Path, used: set[str]) -> None:
    """Thumbnails of earlier pages that this one no longer shows, and leftovers of a killed run
    (only files named as `make_thumbnails` names them)."""
    for path in thumbs.iterdir():
        name = path.name
        stale = _THUMB_NAME.match(name) and name not in used
        leftover = name.startswith(".") and name.endswith(".jpg.partial")
        if (stale or leftover) and path.is_file():
            path.unlink(missing_ok=True)
