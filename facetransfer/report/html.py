"""The faces of a photo library as one static HTML page: each person and each unnamed group a row
of face thumbnails linking to their photos, with counts; then the faces in no group, the photos
where nobody was found, and the photos that could not be read.

No server, no network, no JavaScript: `index.html` and `thumbs/` (small JPEGs, `thumbnails`),
links relative to the page; each file written to a temporary name and renamed, the page last, so
an interrupted run leaves the previous page whole. The builder takes plain data:

    groups = [{"name": "ana", "faces": [{"photo": "a.jpg", "box": [x, y, w, h]}, ...]},
              {"name": None, "id": 3, "faces": [...]}]          # an unnamed group
    write_report(groups, no_face=["empty.jpg"], out_dir="report", ungrouped=[...])

Boxes are (x, y, w, h) in the upright full-size photo's pixels. Adapters: from `facetransfer
cluster`'s clusters.csv (`groups_from_clusters_csv`) and from the photo index's rows
(`groups_from_index`).
"""

from __future__ import annotations

import csv
import html
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from facetransfer.errors import InputError, UsageError
from facetransfer.report.thumbnails import make_thumbnails, remove_unused

MAX_FACES_SHOWN = 60  # thumbnails per group; the rest of its photos are listed as links
UNGROUPED = -1  # clusters.csv's cluster of a face in no group (modeling.clustering.UNGROUPED)
PAGE = "index.html"
THUMBS = "thumbs"


@dataclass
class ReportSummary:
    """What the page shows, and the photos it could not read ((path, reason) each)."""

    page: Path
    people: int = 0
    groups: int = 0
    faces: int = 0
    ungrouped: int = 0
    no_face: int = 0
    photos: int = 0
    thumbnails_made: int = 0
    unreadable: list[tuple[str, str]] = field(default_factory=list)

    def describe(self) -> str:
        """One line, as the page's summary says it."""
        return (
            f"{_plural(self.faces, 'face')} in {_plural(self.photos, 'photo')}: "
            f"{_plural(self.people, 'person', 'people')}, "
            f"{_plural(self.groups, 'unnamed group')}, {self.ungrouped} in no group; "
            f"{_plural(self.no_face, 'photo')} with nobody found"
            + (f"; {len(self.unreadable)} could not be read" if self.unreadable else "")
        )

    def __str__(self) -> str:
        return f"{self.describe()}: {self.page}"


# -- the plain data ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Face:
    photo: Path  # absolute
    box: tuple[int, int, int, int]
    label: str  # the photo's name as the user gave it, for titles


def _box(value, where: str) -> tuple[int, int, int, int]:
    """(x, y, w, h) from a sequence or a "x y w h" string; w and h above 0."""
    parts = value.replace(",", " ").split() if isinstance(value, str) else list(value)
    try:
        x, y, w, h = (round(float(v)) for v in parts)
    except (TypeError, ValueError):
        raise InputError(f"{where}: a face box is x y w h, not {value!r}") from None
    if w <= 0 or h <= 0:
        raise InputError(f"{where}: a face box of width {w} and height {h}")
    return x, y, w, h


def _face(item: Mapping, where: str) -> _Face:
    try:
        photo, box = item["photo"], item["box"]
    except (KeyError, TypeError):
        raise InputError(f"{where}: a face is {{'photo': path, 'box': [x, y, w, h]}}") from None
    return _Face(Path(os.path.abspath(photo)), _box(box, where), str(photo))


# -- the page ---------------------------------------------------------------------------------

