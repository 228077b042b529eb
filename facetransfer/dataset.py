"""Images decoded and resized once into a uint8 cache, then fed to Keras through tf.data.

The cache is one `.npy` file (memory-mapped when read) per list of source files, size and crop;
its name is a hash of all three plus each file's size and mtime, so a changed photo, size or crop
builds a new cache and an unchanged one is reused. It is written to a temporary name and renamed,
so an interrupted build never leaves a cache that looks complete.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facetransfer.images import ImageReadError, read_rgb, resize
from facetransfer.progress import progress_bar

log = logging.getLogger(__name__)

CROPS = ("full", "face")


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


def load_square(path: Path, size: int, crop: str = "full") -> np.ndarray:
    """One image file as a (size, size, 3) uint8 array."""
    image = read_rgb(path)
    box = crop_box(image.shape[1], image.shape[0], crop)
    if box is not None:
        left, top, right, bottom = box
        image = image[top:bottom, left:right]
    return resize(image, (size, size))


def _cache_key(paths: list[Path], size: int, crop: str) -> str:
    digest = hashlib.sha1(f"v1|{size}|{crop}".encode())
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
    workers: int | None = None,
    progress: bool = True,
) -> ImageCache:
    """Decode and resize every path once into `cache_dir`, in parallel threads (PIL releases the
    GIL while decoding). A file that cannot be read is named, skipped and counted."""
    paths = [Path(p) for p in paths]
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    key = _cache_key(paths, size, crop)
    array_path = cache_dir / f"images-{size}-{crop}-{key}.npy"
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
    partial = array_path.with_name(array_path.stem + ".partial.npy")
    out = np.lib.format.open_memmap(
        partial, mode="w+", dtype=np.uint8, shape=(len(paths), size, size, 3)
    )
    ok = np.zeros(len(paths), dtype=bool)
    skipped: list[tuple[str, str]] = []

    def work(i: int) -> tuple[int, str | None]:
        try:
            out[i] = load_square(paths[i], size, crop)
            return i, None
        except ImageReadError as error:
            return i, str(error)

    workers = workers or min(8, (os.cpu_count() or 2) + 2)
    with ThreadPoolExecutor(workers) as pool:
        results = pool.map(work, range(len(paths)))
        for i, error in progress_bar(
            results, total=len(paths), desc=f"caching {size}px", enabled=progress
        ):
            if error is None:
                ok[i] = True
            else:
                skipped.append((str(paths[i]), error))
                log.warning("skipped %s", error)
    out.flush()
    out = None  # close the memory map before reading it back
    # Keep only the good rows: a second pass over the memmap, cheap next to decoding.
    full = np.load(partial, mmap_mode="r")
    final_partial = array_path.with_name(array_path.stem + ".final.npy")
    kept = np.lib.format.open_memmap(
        final_partial, mode="w+", dtype=np.uint8, shape=(int(ok.sum()), size, size, 3)
    )
    for row, source in enumerate(np.flatnonzero(ok)):
        kept[row] = full[source]
    kept.flush()
    del kept, full
    os.replace(final_partial, array_path)
    partial.unlink()
    seconds = time.perf_counter() - start
    meta = {
        "ok": ok.tolist(),
        "skipped": skipped,
        "size": size,
        "crop": crop,
        "n": len(paths),
        "seconds": seconds,
    }
    tmp_meta = meta_path.with_suffix(".json.partial")
    tmp_meta.write_text(json.dumps(meta))
    os.replace(tmp_meta, meta_path)
    rate = len(paths) / seconds if seconds else 0.0
    log.info(
        "cached %d images (%d skipped) at %dpx in %.1f s: %.0f img/s",
        ok.sum(),
        len(skipped),
        size,
        seconds,
        rate,
    )
    return ImageCache(np.load(array_path, mmap_mode="r"), ok, skipped, array_path, seconds, rate)


def make_dataset(
    images: np.ndarray,
    labels: np.ndarray,
    batch_size: int = 32,
    shuffle: bool = False,
    seed: int = 0,
    augment=None,
):
    """A tf.data pipeline over (possibly memory-mapped) uint8 images and their labels.

    Batches are gathered from the array by index, so the images never have to fit in memory as
    float tensors; augmentation (a Keras layer or model) runs on whole batches; prefetch overlaps
    reading with training.
    """
    import tensorflow as tf

    n = len(images)
    if n == 0:
        raise ValueError("no images to make a dataset of")
    labels = np.asarray(labels, dtype=np.float32)
    if labels.ndim == 1:
        labels = labels[:, None]
    shape = images.shape[1:]

    def gather(index):
        index = np.sort(index)  # sequential reads from the memory map
        return np.asarray(images[index]), labels[index]

    def load(index):
        x, y = tf.numpy_function(gather, [index], [tf.uint8, tf.float32])
        x.set_shape((None, *shape))
        y.set_shape((None, labels.shape[1]))
        return x, y

    ds = tf.data.Dataset.range(n)
    if shuffle:
        ds = ds.shuffle(n, seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size).map(load, num_parallel_calls=tf.data.AUTOTUNE)
    if augment is not None:
        ds = ds.map(
            lambda x, y: (
                tf.cast(
                    tf.clip_by_value(augment(tf.cast(x, tf.float32), training=True), 0, 255),
                    tf.uint8,
                ),
                y,
            ),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
    return ds.prefetch(tf.data.AUTOTUNE)


def augmentation(seed: int = 0):
    """Photo-like variation for the few person photos: mirror, small turns and zooms, light.
    Keras preprocessing layers: the replacement for the deprecated ImageDataGenerator."""
    import keras
    from keras import layers

    return keras.Sequential(
        [
            layers.RandomFlip("horizontal", seed=seed),
            layers.RandomRotation(0.04, fill_mode="nearest", seed=seed),
            layers.RandomZoom(0.08, fill_mode="nearest", seed=seed),
            layers.RandomTranslation(0.04, 0.04, fill_mode="nearest", seed=seed),
            layers.RandomBrightness(0.15, value_range=(0, 255), seed=seed),
            layers.RandomContrast(0.15, seed=seed),
        ],
        name="augmentation",
    )
