"""Images decoded and resized once into a uint8 cache (`build_cache`), read back memory-mapped.

The cache is one `.npy` file (memory-mapped when read) per list of source files, size and crop;
its name is a hash of all three plus each file's size and mtime, so a changed photo, size or crop
builds a new cache and an unchanged one is reused. It is written to a temporary name of its own
and renamed, so an interrupted build never leaves a cache that looks complete and two processes
building the same cache at once do not collide.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facetransfer.data.align import recut_aligned
from facetransfer.data.images import ImageReadError, SkipSummary, read_rgb, resize
from facetransfer.progress import progress_bar

log = logging.getLogger(__name__)

CROPS = ("full", "face")
NAMED = 10  # skipped files named in the summary line; ImageCache.skipped lists them all


def crop_box(width: int, height: int, crop: str) -> tuple[int, int, int, int] | None:
    """The region of an aligned CelebA-geometry image to keep, as (left, top, right, bottom).

    "full" keeps the whole 178x218 crop and squashes it square, as the seed's ImageDataGenerator
    did.
    "face" keeps the central square of the crop's width, centred on the eyes-to-mouth band
    (CelebA's landmarks sit at y 111 to 152 of 218), so less hair and background, no distortion.
    """
    if crop == "full":
        return None
    if crop == "face":
        side = min(width, height)
        centre_y = round(height * 0.58)  # between the eyes (0.51) and the mouth (0.70)
        top = min(max(0, centre_y - side // 2), height - side)
        left = (width - side) // 2
        return (left, top, left + side, top + side)
    raise ValueError(f"unknown crop {crop!r}: expected one of {CROPS}")


def load_square(path: Path, size: int, crop: str = "full", geometry: str = "celeba") -> np.ndarray:
    """One image file as a (size, size, 3) uint8 array. `geometry` other than "celeba": the file
    is a CelebA-aligned image, first cut again to that geometry (`align.recut_aligned`)."""
    image = read_rgb(path)
    if geometry != "celeba":
        image = recut_aligned(image, geometry)
    box = crop_box(image.shape[1], image.shape[0], crop)
    if box is not None:
        left, top, right, bottom = box
        image = image[top:bottom, left:right]
    return resize(image, (size, size))


def _cache_key(paths: list[Path], size: int, crop: str, geometry: str = "celeba") -> str:
    recut = "" if geometry == "celeba" else f"|{geometry}"
    digest = hashlib.sha1(f"v1|{size}|{crop}{recut}".encode())
    for path in paths:
        stat = os.stat(path) if os.path.exists(path) else None
        stamp = f"{stat.st_size}:{stat.st_mtime_ns}" if stat else "missing"
        digest.update(f"|{os.path.abspath(path)}:{stamp}".encode())
    return digest.hexdigest()[:16]


@dataclass
class ImageCache:
    """A built cache: the images, which sources made it in, and which were skipped and why."""

    images: np.ndarray  # (n_ok, size, size, 3) uint8, memory-mapped
    ok: np.ndarray  # (n_sources,) bool: source i is row ok[:i].sum() of images
    skipped: list[tuple[str, str]]  # (path, reason)
    path: Path
    seconds: float  # build time, 0 when reused
    rate: float  # images per second of the build, 0 when reused


def build_cache(
    paths,
    size: int,
    cache_dir,
    crop: str = "full",
    *,
    workers: int | None = None,
    progress: bool = True,
    geometry: str = "celeba",
) -> ImageCache:
    """Decode and resize every path once into `cache_dir`, in parallel threads (PIL releases the
    GIL while decoding). A file that cannot be read is skipped: one warning line counts them by
    cause and names the first few, `ImageCache.skipped` lists all (each is also logged at DEBUG).
    `geometry`: CelebA-aligned files cut again to that geometry first (see `load_square`)."""
    paths = [Path(p) for p in paths]
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    key = _cache_key(paths, size, crop, geometry)
    name = crop if geometry == "celeba" else f"{geometry}-{crop}"
    array_path = cache_dir / f"images-{size}-{name}-{key}.npy"
    meta_path = array_path.with_suffix(".json")
    if array_path.exists() and meta_path.exists():
        meta = json.loads(meta_path.read_text())
        return ImageCache(
            np.load(array_path, mmap_mode="r"),
            np.array(meta["ok"], dtype=bool),
            [tuple(s) for s in meta["skipped"]],
            array_path,
            0.0,
            0.0,
        )

    start = time.perf_counter()
    # Names unique to this build: two processes (the workers of a multi-worker run on a shared
    # disk) may build the same cache at once; each writes its own files, the renames are atomic.
    token = f"{os.getpid()}-{secrets.token_hex(3)}"
    partial = array_path.with_name(f"{array_path.stem}.{token}.partial.npy")
    compact = array_path.with_name(f"{array_path.stem}.{token}.compact.partial.npy")
    try:
        ok, skipped, kinds = _decode_all(paths, size, (crop, geometry), partial, workers, progress)
        if ok.all():
            os.replace(partial, array_path)
        else:  # keep only the good rows: a second pass, cheap next to decoding
            _copy_rows(partial, compact, np.flatnonzero(ok))
            os.replace(compact, array_path)
    finally:
        partial.unlink(missing_ok=True)
        compact.unlink(missing_ok=True)
    seconds = time.perf_counter() - start
    meta = {
        "ok": ok.tolist(),
        "skipped": skipped,
        "size": size,
        "crop": crop,
        "n": len(paths),
        "seconds": seconds,
    }
    tmp_meta = meta_path.with_name(f"{meta_path.name}.{token}.partial")
    tmp_meta.write_text(json.dumps(meta))
    os.replace(tmp_meta, meta_path)
    rate = len(paths) / seconds if seconds else 0.0
    log.debug("cached %d images at %dpx in %.1f s: %.0f img/s", ok.sum(), size, seconds, rate)
    if skipped:
        summary = SkipSummary("images", done="cached")
        summary.add_ok(int(ok.sum()))
        for (path, reason), kind in zip(skipped, kinds, strict=True):
            summary.add_skip(path, kind, reason)
        shown = [Path(path).name for path, _ in skipped[:NAMED]]
        more = f" and {len(skipped) - NAMED} more" if len(skipped) > NAMED else ""
        log.warning("%s (at %dpx): %s%s", summary, size, ", ".join(shown), more)
    return ImageCache(np.load(array_path, mmap_mode="r"), ok, skipped, array_path, seconds, rate)


def _decode_all(paths, size, cut, out_path, workers, progress):
    """Decode and resize every path into a new (n, size, size, 3) .npy at `out_path`, in threads.
    Returns (ok mask, [(path, reason)] of the files skipped, the ImageReadError kind of each)."""
    out = np.lib.format.open_memmap(
        out_path, mode="w+", dtype=np.uint8, shape=(len(paths), size, size, 3)
    )
    ok = np.zeros(len(paths), dtype=bool)
    skipped: list[tuple[str, str]] = []
    kinds: list[str] = []

    def work(i: int) -> tuple[int, ImageReadError | None]:
        try:
            out[i] = load_square(paths[i], size, *cut)
            return i, None
        except ImageReadError as error:
            return i, error

    workers = workers or min(8, (os.cpu_count() or 2) + 2)
    with ThreadPoolExecutor(workers) as pool:
        results = pool.map(work, range(len(paths)))
        for i, error in progress_bar(
            results, total=len(paths), desc=f"caching {size}px", enabled=progress
        ):
            if error is None:
                ok[i] = True
            else:
                skipped.append((str(paths[i]), str(error)))
                kinds.append(error.kind)
                log.debug("skipped %s", error)
    out.flush()
    out = None  # close the memory map before the file is renamed or read back
    return ok, skipped, kinds


def _copy_rows(source_path: Path, target_path: Path, rows: np.ndarray) -> None:
    source = np.load(source_path, mmap_mode="r")
    target = np.lib.format.open_memmap(
        target_path, mode="w+", dtype=np.uint8, shape=(len(rows), *source.shape[1:])
    )
    for row, index in enumerate(rows):
        target[row] = source[index]
    target.flush()
    del target, source