_STYLE = """
:root { color-scheme: light; --ink: #1d2327; --muted: #5f6b73; --line: #dde3e8; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, sans-serif; color: var(--ink); background: #fafbfc;
  margin: 0 auto; padding: 24px 28px 48px; max-width: 1400px; }
h1 { font-size: 24px; margin: 0 0 4px; }  .summary { color: var(--muted); margin: 0 0 16px; }
nav ul { list-style: none; padding: 0; margin: 0 0 12px; display: flex; flex-wrap: wrap; gap: 6px; }
nav a { display: inline-block; padding: 2px 10px; border: 1px solid var(--line); font-size: 13px;
  border-radius: 12px; background: #fff; color: var(--ink); text-decoration: none; }
section { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px;
  margin: 0 0 14px; }
h2 { font-size: 17px; margin: 0 0 8px; display: flex; flex-wrap: wrap; align-items: baseline;
  gap: 10px; }  h2 .name { overflow-wrap: anywhere; }
h2 .unnamed { color: var(--muted); font-style: italic; }
h2 .count { color: var(--muted); font-size: 13px; font-weight: normal; }
.faces { display: flex; flex-wrap: wrap; gap: 6px; }  .photos figure { margin: 0; }
.faces a { display: block; line-height: 0; border-radius: 4px; text-decoration: none; }
.faces a:hover, .faces a:focus { outline: 2px solid #2f6fde; outline-offset: 1px; }
.faces img { height: 96px; width: auto; border-radius: 4px; background: #eef1f4; }
.photos img { height: 120px; }  .empty { color: var(--muted); }
.photos figcaption { font-size: 12px; color: var(--muted); max-width: 160px; margin-top: 4px;
  overflow-wrap: anywhere; }  .unreadable li { overflow-wrap: anywhere; }
.missing { display: flex; align-items: center; justify-content: center; height: 96px; width: 96px;
  border: 1px dashed #c33; border-radius: 4px; color: #a22; font-size: 12px; text-align: center;
  line-height: 1.2; padding: 4px; }
details { margin-top: 8px; font-size: 13px; }
details ul { columns: 3 220px; margin: 6px 0 0; padding-left: 18px; }
"""


def _href(target: Path, page_dir: Path) -> str:
    """A link from the page to `target`, relative where it can be (a path on another drive is a
    file: URL), each part percent-encoded (a photo called `a #1?.jpg` still opens)."""
    try:
        relative = os.path.relpath(target, page_dir)
    except ValueError:  # Windows: another drive
        return target.as_uri()
    return quote(Path(relative).as_posix(), safe="/")


def _anchor(ident) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", str(ident))


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def _face_tile(face: _Face, made, failed, page_dir: Path) -> str:
    href = _e(_href(face.photo, page_dir))
    title = _e(f"{face.label} (face at {' '.join(map(str, face.box))})")
    name, size = made.get((face.photo, face.box), (None, failed.get(face.photo)))
    if name is None:
        reason = _e(size)
        return f'<a href="{href}" title="{title}"><span class="missing">{reason}</span></a>'
    width, height = size
    src = _e(f"{THUMBS}/{name}")
    alt = _e(f"face in {face.photo.name}")
    return (
        f'<a href="{href}" title="{title}"><img src="{src}" alt="{alt}" width="{width}" '
        f'height="{height}" loading="lazy"></a>'
    )


def _photo_list(photos: Sequence[_Face], page_dir: Path) -> str:
    items = "".join(
        f'<li><a href="{_e(_href(p.photo, page_dir))}">{_e(p.label)}</a></li>' for p in photos
    )
    return f"<ul>{items}</ul>"


def _group_section(
    anchor: str, title: str, css: str, faces: list[_Face], made, failed, page_dir, max_shown
) -> str:
    photos = len({f.photo for f in faces})
    count = f"{_plural(len(faces), 'face')} in {_plural(photos, 'photo')}"
    shown = faces[:max_shown]
    tiles = "\n".join(_face_tile(f, made, failed, page_dir) for f in shown)
    more = ""
    if len(faces) > len(shown):
        rest, seen = [], set()
        for face in faces[len(shown) :]:
            if face.photo not in seen:
                seen.add(face.photo)
                rest.append(face)
        more = (
            f"<details><summary>{len(faces) - len(shown)} more faces, in "
            f"{_plural(len(rest), 'photo')}</summary>{_photo_list(rest, page_dir)}</details>"
        )
    return (
        f'<section class="group" id="{anchor}">\n<h2><span class="name{css}">{_e(title)}</span>'
        f' <span class="count">{count}</span></h2>\n<div class="faces">\n{tiles}\n</div>{more}'
        "\n</section>"
    )


