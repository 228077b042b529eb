"""The image cache: built once, reused, rebuilt on change, bad files named and skipped."""

from __future__ import annotations

import os

import numpy as np
import pytest
from PIL import Image

from facetransfer.data import cache, pipeline


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
    first = cache.build_cache(paths, 32, tmp_path / "cache", progress=False)
    assert first.images.shape == (5, 32, 32, 3) and first.images.dtype == np.uint8
    assert first.ok.all() and first.seconds > 0
    # pixels follow the sources: image i is grey level 20*i
    assert abs(int(first.images[3].mean()) - 60) <= 2
    second = cache.build_cache(paths, 32, tmp_path / "cache", progress=False)
    assert second.path == first.path and second.seconds == 0.0
    np.testing.assert_array_equal(np.asarray(second.images), np.asarray(first.images))


def test_cache_is_rebuilt_when_a_source_size_or_crop_changes(tmp_path):
    paths = _write_faces(tmp_path / "img", 3)
    base = cache.build_cache(paths, 32, tmp_path / "cache", progress=False).path
    assert cache.build_cache(paths, 48, tmp_path / "cache", progress=False).path != base
    assert cache.build_cache(paths, 32, tmp_path / "cache", "face", progress=False).path != base
    Image.fromarray(np.zeros((218, 178, 3), np.uint8)).save(paths[0])
    os.utime(paths[0], ns=(1, 1))
    assert cache.build_cache(paths, 32, tmp_path / "cache", progress=False).path != base


def test_unreadable_files_are_named_and_skipped(tmp_path):
    paths = _write_faces(tmp_path / "img", 3)
    broken = tmp_path / "img" / "broken.jpg"
    broken.write_bytes(b"this is not a jpeg")
    built = cache.build_cache([paths[0], broken, paths[1]], 32, tmp_path / "cache", progress=False)
    assert built.ok.tolist() == [True, False, True]
    assert built.images.shape[0] == 2
    assert len(built.skipped) == 1 and "broken.jpg" in built.skipped[0][0]
    assert not list((tmp_path / "cache").glob("*partial*"))


def test_face_crop_is_square_and_centred_on_the_face():
    left, top, right, bottom = cache.crop_box(178, 218, "face")
    assert right - left == bottom - top == 178
    assert top < 111 and bottom > 152  # eyes and mouth inside
    assert cache.crop_box(178, 218, "full") is None
    with pytest.raises(ValueError, match="unknown crop"):
        cache.crop_box(178, 218, "bogus")


def test_make_dataset_batches_every_image_once_per_epoch(rng):
    images = rng.integers(0, 256, (10, 8, 8, 3), dtype=np.uint8)
    labels = np.arange(10)
    ds = pipeline.make_dataset(images, labels, batch_size=4, shuffle=True, seed=1)
    seen = np.concatenate([y.numpy().ravel() for _, y in ds])
    assert sorted(seen.tolist()) == list(range(10))
    for x, y in ds.take(1):
        # each image travels with its own label
        for xi, yi in zip(x.numpy(), y.numpy().ravel(), strict=True):
            np.testing.assert_array_equal(xi, images[int(yi)])


def test_augmentation_keeps_shape_and_range(rng):
    images = rng.integers(0, 256, (6, 32, 32, 3), dtype=np.uint8)
    ds = pipeline.make_dataset(images, np.zeros(6), batch_size=6, augment=pipeline.augmentation())
    x, _ = next(iter(ds))
    assert x.shape == (6, 32, 32, 3) and x.dtype.name == "uint8"
    assert not np.array_equal(x.numpy(), images)


def test_two_builders_of_one_cache_do_not_collide(tmp_path):
    """The workers of a multi-worker run may build the same cache on a shared disk at once."""
    from concurrent.futures import ThreadPoolExecutor

    paths = _write_faces(tmp_path / "img", 6)
    with ThreadPoolExecutor(2) as pool:
        caches = list(
            pool.map(
                lambda _: cache.build_cache(paths, 24, tmp_path / "cache", progress=False),
                range(2),
            )
        )
    assert caches[0].path == caches[1].path
    np.testing.assert_array_equal(np.asarray(caches[0].images), np.asarray(caches[1].images))
    assert sorted(p.suffix for p in (tmp_path / "cache").iterdir()) == [".json", ".npy"]


