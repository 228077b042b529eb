"""Reading images safely: any phone photo in, an upright RGB uint8 array out.

Photos from phones and folders of downloads are messy: EXIF orientation instead of rotated pixels,
HEIC files, transparent PNGs, 16-bit scans, CMYK JPEGs, huge panoramas, half-copied files and
Finder/Explorer litter (.DS_Store, Thumbs.db). One bad file is an `ImageReadError` naming it and its
fault, so a caller reading a folder skips it and says at the end what it skipped (`SkipSummary`).

Huge images are never decoded at full size: a JPEG is decoded at 1/2, 1/4 or 1/8 scale (by
libjpeg) to fit `max_pixels`; any other format over the limit is refused from its header.
"""

from __future__ import annotations

import io
import logging
import math
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, JpegImagePlugin, UnidentifiedImageError

from facetransfer.data.photo_files import (  # re-exported: one place to import photos from
    IGNORED_NAMES,
    IMAGE_SUFFIXES,
    SKIP_KINDS,
    ImageReadError,
    SkipSummary,
    ignored_entries,
    list_images,
)

__all__ = [
    "IGNORED_NAMES",
    "IMAGE_SUFFIXES",
    "SKIP_KINDS",
    "ImageReadError",
    "SkipSummary",
    "ignored_entries",
    "list_images",
    "read_rgb",
    "read_scaled",
    "read_images",
    "resize",
    "check_rgb_image",
    "ScaledPhoto",
]

log = logging.getLogger(__name__)

MIN_SIDE = 16  # smaller than this cannot hold a face worth detecting
MAX_PIXELS = 50_000_000  # decoded size limit: 150 MB as RGB; a 50 Mpx phone photo still fits
JPEG_SCALES = (1, 2, 4, 8)  # the reductions libjpeg can apply while decoding

_HEIF_SUFFIXES = {".heic", ".heif", ".avif"}
_FULL_SIZE = "facetransfer_full_size"  # image.info key: the size before a JPEG's draft
_heif_registered = False


def read_rgb(
    path: str | os.PathLike, max_pixels: int = MAX_PIXELS, draft_min_side: int | None = None
) -> np.ndarray:
    """Read one image as an upright RGB uint8 array of shape (H, W, 3).

    EXIF orientation is applied, every PIL mode is converted to RGB (transparency composited on
    white, 16-bit scaled to 8-bit), and HEIC/HEIF is read through pillow_heif.

    A JPEG larger than `max_pixels` is decoded at 1/2, 1/4 or 1/8 scale, whichever is the first
    to fit; with `draft_min_side`, a JPEG is also decoded as small as it can be while its shorter
    side stays at least that long (fast thumbnails). Either way the array is smaller than the
    file's pixel size. Raises ImageReadError for missing, empty, unreadable, truncated, too large
    (over `max_pixels` even at the smallest decoding scale, judged from the header before any
    pixel is decoded) or too small (< 16 px a side) images.
    """
    path = Path(path)
    _check_file(path)
    if path.suffix.lower() in _HEIF_SUFFIXES:
        _register_heif()
    image = _open_checked(path, max_pixels, draft_min_side)
    try:
        try:
            image.load()
        except (OSError, SyntaxError, ValueError, EOFError) as error:
            raise ImageReadError(
                path, f"truncated or corrupt image data ({error})", "truncated"
            ) from error
        image = _exif_upright(image, path)
        return _to_rgb_array(image)
    finally:
        image.close()


@dataclass
class ScaledPhoto:
    """A photo decoded at a reduced scale: `pixels` (upright RGB uint8), the upright full size
    (width, height) they stand for, and the EXIF time taken ("YYYY-MM-DD HH:MM:SS") or None."""

    pixels: np.ndarray
    full_size: tuple[int, int]
    taken: str | None

    @property
    def ratio(self) -> float:
        """Decoded pixels per full-size pixel (1.0 at full size, about 0.25 at 1/4)."""
        return self.pixels.shape[1] / self.full_size[0]


