"""Reading images safely: any phone photo in, an upright RGB uint8 array out.

Photos from phones and folders of downloads are messy: EXIF orientation instead of rotated pixels,
HEIC files, transparent PNGs, 16-bit scans, CMYK JPEGs, huge panoramas, half-copied files and
Finder/Explorer litter (.DS_Store, Thumbs.db). Everything here turns one bad file into an
`ImageReadError` naming that file, so a caller reading a folder can skip it and carry on.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

log = logging.getLogger(__name__)

# Suffixes we try to read (lower case). HEIC/HEIF need pillow_heif; AVIF needs Pillow >= 11.2
# or pillow_heif's AVIF plugin. Anything else in a photo folder is ignored by list_images.
IMAGE_SUFFIXES = {
    ".jpg",
    ".jpeg",
    ".jpe",
    ".jfif",
    ".png",
    ".bmp",
    ".gif",
    ".webp",
    ".tif",
    ".tiff",
    ".heic",
    ".heif",
    ".avif",
}

# Files that operating systems drop into photo folders; they are never images.
IGNORED_NAMES = {".ds_store", "thumbs.db", "desktop.ini", "ehthumbs.db"}

MIN_SIDE = 16  # smaller than this cannot hold a face worth detecting

_HEIF_SUFFIXES = {".heic", ".heif", ".avif"}
_heif_registered = False


class ImageReadError(Exception):
    """An image that could not be read; `str()` gives "<path>: <reason>"."""

    def __init__(self, path: str | os.PathLike, reason: str):
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


def list_images(folder: str | os.PathLike, recursive: bool = False) -> list[Path]:
    """The image files in `folder`, sorted by path.

    Skips hidden files (and, when recursive, hidden folders such as `.thumbnails`), OS litter
    (.DS_Store, Thumbs.db), sub-folders themselves and files whose suffix is not in IMAGE_SUFFIXES.
    """
    folder = Path(folder)
    if not folder.exists():
        raise FileNotFoundError(f"{folder}: folder not found")
    if not folder.is_dir():
        raise NotADirectoryError(f"{folder}: not a folder")
    candidates = folder.rglob("*") if recursive else folder.iterdir()
    return sorted(p for p in candidates if _looks_like_image(p, folder))


def _looks_like_image(path: Path, root: Path) -> bool:
    relative_parts = path.relative_to(root).parts
    if any(part.startswith(".") for part in relative_parts):  # hidden file or inside hidden folder
        return False
    if path.name.lower() in IGNORED_NAMES or path.suffix.lower() not in IMAGE_SUFFIXES:
        return False
    return path.is_file()


def read_rgb(path: str | os.PathLike, max_pixels: int = 50_000_000) -> np.ndarray:
    """Read one image as an upright RGB uint8 array of shape (H, W, 3).

    EXIF orientation is applied, every PIL mode is converted to RGB (transparency composited on
    white, 16-bit scaled to 8-bit), and HEIC/HEIF is read through pillow_heif. Raises
    ImageReadError for missing, empty, unreadable, truncated, too large (more than `max_pixels`,
    checked from the header before any pixel is decoded) or too small (< 16 px a side) images.
    """
    path = Path(path)
    _check_file(path)
    if path.suffix.lower() in _HEIF_SUFFIXES:
        _register_heif()
    image = _open_checked(path, max_pixels)
    try:
        try:
            image.load()
        except (OSError, SyntaxError, ValueError, EOFError) as error:
            raise ImageReadError(path, f"truncated or corrupt image data ({error})") from error
        image = _exif_upright(image, path)
        return _to_rgb_array(image)
    finally:
        image.close()


def _check_file(path: Path) -> None:
    try:
        stat = path.stat()
    except FileNotFoundError as error:
        raise ImageReadError(path, "file not found") from error
    except PermissionError as error:
        raise ImageReadError(path, "permission denied") from error
    if path.is_dir():
        raise ImageReadError(path, "is a folder, not an image file")
    if stat.st_size == 0:
        raise ImageReadError(path, "empty file (0 bytes)")


def _open_checked(path: Path, max_pixels: int) -> Image.Image:
    """Open lazily (header only) and refuse sizes we will not decode."""
    try:
        image = _open(path)
    except UnidentifiedImageError as error:
        # Phones sometimes save HEIC under a .jpg name: try once more with the HEIF opener.
        if _register_heif():
            try:
                image = _open(path)
            except UnidentifiedImageError:
                raise ImageReadError(path, "not an image, or an unsupported format") from error
        else:
            raise ImageReadError(path, "not an image, or an unsupported format") from error
    width, height = image.size
    if width * height > max_pixels:
        image.close()
        raise ImageReadError(
            path,
            f"image too large: {width}x{height} = {width * height:,} pixels "
            f"> max_pixels={max_pixels:,} (possible decompression bomb)",
        )
    if min(width, height) < MIN_SIDE:
        image.close()
        raise ImageReadError(path, f"image too small: {width}x{height} (< {MIN_SIDE} px a side)")
    return image


def _open(path: Path) -> Image.Image:
    try:
        return Image.open(path)
    except PermissionError as error:
        raise ImageReadError(path, "permission denied") from error
    except Image.DecompressionBombError as error:
        raise ImageReadError(path, f"decompression bomb refused by PIL ({error})") from error
    except UnidentifiedImageError:
        raise
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        raise ImageReadError(path, f"cannot read image header ({error})") from error


def _register_heif() -> bool:
    """Teach PIL to open HEIC/HEIF (imported lazily: only photo folders with HEIC need it)."""
    global _heif_registered
    if not _heif_registered:
        try:
            import pillow_heif
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

    'I;16*' modes are 0..65535 by definition. PIL also opens 16-bit PNGs as mode 'I' (32-bit),
    so for 'I' the range is judged from the values: 8-bit range kept, 16-bit range scaled by 257.
    """
    values = values.astype(np.float64)
    if mode.startswith("I;16"):
        scaled = values / 257.0
    elif mode == "F":
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
    paths: Iterable[str | os.PathLike], size: tuple[int, int]
) -> tuple[np.ndarray, list[Path], list[tuple[Path, str]]]:
    """Read and resize many images, skipping (and logging) the ones that cannot be read.

    Returns the stack (N, height, width, 3) uint8, the paths read (in order, matching the stack)
    and (path, reason) for every skipped file.
    """
    width, height = size
    images: list[np.ndarray] = []
    read: list[Path] = []
    skipped: list[tuple[Path, str]] = []
    for path in map(Path, paths):
        try:
            images.append(resize(read_rgb(path), size))
        except ImageReadError as error:
            log.warning("skipping %s", error)
            skipped.append((path, error.reason))
            continue
        read.append(path)
    stack = np.stack(images) if images else np.empty((0, height, width, 3), dtype=np.uint8)
    return stack, read, skipped
