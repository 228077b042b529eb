"""A photo index as a static HTML page: the people a gallery names, the groups of everyone else,
the photos where nobody was found and those that could not be read (report.html draws it)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np

from facetransfer.config import GROUP_FALSE_ACCEPT, MIN_FACE_CONFIDENCE
from facetransfer.library import store
from facetransfer.library.groups import UNGROUPED, group_index
from facetransfer.modeling.gallery_files import Gallery, load_gallery
from facetransfer.report.html import groups_from_index, write_report


def index_report(
    index_file,
    out_dir,
    *,
    gallery=None,
    target_false_accept: float = GROUP_FALSE_ACCEPT,
    max_distance: float | None = None,
    title: str | None = None,
    max_faces_shown: int | None = None,
):
    """Write `out_dir/index.html` (and its thumbnails) for the photo index `index_file`; a
    `gallery` (a folder or a Gallery) names the people it knows. Returns the page's summary."""
    if gallery is not None and not isinstance(gallery, Gallery):
        gallery = load_gallery(gallery)
    faces, photos = report_rows(
        index_file, gallery, target_false_accept=target_false_accept, max_distance=max_distance
    )
    data = groups_from_index(faces, photos)
    extra = {} if max_faces_shown is None else {"max_faces_shown": max_faces_shown}
    return write_report(
        data.groups,
        data.no_face,
        Path(out_dir),
        ungrouped=data.ungrouped,
        skipped=data.skipped,
        title=title or f"Faces in {Path(index_file).name}",
        **extra,
    )


def report_rows(
    index_file,
    gallery: Gallery | None = None,
    *,
    target_false_accept: float = GROUP_FALSE_ACCEPT,
    max_distance: float | None = None,
    min_face_confidence: float = MIN_FACE_CONFIDENCE,
) -> tuple[list[dict], list[dict]]:
    """What `facetransfer report --index` draws: (faces, photos). Each face has its path, box,
    and group: the person the gallery names it (group "person:<name>", named), else its group
    among the faces nobody is named for: the groups `cluster --index` kept in the index, with
    the names given there (faces new since then placed into them, not stored), or, when the
    index keeps none, grouped as `cluster --index` would (-1: in none). Nothing is written.
    Each photo has its path, status, reason and how many faces it holds (None: not described)."""
    grouping = group_index(
        index_file,
        gallery,
        target_false_accept=target_false_accept,
        max_distance=max_distance,
        min_face_confidence=min_face_confidence,
        keep=False,
    )
    faces = grouping.faces
    labels = np.full(len(faces), UNGROUPED, dtype=np.int64)
    unknown = np.zeros(len(faces), dtype=bool)
    labels[grouping.rows] = grouping.labels
    unknown[grouping.rows] = True
    people = grouping.people or ["unknown"] * len(faces)
    rows = []
    for k, person in enumerate(people):
        if not unknown[k]:
            group, name = f"person:{person}", person
        else:
            group = int(labels[k])
            name = grouping.names.get(group)
        rows.append({**faces.record(k), "group_id": group, "group_name": name})
    db = store.connect(index_file)
    try:
        photos = db.execute(
            "SELECT p.path, p.status, p.reason, d.faces FROM photos p "
            "LEFT JOIN described d ON d.hash = p.hash AND d.base = ? ORDER BY p.path",
            (faces.base,),
        ).fetchall()
    except sqlite3.DatabaseError as error:
        raise store.IndexFileError(f"{index_file}: damaged index ({error})") from None
    finally:
        db.close()
    keys = ("path", "status", "reason", "faces")
    return rows, [dict(zip(keys, row, strict=True)) for row in photos]