def read_scaled(
    path: str | os.PathLike,
    data: bytes | None = None,
    *,
    long_side: int | None = None,
    scale: int | None = None,
    max_pixels: int = MAX_PIXELS,
) -> ScaledPhoto:
    """One photo as read_rgb reads it (same checks, same errors), from `data` (its bytes, already
    read) when given; a JPEG decoded by libjpeg at the smallest of 1/2, 1/4, 1/8 whose longer side
    stays >= `long_side`, or at 1/`scale` exactly. Other formats are decoded at full size."""
    path = Path(path)
    if data is None:
        _check_file(path)
    elif not data:
        raise ImageReadError(path, "empty file (0 bytes)", "empty")
    if path.suffix.lower() in _HEIF_SUFFIXES:
        _register_heif()
    image = _open_checked(path, max_pixels, None, data, None if scale else long_side)
    try:
        if scale and scale > 1 and _is_jpeg(image):
            width, height = image.info[_FULL_SIZE]
            _draft(image, width, height, scale)
        try:
            image.load()
        except (OSError, SyntaxError, ValueError, EOFError) as error:
            raise ImageReadError(
                path, f"truncated or corrupt image data ({error})", "truncated"
            ) from error
        exif = _exif(image)
        width, height = image.info.get(_FULL_SIZE, image.size)
        if exif.get(0x0112) in (5, 6, 7, 8):  # rotated a quarter turn: width and height swap
            width, height = height, width
        upright = _exif_upright(image, path)
        return ScaledPhoto(_to_rgb_array(upright), (width, height), _taken(exif))
    finally:
        image.close()


def _exif(image: Image.Image):
    try:
        return image.getexif()
    except Exception:  # a broken EXIF block costs only the time taken
        return {}


def _taken(exif) -> str | None:
    """EXIF DateTimeOriginal (else DateTime) as "YYYY-MM-DD HH:MM:SS", None when absent or odd."""
    try:
        value = exif.get_ifd(0x8769).get(0x9003) or exif.get(0x0132)
    except Exception:
        return None
    if not isinstance(value, str):
        return None
    value = value.strip("\x00 ")
    if len(value) < 19 or value[4] != ":" or value[7] != ":" or not value[:4].isdigit():
        return None
    return f"{value[:4]}-{value[5:7]}-{value[8:10]} {value[11:19]}"


def _check_file(path: Path) -> None:
    try:
        stat = path.stat()
    except FileNotFoundError as error:
        raise ImageReadError(path, "file not found", "missing") from error
    except PermissionError as error:
        raise ImageReadError(path, "permission denied", "permission") from error
    if path.is_dir():
        raise ImageReadError(path, "is a folder, not an image file", "folder")
    if stat.st_size == 0:
        raise ImageReadError(path, "empty file (0 bytes)", "empty")


def _open_checked(
    path: Path,
    max_pixels: int,
    draft_min_side: int | None,
    data: bytes | None = None,
    draft_long_side: int | None = None,
) -> Image.Image:
    """Open lazily (header only), refuse sizes we will not decode, and set a JPEG's scale."""
    try:
        image = _open(path, data)
    except UnidentifiedImageError as error:
        # Phones sometimes save HEIC under a .jpg name: try once more with the HEIF opener.
        if _register_heif():
            try:
                image = _open(path, data)
            except UnidentifiedImageError:
                raise ImageReadError(
                    path, "not an image, or an unsupported format", "not_image"
                ) from error
        else:
            raise ImageReadError(
                path, "not an image, or an unsupported format", "not_image"
            ) from error
    width, height = image.size
    if min(width, height) < MIN_SIDE:
        image.close()
        raise ImageReadError(
            path, f"image too small: {width}x{height} (< {MIN_SIDE} px a side)", "too_small"
        )
    image.info[_FULL_SIZE] = image.size  # the header's size: a drafted JPEG's `size` shrinks
    scale = _decoding_scale(image, max_pixels, draft_min_side, draft_long_side)
    decoded = math.ceil(width / scale) * math.ceil(height / scale)
    if decoded > max_pixels:
        image.close()
        at_scale = f" even decoded at 1/{scale}" if scale > 1 else ""
        raise ImageReadError(
            path,
            f"image too large: {width}x{height} = {width * height:,} pixels{at_scale} "
            f"> max_pixels={max_pixels:,} (possible decompression bomb)",
            "too_large",
        )
    if scale > 1:
        _draft(image, width, height, scale)
        if width * height > max_pixels:
            log.info("%s: %dx%d decoded at 1/%d scale to fit in memory", path, width, height, scale)
    return image


