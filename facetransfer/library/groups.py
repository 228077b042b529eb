"""The unknown faces of an index grouped by person, the grouping kept in the index file (tables
groups and face_groups, library.store): grouped once, new faces placed into the groups kept
(`library.clusters.assign_new`), a group's id and the name a user gave it kept from run to run,
everything grouped again on request with the names carried over."""

from __future__ import annotations

import json
import logging
import math
import sqlite3
from dataclasses import dataclass, field

import numpy as np

from facetransfer.config import GROUP_FALSE_ACCEPT, MIN_FACE_CONFIDENCE
from facetransfer.errors import InputError, UsageError
from facetransfer.library import store
from facetransfer.library.clusters import UNGROUPED, assign_new, carry_names, cluster_descriptors
from facetransfer.library.queries import IndexedFaces, distance_limit, identify_faces, load_faces
from facetransfer.modeling.gallery_files import Gallery, check_person_name

log = logging.getLogger(__name__)

NOT_GROUPED = -2  # a face the index holds no group row for yet (UNGROUPED, -1: placed, in none)


@dataclass
class IndexGrouping:
    """The faces of an index grouped as `cluster --index` keeps them: `rows`, the faces grouped
    (indices into `faces`: those no gallery names), `labels` their group ids (UNGROUPED: in
    none), `names` the names of those groups the user gave; `placed` faces were grouped this
    time (all of them when `regrouped`; only the faces new since the last run otherwise)."""

    faces: IndexedFaces
    rows: np.ndarray
    labels: np.ndarray
    names: dict[int, str]
    max_distance: float
    placed: int = 0
    regrouped: bool = False
    why: str = ""  # why everything was grouped again (empty: it was not)
    lost_names: list[str] = field(default_factory=list)  # names whose faces scattered
    people: list[str] | None = None  # with a gallery: who it says each face is ("unknown")

    def groups(self) -> list[int]:
        """The group ids among the faces, largest group first (then by id)."""
        ids, counts = np.unique(self.labels[self.labels != UNGROUPED], return_counts=True)
        return [int(ids[k]) for k in np.lexsort((ids, -counts))]

    def records(self) -> list[dict]:
        """One {"path", "face", "box", "cluster", "name"} per grouped face (name None: a group
        with none; cluster -1: in no group)."""
        return [
            {**self.faces.record(k), "cluster": g, "name": self.names.get(g)}
            for k, g in zip(self.rows.tolist(), self.labels.tolist(), strict=True)
        ]

    def members(self, group: int) -> np.ndarray:
        """The faces (indices into `faces`) of `group`, in the index's order."""
        return self.rows[self.labels == group]


class _Raced(Exception):
    """Another process changed the grouping between reading it and writing it."""


def _settings_key(base: str) -> str:
    return f"{store.GROUPS_KEY}{base}"


def _read_groups(db: sqlite3.Connection, faces: IndexedFaces):
    """(settings or None, each face's stored group or NOT_GROUPED, {group: name or None})."""
    key = _settings_key(faces.base)
    row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    settings = json.loads(row[0]) if row else None
    stored = {
        (h, f): g
        for h, f, g in db.execute(
            "SELECT hash, face, group_id FROM face_groups WHERE base = ?", (faces.base,)
        )
    }
    old = np.array(
        [stored.get((h, int(f)), NOT_GROUPED) for h, f in zip(faces.hashes, faces.numbers,
                                                              strict=True)],
        dtype=np.int64,
    )  # fmt: skip
    groups = dict(
        db.execute("SELECT group_id, name FROM groups WHERE base = ?", (faces.base,)).fetchall()
    )
    return settings, old, groups


