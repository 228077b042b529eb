"""Groups kept in the photo index (schema version 2): `cluster --index` groups the unknown faces
once and stores the grouping; later runs place only the new faces (ids kept), a name given with
--name stays on its group after new photos and after --regroup, the contact sheets of a previous
run are not left mixed with the new ones, and bad input is one line with exit code 3.

Made-up descriptors shaped like dlib's written straight into an index (no TensorFlow): one
person's faces about 0.3 apart, two people's about 1.6; the photos are small drawn PNGs, so the
sheets and person folders have something to cut."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from facetransfer.cli.app import main
from facetransfer.errors import ExitCode
from facetransfer.library import groups as library_groups
from facetransfer.library import pages, store
from facetransfer.library.shards import merge

BASE = "b" * 64
MAX_DISTANCE = 0.6
BOX = (20, 20, 40, 40)


class Library:
    """An index of made-up faces, one face per photo, each photo a small PNG on disk."""

    def __init__(self, root: Path, seed: int = 0):
        self.root = root
        self.index = root / "library.sqlite"
        self.rng = np.random.default_rng(seed)
        self.centres: list[np.ndarray] = []
        self.count = 0
        (root / "photos").mkdir(parents=True, exist_ok=True)
        store.connect(self.index, create=True).close()

    def person(self) -> int:
        self.centres.append(self.rng.normal(scale=0.1, size=128))
        return len(self.centres) - 1

    def add(self, person: int, n: int) -> list[str]:
        """n photos of `person` (one face each): their paths."""
        db = store.connect(self.index)
        paths = []
        with store.transaction(db):
            for _ in range(n):
                k = self.count
                self.count += 1
                path = self.root / "photos" / f"p{k:04d}.png"
                pixels = np.full((80, 80, 3), (person * 40) % 256, np.uint8)
                pixels[BOX[1] : BOX[1] + BOX[3], BOX[0] : BOX[0] + BOX[2]] = 255 - k % 200
                Image.fromarray(pixels).save(path)
                digest = hashlib.sha256(path.read_bytes() + str(k).encode()).hexdigest()
                vector = self.centres[person] + self.rng.normal(scale=0.02, size=128)
                db.execute(
                    "INSERT INTO photos VALUES (?,?,?,?,?,?,?,?,?)",
                    (str(path), digest, 1, 1, None, 80, 80, "ok", None),
                )
                db.execute(
                    "INSERT INTO faces VALUES (?,?,?,?,?,?,?,?,?,?)",
                    (digest, BASE, 0, *BOX, 0.99, store.to_blob(np.zeros(10)),
                     store.to_blob(vector)),
                )  # fmt: skip
                db.execute("INSERT INTO described VALUES (?, ?, 1)", (digest, BASE))
                paths.append(str(path))
        db.close()
        return paths


def _groups_of(csv_path: Path) -> dict[str, tuple[str, int]]:
    """clusters.csv as {path: (name, cluster)}."""
    lines = csv_path.read_text().splitlines()
    assert lines[0] == "path,face,box,name,cluster"
    return {row[0]: (row[3], int(row[4])) for row in (line.split(",") for line in lines[1:])}


def _cluster(capsys, lib: Library, out: Path, *extra) -> tuple[int, str, str]:
    capsys.readouterr()
    argv = ["cluster", "--index", lib.index, "--out-dir", out, "--max-distance", MAX_DISTANCE]
    code = main([str(a) for a in [*argv, *extra]])
    got = capsys.readouterr()
    return code, got.out, got.err


def _stored(index: Path) -> tuple[dict, dict, dict]:
    """(face_groups as {hash: group}, groups as {id: name}, the grouping's meta)."""
    db = sqlite3.connect(index)
    try:
        faces = dict(db.execute("SELECT hash, group_id FROM face_groups").fetchall())
        groups = dict(db.execute("SELECT group_id, name FROM groups").fetchall())
        meta = db.execute("SELECT value FROM meta WHERE key = ?", (f"groups:{BASE}",)).fetchone()
    finally:
        db.close()
    return faces, groups, json.loads(meta[0]) if meta else {}


@pytest.fixture
def lib(tmp_path) -> Library:
    return Library(tmp_path / "lib")


def test_a_version_1_index_is_upgraded_in_place(tmp_path):
    index = tmp_path / "v1.sqlite"
    db = sqlite3.connect(index)
    v1 = store.SCHEMA.split("CREATE TABLE IF NOT EXISTS groups")[0]
    db.executescript(v1)
    db.execute("INSERT INTO meta VALUES ('schema_version', '1'), ('made_by', 'facetransfer')")
    db.execute("INSERT INTO photos VALUES ('/a.jpg', 'h', 1, 1, NULL, 9, 9, 'ok', NULL)")
    db.commit()
    db.close()
    db = store.connect(index)
    try:
        version = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        assert version[0] == str(store.SCHEMA_VERSION) == "2"
        assert store.table_rows(db, "groups") == [] and store.table_rows(db, "face_groups") == []
        assert store.table_rows(db, "photos")[0][0] == "/a.jpg"  # nothing else touched
    finally:
        db.close()
    # a newer one is still refused, naming the file
    db = sqlite3.connect(index)
    db.execute("UPDATE meta SET value = '3' WHERE key = 'schema_version'")
    db.commit()
    db.close()
    with pytest.raises(store.IndexFileError, match="newer"):
        store.connect(index)


def test_deleting_a_face_deletes_its_group_row(lib):
    ana = lib.person()
    lib.add(ana, 3)
    library_groups.group_index(lib.index, max_distance=MAX_DISTANCE)
    db = store.connect(lib.index)
    try:
        assert db.execute("SELECT COUNT(*) FROM face_groups").fetchone()[0] == 3
        gone = db.execute("SELECT hash FROM faces LIMIT 1").fetchone()[0]
        db.execute("DELETE FROM faces WHERE hash = ?", (gone,))  # as index.py drops an orphan
        assert db.execute("SELECT COUNT(*) FROM face_groups").fetchone()[0] == 2
    finally:
        db.close()


def test_first_cluster_stores_the_groups(lib, tmp_path, capsys):
    ana, ben = lib.person(), lib.person()
    lib.add(ana, 6)
    lib.add(ben, 4)
    lone = lib.add(lib.person(), 1)
    code, out, err = _cluster(capsys, lib, tmp_path / "c")
    assert code == ExitCode.OK, err
    groups = _groups_of(tmp_path / "c" / "clusters.csv")
    assert sorted(c for _, c in groups.values()).count(0) == 6  # the largest is group 0
    assert groups[lone[0]] == ("", -1)
    faces, stored, meta = _stored(lib.index)
    assert len(faces) == 11 and sorted(faces.values()) == [-1] + [0] * 6 + [1] * 4
    assert stored == {0: None, 1: None} and meta["max_distance"] == MAX_DISTANCE
    assert sorted(p.name for p in (tmp_path / "c").glob("cluster_*.png")) == [
        "cluster_0.png",
        "cluster_1.png",
    ]
    assert "11 unknown faces of 11 indexed: 2 groups" in out


def test_new_faces_join_their_groups_and_old_ids_stay(lib, tmp_path, capsys, monkeypatch):
    ana, ben = lib.person(), lib.person()
    lib.add(ana, 6)
    lib.add(ben, 4)
    assert _cluster(capsys, lib, tmp_path / "c")[0] == ExitCode.OK
    before = _groups_of(tmp_path / "c" / "clusters.csv")
    faces_before, _, meta = _stored(lib.index)
    more_ben = lib.add(ben, 3)
    cara = lib.add(lib.person(), 2)
    searched = []
    original = library_groups.assign_new

    def spy(vectors, labels, new_vectors, *a, **k):
        searched.append(len(new_vectors))
        return original(vectors, labels, new_vectors, *a, **k)

    monkeypatch.setattr(library_groups, "assign_new", spy)
    monkeypatch.setattr(library_groups, "cluster_descriptors", None)  # never grouped from scratch
    code, out, err = _cluster(capsys, lib, tmp_path / "c")
    assert code == ExitCode.OK, err
    assert searched == [5]  # only the new faces were placed
    after = _groups_of(tmp_path / "c" / "clusters.csv")
    assert all(after[p] == before[p] for p in before)  # every old face kept its group
    ben_group = before[next(p for p in before if before[p][1] == 1)][1]
    assert {after[p][1] for p in more_ben} == {ben_group}
    assert {after[p][1] for p in cara} == {2}  # a new group, a new id
    faces_after, groups, meta_after = _stored(lib.index)
    assert {h: g for h, g in faces_after.items() if h in faces_before} == faces_before
    assert set(groups) == {0, 1, 2} and meta_after["generation"] == meta["generation"] + 1
    assert "5 placed this run" in out
    # nothing new: nothing placed, nothing written
    code, out, _ = _cluster(capsys, lib, tmp_path / "c")
    assert code == ExitCode.OK and searched == [5] and _stored(lib.index)[2] == meta_after


def test_a_new_group_never_takes_the_id_of_a_group_whose_faces_are_gone(lib, tmp_path, capsys):
    ana, ben = lib.person(), lib.person()
    lib.add(ana, 5)
    lib.add(ben, 3)
    assert _cluster(capsys, lib, tmp_path / "c", "--name", "1=ben")[0] == ExitCode.OK
    db = store.connect(lib.index)
    with store.transaction(db):  # ben's photos edited away: their faces deleted
        db.execute("DELETE FROM faces WHERE hash IN (SELECT hash FROM face_groups "
                   "WHERE group_id = 1)")  # fmt: skip
    db.close()
    cara = lib.add(lib.person(), 2)
    assert _cluster(capsys, lib, tmp_path / "c")[0] == ExitCode.OK
    after = _groups_of(tmp_path / "c" / "clusters.csv")
    assert {after[p] for p in cara} == {("", 2)}  # not 1, which was ben's
    # the name of a group with no faces left is free: it moves to the group named now
    assert _cluster(capsys, lib, tmp_path / "c", "--name", "2=ben")[0] == ExitCode.OK
    assert _stored(lib.index)[1] == {0: None, 1: None, 2: "ben"}


def test_a_named_group_keeps_its_name_after_new_faces_and_after_regroup(lib, tmp_path, capsys):
    ana, ben = lib.person(), lib.person()
    lib.add(ana, 6)
    ben_photos = lib.add(ben, 4)
    out = tmp_path / "c"
    assert _cluster(capsys, lib, out)[0] == ExitCode.OK
    ben_group = _groups_of(out / "clusters.csv")[ben_photos[0]][1]
    code, _, err = _cluster(capsys, lib, out, "--name", f"{ben_group}=ben")
    assert code == ExitCode.OK, err
    assert _stored(lib.index)[1][ben_group] == "ben"
    more = lib.add(ben, 5)  # ben now has the most faces: a fresh grouping numbers him 0
    lib.add(lib.person(), 2)
    assert _cluster(capsys, lib, out)[0] == ExitCode.OK
    groups = _groups_of(out / "clusters.csv")
    assert {groups[p] for p in ben_photos + more} == {("ben", ben_group)}
    code, stdout, err = _cluster(capsys, lib, out, "--regroup")
    assert code == ExitCode.OK, err
    groups = _groups_of(out / "clusters.csv")
    assert {groups[p] for p in ben_photos + more} == {("ben", 0)}  # a new id, the name moved
    assert _stored(lib.index)[1][0] == "ben" and "grouped anew (--regroup)" in stdout
    # a grouping made at another distance is grouped again, names carried
    code, stdout, err = _cluster(capsys, lib, out, "--max-distance", "0.55")
    assert code == ExitCode.OK and "0.6000" in stdout and "0.5500" in stdout, err
    assert {_groups_of(out / "clusters.csv")[p][0] for p in ben_photos} == {"ben"}


def test_name_through_the_cli_stores_it_and_writes_the_person_folder(lib, tmp_path, capsys):
    ana = lib.person()
    photos = lib.add(ana, 4)
    lib.add(lib.person(), 2)
    out = tmp_path / "c"
    code, _, err = _cluster(capsys, lib, out, "--name", "0=ana")
    assert code == ExitCode.OK, err
    assert _stored(lib.index)[1] == {0: "ana", 1: None}
    folder = out / "people" / "ana"
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        f"{Path(p).stem}_face0.jpg" for p in photos
    )
    assert not list((out / "people").glob(".*"))  # no partial folder left
    assert {v for p, v in _groups_of(out / "clusters.csv").items() if p in photos} == {("ana", 0)}
    # a bad group: one line, exit 2, nothing stored
    code, _, err = _cluster(capsys, lib, out, "--name", "7=cara")
    lines = err.strip().splitlines()
    assert code == ExitCode.USAGE and len(lines) == 1 and "no group 7" in lines[0], err
    assert _stored(lib.index)[1] == {0: "ana", 1: None}
    # a name another group holds is refused
    code, _, err = _cluster(capsys, lib, out, "--name", "1=ana")
    assert code == ExitCode.USAGE and "already named ana" in err
    # renaming works
    assert _cluster(capsys, lib, out, "--name", "0=anna")[0] == ExitCode.OK
    assert _stored(lib.index)[1][0] == "anna" and (out / "people" / "anna").is_dir()