def _draft(image: Image.Image, width: int, height: int, scale: int) -> None:
    """Ask libjpeg to decode at 1/`scale`. PIL takes the largest scale that keeps both sides at
    least the size asked for, so the size asked is rounded down: ceil(4007 / 8) = 501 would have
    given 1/4 for a 4032x4007 photo (4007 // 501 = 7)."""
    image.draft(image.mode, (max(1, width // scale), max(1, height // scale)))


def _is_jpeg(image: Image.Image) -> bool:
    return isinstance(image, JpegImagePlugin.JpegImageFile)  # MPO (camera JPEGs) included


def _decoding_scale(
    image: Image.Image,
    max_pixels: int,
    draft_min_side: int | None,
    draft_long_side: int | None = None,
) -> int:
    """1 for full size; for a JPEG the largest of: the smallest scale that fits `max_pixels` (or
    1/8 when none does) and the largest that keeps the shorter side >= `draft_min_side` (the
    longer side >= `draft_long_side`)."""
    if not _is_jpeg(image):
        return 1
    width, height = image.size
    fits = [s for s in JPEG_SCALES if math.ceil(width / s) * math.ceil(height / s) <= max_pixels]
    scale = fits[0] if fits else JPEG_SCALES[-1]
    if draft_min_side:
        small_enough = [s for s in JPEG_SCALES if min(width, height) / s >= draft_min_side]
        scale = max(scale, small_enough[-1] if small_enough else 1)
    if draft_long_side:
        small_enough = [s for s in JPEG_SCALES if max(width, height) / s >= draft_long_side]
        scale = max(scale, small_enough[-1] if small_enough else 1)
    return scale


def _open(path: Path, data: bytes | None = None) -> Image.Image:
    try:
        return Image.open(path if data is None else io.BytesIO(data))
    except PermissionError as error:
        raise ImageReadError(path, "permission denied", "permission") from error
    except Image.DecompressionBombError as error:
        # PIL refuses more than ~179 Mpx before we see the size. A JPEG can still be decoded at
        # a reduced scale (checked by the caller), so open it directly, skipping that check.
        if (data[:3] == b"\xff\xd8\xff") if data is not None else _has_jpeg_signature(path):
            try:
                source = str(path) if data is None else io.BytesIO(data)
                return JpegImagePlugin.JpegImageFile(source)
            except (OSError, SyntaxError, ValueError) as jpeg_error:
                raise ImageReadError(
                    path, f"cannot read image header ({jpeg_error})", "truncated"
                ) from jpeg_error
        raise ImageReadError(
            path, f"image too large: decompression bomb refused by PIL ({error})", "too_large"
        ) from error
    except UnidentifiedImageError:
        raise
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        raise ImageReadError(path, f"cannot read image header ({error})", "truncated") from error


def _has_jpeg_signature(path: Path) -> bool:
    with open(path, "rb") as handle:
        return handle.read(3) == b"\xff\xd8\xff"


def _register_heif() -> bool:
    """Teach PIL to open HEIC/HEIF (imported lazily: only photo folders with HEIC need it)."""
    global _heif_registered
    if not _heif_registered:
        try:
            import pillow_heif  # noqa: PLC0415  (optional, see the docstring)
        except ImportError:
            log.warning("pillow_heif is not installed: HEIC/HEIF photos cannot be read")
            return False
        pillow_heif.register_heif_opener()
        _heif_registered = True
    return True


def _exif_upright(image: Image.Image, path: Path) -> Image.Image:
    try:
        return ImageOps.exif_transpose(image)
    except Exception as error:  # a broken EXIF block should not cost the photo
        log.warning("%s: ignoring unreadable EXIF orientation (%s)", path, error)
        return image


def _to_rgb_array(image: Image.Image) -> np.ndarray:
    """Any PIL mode to an RGB uint8 array."""
    mode = image.mode
    if mode == "RGB":
        return np.array(image, dtype=np.uint8)
    if mode == "L":  # greyscale: three views of one channel, without PIL's RGB copy in between
        return np.repeat(np.asarray(image, dtype=np.uint8)[:, :, None], 3, axis=2)
    if mode.startswith("I") or mode == "F":  # 16/32-bit integer or float greyscale
        grey = _high_depth_to_uint8(np.asarray(image), mode)
        return np.repeat(grey[:, :, None], 3, axis=2)
    if _has_transparency(image):
        return _composite_on_white(image.convert("RGBA"))
    return np.array(image.convert("RGB"), dtype=np.uint8)


def _has_transparency(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info


def _composite_on_white(rgba: Image.Image) -> np.ndarray:
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return np.array(Image.alpha_composite(white, rgba).convert("RGB"), dtype=np.uint8)


def _high_depth_to_uint8(values: np.ndarray, mode: str) -> np.ndarray:
    """Scale a 16-bit (or 32-bit / float) greyscale image to 0..255.

    16-bit PNGs open as 'I;16' or 'I' (32-bit). Their range is judged from the values: samples
    all within 0..255 are kept as they are (Pillow's own `convert("I;16")` and some converters
    write 8-bit values into 16-bit files, which divided by 257 would be a black picture), any
    larger sample means the 16-bit range, scaled by 257. A truly 16-bit picture that dark (at
    most 0.4% of full scale everywhere) is brightened: no photo of a face is.
    """
    values = values.astype(np.float64)
    if mode == "F":
        scaled = values * 255.0 if values.max(initial=0.0) <= 1.0 else values
    elif values.max(initial=0.0) <= 255 and values.min(initial=0.0) >= 0:
        scaled = values
    else:
        scaled = values / 257.0
    return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)


def resize(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize an RGB uint8 image to `size` = (width, height).

    PIL's bilinear filter widens its support when shrinking, so large reductions average like
    an area filter instead of aliasing.
    """
    check_rgb_image(image)
    width, height = size
    if image.shape[1] == width and image.shape[0] == height:
        return image.copy()
    resized = Image.fromarray(image).resize((width, height), Image.Resampling.BILINEAR)
    return np.asarray(resized, dtype=np.uint8)


def check_rgb_image(image: np.ndarray) -> None:
    """Raise ValueError unless `image` is an RGB uint8 array of shape (H, W, 3)."""
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3:
        shape = getattr(image, "shape", None)
        raise ValueError(f"expected an RGB image array of shape (H, W, 3), got shape {shape}")
    if image.dtype != np.uint8:
        raise ValueError(f"expected a uint8 image, got dtype {image.dtype}")


def read_images(
    paths: Iterable[str | os.PathLike], size: tuple[int, int], what: str = "images"
) -> tuple[np.ndarray, list[Path], list[tuple[Path, str]]]:
    """Read and resize many images, skipping the ones that cannot be read.

    Each skipped file is logged with its reason as it happens, and a SkipSummary of the batch
    (counts by kind of fault) is logged once at the end. Returns the stack (N, height, width, 3)
    uint8, the paths read (in order, matching the stack) and (path, reason) for every skipped file.
    """
    width, height = size
    images: list[np.ndarray] = []
    read: list[Path] = []
    summary = SkipSummary(what)
    for path in map(Path, paths):
        try:
            images.append(resize(read_rgb(path), size))
        except ImageReadError as error:
            log.warning("skipping %s", error)
            summary.add_error(error)
            continue
        read.append(path)
        summary.add_ok()
    summary.log()
    stack = np.stack(images) if images else np.empty((0, height, width, 3), dtype=np.uint8)
    return stack, read, [(path, reason) for path, _, reason in summary.skipped]
