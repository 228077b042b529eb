"""The people commands and the Python API on a real face that needs no shared data (Grace Hopper's
portrait, shipped by matplotlib), with dlib's packaged base: what they answer, that the shell
and Python agree, that a gallery works wherever it is moved, and that every kind of bad input
ends with one line on stderr naming the file, the documented exit code, and nothing written."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
from matplotlib import cbook
from PIL import Image

import facetransfer as ft
from facetransfer import cli
from facetransfer.errors import ExitCode, InputError, NoFaceError, UsageError

HOPPER = Path(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> Path:
    """grace/ (the portrait, and it mirrored), blank.png (no face), empty/ (no photos)."""
    root = tmp_path_factory.mktemp("photos")
    (root / "family" / "grace").mkdir(parents=True)
    shutil.copy(HOPPER, root / "family" / "grace" / "1.jpg")
    image = Image.open(HOPPER)
    image.transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(root / "mirrored.jpg", quality=95)
    Image.new("RGB", (300, 300), (120, 120, 120)).save(root / "blank.png")
    (root / "empty").mkdir()
    (root / "only-folders" / "sub").mkdir(parents=True)
    return root


@pytest.fixture(scope="module")
def gallery(photos, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("galleries") / "g"
    assert cli.main(["enrol", str(photos / "family"), "--gallery", str(out)]) == 0
    return out


def _run(capsys, *argv) -> tuple[int, str, str]:
    capsys.readouterr()
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def _one_error_line(err: str, *words) -> str:
    lines = [line for line in err.strip().splitlines() if line]
    assert len(lines) == 1, err
    assert lines[0].startswith("facetransfer: error: "), lines[0]
    assert "Traceback" not in err
    for word in words:
        assert str(word) in lines[0], (word, lines[0])
    return lines[0]


# -- answers -----------------------------------------------------------------------------------


def test_identify_names_the_enrolled_person_and_moves_with_its_folder(
    photos, gallery, tmp_path, capsys, monkeypatch
):
    card = json.loads((gallery / "gallery.json").read_text())
    assert card["kind"] == "gallery" and card["base"]["name"] == "dlib"
    assert card["decision"]["rule"] == "distance" and "at most" in card["decision"]["meaning"]
    code, out, _ = _run(capsys, "identify", photos / "mirrored.jpg", "--gallery", gallery, "--json")
    assert code == ExitCode.OK
    face = json.loads(out)["faces"][0]
    assert face["person"] == "grace" and face["distance"] <= face["max_distance"]
    # moved, and used from another working directory: it finds dlib by name
    moved = tmp_path / "elsewhere" / "family-gallery"
    shutil.copytree(gallery, moved)
    monkeypatch.chdir(tmp_path / "elsewhere")
    code, out, _ = _run(capsys, "identify", photos / "mirrored.jpg", "--gallery", "family-gallery")
    assert code == ExitCode.OK and "\tgrace\t" in out
    assert not (tmp_path / "elsewhere" / "models").exists()  # nothing written for a named base
    # a max distance tighter than the face's distance: nobody known, exit code 1
    code, out, _ = _run(
        capsys, "identify", photos / "mirrored.jpg", "--gallery", moved, "--max-distance", "0.01"
    )
    assert code == ExitCode.NO and "unknown" in out


def test_verify_in_the_shell_and_in_python_give_the_same_distance(photos, capsys):
    a, b = photos / "family" / "grace" / "1.jpg", photos / "mirrored.jpg"
    code, out, _ = _run(capsys, "verify", a, b, "--json")
    answer = json.loads(out)
    assert code == ExitCode.OK and answer["same"]
    assert answer["distance"] == ft.verify(str(a), str(b))["distance"]
    assert answer["distance"] == ft.verify(np.asarray(Image.open(a)), b)["distance"]
    assert 0 < answer["distance"] < answer["max_distance"] == 0.6401
    code, out, _ = _run(capsys, "verify", a, b, "--max-distance", answer["distance"] / 2)
    assert code == ExitCode.NO and "different people" in out
    # a rate between the calibrated ones is interpolated, never rounded to one of them
    between = ft.verify(a, b, target_false_accept=0.003)["max_distance"]
    assert 0.5746 < between < 0.6401


def test_detect_represent_analyze_find_on_paths_folders_and_arrays(photos, tmp_path, capsys):
    pixels = np.asarray(Image.open(HOPPER).convert("RGB"))
    faces = ft.detect(pixels)
    assert len(faces) == 1 and faces[0]["confidence"] > 0.95
    assert set(faces[0]["landmarks"]) == {
        "left_eye",
        "right_eye",
        "nose",
        "mouth_left",
        "mouth_right",
    }
    x, y, w, h = faces[0]["box"]
    left_eye, right_eye = faces[0]["landmarks"]["left_eye"], faces[0]["landmarks"]["right_eye"]
    assert x < left_eye[0] < right_eye[0] < x + w and y < left_eye[1] < y + h
    by_folder = ft.detect(photos / "family" / "grace")
    assert list(by_folder) == [str(photos / "family" / "grace" / "1.jpg")]
    assert ft.detect(photos / "blank.png") == []

    from_path = ft.represent(HOPPER)[0]["descriptor"]
    from_array = ft.represent(pixels)[0]["descriptor"]
    assert from_path.shape == (128,) and np.allclose(from_path, from_array, atol=1e-5)

    code, out, _ = _run(capsys, "represent", HOPPER, "--npy", tmp_path / "d")
    assert code == ExitCode.OK
    assert np.allclose(np.load(tmp_path / "d.npy")[0], from_path, atol=1e-5)
    assert (tmp_path / "d.csv").read_text().splitlines()[1].startswith(str(HOPPER))

    found = ft.analyze(HOPPER)[0]
    assert len(found["attributes"]) == 40 and set(found["present"]) <= set(found["attributes"])
    assert all(0.0 <= p <= 1.0 for p in found["attributes"].values())

    hits = ft.find(photos / "mirrored.jpg", photos, recursive=True)
    assert [Path(h["path"]).name for h in hits] == ["mirrored.jpg", "1.jpg"]  # closest first
    code, out, _ = _run(capsys, "find", photos / "mirrored.jpg", photos / "family", "-r")
    assert code == ExitCode.OK and "1.jpg" in out

    code, _, _ = _run(capsys, "detect", photos / "blank.png")
    assert code == ExitCode.NO_FACE
    code, out, _ = _run(capsys, "analyze", HOPPER, "--json")
    assert code == ExitCode.OK and len(json.loads(out)["faces"][0]["attributes"]) == 40


def test_cluster_writes_named_groups_inside_its_folder_only(photos, tmp_path, capsys):
    out = tmp_path / "clusters"
    argv = ["cluster", photos / "family" / "grace", photos / "mirrored.jpg", "--out-dir", out]
    code, _, _ = _run(capsys, *argv, "--name", "0=grace")
    assert code == ExitCode.OK
    assert len(list((out / "people" / "grace").glob("*.jpg"))) == 2
    assert (out / "clusters.csv").read_text().splitlines()[0] == "path,face,box,cluster"


def test_every_public_name_imports():
    for name in ft.__all__:
        assert getattr(ft, name) is not None, name


def test_the_api_examples_run_as_doctests():
    """Top to bottom, sharing one namespace, as a reader goes through them (enrol's gallery is
    identify's)."""
    import doctest

    import facetransfer.api

    tests = sorted(doctest.DocTestFinder().find(facetransfer.api), key=lambda t: t.lineno or 0)
    runner, shared = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS), {}
    for test in tests:
        shared.update(test.globs)
        test.globs = shared
        runner.run(test, clear_globs=False)
    failed, tried = runner.summarize(verbose=False)
    assert tried >= 12 and failed == 0


