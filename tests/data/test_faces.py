"""Tests for data.faces and data.align: geometry on synthetic points, detection on real CelebA
faces, one photo aligned into a crop (align_file), and the photo intake that caches crops by
content (data.intake.align_photos): bad photos skipped and summarised, resumed, reused."""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from shared_data import SHARED_DATA

from facetransfer.data import align, faces, fotos, intake
from facetransfer.data.align import align_face, align_file, align_image
from facetransfer.data.faces import detect_faces
from facetransfer.data.geometry import CELEBA_LANDMARKS, similarity_transform
from facetransfer.data.images import read_rgb

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


def test_blank_image_has_no_face(detector):
    crop, found = align_image(np.full((200, 200, 3), 128, dtype=np.uint8))
    assert crop is None and found == []


def two_faces_side_by_side(paths) -> np.ndarray:
    """Face A at full size on the left, face B at 60% on the right."""
    big = Image.open(paths[0]).convert("RGB")
    small = Image.open(paths[1]).convert("RGB").resize((107, 131))
    canvas = Image.new("RGB", (178 + 20 + 107, 218), (128, 128, 128))
    canvas.paste(big, (0, 0))
    canvas.paste(small, (198, 40))
    return np.asarray(canvas)


def test_align_file_uses_the_largest_of_two_real_faces(detector, real_faces, tmp_path):
    Image.fromarray(two_faces_side_by_side(real_faces)).save(tmp_path / "pair.png")
    Image.new("RGB", (200, 200), (128, 128, 128)).save(tmp_path / "blank.png")
    (tmp_path / "broken.jpg").write_bytes(b"")

    pair = align_file(tmp_path / "pair.png", tmp_path / "pair-crop.png")
    assert (pair.status, pair.n_faces, pair.problem) == ("ok", 2, "several_faces")
    assert "largest" in pair.reason and pair.crop == tmp_path / "pair-crop.png"
    crop = read_rgb(pair.crop)
    assert crop.shape == (218, 178, 3)
    # The larger face (A, itself an aligned CelebA crop) comes out nearly as it went in.
    original = read_rgb(real_faces[0]).astype(float)
    assert np.corrcoef(crop.astype(float).ravel(), original.ravel())[0, 1] > 0.8

    blank = align_file(tmp_path / "blank.png", tmp_path / "blank-crop.png")
    assert (blank.status, blank.problem, blank.crop) == ("no_face", "no_face", None)
    broken = align_file(tmp_path / "broken.jpg", tmp_path / "broken-crop.png")
    assert (broken.status, broken.problem, broken.crop) == ("error", "empty", None)
    assert "empty" in broken.reason
    assert (
        not (tmp_path / "blank-crop.png").exists() and not (tmp_path / "broken-crop.png").exists()
    )


# --- the photo intake (data.intake.align_photos), on drawn faces (no shared data needed) -------


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


def split_frame(paths) -> pd.DataFrame:
    """The user's photos as data.fotos.split_fotos lists them: the person's, from fotos/."""
    return pd.DataFrame(
        {
            "path": [str(p) for p in paths],
            "label": 1,
            "split": "train",
            "source": "fotos",
            "group": range(len(paths)),
        },
        columns=fotos.COLUMNS,
    )


def counting_align_file(monkeypatch) -> list[str]:
    """Record the name of every photo the intake aligns (rather than takes from its cache)."""
    calls, real_align_file = [], intake.align_file

    def counting(source, *args, **kwargs):
        calls.append(os.path.basename(source))
        return real_align_file(source, *args, **kwargs)

    monkeypatch.setattr(intake, "align_file", counting)
    return calls


def intake_lines(caplog, words: str) -> list[logging.LogRecord]:
    return [
        r for r in caplog.records if r.name == "facetransfer.data.intake" and words in r.message
    ]