def _no_face_section(photos: list[_Face], made, failed, page_dir: Path) -> str:
    tiles = []
    for photo in photos:
        if photo.photo in failed:
            continue  # listed with the unreadable ones
        name, (width, height) = made[(photo.photo, None)]
        tiles.append(
            f'<figure><a href="{_e(_href(photo.photo, page_dir))}"><img src="{THUMBS}/{name}" '
            f'alt="{_e(photo.photo.name)}" width="{width}" height="{height}" loading="lazy"></a>'
            f"<figcaption>{_e(photo.photo.name)}</figcaption></figure>"
        )
    body = "\n".join(tiles) or '<p class="empty">none</p>'
    return (
        '<section class="group" id="no-face">\n<h2><span class="name">Photos where nobody was '
        f'found</span> <span class="count">{_plural(len(tiles), "photo")}</span></h2>\n'
        f'<div class="faces photos">\n{body}\n</div>\n</section>'
    )


def _unreadable_section(failed: dict[Path, str], labels: dict[Path, str], page_dir) -> str:
    items = "".join(
        f'<li><a href="{_e(_href(p, page_dir))}">{_e(labels.get(p, p))}</a>: {_e(reason)}</li>'
        for p, reason in sorted(failed.items())
    )
    return (
        '<section class="group unreadable" id="unreadable">\n<h2><span class="name">Photos that '
        f'could not be read</span> <span class="count">{_plural(len(failed), "photo")}</span>'
        f"</h2>\n<ul>{items}</ul>\n</section>"
    )