# -- bad input ---------------------------------------------------------------------------------


def _damage(gallery: Path, target: Path, how: str, photos: Path) -> str:
    """Copy a good gallery to `target` and damage it; returns the file the error must name."""
    shutil.copytree(gallery, target)
    card = json.loads((target / "gallery.json").read_text())
    faces = target / "faces.npz"
    if how == "truncated-faces":
        faces.write_bytes(faces.read_bytes()[:100])
        return "faces.npz"
    if how == "empty-faces":
        faces.write_bytes(b"")
        return "faces.npz"
    if how == "no-faces-file":
        faces.unlink()
        return "faces.npz"
    if how == "no-card":
        (target / "gallery.json").unlink()
        return "gallery.json"
    if how == "truncated-card":
        text = (target / "gallery.json").read_text()
        (target / "gallery.json").write_text(text[: len(text) // 2])
        return "gallery.json"
    if how == "missing-array":
        np.savez(faces, names=np.array(["grace"]))
        return "faces.npz"
    if how == "person-without-faces":
        card["people"]["zoe"] = dict(card["people"]["grace"])
    elif how == "distance-not-a-number":
        card["people"]["grace"]["max_distance"] = "NaN"
    elif how == "escaping-name":
        card["people"]["../../x"] = card["people"].pop("grace")
    elif how == "newer-schema":
        card["schema_version"] = 99
    elif how == "other-base":
        card["base"]["weights_sha256"] = "0" * 64
    elif how == "mixed-files":
        np.savez(faces, names=np.array(["grace"]), vectors=np.ones((1, 128), np.float32))
        return "faces.npz"
    (target / "gallery.json").write_text(json.dumps(card))
    return "gallery.json"


DAMAGES = [
    "truncated-faces",
    "empty-faces",
    "no-faces-file",
    "no-card",
    "truncated-card",
    "missing-array",
    "person-without-faces",
    "distance-not-a-number",
    "escaping-name",
    "newer-schema",
    "other-base",
    "mixed-files",
]


@pytest.mark.parametrize("how", DAMAGES)
def test_a_damaged_gallery_is_named_and_refused(photos, gallery, tmp_path, capsys, how):
    named = _damage(gallery, tmp_path / "g", how, photos)
    before = {p: p.read_bytes() for p in (tmp_path / "g").iterdir()}
    code, out, err = _run(capsys, "identify", photos / "mirrored.jpg", "--gallery", tmp_path / "g")
    expected = ExitCode.USAGE if how == "escaping-name" else ExitCode.INPUT
    assert code == expected and out == ""
    _one_error_line(err, named)
    assert {p: p.read_bytes() for p in (tmp_path / "g").iterdir()} == before  # nothing touched
    with pytest.raises((InputError, UsageError)):
        ft.identify(photos / "mirrored.jpg", tmp_path / "g")


@pytest.mark.parametrize(
    "argv, code, words",
    [
        (["enrol", "{p}/missing", "--gallery", "{t}/g"], ExitCode.INPUT, ["missing"]),
        (["enrol", "{p}/blank.png", "--gallery", "{t}/g"], ExitCode.INPUT, ["blank.png"]),
        (["identify", "{p}/missing.jpg", "--gallery", "{t}"], ExitCode.INPUT, ["missing.jpg"]),
        (["identify", "{p}/only-folders", "--gallery", "{t}"], ExitCode.INPUT, ["only-folders"]),
        (["identify", "{p}/mirrored.jpg", "--gallery", "{t}/none"], ExitCode.INPUT, ["none"]),
        (["verify", "{p}/empty", "{p}/empty"], ExitCode.INPUT, ["empty"]),
        (["verify", "{p}/blank.png", "{p}/mirrored.jpg"], ExitCode.NO_FACE, ["blank.png"]),
        (["cluster", "{p}/typo"], ExitCode.INPUT, ["typo"]),
        (["cluster", "{p}/empty", "--out-dir", "{t}/c"], ExitCode.INPUT, ["empty"]),
        (["cluster", "{p}/family", "-r", "--name", "0=../../x"], ExitCode.USAGE, ["../../x"]),
        (["cluster", "{p}/family", "-r", "--name", "0=.hidden"], ExitCode.USAGE, [".hidden"]),
        (["cluster", "{p}/family", "-r", "--name", "0="], ExitCode.USAGE, ["CLUSTER=NAME"]),
        (["cluster", "{p}/family", "-r", "--name", "0=a/b"], ExitCode.USAGE, ["a/b"]),
        (["cluster", "{p}/blank.png", "--out-dir", "{t}/c"], ExitCode.NO_FACE, ["no face"]),
        (
            ["verify", "{p}/mirrored.jpg", "{p}/mirrored.jpg", "--target-false-accept", "0.05"],
            ExitCode.USAGE,
            ["0.05", "0.001 to 0.01"],
        ),
        (
            ["verify", "{p}/mirrored.jpg", "{p}/mirrored.jpg", "--base", "{t}/no.h5"],
            ExitCode.INPUT,
            ["no.h5"],
        ),
        (["predict", "--model", "{t}/none.h5", "{p}/mirrored.jpg"], ExitCode.INPUT, ["none.h5"]),
        (["detect", "{p}/empty"], ExitCode.INPUT, ["empty", "no photos"]),
        (
            ["transfer", "{p}/empty", "--base", "dlib", "--models-dir", "{t}/g"],
            ExitCode.INPUT,
            ["empty", "no photos of 'paco'"],
        ),
        (
            ["prepare", "--celeba-dir", "{p}/typo", "--data-dir", "{t}/g"],
            ExitCode.INPUT,
            ["typo", "no such CelebA folder"],
        ),
        (["detect", "{p}/mirrored.jpg", "--csv", "{t}"], ExitCode.INPUT, ["a folder; --csv"]),
    ],
)
def test_bad_input_to_a_command_is_one_line_and_its_exit_code(
    photos, tmp_path, capsys, argv, code, words
):
    argv = [a.format(p=photos, t=tmp_path) for a in argv]
    got, out, err = _run(capsys, *argv)
    assert got == code, err
    _one_error_line(err, *[w.format(p=photos, t=tmp_path) for w in words])
    assert not (tmp_path / "g").exists() and not (tmp_path / "c").exists()
    assert not (photos / "x").exists() and not (photos.parent / "x").exists()


@pytest.mark.parametrize(
    "argv",
    [
        ["predict", "--model", "m.h5", "x.jpg", "--min-probability", "1.5"],
        ["predict", "--model", "m.h5", "x.jpg", "--min-probability", "nan"],
        ["identify", "x.jpg", "--gallery", "g", "--max-distance", "-1"],
        ["verify", "a.jpg", "b.jpg", "--target-false-accept", "0"],
        ["cluster", "x", "--max-distance", "inf"],
        ["detect", "x.jpg", "--min-face-confidence", "2"],
    ],
)
def test_out_of_range_values_are_usage_errors_before_anything_loads(argv, capsys):
    start = time.perf_counter()
    with pytest.raises(SystemExit) as stop:
        cli.main(argv)
    assert stop.value.code == ExitCode.USAGE
    assert time.perf_counter() - start < 1.0
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and err.startswith("facetransfer: error: ")


def test_enrol_never_replaces_a_gallery_unasked(photos, gallery, tmp_path, capsys):
    copy = tmp_path / "g"
    shutil.copytree(gallery, copy)
    before = {p.name: p.read_bytes() for p in copy.iterdir()}
    code, _, err = _run(capsys, "enrol", photos / "family", "--gallery", copy)
    assert code == ExitCode.USAGE and "--replace" in _one_error_line(err, copy)
    assert {p.name: p.read_bytes() for p in copy.iterdir()} == before
    code, _, _ = _run(capsys, "enrol", photos / "family", "--gallery", copy, "--replace")
    assert code == ExitCode.OK


def test_verbose_goes_before_or_after_the_command(photos, capsys):
    for argv in (["-v", "detect", HOPPER], ["detect", HOPPER, "-v"]):
        assert cli.main([str(a) for a in argv]) == ExitCode.OK
    capsys.readouterr()


def test_the_api_raises_what_the_cli_exits_with(photos):
    with pytest.raises(InputError, match="missing.jpg"):
        ft.detect(photos / "missing.jpg")
    with pytest.raises(NoFaceError, match="blank.png"):
        ft.verify(photos / "blank.png", photos / "mirrored.jpg")
    with pytest.raises(InputError, match="no photos"):
        ft.represent(photos / "empty")
    with pytest.raises(UsageError, match="outside"):
        ft.verify(HOPPER, HOPPER, target_false_accept=0.2)