def test_a_previous_runs_sheets_are_removed_and_unchanged_ones_kept(lib, tmp_path, capsys):
    ana, ben = lib.person(), lib.person()
    lib.add(ana, 3)
    lib.add(ben, 2)
    out = tmp_path / "c"
    out.mkdir()
    (out / "cluster_9.png").write_bytes(b"an old sheet")
    (out / "people" / "kept").mkdir(parents=True)  # the user's: left alone
    assert _cluster(capsys, lib, out)[0] == ExitCode.OK
    assert sorted(p.name for p in out.glob("cluster_*.png")) == ["cluster_0.png", "cluster_1.png"]
    assert (out / "people" / "kept").is_dir()
    stamp = (out / "cluster_0.png").stat().st_mtime_ns
    lib.add(ben, 1)  # ben's sheet changes, ana's does not
    assert _cluster(capsys, lib, out)[0] == ExitCode.OK
    assert (out / "cluster_0.png").stat().st_mtime_ns == stamp
    with Image.open(out / "cluster_1.png") as sheet:
        assert sheet.size[0] > 0
    # grouped again at a distance where nobody groups: no sheet left from before
    assert _cluster(capsys, lib, out, "--max-distance", "0.01")[0] == ExitCode.OK
    assert list(out.glob("cluster_*.png")) == []