def write_report(
    groups: Sequence[Mapping],
    no_face: Iterable,
    out_dir,
    *,
    ungrouped: Iterable[Mapping] = (),
    skipped: Iterable[tuple] = (),
    title: str = "Faces",
    max_faces_shown: int = MAX_FACES_SHOWN,
    progress: bool = True,
) -> ReportSummary:
    """Write `out_dir/index.html` and `out_dir/thumbs/` (see the module's docstring for the data).

    `groups`: each {"name": str or None, "faces": [{"photo": path, "box": [x, y, w, h]}, ...]},
    optionally "id" (shown for an unnamed group: "Group 3"); named people are shown first, by
    name, then the unnamed groups, largest first. `ungrouped`: faces in no group. `no_face`: the
    photos where nobody was found. `skipped`: (photo, reason) of photos known to be unreadable
    (an index records them). Relative photo paths are taken from the working directory. Photos
    that cannot be read are shown as such and returned in the summary; thumbnails no longer used
    by the page are removed.
    """
    out_dir = Path(out_dir)
    page_dir = Path(os.path.abspath(out_dir))
    people, unnamed = [], []
    for k, group in enumerate(groups):
        if not isinstance(group, Mapping) or "faces" not in group:
            raise InputError(f"group {k}: a group is {{'name': ..., 'faces': [...]}}")
        faces = [_face(f, f"group {k}, face {i}") for i, f in enumerate(group["faces"])]
        name = group.get("name")
        if name is not None and str(name).strip():
            people.append((str(name), faces, group.get("id", k)))
        elif faces:
            unnamed.append((None, faces, group.get("id", k)))
    people.sort(key=lambda g: g[0].casefold())
    unnamed.sort(key=lambda g: -len(g[1]))
    loose = [_face(f, f"ungrouped face {i}") for i, f in enumerate(ungrouped)]
    nobody = [_Face(Path(os.path.abspath(p)), (0, 0, 0, 0), str(p)) for p in no_face]
    nobody = list({p.photo: p for p in nobody}.values())

    thumbs = out_dir / THUMBS
    thumbs.mkdir(parents=True, exist_ok=True)
    every = [f for _, faces, _ in people + unnamed for f in faces[:max_faces_shown]]
    every += loose[:max_faces_shown]
    wanted: dict[Path, set] = {}
    for face in every:
        wanted.setdefault(face.photo, set()).add(face.box)
    for photo in nobody:
        wanted.setdefault(photo.photo, set()).add(None)
    made, failed, count = make_thumbnails(wanted, thumbs, progress=progress)
    labels = {f.photo: f.label for f in every + nobody}
    for photo, reason in skipped:
        absolute = Path(os.path.abspath(photo))
        failed.setdefault(absolute, str(reason or "skipped"))
        labels.setdefault(absolute, str(photo))

    sections, nav = [], []
    for n, (name, faces, ident) in enumerate(people + unnamed):
        anchor = f"person-{n}" if name is not None else f"group-{_anchor(ident)}"
        shown = name if name is not None else f"Group {ident}"
        css = "" if name is not None else " unnamed"
        sections.append(
            _group_section(anchor, shown, css, faces, made, failed, page_dir, max_faces_shown)
        )
        nav.append(f'<li><a href="#{anchor}">{_e(shown)} ({len(faces)})</a></li>')
    if loose:
        what = ("ungrouped", "Faces in no group", "", loose)
        sections.append(_group_section(*what, made, failed, page_dir, max_faces_shown))
        nav.append(f'<li><a href="#ungrouped">In no group ({len(loose)})</a></li>')
    sections.append(_no_face_section(nobody, made, failed, page_dir))
    no_face_shown = sum(p.photo not in failed for p in nobody)
    nav.append(f'<li><a href="#no-face">Nobody found ({no_face_shown})</a></li>')
    if failed:
        sections.append(_unreadable_section(failed, labels, page_dir))
        nav.append(f'<li><a href="#unreadable">Unreadable ({len(failed)})</a></li>')

    all_faces = [f for _, faces, _ in people + unnamed for f in faces] + loose
    summary = ReportSummary(
        page=out_dir / PAGE,
        people=len(people),
        groups=len(unnamed),
        faces=len(all_faces),
        ungrouped=len(loose),
        no_face=no_face_shown,
        photos=len({f.photo for f in all_faces} | {p.photo for p in nobody} | set(failed)),
        thumbnails_made=count,
        unreadable=[(labels.get(p, str(p)), r) for p, r in sorted(failed.items())],
    )
    line = summary.describe()
    page = (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(title)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
        f'<h1>{_e(title)}</h1>\n<p class="summary">{_e(line)}</p>\n'
        f"<nav><ul>{''.join(nav)}</ul></nav>\n" + "\n".join(sections) + "\n</body>\n</html>\n"
    )
    partial = out_dir / f".{PAGE}.partial"
    partial.write_text(page, encoding="utf-8")
    os.replace(partial, out_dir / PAGE)
    remove_unused(thumbs, {name for name, _ in made.values()})
    return summary


# -- adapters ---------------------------------------------------------------------------------


@dataclass
class ReportData:
    """write_report's inputs: groups, faces in no group, photos with nobody found, photos known
    to be unreadable ((path, reason) each)."""

    groups: list[dict]
    ungrouped: list[dict] = field(default_factory=list)
    no_face: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)