def test_align_photos_every_kind_of_bad_photo_and_one_summary(
    detector, tmp_path, monkeypatch, caplog
):
    photos, aligned = tmp_path / "fotos" / "paco", tmp_path / "aligned"
    photos.mkdir(parents=True)
    two_drawn_faces().save(photos / "pair of faces.png")
    drawn_face(0).save(photos / "café ñ 写真, 1.jpg", quality=95)  # space, comma, non-ASCII
    Image.new("RGB", (200, 200), (128, 128, 128)).save(photos / "blank.png")
    (photos / "empty.jpg").touch()
    (photos / "notes.jpg").write_text("not pixels")
    drawn_face(4).save(photos / "locked.jpg")
    names = [
        "pair of faces.png",
        "café ñ 写真, 1.jpg",
        "blank.png",
        "empty.jpg",
        "notes.jpg",
        "locked.jpg",
        "gone.jpg",  # listed by the split, deleted before the intake reads it
    ]
    frame = split_frame([photos / name for name in names])

    real_content_key = intake.content_key

    def locked_content_key(path):
        if os.path.basename(path) == "locked.jpg":  # as root, chmod cannot lock a file
            raise PermissionError(13, "Permission denied", str(path))
        return real_content_key(path)

    monkeypatch.setattr(intake, "content_key", locked_content_key)
    with caplog.at_level(logging.DEBUG, logger="facetransfer.data.intake"):
        out = intake.align_photos(frame, aligned, progress=False)

    assert [os.path.basename(p) for p in out["path"]] == ["pair of faces.png", "café ñ 写真, 1.jpg"]
    for crop in out["aligned"]:
        assert Path(crop).parent == aligned / "celeba" / "by-content"
        assert read_rgb(crop).shape == (218, 178, 3)
    # The larger face (A) is the one aligned: the crop looks like A aligned on its own.
    alone = align_image(np.asarray(drawn_face(3)))[0].astype(float)
    from_pair = read_rgb(out["aligned"].iloc[0]).astype(float)
    assert np.corrcoef(alone.ravel(), from_pair.ravel())[0, 1] > 0.9

    skipped = {os.path.basename(path): reason for path, reason in out.attrs["skipped"]}
    assert sorted(skipped) == ["blank.png", "empty.jpg", "gone.jpg", "locked.jpg", "notes.jpg"]
    assert "no face" in skipped["blank.png"] and "empty" in skipped["empty.jpg"]
    assert "not an image" in skipped["notes.jpg"]
    assert "Permission denied" in skipped["locked.jpg"]
    assert "No such file" in skipped["gone.jpg"]

    summaries = intake_lines(caplog, "aligned 2 of 7 photos")
    assert len(summaries) == 1, caplog.text
    assert summaries[0].levelno == logging.WARNING
    for words in ("skipped 5", "1 no face found", "1 empty file", "1 not an image", "2 unreadable"):
        assert words in summaries[0].message
    for name in skipped:  # each skipped photo named in a DEBUG line of its own
        assert len(intake_lines(caplog, f"{name}:")) == 1, name
    assert "pair of faces.png: 2 faces; used the largest" in caplog.text  # a warning of its own

    # Permission restored: a rerun tries again every photo that could not be read (the locked one
    # is now aligned); the rest come from the cache (the crops, and the blank photo's no-face note).
    monkeypatch.setattr(intake, "content_key", real_content_key)
    calls = counting_align_file(monkeypatch)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="facetransfer.data.intake"):
        again = intake.align_photos(frame, aligned, progress=False)
    assert calls == ["empty.jpg", "notes.jpg", "locked.jpg"]
    assert [os.path.basename(p) for p in again["path"]] == [
        "pair of faces.png",
        "café ñ 写真, 1.jpg",
        "locked.jpg",
    ]
    assert list(again["aligned"].iloc[:2]) == list(out["aligned"])
    assert len(intake_lines(caplog, "aligned 3 of 7 photos; skipped 4")) == 1, caplog.text
    assert "3 crops reused from an earlier run" in caplog.text


