"""Strangers for thresholds: as many different people as there are, none excluded, never the
base's test partition; and the crop geometries the intake aligns to."""

from __future__ import annotations

import numpy as np
import pytest

from facetransfer.data.align import align_face
from facetransfer.data.celeba import load_celeba
from facetransfer.data.geometry import DLIB_CHIP_LANDMARKS, GEOMETRIES
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


# One colour per landmark: left eye red, right eye green, nose blue, mouth left yellow, mouth
# right magenta (a mirrored crop swaps red and green, yellow and magenta).
DOT_COLOURS = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [1, 0, 1]], float)


def _photo_with_dots(points, shape, sigma):
    """A black photo with a round coloured dot (a Gaussian of `sigma` px) centred on each point,
    pixel centres at integer coordinates."""
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]]
    photo = np.zeros((*shape, 3))
    for (x, y), colour in zip(points, DOT_COLOURS, strict=True):
        photo += np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * sigma**2))[..., None] * colour
    return np.round(255 * np.clip(photo, 0, 1)).astype(np.uint8)


@pytest.mark.parametrize("name", ["celeba", "dlib_chip"])
@pytest.mark.parametrize("half", [False, True], ids=["own-size", "half-size"])
@pytest.mark.parametrize("scale", [2.0, 0.8], ids=["shrunk", "enlarged"])
def test_alignment_puts_the_landmarks_where_the_geometry_says(name, half, scale):
    """A photo whose five landmarks are coloured dots (the face turned 10 degrees, `scale` times
    the crop's size: shrunk first, or enlarged): in the crop each dot is centred, within 0.1 px,
    on the geometry's template point (scaled for a half-size crop), in its own colour."""
    geometry = GEOMETRIES[name]
    size = (geometry.size[0] // 2, geometry.size[1] // 2) if half else geometry.size
    # a crop of another size is the geometry's crop resized: pixel centres scale about the corner
    template = (geometry.landmarks + 0.5) * np.divide(size, geometry.size) - 0.5
    per_crop_px = scale * geometry.size[0] / size[0]  # photo pixels per crop pixel
    angle = np.deg2rad(10)
    turn = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    landmarks = (template - template.mean(axis=0)) @ turn.T * per_crop_px + [150.0, 200.0]
    photo = _photo_with_dots(landmarks, (400, 300), sigma=1.5 * per_crop_px)

    crop = align_face(photo, landmarks, size if half else None, geometry=name)

    assert crop.shape == (size[1], size[0], 3)
    crop = crop.astype(float)
    for (x, y), colour in zip(template, DOT_COLOURS, strict=True):
        cx, cy = np.round([x, y]).astype(int)
        rows, cols = slice(cy - 4, cy + 5), slice(cx - 4, cx + 5)
        weight = crop[rows, cols].sum(axis=-1)
        yy, xx = np.mgrid[rows, cols]
        centre = np.array([(xx * weight).sum(), (yy * weight).sum()]) / weight.sum()
        np.testing.assert_allclose(centre, [x, y], atol=0.1)
        at_dot = crop[cy, cx]
        assert at_dot.max() > 120
        np.testing.assert_array_equal(at_dot > at_dot.max() / 2, colour.astype(bool))
    # and nothing else in the crop: black away from the dots
    far = np.ones(crop.shape[:2], bool)
    yy, xx = np.mgrid[0 : size[1], 0 : size[0]]
    for x, y in template:
        far &= (xx - x) ** 2 + (yy - y) ** 2 > 6**2
    assert crop[far].max() < 8


def test_the_dlib_chip_fills_beyond_the_photo_with_black():
    photo = np.full((60, 60, 3), 200, np.uint8)
    landmarks = DLIB_CHIP_LANDMARKS * 0.3 + 30  # its chip runs past the bottom-right corner
    chip = align_face(photo, landmarks, geometry="dlib_chip")
    assert chip.shape == (150, 150, 3)
    assert chip[-1, -1].tolist() == [0, 0, 0] and chip[75, 75].tolist() == [200, 200, 200]
