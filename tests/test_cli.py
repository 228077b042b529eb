"""The CLI end to end on tiny drawn data: prepare, train-attributes, transfer, predict."""

from __future__ import annotations

import json

import pytest

from facetransfer import cli


@pytest.mark.parametrize(
    "command",
    [
        "prepare",
        "train-attributes",
        "transfer",
        "predict",
        "export",
        "enrol",
        "identify",
        "verify",
        "cluster",
    ],
)
def test_every_subcommand_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main([command, "--help"])
    assert exit_info.value.code == 0
    assert "usage: facetransfer " + command in capsys.readouterr().out


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("project")
    common = ["--data-dir", str(root / "data"), "--synthetic-size", "tiny"]
    return root, common


@pytest.mark.slow
def test_prepare_train_transfer_predict(project, capsys):
    root, common = project
    dirs = ["--models-dir", str(root / "models"), "--logs-dir", str(root / "logs")]

    assert cli.main(["prepare", *common]) == 0
    out = capsys.readouterr().out
    assert "majority-class baseline" in out

    assert cli.main(["train-attributes", *common, *dirs, "--epochs", "1"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["checkpoint"].endswith("seed_model2.h5")
    assert 0.0 <= summary["mean_accuracy"] <= 1.0
    assert (root / "models" / "seed_model2.keras").exists()
    assert list((root / "logs" / "train-attributes").glob("model2-*"))

    base = root / "models" / "seed_model2.h5"
    out_model = root / "models" / "paco.h5"
    assert (
        cli.main(
            [
                "transfer",
                *common,
                *dirs,
                "--base",
                str(base),
                "--epochs",
                "2",
                "--out",
                str(out_model),
                "--json",
            ]
        )
        == 0
    )
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["n_person"] > 0 and report["n_others"] > 0
    assert 0.0 <= report["roc_auc"] <= 1.0
    meta = json.loads(out_model.with_suffix(".json").read_text())
    assert meta["person"] == "paco" and meta["kind"] == "person"
    assert meta["decision"]["rule"] == "probability" and meta["schema_version"] == 1
    threshold = meta["decision"]["threshold"]

    photos = sorted((root / "data" / "synthetic").glob("fotos-paco-seed0/paco/*.jpg"))[:2]
    assert photos
    code = cli.main(["predict", "--model", str(out_model), "--json", *map(str, photos)])
    lines = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
    assert len(lines) == 2
    for line in lines:
        assert set(line) >= {"path", "faces", "probability", "is_person"}
        assert line["probability"] == max(f["probability"] for f in line["faces"])
        assert line["is_person"] == (line["probability"] >= threshold)
    assert code == (0 if any(line["is_person"] for line in lines) else 1)  # 1: nobody accepted

    code = cli.main(["predict", "--model", str(out_model), str(photos[0])])
    path, probability, decision, shown = capsys.readouterr().out.strip().split("\t")
    assert path == str(photos[0]) and decision in {"paco", "unknown"}
    assert code == (0 if decision == "paco" else 1)
    assert shown == f"(min probability {threshold:.3f})"
    float(probability)
    # the base learned from drawn faces only, and it says so in the person model's sidecar
    assert meta["base_learned_from"]["drawn"] is True

    # a second person (the same model, renamed): both score every photo; a threshold given
    # overrides the saved one; a CSV row per face; folders' annotated photos never collide
    for suffix in (".h5", ".json"):
        data = out_model.with_suffix(suffix).read_bytes()
        if suffix == ".json":
            data = json.dumps({**json.loads(data), "person": "ana"}).encode()
        (root / "models" / f"ana{suffix}").write_bytes(data)
    one, two = root / "one" / "sub", root / "two" / "sub"
    for folder in (one, two):
        folder.mkdir(parents=True)
        (folder / "same.jpg").write_bytes(photos[0].read_bytes())
    argv = ["predict", "--model", str(out_model), "--model", str(root / "models" / "ana.h5")]
    argv += ["--min-probability", "0.25", "--recursive", "--csv", str(root / "faces.csv")]
    argv += ["--out-dir", str(root / "annotated"), "--json", str(root / "one"), str(root / "two")]
    assert cli.main(argv) in (0, 1)
    captured = capsys.readouterr()
    lines = [json.loads(line) for line in captured.out.strip().splitlines()]
    assert sorted(line["person"] for line in lines) == ["ana", "ana", "paco", "paco"]
    assert all(line["threshold"] == 0.25 for line in lines)
    assert all(line["is_person"] == (line["probability"] >= 0.25) for line in lines)
    assert "summary: photos 2, paco" in captured.err and "summary: photos 2, ana" in captured.err
    assert "learned from drawn faces only" in captured.err
    for person in ("paco", "ana"):
        for folder in ("one", "two"):
            assert (root / "annotated" / person / folder / "sub" / "same.png").exists()
    rows = (root / "faces.csv").read_text().strip().splitlines()
    assert rows[0].startswith("path,model,face,box,probability,min_probability,said")
    assert len(rows) == 1 + 4  # one face in each of 2 photos, for each of 2 models

    twice = ["predict", "--model", str(out_model), "--model", str(out_model), str(photos[0])]
    assert cli.main(twice) == 2
    assert "same person" in capsys.readouterr().err

    # export: lines a person reads, the JSON with --json (as every command)
    exported = ["export", "--model", str(out_model), "--no-tflite", "--out-dir", str(root / "x")]
    assert cli.main(exported) == 0
    said = capsys.readouterr().out
    assert said.startswith("SavedModel: ") and "{" not in said
    assert cli.main([*exported, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["savedmodel"].startswith(str(root / "x"))


def test_predict_with_a_corrupt_model_is_a_clear_error(tmp_path, capsys):
    broken = tmp_path / "paco.h5"
    broken.write_bytes(b"not an h5 file")
    broken.with_suffix(".json").write_text('{"kind": "person", "person": "paco", "threshold": 0.5}')
    photo = tmp_path / "photos" / "a.jpg"
    photo.parent.mkdir()
    photo.write_bytes(b"\xff\xd8 not really")
    assert cli.main(["predict", "--model", str(broken), str(photo.parent)]) == 3
    err = capsys.readouterr().err
    assert "not a readable Keras model" in err and len(err.strip().splitlines()) == 1


def test_transfer_with_a_person_model_as_base_is_a_clear_error(tmp_path, capsys):
    import keras

    model = keras.Sequential(
        [keras.Input((192, 192, 3)), keras.layers.Flatten(name="x"), keras.layers.Dense(1)]
    )
    model.save(tmp_path / "wrong.h5")
    assert cli.main(["transfer", "--base", str(tmp_path / "wrong.h5")]) == 3
    assert "not an attribute base" in capsys.readouterr().err


def test_transfer_prints_a_summary_and_json_only_when_asked():
    from facetransfer.cli.app import build_parser
    from facetransfer.cli.person import transfer_summary

    report = {"model": "m/ana.h5", "n_person": 4, "n_others": 10, "roc_auc": 0.9}
    report |= {"false_rejects": 1, "false_accepts": 0, "threshold": 0.5}
    said = transfer_summary({**report, "strangers_for_threshold": 1000}, "ana")
    assert said.splitlines() == [
        "m/ana.h5: a model of ana, min probability 0.500",
        "test photos: ana 4, 3 accepted; others 10, 0 accepted; ROC AUC 0.900",
        "threshold chosen on 1000 CelebA strangers",
    ]
    alone = {**report, "n_others": 0, "roc_auc": None, "false_accepts": 0}
    assert (
        transfer_summary(alone, "ana").splitlines()[1]
        == "test photos: ana 4, 3 accepted; others 0"
    )
    parser = build_parser()
    assert parser.parse_args(["transfer", "--base", "dlib", "--json"]).json
    assert not parser.parse_args(["transfer", "--base", "dlib"]).json


@pytest.mark.parametrize("command", ["detect", "represent", "analyze"])
def test_unreadable_photos_one_line_each_and_one_line_when_none_is_read(command, tmp_path, capsys):
    from PIL import Image

    bad, worse = tmp_path / "bad.jpg", tmp_path / "worse.png"
    bad.write_text("not an image")
    worse.write_bytes(b"")
    Image.new("RGB", (200, 200), (120, 120, 120)).save(tmp_path / "grey.png")

    def run(*photos):
        capsys.readouterr()
        code = cli.main([command, *map(str, photos)])
        return code, [line for line in capsys.readouterr().err.splitlines() if line]

    code, err = run(bad)
    assert code == 3 and len(err) == 1, err
    assert err[0].startswith("facetransfer: error: ") and str(bad) in err[0]
    code, err = run(bad, worse)
    assert code == 3 and len(err) == 1, err
    assert "none of the 2 photos could be read" in err[0] and str(bad) in err[0]
    code, err = run(bad, tmp_path / "grey.png")  # read, no face: the skip named once, counted
    assert code == 4 and len(err) == 2, err
    assert "skipped" in err[0] and str(bad) in err[0] and str(worse) not in err[0]
    assert err[1].startswith("summary: photos 2, unreadable 1")


def test_annotated_photos_mirror_the_folders_given(tmp_path):
    from facetransfer.cli.photos import annotated_path

    taken = set()
    out = tmp_path / "out"
    first = annotated_path(out, tmp_path / "a" / "x" / "IMG_1.jpg", tmp_path / "a", taken)
    second = annotated_path(out, tmp_path / "b" / "x" / "IMG_1.jpg", tmp_path / "b", taken)
    third = annotated_path(out, tmp_path / "a" / "x" / "IMG_1.png", tmp_path / "a", taken)
    assert first == out / "a" / "x" / "IMG_1.png" and second == out / "b" / "x" / "IMG_1.png"
    assert third == out / "a" / "x" / "IMG_1-2.png"  # same stem, other suffix: no overwrite


@pytest.mark.slow
def test_transfer_again_after_the_photos_moved_reuses_their_crops(tmp_path, capsys):
    import shutil
    from pathlib import Path

    import pandas as pd
    from shared_data import SHARED_DATA

    if not (SHARED_DATA / "manifest.csv").exists():
        pytest.skip("no shared CelebA sample")
    manifest = pd.read_csv(SHARED_DATA / "manifest.csv")
    wild = manifest[manifest["kind"] == "wild"]
    first, second = sorted(wild["identity"].unique())[:2]
    folder = SHARED_DATA / "celeba-wild" / "img_celeba"
    for who, sub, n in ((first, "paco", 8), (second, "others", 6)):
        (tmp_path / "fotos" / sub).mkdir(parents=True)
        for name in wild.loc[wild["identity"] == who, "image"][:n]:
            shutil.copy(folder / name, tmp_path / "fotos" / sub / name)
    argv = ["transfer", "--base", "dlib", "--person", "paco", "--models-dir", str(tmp_path / "m")]
    argv += ["--data-dir", str(tmp_path / "data"), "--logs-dir", str(tmp_path / "logs")]
    assert cli.main([*argv, "--fotos", str(tmp_path / "fotos")]) == 0
    crops = sorted((tmp_path / "data" / "aligned").rglob("by-content/*.png"))
    stamps = {c: c.stat().st_mtime_ns for c in crops}
    assert crops
    shutil.move(tmp_path / "fotos", tmp_path / "moved")  # the photos moved
    (tmp_path / "fotos" / "paco").mkdir(parents=True)  # and a new folder of the same names
    for photo in sorted((tmp_path / "moved" / "paco").iterdir())[:3]:
        shutil.copy(photo, tmp_path / "fotos" / "paco" / photo.name)
    capsys.readouterr()
    assert cli.main([*argv, "--fotos", str(tmp_path / "moved"), "--json"]) == 0
    assert {c: c.stat().st_mtime_ns for c in crops} == stamps  # reused, not aligned again
    assert sorted((tmp_path / "data" / "aligned").rglob("by-content/*.png")) == crops
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["n_person"] > 0
    # the new folder with photos of the same names: its own three photos, none of the others
    assert cli.main([*argv, "--fotos", str(tmp_path / "fotos")]) == 0
    split = pd.read_csv(tmp_path / "m" / "paco.split.csv")
    assert sorted(Path(p).name for p in split["path"]) == sorted(
        p.name for p in (tmp_path / "fotos" / "paco").iterdir()
    )
    assert all(str(tmp_path / "fotos") in p for p in split["path"])