@pytest.mark.parametrize("how", ["missing", "damaged", "folder"])
def test_a_bad_index_is_one_line_and_exit_3(lib, tmp_path, capsys, how):
    bad = tmp_path / "bad.sqlite"
    if how == "damaged":
        lib.add(lib.person(), 2)
        db = sqlite3.connect(lib.index)
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.close()
        data = lib.index.read_bytes()
        bad.write_bytes(data[: len(data) // 2])
    elif how == "folder":
        bad.mkdir()
    capsys.readouterr()
    code = main(["cluster", "--index", str(bad), "--out-dir", str(tmp_path / "c")])
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == ExitCode.INPUT and len(lines) == 1 and str(bad) in lines[0], err
    assert not (tmp_path / "c").exists()


def test_an_index_with_no_face_is_exit_4(lib, tmp_path, capsys):
    code, _, err = _cluster(capsys, lib, tmp_path / "c")
    assert code == ExitCode.NO_FACE and "no faces indexed" in err


def test_the_report_shows_the_kept_groups_with_their_names(lib, tmp_path, capsys):
    ana = lib.person()
    photos = lib.add(ana, 3)
    lib.add(lib.person(), 2)
    assert _cluster(capsys, lib, tmp_path / "c", "--name", "0=ana")[0] == ExitCode.OK
    newer = lib.add(ana, 1)  # not clustered yet: placed for the report, not stored
    rows, _ = pages.report_rows(lib.index, max_distance=MAX_DISTANCE)
    named = {r["path"]: (r["group_id"], r["group_name"]) for r in rows}
    assert {named[p] for p in photos + newer} == {(0, "ana")}
    assert len(_stored(lib.index)[0]) == 5  # the report wrote nothing


def test_a_merge_leaves_the_groups_out(lib, tmp_path, capsys):
    lib.add(lib.person(), 3)
    assert _cluster(capsys, lib, tmp_path / "c", "--name", "0=ana")[0] == ExitCode.OK
    merged = tmp_path / "merged.sqlite"
    merge([lib.index], merged)
    faces, groups, meta = _stored(merged)
    assert faces == {} and groups == {} and meta == {}
    db = store.connect(merged)
    try:
        assert len(store.table_rows(db, "faces")) == 3
    finally:
        db.close()


def test_cluster_on_photos_says_an_unreadable_photo_once(tmp_path, capsys):
    """The photos path (TensorFlow, dlib's packaged base, matplotlib's Grace Hopper): a broken
    photo among good ones is one warning line and exit 0; a lone broken photo is the one error
    line, exit 3, not a warning and an error saying it twice."""
    from matplotlib import cbook

    hopper = Path(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "grace.jpg").write_bytes(hopper.read_bytes())
    (photos / "grace2.jpg").write_bytes(hopper.read_bytes())
    broken = photos / "broken.jpg"
    broken.write_bytes(hopper.read_bytes()[:2000])
    out = tmp_path / "c"
    out.mkdir()
    (out / "cluster_7.png").write_bytes(b"a previous run's sheet")
    capsys.readouterr()
    code = main(["cluster", str(photos), "--out-dir", str(out)])
    got = capsys.readouterr()
    lines = [line for line in got.err.splitlines() if line.strip()]
    assert code == ExitCode.OK, got.err
    assert len(lines) == 1 and "broken.jpg" in lines[0] and "skipped" in lines[0], got.err
    assert "1 photos skipped" in got.out
    assert [p.name for p in out.glob("cluster_*.png")] == ["cluster_0.png"]  # 7 removed
    assert (out / "clusters.csv").read_text().splitlines()[0] == "path,face,box,cluster"
    code = main(["cluster", str(broken), "--out-dir", str(tmp_path / "c2")])
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert code == ExitCode.INPUT and len(lines) == 1, lines
    assert lines[0].startswith("facetransfer: error: ") and "broken.jpg" in lines[0]


def test_the_python_api_keeps_names_and_refuses_one_that_escapes_its_folder(lib):
    import facetransfer as ft
    from facetransfer.errors import UsageError

    ana = lib.add(lib.person(), 4)
    lib.add(lib.person(), 3)
    first = ft.cluster(index=lib.index, max_distance=MAX_DISTANCE)
    group = next(f["cluster"] for f in first if f["path"] == ana[0])
    for bad in ("../escape", ".hidden", "a/b", ""):
        with pytest.raises(UsageError):
            ft.cluster(index=lib.index, max_distance=MAX_DISTANCE, names={group: bad})
    assert not _stored(lib.index)[1].get(group)  # nothing stored by a refused name
    named = ft.cluster(index=lib.index, max_distance=MAX_DISTANCE, names={group: "ana"})
    assert {f["name"] for f in named if f["path"] in ana} == {"ana"}
    assert all(isinstance(f["box"], list) for f in named)
