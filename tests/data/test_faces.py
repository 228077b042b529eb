"""Tests for data.faces: geometry on synthetic points, detection on real CelebA faces."""

from __future__ import annotations

import logging
import os
import shutil

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from shared_data import SHARED_DATA

from facetransfer.data import align, faces
from facetransfer.data.align import align_face, align_folder, align_image
from facetransfer.data.faces import detect_faces
from facetransfer.data.geometry import CELEBA_LANDMARKS, similarity_transform
from facetransfer.data.images import ImageReadError, read_rgb

CELEBA_ALIGNED = SHARED_DATA / "celeba" / "img_align_celeba"


def rotation_scale_shift(angle_deg: float, scale: float, shift: tuple[float, float]) -> np.ndarray:
    angle = np.deg2rad(angle_deg)
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    return np.hstack([scale * rotation, np.array(shift)[:, None]])


def apply(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    return points @ matrix[:, :2].T + matrix[:, 2]


# --- geometry: no detector needed ------------------------------------------------------------


def test_similarity_transform_recovers_rotation_scale_shift():
    rng = np.random.default_rng(0)
    src = rng.uniform(0, 200, (5, 2))
    truth = rotation_scale_shift(25.0, 1.7, (-40.0, 12.5))
    np.testing.assert_allclose(similarity_transform(src, apply(truth, src)), truth, atol=1e-9)


def test_similarity_transform_least_squares_and_no_reflection():
    rng = np.random.default_rng(1)
    src = rng.uniform(0, 100, (5, 2))
    truth = rotation_scale_shift(-10.0, 0.5, (3.0, 4.0))
    noisy = apply(truth, src) + rng.normal(0, 0.5, (5, 2))
    fitted = similarity_transform(src, noisy)
    assert np.abs(fitted - truth).max() < 1.0
    mirrored = src * [-1, 1]
    assert np.linalg.det(similarity_transform(src, mirrored)[:, :2]) > 0  # never a mirror
    with pytest.raises(ValueError):
        similarity_transform(np.zeros((5, 2)), src)


def dots_image(points: np.ndarray, size: tuple[int, int], radius: int = 2) -> np.ndarray:
    """A dark image with a bright square dot of a distinct colour at each point."""
    colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0), (0, 255, 255)]
    image = np.full((size[1], size[0], 3), 20, dtype=np.uint8)
    for (x, y), colour in zip(np.rint(points).astype(int), colours, strict=True):
        image[y - radius : y + radius + 1, x - radius : x + radius + 1] = colour
    return image


def dot_centres(image: np.ndarray) -> np.ndarray:
    colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0), (0, 255, 255)]
    centres = []
    for colour in colours:
        weight = np.clip(1.0 - np.abs(image.astype(float) - colour).max(axis=2) / 128.0, 0, None)
        ys, xs = np.mgrid[: image.shape[0], : image.shape[1]]
        centres.append([(weight * xs).sum() / weight.sum(), (weight * ys).sum() / weight.sum()])
    return np.array(centres)


def test_align_face_puts_landmarks_on_celeba_positions():
    # A "photo" whose face is CelebA's landmarks rotated 30°, enlarged 2.5x and moved.
    to_photo = rotation_scale_shift(30.0, 2.5, (150.0, -60.0))
    photo_landmarks = apply(to_photo, CELEBA_LANDMARKS)
    photo = dots_image(photo_landmarks, (520, 560))
    crop = align_face(photo, photo_landmarks)
    assert crop.shape == (218, 178, 3) and crop.dtype == np.uint8
    np.testing.assert_allclose(dot_centres(crop), CELEBA_LANDMARKS, atol=1.0)


def test_align_face_other_size_scales_the_landmarks():
    # Twice CelebA's scale in, half its scale out: the shrink-then-warp path.
    photo_landmarks = np.rint(CELEBA_LANDMARKS * 2)
    photo = dots_image(photo_landmarks, (400, 480), radius=6)
    crop = align_face(photo, photo_landmarks, size=(89, 109))
    assert crop.shape == (109, 89, 3)
    expected = (photo_landmarks / 2 + 0.5) / 2 - 0.5
    np.testing.assert_allclose(dot_centres(crop), expected, atol=0.5)


