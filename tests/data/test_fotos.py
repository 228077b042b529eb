"""The person's photos: both layouts, a deterministic split remembered in a manifest, and CelebA
negatives that are identity-disjoint and never from the base's test partition."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from facetransfer.data import fotos


def _photos(folder, n, start=0):
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(start, start + n):
        Image.new("RGB", (40, 50), (i * 7 % 255, 80, 90)).save(folder / f"photo {i:03d}.jpg")
    return folder


def test_simple_layout_is_split_deterministically_and_remembered(tmp_path):
    _photos(tmp_path / "fotos" / "paco", 20)
    _photos(tmp_path / "fotos" / "others", 20, start=100)
    manifest = tmp_path / "split.csv"
    first = fotos.split_fotos(tmp_path / "fotos", "paco", seed=1, manifest=manifest)
    again = fotos.split_fotos(tmp_path / "fotos", "paco", seed=1)
    pd.testing.assert_frame_equal(first, again)
    counts = first.groupby(["split", "label"]).size()
    assert (counts[("train", 1)], counts[("validation", 1)], counts[("test", 1)]) == (12, 4, 4)
    assert first["path"].is_unique
    # the manifest wins over a new seed: a rerun uses the same photos
    remembered = fotos.split_fotos(tmp_path / "fotos", "paco", seed=99, manifest=manifest)
    pd.testing.assert_frame_equal(remembered, first)
    # a new photo of the person makes the old split stale, and so does a new one of others
    _photos(tmp_path / "fotos" / "paco", 1, start=50)
    redone = fotos.split_fotos(tmp_path / "fotos", "paco", seed=1, manifest=manifest)
    assert len(redone) == len(first) + 1
    _photos(tmp_path / "fotos" / "others", 1, start=150)
    redone = fotos.split_fotos(tmp_path / "fotos", "paco", seed=1, manifest=manifest)
    assert len(redone) == len(first) + 2


@pytest.mark.parametrize("negative", ["no paco", "no_paco", "others"])
def test_seed_layout_is_read_as_given(tmp_path, negative):
    for split, n in (("train", 6), ("validation", 2), ("test", 2)):
        _photos(tmp_path / split / "paco", n)
        _photos(tmp_path / split / negative, n + 1, start=100)
    frame = fotos.split_fotos(tmp_path, "paco")
    counts = frame.groupby(["split", "label"]).size()
    assert counts[("train", 1)] == 6 and counts[("train", 0)] == 7 and counts[("test", 0)] == 3
    assert set(frame["source"]) == {"fotos"}


def test_missing_person_or_empty_split_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="paco"):
        fotos.split_fotos(tmp_path, "paco")
    _photos(tmp_path / "paco", 2)
    _photos(tmp_path / "others", 5)
    with pytest.raises(ValueError, match="no photos of paco"):
        fotos.split_fotos(tmp_path, "paco")


class _FakeCelebA:
    def __init__(self, root, n=300, identities=60):
        ids = [f"{i:06d}.jpg" for i in range(1, n + 1)]
        self.root = root
        self.partition = pd.Series(np.arange(n) % 3, index=ids, dtype="int8")
        self.identity = pd.Series(np.arange(n) % identities, index=ids)

    def paths(self, image_ids):
        return [self.root / i for i in image_ids]


def test_celeba_negatives_are_identity_disjoint_and_never_base_test_images(tmp_path):
    _photos(tmp_path / "fotos" / "paco", 10)
    celeba = _FakeCelebA(tmp_path / "celeba")
    frame = fotos.split_fotos(tmp_path / "fotos", "paco", celeba, n_celeba_negatives=120, seed=2)
    negatives = frame[frame["source"] == "celeba"]
    assert len(negatives) == 120
    names = negatives["path"].map(lambda p: p.rsplit("/", 1)[-1])
    assert (celeba.partition.loc[names] != 2).all(), "no image that tests the base"
    who = celeba.identity.loc[names].to_numpy()
    splits = negatives["split"].to_numpy()
    for a in fotos.SPLITS:
        for b in fotos.SPLITS:
            if a < b:
                assert not set(who[splits == a]) & set(who[splits == b])


def test_split_groups_matches_split_indices_for_single_photos_and_keeps_groups_whole():
    for n in (1, 2, 3, 7, 20, 33):
        for seed in range(3):
            codes = fotos.split_groups(np.arange(n), (0.6, 0.2, 0.2), np.random.default_rng(seed))
            parts = fotos.split_indices(n, (0.6, 0.2, 0.2), np.random.default_rng(seed))
            for code, index in enumerate(parts):
                assert (codes[index] == code).all(), (n, seed)
    # Three groups of four and two single photos: each split still gets photos, groups whole.
    groups = np.array([5, 5, 5, 5, 9, 9, 9, 9, 2, 2, 2, 2, 7, 8])
    for seed in range(20):
        codes = fotos.split_groups(groups, (0.6, 0.2, 0.2), np.random.default_rng(seed))
        assert set(codes) == {0, 1, 2}, seed
        for group in np.unique(groups):
            assert len(set(codes[groups == group])) == 1


def test_photos_in_sub_folders_are_used(tmp_path):
    _photos(tmp_path / "paco", 8)
    _photos(tmp_path / "paco" / "2019", 4, start=20)
    _photos(tmp_path / "others" / "friends", 12, start=100)
    (tmp_path / "paco" / ".DS_Store").write_bytes(b"junk")
    frame = fotos.split_fotos(tmp_path, "paco", deduplicate=False)
    assert (frame["label"] == 1).sum() == 12 and (frame["label"] == 0).sum() == 12
    assert frame["path"].str.contains("2019").sum() == 4


def test_a_broken_manifest_is_redone_and_never_left_half_written(tmp_path, monkeypatch):
    _photos(tmp_path / "fotos" / "paco", 10)
    _photos(tmp_path / "fotos" / "others", 10, start=100)
    manifest = tmp_path / "split.csv"
    first = fotos.split_fotos(tmp_path / "fotos", "paco", seed=1, manifest=manifest)
    assert [p.name for p in tmp_path.iterdir() if "partial" in p.name] == []

    manifest.write_bytes(b'path,label\n"unclosed')  # e.g. truncated by hand
    again = fotos.split_fotos(tmp_path / "fotos", "paco", seed=1, manifest=manifest)
    pd.testing.assert_frame_equal(again, first)

    # A crash while writing: the old manifest stays whole.
    before = manifest.read_bytes()

    def crash(self, path, *args, **kwargs):
        with open(path, "w") as handle:
            handle.write("path,label,split\n/half")
        raise KeyboardInterrupt

    monkeypatch.setattr(pd.DataFrame, "to_csv", crash)
    _photos(tmp_path / "fotos" / "paco", 1, start=50)  # a new photo: the split is redone
    with pytest.raises(KeyboardInterrupt):
        fotos.split_fotos(tmp_path / "fotos", "paco", seed=1, manifest=manifest)
    assert manifest.read_bytes() == before
