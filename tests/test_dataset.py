"""The image cache: built once, reused, rebuilt on change, bad files named and skipped."""

from __future__ import annotations

import os

import numpy as np
import pytest
from PIL import Image

from facetransfer import dataset


def _write_faces(folder, n, size=(178, 218)):
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        pixels = np.full((size[1], size[0], 3), 20 * i, dtype=np.uint8)
        path = folder / f"{i:06d}.jpg"
        Image.fromarray(pixels).save(path, quality=95)
        paths.append(path)
    return paths


def test_cache_is_built_once_and_reused(tmp_path):
    paths = _write_faces(tmp_path / "img", 5)
    first = dataset.build_cache(paths, 32, tmp_path / "cache", progress=False)
    assert first.images.shape == (5, 32, 32, 3) and first.images.dtype == np.uint8
    assert first.ok.all() and first.seconds > 0
    # pixels follow the sources: image i is grey level 20*i
    assert abs(int(first.images[3].mean()) - 60) <= 2
    second = dataset.build_cache(paths, 32, tmp_path / "cache", progress=False)
    assert second.path == first.path and second.seconds == 0.0
    np.testing.assert_array_equal(np.asarray(second.images), np.asarray(first.images))


def test_cache_is_rebuilt_when_a_source_size_or_crop_changes(tmp_path):
    paths = _write_faces(tmp_path / "img", 3)
    base = dataset.build_cache(paths, 32, tmp_path / "cache", progress=False).path
    assert dataset.build_cache(paths, 48, tmp_path / "cache", progress=False).path != base
    assert dataset.build_cache(paths, 32, tmp_path / "cache", "face", progress=False).path != base
    Image.fromarray(np.zeros((218, 178, 3), np.uint8)).save(paths[0])
    os.utime(paths[0], ns=(1, 1))
    assert dataset.build_cache(paths, 32, tmp_path / "cache", progress=False).path != base


def test_unreadable_files_are_named_and_skipped(tmp_path):
    paths = _write_faces(tmp_path / "img", 3)
    broken = tmp_path / "img" / "broken.jpg"
    broken.write_bytes(b"this is not a jpeg")
    cache = dataset.build_cache(
        [paths[0], broken, paths[1]], 32, tmp_path / "cache", progress=False
    )
    assert cache.ok.tolist() == [True, False, True]
    assert cache.images.shape[0] == 2
    assert len(cache.skipped) == 1 and "broken.jpg" in cache.skipped[0][0]
    assert not list((tmp_path / "cache").glob("*partial*"))


def test_face_crop_is_square_and_centred_on_the_face():
    left, top, right, bottom = dataset.crop_box(178, 218, "face")
    assert right - left == bottom - top == 178
    assert top < 111 and bottom > 152  # eyes and mouth inside
    assert dataset.crop_box(178, 218, "full") is None
    with pytest.raises(ValueError, match="unknown crop"):
        dataset.crop_box(178, 218, "bogus")


def test_make_dataset_batches_every_image_once_per_epoch(rng):
    images = rng.integers(0, 256, (10, 8, 8, 3), dtype=np.uint8)
    labels = np.arange(10)
    ds = dataset.make_dataset(images, labels, batch_size=4, shuffle=True, seed=1)
    seen = np.concatenate([y.numpy().ravel() for _, y in ds])
    assert sorted(seen.tolist()) == list(range(10))
    for x, y in ds.take(1):
        # each image travels with its own label
        for xi, yi in zip(x.numpy(), y.numpy().ravel(), strict=True):
            np.testing.assert_array_equal(xi, images[int(yi)])


def test_augmentation_keeps_shape_and_range(rng):
    images = rng.integers(0, 256, (6, 32, 32, 3), dtype=np.uint8)
    ds = dataset.make_dataset(images, np.zeros(6), batch_size=6, augment=dataset.augmentation())
    x, _ = next(iter(ds))
    assert x.shape == (6, 32, 32, 3) and x.dtype.name == "uint8"
    assert not np.array_equal(x.numpy(), images)