def test_align_face_identity_and_edge_fill():
    rng = np.random.default_rng(2)
    card = rng.integers(0, 255, (218, 178, 3), dtype=np.uint8)
    # Landmarks already in place: the crop is the image itself.
    assert np.abs(align_face(card, CELEBA_LANDMARKS).astype(int) - card).max() <= 1
    # A face in the photo's corner: outside the photo, the edge pixels repeat (no black fill).
    photo = np.zeros((60, 60, 3), dtype=np.uint8)
    photo[:, :] = (200, 30, 90)
    corner = CELEBA_LANDMARKS * 0.2 - CELEBA_LANDMARKS.mean(axis=0) * 0.2 + 5
    crop = align_face(photo, corner)
    assert (crop == (200, 30, 90)).all()


# --- detection: MTCNN, loaded once for the module ---------------------------------------------


@pytest.fixture(scope="module")
def detector():
    pytest.importorskip("mtcnn")
    return faces.get_detector()


@pytest.fixture(scope="module")
def real_faces():
    """Two full-size aligned CelebA images (178x218), or skip when the sample is absent."""
    manifest = SHARED_DATA / "manifest.csv"
    if not manifest.exists():
        pytest.skip(f"no CelebA sample at {SHARED_DATA}")
    names = pd.read_csv(manifest).query("kind == 'aligned_full'")["image"].head(2).tolist()
    return [CELEBA_ALIGNED / name for name in names]


def test_detects_one_face_near_celeba_landmarks(detector, real_faces):
    image = read_rgb(real_faces[0])
    found = detect_faces(image)
    assert len(found) == 1
    face = found[0]
    assert face.confidence >= 0.9 and face.landmarks.shape == (5, 2)
    distances = np.linalg.norm(face.landmarks - CELEBA_LANDMARKS, axis=1)
    assert distances[:2].max() < 4 and distances.max() < 12  # eyes tight; noses vary with pose
    x, y, w, h = face.box
    assert 0 <= x < 178 and 0 <= y < 218 and 40 < w < 178 and 40 < h < 218


def test_small_image_is_upscaled_for_detection(detector, real_faces):
    image = np.asarray(Image.open(real_faces[0]).convert("RGB").resize((45, 55)))
    found = detect_faces(image)
    assert len(found) == 1
    expected = (CELEBA_LANDMARKS + 0.5) * [45 / 178, 55 / 218] - 0.5
    assert np.linalg.norm(found[0].landmarks - expected, axis=1).max() < 4


def test_blank_image_has_no_face_and_folder_lists_it(detector, tmp_path):
    crop, found = align_image(np.full((200, 200, 3), 128, dtype=np.uint8))
    assert crop is None and found == []

    photos = tmp_path / "photos"
    photos.mkdir()
    Image.new("RGB", (200, 200), (128, 128, 128)).save(photos / "blank.png")
    (photos / "broken.jpg").write_bytes(b"")
    (photos / ".DS_Store").write_bytes(b"junk")
    manifest = align_folder(photos, tmp_path / "aligned", progress=False)
    assert list(manifest["source"]) == [str(photos / "blank.png"), str(photos / "broken.jpg")]
    assert list(manifest["status"]) == ["no_face", "error"]
    assert "empty" in manifest["reason"].iloc[1] and manifest["crop"].isna().all()
    assert list(manifest["n_faces"]) == [0, 0]


def two_faces_side_by_side(paths) -> np.ndarray:
    """Face A at full size on the left, face B at 60% on the right."""
    big = Image.open(paths[0]).convert("RGB")
    small = Image.open(paths[1]).convert("RGB").resize((107, 131))
    canvas = Image.new("RGB", (178 + 20 + 107, 218), (128, 128, 128))
    canvas.paste(big, (0, 0))
    canvas.paste(small, (198, 40))
    return np.asarray(canvas)


