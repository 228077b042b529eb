"""The photo library index on a real face that needs no shared data (matplotlib's Grace Hopper)
and variants of it: resized, re-encoded, renamed, edited, broken. What a re-run touches, what a
kill -9 leaves, identify from the index against identify on the photos, shards merged into the
index one run makes, and bad index files refused with one line naming them."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from matplotlib import cbook
from PIL import Image

from facetransfer import cli
from facetransfer.errors import ExitCode
from facetransfer.library import index as library_index
from facetransfer.library import store
from facetransfer.library.index import index_library
from facetransfer.library.shards import merge

HOPPER = Path(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))


def _make_library(root: Path, n_extra: int = 0) -> Path:
    """Grace at several sizes and encodings, mirrored, a blank photo, two broken files."""
    root.mkdir(parents=True, exist_ok=True)
    image = Image.open(HOPPER).convert("RGB")
    shutil.copy(HOPPER, root / "grace.jpg")
    image.resize((1600, 1875)).save(root / "big.jpg", quality=90)
    image.resize((256, 300)).save(root / "small.png")
    image.transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(root / "mirrored.jpg", quality=80)
    Image.new("RGB", (300, 300), (120, 120, 120)).save(root / "blank.png")
    (root / "broken.jpg").write_bytes(HOPPER.read_bytes()[:2000])
    (root / "notes.jpg").write_text("not a photo")
    for k in range(n_extra):
        side = 200 + 16 * k
        image.resize((side, round(side * 1.17))).save(root / f"extra{k:02d}.jpg", quality=85)
    return root


def _rows(index: Path) -> dict[str, list[tuple]]:
    db = sqlite3.connect(index)
    try:
        return {table: store.table_rows(db, table) for table in store.TABLES}
    finally:
        db.close()


def _run(capsys, *argv) -> tuple[int, str, str]:
    capsys.readouterr()
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def library(tmp_path_factory) -> Path:
    return _make_library(tmp_path_factory.mktemp("library") / "photos")


@pytest.fixture(scope="module")
def indexed(library, tmp_path_factory) -> Path:
    index = tmp_path_factory.mktemp("index") / "library.sqlite"
    summary = index_library([library], index, progress=False)
    assert summary.photos == 7 and summary.counts["new"] == 5 and summary.counts["skipped"] == 2
    return index


@pytest.fixture(scope="module")
def gallery(tmp_path_factory) -> Path:
    family = tmp_path_factory.mktemp("family")
    (family / "grace").mkdir()
    shutil.copy(HOPPER, family / "grace" / "1.jpg")
    out = family.parent / f"{family.name}-gallery"
    assert cli.main(["enrol", str(family), "--gallery", str(out)]) == 0
    return out


# -- what an index holds -----------------------------------------------------------------------


def test_the_index_records_every_photo_and_face(indexed, library):
    rows = _rows(indexed)
    photos = {Path(r[0]).name: r for r in rows["photos"]}
    assert set(photos) == {p.name for p in library.iterdir()}
    assert photos["broken.jpg"][7] == "skipped" and "truncated" in photos["broken.jpg"][8]
    assert photos["notes.jpg"][7] == "skipped" and "not an image" in photos["notes.jpg"][8]
    assert photos["big.jpg"][5:7] == (1600, 1875)  # the full size, though decoded smaller
    faces = {r[0]: r for r in rows["faces"]}
    blank_hash = photos["blank.png"][1]
    assert blank_hash not in faces and (blank_hash, 0) in [(r[0], r[2]) for r in rows["described"]]
    assert len(faces) == 4  # grace, big, small, mirrored: one face each
    for row in faces.values():
        vector = store.from_blob(row[9])
        assert vector.shape == (128,) and np.isfinite(vector).all()
    # the big photo's box is in its full-size pixels: about 1600/512 times the original's
    big, small = faces[photos["big.jpg"][1]], faces[photos["grace.jpg"][1]]
    assert big[5] == pytest.approx(small[5] * 1600 / 512, rel=0.08)
    meta = dict(rows["meta"])
    assert meta["schema_version"] == str(store.SCHEMA_VERSION)


def test_a_rerun_with_nothing_changed_reads_no_photo(indexed, library, monkeypatch):
    before = _rows(indexed)
    read = []
    original = library_index._Indexer.read
    monkeypatch.setattr(
        library_index._Indexer, "read", lambda self, *a: read.append(a[0]) or original(self, *a)
    )
    summary = index_library([library], indexed, progress=False)
    assert read == [] and summary.counts["unchanged"] == 7 and summary.counts["faces"] == 0
    assert _rows(indexed) == before


def test_moved_is_not_described_again_edited_is_and_removed_is_marked(library, tmp_path):
    photos = _make_library(tmp_path / "photos")
    index = tmp_path / "library.sqlite"
    index_library([photos], index, progress=False)
    before = _rows(index)
    (photos / "grace.jpg").rename(photos / "renamed.jpg")
    Image.open(photos / "mirrored.jpg").rotate(5).save(photos / "mirrored.jpg", quality=80)
    (photos / "small.png").unlink()
    described = []
    original = library_index._Indexer.detect
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setattr(
        library_index._Indexer,
        "detect",
        lambda self, item: described.append(item.path.name) or original(self, item),
    )
    try:
        summary = index_library([photos], index, progress=False)
    finally:
        monkeypatch.undo()
    assert described == ["mirrored.jpg"]
    c = summary.counts
    assert (c["moved"], c["changed"], c["removed"], c["unchanged"]) == (1, 1, 1, 4)
    after = {Path(r[0]).name: r for r in _rows(index)["photos"]}
    old = {Path(r[0]).name: r for r in before["photos"]}
    assert "grace.jpg" not in after and after["renamed.jpg"][1] == old["grace.jpg"][1]
    assert after["small.png"][7] == "removed"
    assert after["mirrored.jpg"][1] != old["mirrored.jpg"][1]
    hashes = {r[0] for r in _rows(index)["faces"]}
    assert old["mirrored.jpg"][1] not in hashes  # the edited photo's old faces are gone
    assert after["mirrored.jpg"][1] in hashes and old["grace.jpg"][1] in hashes


def _interrupted_runs(photos: Path, index: Path, kills: int, seed: int) -> int:
    """`facetransfer index` in a subprocess, killed with SIGKILL `kills` times at random moments
    once it has started writing; returns how many kills landed before it finished."""
    rng = random.Random(seed)
    env = {**os.environ, "FACETRANSFER_QUIET": "1"}
    main = "import sys; from facetransfer.cli import main; sys.exit(main(sys.argv[1:]))"
    command = [sys.executable, "-c", main, "index", str(photos), "--index", str(index)]
    landed = 0
    for _ in range(kills):
        process = subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL)
        start = _photos_written(index)
        deadline = time.monotonic() + 300
        while process.poll() is None and _photos_written(index) <= start:
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
        time.sleep(rng.uniform(0.0, 0.6))
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            landed += 1
        process.wait()
    return landed


def _photos_written(index: Path) -> int:
    if not index.exists():  # (connecting would make it)
        return 0
    try:
        db = sqlite3.connect(index, timeout=5)
        try:
            return db.execute("SELECT COUNT(*) FROM photos").fetchone()[0]
        finally:
            db.close()
    except sqlite3.DatabaseError:
        return 0


@pytest.mark.slow
def test_kill_9_at_random_moments_then_a_rerun_equals_an_uninterrupted_index(tmp_path):
    photos = _make_library(tmp_path / "photos", n_extra=12)
    whole = tmp_path / "whole.sqlite"
    index_library([photos], whole, progress=False)
    resumed = tmp_path / "resumed.sqlite"
    landed = _interrupted_runs(photos, resumed, kills=3, seed=17)
    assert landed >= 1  # at least one kill came while it was writing
    index_library([photos], resumed, progress=False)
    assert _rows(resumed) == _rows(whole)


# -- answers from the index ---------------------------------------------------------------------


def test_identify_from_the_index_decides_as_identify_on_the_photos(
    indexed, library, gallery, capsys
):
    code, out, _ = _run(capsys, "identify", library, "--gallery", gallery, "--json")
    on_photos = {
        json.loads(line)["path"]: json.loads(line)["faces"]
        for line in out.splitlines()
        if json.loads(line)["faces"]
    }
    code_index, out, err = _run(
        capsys, "identify", "--index", indexed, "--gallery", gallery, "--json"
    )
    from_index = {json.loads(line)["path"]: json.loads(line)["faces"] for line in out.splitlines()}
    assert code_index == code == ExitCode.OK
    assert set(from_index) == set(on_photos) and len(from_index) == 4
    for path, faces in on_photos.items():
        assert [f["person"] for f in faces] == [f["person"] for f in from_index[path]]
        # one way from a photo to its faces (data.photo_faces): the same numbers, big.jpg's too
        assert faces == from_index[path], path
    assert "summary: 4 photos, 4 faces: grace 4" in err


def test_find_from_the_index_by_person_and_by_photo(indexed, gallery, capsys):
    code, out, _ = _run(
        capsys, "find", "--index", indexed, "--person", "grace", "--gallery", gallery, "--json"
    )
    hits = [json.loads(line) for line in out.splitlines()]
    assert code == ExitCode.OK and len(hits) == 4
    assert [h["distance"] for h in hits] == sorted(h["distance"] for h in hits)
    code, out, _ = _run(capsys, "find", "--index", indexed, HOPPER, "--json")
    hits = [json.loads(line) for line in out.splitlines()]
    assert code == ExitCode.OK and Path(hits[0]["path"]).name == "grace.jpg"
    assert hits[0]["distance"] == 0.0


def test_cluster_from_the_index_groups_the_faces(indexed, tmp_path, capsys):
    code, out, _ = _run(capsys, "cluster", "--index", indexed, "--out-dir", tmp_path / "c")
    assert code == ExitCode.OK, out
    lines = (tmp_path / "c" / "clusters.csv").read_text().splitlines()
    assert len(lines) == 5 and {line.rsplit(",", 1)[1] for line in lines[1:]} == {"0"}


def test_report_from_the_index_names_people_and_lists_the_photos_with_nobody(
    indexed, gallery, tmp_path, capsys
):
    code, _, err = _run(
        capsys, "report", "--index", indexed, "--gallery", gallery, "--out-dir", tmp_path / "site"
    )
    assert code == ExitCode.OK, err
    page = (tmp_path / "site" / "index.html").read_text()
    assert ">grace<" in page and "4 faces" in page  # the four photos of her, named
    assert "blank.png" in page  # the photo where nobody was found
    assert "broken.jpg" in page and "notes.jpg" in page  # skipped, with their reasons
    assert len(list((tmp_path / "site" / "thumbs").glob("*.jpg"))) >= 4
    # without a gallery, the same faces as one unnamed group
    code, _, err = _run(capsys, "report", "--index", indexed, "--out-dir", tmp_path / "site2")
    page = (tmp_path / "site2" / "index.html").read_text()
    assert code == ExitCode.OK and ">grace<" not in page and "4 faces" in page


# -- shards --------------------------------------------------------------------------------------


def test_two_shards_merged_equal_the_index_one_run_makes(library, indexed, tmp_path):
    shards = [tmp_path / "shard0.sqlite", tmp_path / "shard1.sqlite"]
    sizes = []
    for k, shard in enumerate(shards):
        sizes.append(index_library([library], shard, shard=(k, 2), progress=False).photos)
    assert sum(sizes) == 7 and min(sizes) >= 1  # both shards hold photos
    merged = tmp_path / "merged.sqlite"
    merge(shards, merged)
    assert _rows(merged) == _rows(indexed)


# -- bad index files -----------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["truncated", "not-sqlite", "newer-schema", "missing", "folder"])
def test_a_bad_index_file_is_one_line_naming_it_and_exit_3(indexed, gallery, tmp_path, how, capsys):
    bad = tmp_path / "bad.sqlite"
    if how == "truncated":
        db = sqlite3.connect(indexed)
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.close()
        data = indexed.read_bytes()
        bad.write_bytes(data[: len(data) // 2])
    elif how == "not-sqlite":
        bad.write_text("these are not the photos you are looking for")
    elif how == "newer-schema":
        shutil.copy(indexed, bad)
        db = sqlite3.connect(bad)
        db.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
        db.commit()
        db.close()
    elif how == "folder":
        bad.mkdir()
    for argv in (
        ["identify", "--index", bad, "--gallery", gallery],
        ["find", "--index", bad, "--person", "grace", "--gallery", gallery],
        ["cluster", "--index", bad, "--out-dir", tmp_path / "c"],
    ):
        code, out, err = _run(capsys, *argv)
        lines = [line for line in err.strip().splitlines() if line]
        assert code == ExitCode.INPUT, (argv, err)
        assert len(lines) == 1 and lines[0].startswith("facetransfer: error: "), err
        assert str(bad) in lines[0] and "Traceback" not in err


def test_copies_of_one_photo_in_one_run_are_described_once(tmp_path, monkeypatch):
    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("a.jpg", "b.jpg", "c.jpg"):
        shutil.copy(HOPPER, photos / name)
    detected = []
    original = library_index._Indexer.detect
    monkeypatch.setattr(
        library_index._Indexer,
        "detect",
        lambda self, item: detected.append(item.path.name) or original(self, item),
    )
    index = tmp_path / "library.sqlite"
    summary = index_library([photos], index, progress=False)
    assert detected == ["a.jpg"] and summary.counts["new"] == 3 and summary.counts["faces"] == 1
    rows = _rows(index)
    assert [r[7] for r in rows["photos"]] == ["ok"] * 3 and len(rows["faces"]) == 1
    assert len({r[1] for r in rows["photos"]}) == 1 and len(rows["described"]) == 1


def test_a_lone_unreadable_photo_is_one_line_and_exit_3(tmp_path, capsys):
    bad = tmp_path / "notes.jpg"
    bad.write_text("not a photo")
    code, out, err = _run(capsys, "index", bad, "--index", tmp_path / "library.sqlite")
    assert code == ExitCode.INPUT and not out
    assert err.count("\n") == 1 and str(bad) in err and "Traceback" not in err


def test_unreadable_photos_in_a_library_are_named_and_recorded(tmp_path, capsys):
    photos = tmp_path / "photos"
    photos.mkdir()
    shutil.copy(HOPPER, photos / "grace.jpg")
    (photos / "broken.jpg").write_bytes(HOPPER.read_bytes()[:2000])
    index = tmp_path / "library.sqlite"
    code, out, err = _run(capsys, "index", photos, "--index", index, "--json")
    assert code == ExitCode.OK
    warned = [line for line in err.splitlines() if line.startswith("WARNING")]
    assert len(warned) == 1 and "broken.jpg" in warned[0]  # one warning line, the file named
    said = json.loads(out.splitlines()[0])
    assert said["skipped"] == 1 and said["new"] == 1 and said["moved"] == 0  # every count
    assert "the index holds 2 photos (1 unreadable) and 1 faces" in err


def test_output_into_a_closed_pipe_ends_quietly_with_141(indexed, tmp_path):
    main = "import sys; from facetransfer.cli import main; sys.exit(main(sys.argv[1:]))"
    env = {**os.environ, "FACETRANSFER_QUIET": "1"}
    process = subprocess.Popen(
        [sys.executable, "-c", main, "find", "--index", indexed, HOPPER, "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    process.stdout.close()  # as `| head` does once it has read enough (here: nothing)
    err = process.stderr.read().decode()
    assert process.wait() == ExitCode.PIPE_CLOSED and "error" not in err, err
