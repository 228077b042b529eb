"""A photo index as a static HTML page: the people a gallery names, the groups of everyone else,
the photos where nobody was found and those that could not be read (report.html draws it)."""

from __future__ import annotations

from pathlib import Path

from facetransfer.config import TARGET_FALSE_ACCEPT
from facetransfer.library.queries import report_rows
from facetransfer.modeling.gallery_files import Gallery, load_gallery
from facetransfer.report.html import groups_from_index, write_report


def index_report(
    index_file,
    out_dir,
    *,
    gallery=None,
    target_false_accept: float = TARGET_FALSE_ACCEPT,
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