def test_align_photos_caches_crops_by_content_and_by_geometry(detector, tmp_path, monkeypatch):
    fotos_root, aligned = tmp_path / "fotos", tmp_path / "aligned"
    first, second = fotos_root / "train" / "paco" / "1.jpg", fotos_root / "test" / "paco" / "1.jpg"
    for path, seed in ((first, 0), (second, 1)):  # the same name in two folders, two faces
        path.parent.mkdir(parents=True)
        drawn_face(seed).save(path)
    frame = split_frame([first, second])

    one = intake.align_photos(frame, aligned, progress=False)
    crops = list(one["aligned"])
    assert len(set(crops)) == 2, "two folders' photos of one name never share a crop"
    assert all(Path(c).parent == aligned / "celeba" / "by-content" for c in crops)
    assert not np.array_equal(read_rgb(crops[0]), read_rgb(crops[1]))

    calls = counting_align_file(monkeypatch)
    two = intake.align_photos(frame, aligned, progress=False)
    assert calls == []  # nothing changed: everything from the cache
    pd.testing.assert_frame_equal(one, two)

    stat = second.stat()
    os.utime(second, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert list(intake.align_photos(frame, aligned, progress=False)["aligned"]) == crops
    assert calls == []  # touched, not changed: still the same crop

    moved = fotos_root / "paco" / "copied here.jpg"
    moved.parent.mkdir()
    shutil.copy(first, moved)
    copied = intake.align_photos(split_frame([moved]), aligned, progress=False)
    assert calls == [] and list(copied["aligned"]) == crops[:1]  # a copy reuses its crop

    drawn_face(4).save(second)  # another photo under the same name: aligned again
    changed = intake.align_photos(frame, aligned, progress=False)
    assert calls == ["1.jpg"]
    assert changed["aligned"].iloc[0] == crops[0] and changed["aligned"].iloc[1] != crops[1]

    calls.clear()  # another geometry: its own folder of crops, at its own size
    chips = intake.align_photos(frame, aligned, geometry="dlib_chip", progress=False)
    assert calls == ["1.jpg", "1.jpg"]
    for crop in chips["aligned"]:
        assert Path(crop).parent == aligned / "dlib_chip" / "by-content"
        assert read_rgb(crop).shape == (150, 150, 3)


def test_align_photos_resumes_after_an_interruption(detector, tmp_path, monkeypatch):
    photos, aligned = tmp_path / "fotos" / "paco", tmp_path / "aligned"
    photos.mkdir(parents=True)
    for seed, name in enumerate(("a.png", "b.png", "c.png")):
        drawn_face(seed).save(photos / name)
    frame = split_frame(sorted(photos.iterdir()))

    real_save, saves = Image.Image.save, []

    def killed_while_writing_the_second_crop(image, fp, *args, **kwargs):
        saves.append(fp)
        if len(saves) == 2:
            Path(fp).write_bytes(b"\x89PNG\r\n\x1a\n half a crop")
            raise KeyboardInterrupt
        return real_save(image, fp, *args, **kwargs)

    monkeypatch.setattr(Image.Image, "save", killed_while_writing_the_second_crop)
    with pytest.raises(KeyboardInterrupt):
        intake.align_photos(frame, aligned, progress=False)
    monkeypatch.setattr(Image.Image, "save", real_save)

    calls = counting_align_file(monkeypatch)
    out = intake.align_photos(frame, aligned, progress=False)
    assert calls == ["b.png", "c.png"]  # a's crop was whole: kept; b's never became a crop
    assert [os.path.basename(p) for p in out["path"]] == ["a.png", "b.png", "c.png"]
    for crop in out["aligned"]:
        assert read_rgb(crop).shape == (218, 178, 3)


def test_a_detector_crash_on_one_photo_does_not_stop_the_intake(tmp_path, monkeypatch, caplog):
    photos = tmp_path / "fotos" / "paco"
    photos.mkdir(parents=True)
    for name in ("a.png", "b.png"):
        Image.new("RGB", (60, 60), (90, 90, 90)).save(photos / name)
    (photos / "b.png").write_bytes((photos / "b.png").read_bytes() + b"\0")  # not a's bytes
    frame = split_frame([photos / "a.png", photos / "b.png"])

    def flaky(image, *args, **kwargs):
        if flaky.calls == 0:
            flaky.calls += 1
            raise RuntimeError("out of memory in the detector")
        return None, []  # the other photo: no face

    flaky.calls = 0
    monkeypatch.setattr(align, "align_image", flaky)
    with caplog.at_level(logging.INFO, logger="facetransfer.data.intake"):
        out = intake.align_photos(frame, tmp_path / "aligned", progress=False)
    assert out.empty
    skipped = dict(out.attrs["skipped"])
    assert "RuntimeError: out of memory" in skipped[str(photos / "a.png")]
    assert "no face" in skipped[str(photos / "b.png")]
    assert "face detection failed" in caplog.text  # logged with its traceback
    line = "aligned 0 of 2 photos; skipped 2: 1 face detection failed, 1 no face found"
    assert len(intake_lines(caplog, line)) == 1, caplog.text

    # The crash is tried again on the next run; the photo with no face is remembered.
    calls = counting_align_file(monkeypatch)
    intake.align_photos(frame, tmp_path / "aligned", progress=False)
    assert calls == ["a.png"]
