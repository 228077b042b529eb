"""Cached uint8 images fed to Keras through tf.data: shuffled and batched indices, each batch
gathered from the (memory-mapped) cache in one read, augmented as a whole batch, prefetched;
`shard` gives each worker of a multi-worker run its own equal share. BENCHMARKS.md has what each
costs."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras import layers


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
    *,
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
    *,
    brightness: float = 0.15,
    contrast: float = 0.15,
):
    """Random mirror (and, when `light`, zoom, shift, brightness and contrast) of a uint8 batch.

    Mirror, zoom and shift are one `crop_and_resize` per image: a random box covering
    (1 - zoom) to all of the image, placed anywhere inside it, with its left and right edges
    swapped to mirror. One bilinear resample instead of Keras' one warp per layer, and no border
    to fill. `seed` is a stateless seed of shape (2,).
    """
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