def _same_distance(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def group_index(
    index_file,
    gallery: Gallery | None = None,
    *,
    target_false_accept: float = GROUP_FALSE_ACCEPT,
    max_distance: float | None = None,
    min_face_confidence: float = MIN_FACE_CONFIDENCE,
    regroup: bool = False,
    names: dict[int, str] | None = None,
    keep: bool = True,
) -> IndexGrouping:
    """The faces of the index that `gallery` does not name (all without one), grouped, the
    grouping kept in the index (`keep`; without it nothing is written, as for a report).

    The first time, every such face is grouped (`cluster_descriptors`) and each face's group is
    stored; after that only the faces with no stored group (new photos) are placed, with
    `assign_new`: a face's group never changes, new groups take ids never used before, and a
    name stays on its group. `regroup`, or a grouping made at another distance, groups them all
    again and moves the names over (`carry_names`). `names` ({group: name}) names groups of
    this grouping (UsageError for a group that is not there or a name another group holds;
    nothing is written then). An index with no faces gives an empty grouping (the CLI says
    exit 4); IndexFileError for a missing or damaged index, as `load_faces`."""
    faces = load_faces(
        index_file,
        None if gallery is None else (gallery.base.weights_sha256 or None),
        min_face_confidence=min_face_confidence,
    )
    people = None
    if gallery is not None:
        people = [a["person"] for a in identify_faces(faces, gallery)]
        rows = np.array([k for k, who in enumerate(people) if who == "unknown"], dtype=np.int64)
    else:
        rows = np.arange(len(faces), dtype=np.int64)
    if not len(faces):
        return IndexGrouping(faces, rows, np.zeros(0, np.int64), {}, float("nan"), people=people)
    limit = distance_limit(faces, target_false_accept, max_distance)
    for _ in range(5):  # another `cluster` writing meanwhile: read again and redo
        db = store.connect(index_file)
        try:
            settings, old, groups = _read_groups(db, faces)
            done, write = _group(faces, rows, limit, settings, old, groups, regroup)
            done.people = people
            _name(done, groups, names or {})
            if keep:
                _write(db, faces.base, settings, limit, write, done.names, names or {})
            return done
        except _Raced:
            continue
        except sqlite3.DatabaseError as error:
            raise store.IndexFileError(f"{index_file}: damaged index ({error})") from None
        finally:
            db.close()
    raise InputError(f"{index_file}: the grouping kept changing under this run; run it again")


def _group(faces, rows, limit, settings, old, groups, regroup):
    """(the IndexGrouping, what to write: (replace everything?, [(face, group)], new ids))."""
    named = {g: n for g, n in groups.items() if n}
    why = ""
    if regroup:
        why = "--regroup"
    elif settings is None:
        why = "first grouping"
    elif not _same_distance(float(settings["max_distance"]), limit):
        why = (
            f"the groups kept were made at distance {float(settings['max_distance']):.4f}, "
            f"this run's is {limit:.4f}: grouped again, names carried over"
        )
    if why:
        labels = cluster_descriptors(faces.vectors[rows], limit)
        before = np.where(old[rows] == NOT_GROUPED, UNGROUPED, old[rows])
        carried = carry_names(before, labels, named) if named else {}
        lost = sorted(set(named.values()) - set(carried.values()))
        done = IndexGrouping(faces, rows, labels, carried, limit, len(rows), True, why, lost)
        new_ids = sorted({int(g) for g in labels if g != UNGROUPED})
        return done, (True, _keyed(faces, rows, labels), new_ids)
    anchors = np.flatnonzero(old != NOT_GROUPED)  # every face grouped before (named ones too)
    new = rows[old[rows] == NOT_GROUPED]
    labels_all = old.copy()
    changed = np.zeros(0, np.int64)
    new_ids: list[int] = []
    if len(new):
        placed = assign_new(faces.vectors[anchors], old[anchors], faces.vectors[new], limit)
        start = int(old[anchors].max(initial=UNGROUPED)) + 1  # assign_new's first new id
        first_free = max([start, *(g + 1 for g in groups)])  # never an id used before
        got = placed.labels.copy()
        got[got >= start] += first_free - start
        everyone = np.concatenate([anchors, new])
        moved = everyone[got != np.concatenate([old[anchors], np.full(len(new), NOT_GROUPED)])]
        labels_all[everyone] = got
        changed = moved
        new_ids = sorted({int(g) for g in got if g >= first_free})
    kept = {g: n for g, n in named.items()}
    done = IndexGrouping(faces, rows, labels_all[rows], kept, limit, len(new), False)
    return done, (False, _keyed(faces, changed, labels_all[changed]), new_ids)


def _keyed(faces: IndexedFaces, which, labels) -> list[tuple[str, int, int]]:
    """(hash, face, group) rows for face_groups."""
    return [
        (faces.hashes[k], int(faces.numbers[k]), int(g))
        for k, g in zip(np.asarray(which, dtype=np.int64).tolist(), np.asarray(labels).tolist(),
                        strict=True)
    ]  # fmt: skip


def _name(done: IndexGrouping, groups: dict, names: dict[int, str]) -> None:
    """Apply `--name GROUP=NAME` to `done` (its names updated), or UsageError, nothing named."""
    if not names:
        return
    for group, name in names.items():  # the API's names too: each becomes a folder name
        check_person_name(name, f"name of group {group}")
    present = set(done.groups())
    missing = sorted(set(names) - present)
    if missing:
        shown = sorted(present)
        there = (
            f"the groups are {', '.join(map(str, shown[:12]))}{' ...' if len(shown) > 12 else ''}"
            if shown
            else "there are no groups"
        )
        raise UsageError(f"--name: no group {', '.join(map(str, missing))}; {there} (clusters.csv)")
    after = {**done.names, **names}
    taken: dict[str, int] = {}
    for group, name in sorted(after.items()):  # among the groups listed (a group whose faces
        if group not in present:  # are all gone gives its name up to the one named now)
            continue
        if name in taken:
            other = taken[name] if group in names else group
            raise UsageError(
                f"--name {name}: group {other} is already named {name}; name it otherwise "
                "or rename that group first"
            )
        taken[name] = group
    given = set(names.values())
    done.names = {g: n for g, n in after.items() if g in names or n not in given}


def _write(db, base, settings, limit, write, names, renamed) -> None:
    """Store a grouping (all of it, or the faces placed and the new groups) in one
    transaction; _Raced when another run wrote one since `settings` was read."""
    replace, placed, new_ids = write
    key = _settings_key(base)
    generation = int(settings.get("generation", 0)) if settings else 0
    with store.transaction(db):
        row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        now = json.loads(row[0]) if row else None
        if now != settings:
            raise _Raced
        if not replace and not placed and not renamed:
            return  # nothing new: nothing written
        if replace:
            db.execute("DELETE FROM face_groups WHERE base = ?", (base,))
            db.execute("DELETE FROM groups WHERE base = ?", (base,))
        db.executemany(
            "INSERT INTO groups (base, group_id, name) VALUES (?, ?, ?) "
            "ON CONFLICT (base, group_id) DO NOTHING",
            [(base, g, names.get(g)) for g in new_ids],
        )
        db.executemany(  # a face deleted meanwhile gets no row (as the trigger would do)
            "INSERT OR REPLACE INTO face_groups SELECT ?, ?, ?, ? WHERE EXISTS "
            "(SELECT 1 FROM faces WHERE hash = ? AND base = ? AND face = ?)",
            [(h, base, f, g, h, base, f) for h, f, g in placed],
        )
        db.executemany(  # a name given now leaves any other group that held it
            "UPDATE groups SET name = NULL WHERE base = ? AND name = ? AND group_id != ?",
            [(base, n, g) for g, n in renamed.items()],
        )
        db.executemany(
            "INSERT INTO groups (base, group_id, name) VALUES (?, ?, ?) "
            "ON CONFLICT (base, group_id) DO UPDATE SET name = excluded.name",
            [(base, g, n) for g, n in names.items()],
        )
        db.execute(
            "INSERT OR REPLACE INTO meta VALUES (?, ?)",
            (key, json.dumps({"max_distance": limit, "generation": generation + 1})),
        )
