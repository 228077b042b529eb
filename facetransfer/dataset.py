"""Images decoded and resized once into a uint8 cache, then fed to Keras through tf.data.

The cache is one `.npy` file (memory-mapped when read) per list of source files, size and crop;
its name is a hash of all three plus each file's size and mtime, so a changed photo, size or crop
builds a new cache and an unchanged one is reused. It is written to a temporary name of its own
and renamed, so an interrupted build never leaves a cache that looks complete and two processes
building the same cache at once do not collide.

The pipeline (`make_dataset`) shuffles and batches indices, gathers each batch from the cache in
one read, augments whole batches (`augment_batch`) and prefetches; `shard` gives each worker of a
multi-worker run its own equal share. BENCHMARKS.md has what each costs.
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
    # Names unique to this build: two processes (the workers of a multi-worker run on a shared
    # disk) may build the same cache at once; each writes its own files, the renames are atomic.
    token = f"{os.getpid()}-{secrets.token_hex(3)}"
    partial = array_path.with_name(f"{array_path.stem}.{token}.partial.npy")
    compact = array_path.with_name(f"{array_path.stem}.{token}.compact.partial.npy")
    try:
        ok, skipped = _decode_all(paths, size, crop, partial, workers, progress)
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
    log.info(
        "cached %d images (%d skipped) at %dpx in %.1f s: %.0f img/s",
        ok.sum(),
        len(skipped),
        size,
        seconds,
        rate,
    )
    return ImageCache(np.load(array_path, mmap_mode="r"), ok, skipped, array_path, seconds, rate)


def _decode_all(paths, size, crop, out_path, workers, progress):
    """Decode and resize every path into a new (n, size, size, 3) .npy at `out_path`, in threads.
    Returns (ok mask, [(path, reason)] of the files skipped)."""
    out = np.lib.format.open_memmap(
        out_path, mode="w+", dtype=np.uint8, shape=(len(paths), size, size, 3)
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
    out = None  # close the memory map before the file is renamed or read back
    return ok, skipped


def _copy_rows(source_path: Path, target_path: Path, rows: np.ndarray) -> None:
    source = np.load(source_path, mmap_mode="r")
    target = np.lib.format.open_memmap(
        target_path, mode="w+", dtype=np.uint8, shape=(len(rows), *source.shape[1:])
    )
    for row, index in enumerate(rows):
        target[row] = source[index]
    target.flush()
    del target, source


def shard_indices(n: int, shard: tuple[int, int] | None) -> np.ndarray:
    """The rows one input pipeline reads: every `num_shards`-th row from `index`, the same count
    on every shard (the last n % num_shards rows are left out), so every worker of a
    multi-worker run takes the same number of steps and none waits forever for the others."""
    if shard is None:
        return np.arange(n)
    num_shards, index = shard
    if num_shards < 1 or not 0 <= index < num_shards:
        raise ValueError(f"shard {shard}: expected (num_shards >= 1, 0 <= index < num_shards)")
    per_shard = n // num_shards
    if per_shard == 0:
        raise ValueError(f"{n} images cannot be split into {num_shards} shards")
    return np.arange(index, per_shard * num_shards, num_shards)


AUGMENTATIONS = ("flip", "light")


def make_dataset(
    images: np.ndarray,
    labels: np.ndarray,
    batch_size: int = 32,
    shuffle: bool = False,
    seed: int = 0,
    augment=None,
    shard: tuple[int, int] | None = None,
    drop_remainder: bool = False,
):
    """A tf.data pipeline over (possibly memory-mapped) uint8 images and their labels.

    Indices are shuffled and batched first; each batch is then gathered from the array in one
    read (sorted, so the memory map is read forwards), so the images never have to fit in memory
    as float tensors. Augmentation runs on whole batches, gathers and augmentations run in
    parallel, and prefetch overlaps them with training.

    `augment`: None; "flip" (random mirror); "light" (mirror, zoom-in and shift by a random crop,
    brightness, contrast: `augment_batch`, cheap enough for CPU training); or a Keras layer or
    model applied to float pixels (slower: each of Keras' geometric layers warps separately).
    `shard`: (num_shards, index) keeps one worker's share (see `shard_indices`).
    """
    import tensorflow as tf

    n = len(images)
    if n == 0:
        raise ValueError("no images to make a dataset of")
    labels = np.asarray(labels, dtype=np.float32)
    if labels.ndim == 1:
        labels = labels[:, None]
    if len(labels) != n:
        raise ValueError(f"{n} images but {len(labels)} labels")
    shape = images.shape[1:]
    rows = shard_indices(n, shard)

    def gather(index):
        index = np.sort(index)  # sequential reads from the memory map
        return np.asarray(images[index]), labels[index]

    def load(index):
        x, y = tf.numpy_function(gather, [index], [tf.uint8, tf.float32])
        x.set_shape((None, *shape))
        y.set_shape((None, labels.shape[1]))
        return x, y

    ds = tf.data.Dataset.from_tensor_slices(rows)
    if shuffle:
        ds = ds.shuffle(len(rows), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size, drop_remainder=drop_remainder)
    ds = ds.map(load, num_parallel_calls=tf.data.AUTOTUNE)
    if augment is not None:
        ds = _augmented(ds, augment, seed)
    if shard is not None:
        # Sharded above, by index: tf.distribute must not shard the batches again.
        options = tf.data.Options()
        off = tf.data.experimental.AutoShardPolicy.OFF
        options.experimental_distribute.auto_shard_policy = off
        ds = ds.with_options(options)
    return ds.prefetch(tf.data.AUTOTUNE)


def _augmented(ds, augment, seed: int):
    import tensorflow as tf

    if isinstance(augment, str):
        if augment not in AUGMENTATIONS:
            raise ValueError(f"unknown augmentation {augment!r}: expected one of {AUGMENTATIONS}")
        light = augment == "light"
        # One stateless seed per batch, new ones every epoch: reproducible from `seed`.
        seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
        return tf.data.Dataset.zip(ds, seeds).map(
            lambda batch, batch_seed: (
                augment_batch(batch[0], batch_seed, light=light),
                batch[1],
            ),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
    return ds.map(
        lambda x, y: (
            tf.cast(
                tf.clip_by_value(augment(tf.cast(x, tf.float32), training=True), 0, 255),
                tf.uint8,
            ),
            y,
        ),
        num_parallel_calls=tf.data.AUTOTUNE,
    )


def augment_batch(
    images,
    seed,
    light: bool = True,
    zoom: float = 0.08,
    brightness: float = 0.15,
    contrast: float = 0.15,
):
    """Random mirror (and, when `light`, zoom, shift, brightness and contrast) of a uint8 batch.

    Mirror, zoom and shift are one `crop_and_resize` per image: a random box covering
    (1 - zoom) to all of the image, placed anywhere inside it, with its left and right edges
    swapped to mirror. One bilinear resample instead of Keras' one warp per layer, and no border
    to fill. `seed` is a stateless seed of shape (2,).
    """
    import tensorflow as tf

    images = tf.convert_to_tensor(images)
    seed = tf.cast(tf.reshape(seed, [2]), tf.int64)
    n = tf.shape(images)[0]
    seeds = tf.random.experimental.stateless_split(seed, 5)
    mirror = tf.random.stateless_uniform([n], seeds[0]) < 0.5
    if not light:
        # Pick each image from [originals, mirrored]: 4x faster than a broadcast tf.where.
        both = tf.concat([images, tf.reverse(images, [2])], axis=0)
        return tf.gather(both, tf.range(n) + n * tf.cast(mirror, tf.int32))
    side = 1.0 - tf.random.stateless_uniform([n, 1], seeds[1], 0.0, zoom)
    corner = tf.random.stateless_uniform([n, 2], seeds[2]) * (1.0 - side)  # (top, left)
    top, left = corner[:, 0], corner[:, 1]
    bottom, right = top + side[:, 0], left + side[:, 0]
    left, right = tf.where(mirror, right, left), tf.where(mirror, left, right)
    boxes = tf.stack([top, left, bottom, right], axis=1)
    x = tf.image.crop_and_resize(  # on floats: twice as fast as on uint8
        tf.cast(images, tf.float32), boxes, tf.range(n), tf.shape(images)[1:3], method="bilinear"
    )
    gain = tf.random.stateless_uniform([n, 1, 1, 1], seeds[3], 1 - contrast, 1 + contrast)
    shift = tf.random.stateless_uniform([n, 1, 1, 1], seeds[4], -brightness, brightness) * 255
    mean = tf.reduce_mean(x, axis=[1, 2], keepdims=True)
    x = (x - mean) * gain + mean + shift
    return tf.cast(tf.round(tf.clip_by_value(x, 0.0, 255.0)), tf.uint8)


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
