"""A photo becomes faces one way (data.photo_faces), for the commands on photos and for the index:
a big JPEG decoded small for detection, a small face in it cut from a finer decode, boxes in the
photo's full-size pixels, and the same descriptor whichever way the photo came in."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib import cbook
from PIL import Image

from facetransfer.data import photo_faces as pf
from facetransfer.data.faces import detect_faces
from facetransfer.data.images import read_rgb

HOPPER = cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)


@pytest.fixture(scope="module")
def group_photo(tmp_path_factory):
    """Grace small in a 4000x3000 JPEG: her face about 280 px across, 70 px at the 1/4 decode."""
    grace = Image.open(HOPPER).convert("RGB")
    grace = grace.resize((round(grace.width * 1.6), round(grace.height * 1.6)))
    canvas = Image.new("RGB", (4000, 3000), (70, 90, 80))
    canvas.paste(grace, (2600, 1400))
    path = tmp_path_factory.mktemp("group") / "group.jpg"
    canvas.save(path, quality=92)
    return path


def test_a_small_face_in_a_big_photo_is_cut_from_a_finer_decode(group_photo):
    photo = pf.decode(group_photo)
    assert photo.pixels.shape[1] == 1000 and photo.full_size == (4000, 3000)
    found = pf.photo_faces(photo, geometry="dlib_chip", min_confidence=0.9, path=group_photo)
    assert len(found.faces) == 1 and found.decodes == [0, 2]
    x, y, w, h = found.faces[0].box
    assert 2600 < x < 2600 + 819 and 1400 < y < 1400 + 960 and 200 < w < 400
    # in full-size pixels: the landmarks found on the whole photo within a few pixels (MTCNN's
    # box is looser: within an eighth of its width)
    whole = detect_faces(read_rgb(group_photo), 0.9)[0]
    assert np.abs(np.asarray(found.faces[0].box) - whole.box).max() <= w / 8
    assert np.abs(found.faces[0].landmarks - whole.landmarks).max() <= 6
    # the crop is the face the full-size landmarks point at, cut from 1/2-scale pixels
    from facetransfer.data.align import align_face

    reference = align_face(read_rgb(group_photo), found.faces[0].landmarks, geometry="dlib_chip")
    assert found.crops[0].shape == reference.shape == (150, 150, 3)
    assert np.abs(found.crops[0].astype(int) - reference).mean() < 6


def test_a_face_wide_enough_in_the_decode_is_read_once(tmp_path):
    path = tmp_path / "grace.jpg"
    Image.open(HOPPER).convert("RGB").resize((2048, 2400)).save(path, quality=90)
    found = pf.photo_faces(pf.decode(path), geometry="dlib_chip", min_confidence=0.9, path=path)
    assert len(found.faces) == 1 and found.decodes == [0]


def test_the_finer_scale_is_the_coarsest_that_gives_the_face_its_pixels():
    assert pf._finer_scale(120, 0.25) == 0  # wide enough where it was found
    assert pf._finer_scale(60, 0.25) == 2  # 240 px at full size: 120 at 1/2
    assert pf._finer_scale(30, 0.25) == 1  # 120 px at full size: only the whole photo
    assert pf._finer_scale(20, 0.125) == 1  # 160 px at full size: 80 at 1/2, too few


def test_the_index_holds_the_descriptor_the_photo_gives(group_photo, tmp_path):
    from facetransfer.library import store
    from facetransfer.library.index import index_library
    from facetransfer.modeling.describe import FaceEmbedder

    model = FaceEmbedder.load("dlib")
    _, boxes, vectors, _ = model.detect_and_describe(group_photo)
    index = tmp_path / "library.sqlite"
    index_library([group_photo], index, base=model, progress=False)
    db = store.connect(index)
    try:
        rows = db.execute("SELECT x, y, w, h, descriptor FROM faces").fetchall()
    finally:
        db.close()
    assert [list(r[:4]) for r in rows] == boxes
    assert np.array_equal(store.from_blob(rows[0][4]), vectors[0])
