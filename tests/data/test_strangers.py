"""Strangers for thresholds: as many different people as there are, none excluded, never the
base's test partition; and the crop geometries the intake aligns to."""

from __future__ import annotations

import numpy as np
import pytest

from facetransfer.data.align import align_face
from facetransfer.data.celeba import load_celeba
from facetransfer.data.geometry import DLIB_CHIP_LANDMARKS, GEOMETRIES, similarity_transform
from facetransfer.data.strangers import stranger_rows


def test_strangers_spread_over_people_and_skip_the_excluded(tiny_celeba):
    celeba = load_celeba(tiny_celeba)
    person = int(celeba.identity.iloc[0])
    pool = stranger_rows(celeba, 20, exclude_identities=[person])
    assert len(pool) == 20 and (pool["label"] == 0).all()
    assert person not in set(pool["identity"])
    allowed = celeba.partition.isin([0, 1])
    names = [p.rsplit("/", 1)[-1] for p in pool["path"]]
    assert allowed.loc[names].all(), "never the base's test partition"
    # one photo per person before anyone's second
    people = celeba.identity.loc[celeba.partition.index[allowed.to_numpy()]]
    n_people = people[people != person].nunique()
    first = pool["identity"].iloc[: min(20, n_people)]
    assert first.is_unique


def test_strangers_leave_out_given_paths_and_warn_when_too_few(tiny_celeba, caplog):
    celeba = load_celeba(tiny_celeba)
    everyone = stranger_rows(celeba, 10_000)
    assert len(everyone) < 10_000 and "threshold's false-accept rate" in caplog.text
    some = stranger_rows(celeba, 5, exclude_paths=everyone["path"][:5])
    assert not set(some["path"]) & set(everyone["path"][:5])


@pytest.mark.parametrize("name", ["celeba", "dlib_chip"])
def test_alignment_puts_the_landmarks_where_the_geometry_says(name):
    geometry = GEOMETRIES[name]
    rng = np.random.default_rng(1)
    photo = rng.integers(0, 256, (400, 300, 3), dtype=np.uint8)
    # a face twice the crop's scale, turned 10 degrees, somewhere in the photo
    angle = np.deg2rad(10)
    turn = 2.0 * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    landmarks = geometry.landmarks @ turn.T + [40.0, 60.0]
    crop = align_face(photo, landmarks, geometry=name)
    assert crop.shape == (geometry.size[1], geometry.size[0], 3)
    back = similarity_transform(landmarks, geometry.landmarks)
    mapped = landmarks @ back[:, :2].T + back[:, 2]
    np.testing.assert_allclose(mapped, geometry.landmarks, atol=1e-6)


def test_the_dlib_chip_fills_beyond_the_photo_with_black():
    photo = np.full((60, 60, 3), 200, np.uint8)
    landmarks = DLIB_CHIP_LANDMARKS * 0.3 + 30  # its chip runs past the bottom-right corner
    chip = align_face(photo, landmarks, geometry="dlib_chip")
    assert chip.shape == (150, 150, 3)
    assert chip[-1, -1].tolist() == [0, 0, 0] and chip[75, 75].tolist() == [200, 200, 200]