def test_shards_are_disjoint_equal_and_cover_all_but_the_remainder():
    shards = [pipeline.shard_indices(11, (3, i)) for i in range(3)]
    assert [len(s) for s in shards] == [3, 3, 3]
    together = np.concatenate(shards)
    assert len(set(together.tolist())) == 9 and together.max() <= 10
    np.testing.assert_array_equal(pipeline.shard_indices(5, None), np.arange(5))
    with pytest.raises(ValueError, match="shard"):
        pipeline.shard_indices(5, (2, 2))
    with pytest.raises(ValueError, match="cannot be split"):
        pipeline.shard_indices(2, (3, 0))


def test_sharded_datasets_split_the_images_between_workers(rng):
    images = rng.integers(0, 256, (10, 4, 4, 3), dtype=np.uint8)
    seen = []
    for index in range(2):
        ds = pipeline.make_dataset(images, np.arange(10), 2, shuffle=True, shard=(2, index))
        labels = np.concatenate([y.numpy().ravel() for _, y in ds]).astype(int)
        assert len(labels) == 5
        seen.append(set(labels.tolist()))
    assert not seen[0] & seen[1] and len(seen[0] | seen[1]) == 10


def test_drop_remainder_gives_whole_batches_only(rng):
    images = rng.integers(0, 256, (10, 4, 4, 3), dtype=np.uint8)
    ds = pipeline.make_dataset(images, np.zeros(10), 4, drop_remainder=True)
    assert [len(x) for x, _ in ds] == [4, 4]


def test_augment_batch_without_zoom_or_light_only_mirrors(rng):
    images = rng.integers(0, 256, (16, 10, 12, 3), dtype=np.uint8)
    out = pipeline.augment_batch(images, [1, 2], zoom=0.0, brightness=0.0, contrast=0.0).numpy()
    mirrored = [np.array_equal(o, i[:, ::-1]) for o, i in zip(out, images, strict=True)]
    unchanged = [np.array_equal(o, i) for o, i in zip(out, images, strict=True)]
    assert all(m or u for m, u in zip(mirrored, unchanged, strict=True))
    assert 0 < sum(mirrored) < 16  # a coin per image, not one for the batch
    again = pipeline.augment_batch(images, [1, 2], zoom=0.0, brightness=0.0, contrast=0.0)
    np.testing.assert_array_equal(out, again.numpy())  # stateless: same seed, same result


@pytest.mark.parametrize("augment", ["flip", "light"])
def test_batch_augmentations_keep_shape_labels_and_change_each_epoch(rng, augment):
    images = rng.integers(0, 256, (8, 16, 16, 3), dtype=np.uint8)
    ds = pipeline.make_dataset(images, np.arange(8), 8, augment=augment, seed=5)
    (x1, y1), (x2, _) = next(iter(ds)), next(iter(ds))
    assert x1.shape == images.shape and x1.dtype.name == "uint8"
    np.testing.assert_array_equal(y1.numpy().ravel(), np.arange(8))
    assert not np.array_equal(x1.numpy(), x2.numpy()), "new random choices every epoch"
    if augment == "flip":
        for out, original in zip(x1.numpy(), images, strict=True):
            assert np.array_equal(out, original) or np.array_equal(out, original[:, ::-1])


def test_unknown_augmentation_is_refused(rng):
    images = rng.integers(0, 256, (4, 8, 8, 3), dtype=np.uint8)
    with pytest.raises(ValueError, match="unknown augmentation"):
        pipeline.make_dataset(images, np.zeros(4), 2, augment="rotate")


def test_a_cache_recut_to_dlibs_chip_is_its_own_cache(tiny_celeba, tmp_path):
    from facetransfer.data.align import recut_aligned
    from facetransfer.data.celeba import load_celeba
    from facetransfer.data.images import read_rgb, resize

    celeba = load_celeba(tiny_celeba)
    files = celeba.paths(celeba.attributes.index[:3])
    plain = cache.build_cache(files, 32, tmp_path, "full", progress=False)
    chips = cache.build_cache(files, 32, tmp_path, "full", progress=False, geometry="dlib_chip")
    assert chips.path != plain.path and "dlib_chip" in chips.path.name
    expected = resize(recut_aligned(read_rgb(files[0]), "dlib_chip"), (32, 32))
    np.testing.assert_array_equal(chips.images[0], expected)
    assert not np.array_equal(chips.images[0], plain.images[0])