def test_align_folder_uses_the_largest_of_two_faces(detector, real_faces, tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    Image.fromarray(two_faces_side_by_side(real_faces)).save(photos / "pair.png")
    Image.new("RGB", (200, 200), (128, 128, 128)).save(photos / "blank.png")
    (photos / "broken.jpg").write_bytes(b"")

    manifest = align_folder(photos, tmp_path / "aligned", progress=False)
    assert list(manifest["source"]) == [
        str(photos / n) for n in ("blank.png", "broken.jpg", "pair.png")
    ]
    manifest.index = [os.path.basename(source) for source in manifest["source"]]
    assert manifest.loc["blank.png", "status"] == "no_face"
    assert manifest.loc["broken.jpg", "status"] == "error"
    assert "empty" in manifest.loc["broken.jpg", "reason"]
    pair = manifest.loc["pair.png"]
    assert pair["status"] == "ok" and pair["n_faces"] == 2 and "largest" in pair["reason"]

    assert pd.isna(manifest.loc["blank.png", "crop"])
    crop = read_rgb(pair["crop"])
    assert crop.shape == (218, 178, 3)
    # The larger face (A, itself an aligned CelebA crop) comes out nearly as it went in.
    original = read_rgb(real_faces[0]).astype(float)
    assert np.corrcoef(crop.astype(float).ravel(), original.ravel())[0, 1] > 0.8
    on_disk = pd.read_csv(tmp_path / "aligned" / "manifest.csv", keep_default_na=False)
    assert list(on_disk.columns) == align.MANIFEST_COLUMNS
    assert list(on_disk["source"]) == ["blank.png", "broken.jpg", "pair.png"]  # relative on disk
    assert on_disk.loc[2, "crop"] == os.path.basename(pair["crop"])


def test_align_folder_cache_skips_unchanged_and_names_duplicate_stems(
    detector, real_faces, tmp_path, monkeypatch
):
    photos, out = tmp_path / "photos", tmp_path / "aligned"
    photos.mkdir()
    shutil.copy(real_faces[0], photos / "me.jpg")
    Image.open(real_faces[1]).save(photos / "me.png")  # same stem, another face

    first = align_folder(photos, out, progress=False)
    assert list(first["status"]) == ["ok", "ok"]
    assert sorted(first["crop"]) == [str(out / "me-2.png"), str(out / "me.png")]

    calls = []
    real_align_file = align.align_file

    def counting_align_file(source, *args, **kwargs):
        calls.append(source.name)
        return real_align_file(source, *args, **kwargs)

    monkeypatch.setattr(align, "align_file", counting_align_file)
    second = align_folder(photos, out, progress=False)
    assert calls == []  # nothing changed: everything from the cache
    pd.testing.assert_frame_equal(first, second)

    stat = (photos / "me.png").stat()
    os.utime(photos / "me.png", ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    third = align_folder(photos, out, progress=False)
    assert calls == ["me.png"]  # only the touched photo is redone, under the same crop name
    assert list(third["crop"]) == list(first["crop"])


# --- bad photos in a folder, on drawn faces (no shared data needed) ----------------------------


def drawn_face(seed: int, person: str = "paco") -> Image.Image:
    """A 178x218 drawn face (facetransfer.demo.synthetic), which MTCNN finds at confidence > 0.9."""
    from facetransfer.demo import synthetic

    rng = np.random.default_rng(seed)
    identity = synthetic.person_identity(person, seed)
    return synthetic.render_face(identity, synthetic.sample_attributes(identity, rng), rng)


def two_drawn_faces() -> Image.Image:
    """Face A at full size on the left, face B (someone else) at 60 % on the right."""
    canvas = Image.new("RGB", (178 + 20 + 107, 218), (128, 128, 128))
    canvas.paste(drawn_face(3), (0, 0))
    canvas.paste(drawn_face(4, "luis").resize((107, 131)), (198, 40))
    return canvas


def test_align_folder_every_kind_of_bad_photo_and_one_summary(
    detector, tmp_path, monkeypatch, caplog
):
    photos, out = tmp_path / "photos", tmp_path / "aligned"
    photos.mkdir()
    two_drawn_faces().save(photos / "pair of faces.png")
    drawn_face(0).save(photos / "café ñ 写真, 1.jpg", quality=95)  # space, comma, non-ASCII
    Image.new("RGB", (200, 200), (128, 128, 128)).save(photos / "blank.png")
    (photos / "empty.jpg").touch()
    (photos / "notes.jpg").write_text("not pixels")
    drawn_face(4).save(photos / "locked.jpg")
    (photos / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    (photos / "Thumbs.db").write_bytes(b"\xd0\xcf\x11\xe0")
    (photos / "old").mkdir()
    drawn_face(0).save(photos / "old" / "in a sub-folder.jpg")

    real_read_rgb = align.read_rgb

    def locked_read_rgb(path, *args, **kwargs):
        if os.path.basename(path) == "locked.jpg":  # as root, chmod cannot lock a file
            raise ImageReadError(path, "permission denied", "permission")
        return real_read_rgb(path, *args, **kwargs)

    monkeypatch.setattr(align, "read_rgb", locked_read_rgb)
    with caplog.at_level(logging.INFO, logger="facetransfer.data.align"):
        manifest = align_folder(photos, out, progress=False)
    manifest.index = [os.path.basename(source) for source in manifest["source"]]
    assert sorted(manifest.index) == sorted(
        [
            "pair of faces.png",
            "café ñ 写真, 1.jpg",
            "blank.png",
            "empty.jpg",
            "notes.jpg",
            "locked.jpg",
        ]
    )
    expected = {
        "pair of faces.png": ("ok", "several_faces"),
        "café ñ 写真, 1.jpg": ("ok", ""),
        "blank.png": ("no_face", "no_face"),
        "empty.jpg": ("error", "empty"),
        "notes.jpg": ("error", "not_image"),
        "locked.jpg": ("error", "permission"),
    }
    assert {n: (r.status, r.problem) for n, r in manifest.iterrows()} == expected
    assert manifest.loc["pair of faces.png", "n_faces"] == 2
    assert os.path.basename(manifest.loc["café ñ 写真, 1.jpg", "crop"]) == "café ñ 写真, 1.png"
    assert read_rgb(manifest.loc["café ñ 写真, 1.jpg", "crop"]).shape == (218, 178, 3)
    # The larger face (A) is the one aligned: the crop looks like A aligned on its own.
    alone = align_image(np.asarray(drawn_face(3)))[0].astype(float)
    from_pair = read_rgb(manifest.loc["pair of faces.png", "crop"]).astype(float)
    assert np.corrcoef(alone.ravel(), from_pair.ravel())[0, 1] > 0.9

    summaries = [
        r.getMessage() for r in caplog.records if "aligned 2 of 6 photos" in r.getMessage()
    ]
    assert len(summaries) == 1, caplog.text
    for words in (
        "skipped 4",
        "1 no face found",
        "1 empty file",
        "1 not an image",
        "1 permission denied",
        "1 with several faces (the largest used)",
    ):
        assert words in summaries[0]
    for name in ("blank.png", "empty.jpg", "notes.jpg", "locked.jpg", "pair of faces.png"):
        assert name in caplog.text  # each problem photo named in its own line too

    # Permission restored: a rerun retries the failed photo and keeps the rest from the cache.
    monkeypatch.setattr(align, "read_rgb", real_read_rgb)
    again = align_folder(photos, out, progress=False)
    again.index = [os.path.basename(source) for source in again["source"]]
    assert again.loc["locked.jpg", "status"] == "ok"
    assert again.loc["blank.png", "status"] == "no_face"


def test_an_out_dir_holds_one_photo_folder(tmp_path):
    first, second, out = tmp_path / "train" / "paco", tmp_path / "test" / "paco", tmp_path / "out"
    for folder in (first, second):
        folder.mkdir(parents=True)
        (folder / "1.jpg").touch()  # the same name in both: the second would overwrite the first
    align_folder(first, out, progress=False)
    with pytest.raises(ValueError, match="holds the aligned faces of"):
        align_folder(second, out, progress=False)
    align_folder(first, out, progress=False)  # its own folder: fine
    shutil.rmtree(tmp_path / "train")  # the first folder is gone (moved): the out_dir is free
    assert list(align_folder(second, out, progress=False)["status"]) == ["error"]


def test_manifest_from_before_the_problem_column_is_still_a_cache(detector, tmp_path, monkeypatch):
    photos, out = tmp_path / "photos", tmp_path / "aligned"
    photos.mkdir()
    Image.new("RGB", (200, 200), (128, 128, 128)).save(photos / "blank.png")
    align_folder(photos, out, progress=False)
    old = pd.read_csv(out / "manifest.csv", keep_default_na=False).drop(columns="problem")
    old.to_csv(out / "manifest.csv", index=False)

    def must_not_run(*args, **kwargs):
        raise AssertionError("the photo should come from the cache")

    monkeypatch.setattr(align, "align_file", must_not_run)
    manifest = align_folder(photos, out, progress=False)
    assert list(manifest["status"]) == ["no_face"] and list(manifest["problem"]) == ["no_face"]


def test_alignment_summary_from_a_manifest():
    manifest = pd.DataFrame(
        {
            "source": ["a.jpg", "b.jpg", "c.jpg", "d.jpg"],
            "status": ["ok", "ok", "no_face", "error"],
            "problem": ["", "several_faces", "no_face", "truncated"],
            "reason": ["", "2 faces; used the largest", "no face", "truncated or corrupt"],
        }
    )
    summary = align.alignment_summary(manifest)
    assert summary.counts() == {"no_face": 1, "truncated": 1}
    assert str(summary) == (
        "aligned 2 of 4 photos; skipped 2: 1 no face found, 1 truncated or corrupt; "
        "1 with several faces (the largest used)"
    )


def test_a_detector_crash_on_one_photo_does_not_stop_the_folder(tmp_path, monkeypatch, caplog):
    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("a.png", "b.png"):
        Image.new("RGB", (60, 60), (90, 90, 90)).save(photos / name)

    def flaky(image, *args, **kwargs):
        if flaky.calls == 0:
            flaky.calls += 1
            raise RuntimeError("out of memory in the detector")
        return None, []  # the other photo: no face

    flaky.calls = 0
    monkeypatch.setattr(align, "align_image", flaky)
    with caplog.at_level(logging.WARNING, logger="facetransfer.data.align"):
        manifest = align_folder(photos, tmp_path / "out", progress=False)
    assert list(manifest["status"]) == ["error", "no_face"]
    assert list(manifest["problem"]) == ["detection_failed", "no_face"]
    assert "RuntimeError: out of memory" in manifest["reason"].iloc[0]
    assert "face detection failed" in caplog.text


def test_an_unreadable_manifest_means_aligning_again(tmp_path, caplog):
    photos, out = tmp_path / "photos", tmp_path / "out"
    photos.mkdir()
    (photos / "empty.jpg").touch()
    align_folder(photos, out, progress=False)
    for garbage in (b"\x00\xff garbage, not a manifest\n", b"a,b\n1,2\n", b'"unclosed\n'):
        (out / "manifest.csv").write_bytes(garbage)
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="facetransfer.data.align"):
            manifest = align_folder(photos, out, progress=False)
        assert "ignoring unreadable manifest" in caplog.text, garbage
        assert list(manifest["problem"]) == ["empty"]
    assert list(pd.read_csv(out / "manifest.csv").columns) == align.MANIFEST_COLUMNS