def groups_from_clusters_csv(
    path, *, names: Mapping[int, str] | None = None, photos: Iterable = ()
) -> ReportData:
    """`facetransfer cluster`'s clusters.csv (path, face, box "x y w h", cluster; -1: in no
    group) as report data: one unnamed group per cluster, in the cluster's order (largest
    first), named where `names` ({cluster: name}) says. clusters.csv lists faces only: the photos
    where nobody was found are those of `photos` (the photos that were clustered) with no row,
    and any row with no box. Raises InputError for a file that is not a clusters.csv, and
    UsageError for a name given to a cluster that is not there."""
    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            missing = {"path", "box", "cluster"} - set(reader.fieldnames or ())
            if missing:
                raise InputError(
                    f"{path}: not a clusters.csv from `facetransfer cluster` (no column "
                    f"{', '.join(sorted(missing))})"
                )
            rows = list(reader)
    except UnicodeDecodeError:
        raise InputError(f"{path}: not a text file (expected clusters.csv)") from None
    clusters: dict[int, list[dict]] = {}
    ungrouped, seen, no_face = [], set(), []
    for line, row in enumerate(rows, start=2):
        photo = (row.get("path") or "").strip()
        if not photo:
            raise InputError(f"{path}, line {line}: no photo path")
        seen.add(os.path.abspath(photo))
        if not (row.get("box") or "").strip():
            no_face.append(photo)
            continue
        box = _box(row["box"], f"{path}, line {line}")
        try:
            cluster = int(row["cluster"])
        except (TypeError, ValueError):
            raise InputError(
                f"{path}, line {line}: cluster {row['cluster']!r} is not a number"
            ) from None
        face = {"photo": photo, "box": list(box)}
        if cluster == UNGROUPED:
            ungrouped.append(face)
        else:
            clusters.setdefault(cluster, []).append(face)
    names = dict(names or {})
    unknown = sorted(set(names) - set(clusters))
    if unknown:
        raise UsageError(
            f"--name: no group {', '.join(map(str, unknown))} in {path} (its groups: "
            f"{', '.join(map(str, sorted(clusters))) or 'none'})"
        )
    groups = [
        {"name": names.get(c), "id": c, "faces": faces} for c, faces in sorted(clusters.items())
    ]
    for photo in photos:
        if os.path.abspath(photo) not in seen:
            seen.add(os.path.abspath(photo))
            no_face.append(str(photo))
    return ReportData(groups, ungrouped, no_face)


def _field(row, *names):
    """The first of `names` that a row (a mapping or a sqlite3.Row) has, else None."""
    keys = row.keys()
    return next((row[name] for name in names if name in keys), None)


def groups_from_index(faces: Iterable[Mapping], photos: Iterable[Mapping] = ()) -> ReportData:
    """Rows of the photo index as report data (mappings or sqlite3.Row, by column name).

    `faces`: one row per face of a photo: "path" (the photo's path as the index keeps it), the
    box as "box" ((x, y, w, h) or "x y w h") or as columns "x", "y", "w", "h" (full-size pixels,
    as the index's faces table keeps it), "group_id" (the face's group; None or -1: in none) and
    "group_name" (the name the user gave that group, or None). A content found at two paths
    gives a row per path.
    `photos`: one row per photo: "path", "status" ("ok", "skipped" or "removed"), "reason" (why
    skipped) and "faces" (how many faces were found; None: not described yet). An "ok" photo
    with 0 faces is one where nobody was found; a "skipped" one is listed with its reason; a
    removed one is left out. Groups keep the order of their first face; a named group is a
    person.
    """
    groups: dict[object, dict] = {}
    ungrouped = []
    for face in faces:
        box = _field(face, "box")
        if box is None:
            box = [face["x"], face["y"], face["w"], face["h"]]
        item = {"photo": face["path"], "box": box}
        group = _field(face, "group_id")
        if group is None or group == UNGROUPED:
            ungrouped.append(item)
            continue
        entry = groups.setdefault(group, {"name": None, "id": group, "faces": []})
        entry["faces"].append(item)
        name = _field(face, "group_name")
        if name:
            entry["name"] = name
    no_face, skipped = [], []
    for photo in photos:
        status = _field(photo, "status") or "ok"
        found = _field(photo, "faces")
        if status == "ok" and found is not None and int(found) == 0:
            no_face.append(photo["path"])
        elif status == "skipped":
            skipped.append((photo["path"], _field(photo, "reason") or "skipped"))
    return ReportData(list(groups.values()), ungrouped, no_face, skipped)
