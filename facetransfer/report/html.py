"""The faces of a photo library as one static HTML page: each person and each unnamed group a row
of face thumbnails linking to their photos, with counts; then the faces in no group, the photos
where nobody was found, and the photos that could not be read.

The page needs no server, no network and no JavaScript: `index.html` and a `thumbs/` folder of
small JPEGs beside it, every link relative to the page (the folder can be moved together with the
photos, or opened where it is). Every file is written to a temporary name and renamed, the page
last, so an interrupted run leaves the previous page whole.

The builder takes plain data, so it does not care where the groups came from:

    groups = [{"name": "ana", "faces": [{"photo": "a.jpg", "box": [x, y, w, h]}, ...]},
              {"name": None, "id": 3, "faces": [...]}]          # an unnamed group
    write_report(groups, no_face=["empty.jpg"], out_dir="report", ungrouped=[...])

Boxes are (x, y, w, h) in the pixels of the upright, full-size photo (what
`facetransfer.data.images.read_rgb` returns at its default size). Two adapters turn what the
commands write into that data: `groups_from_clusters_csv` (`facetransfer cluster`'s
clusters.csv) and `groups_from_index` (rows of the photo index).
"""

from __future__ import annotations

import csv
import hashlib
import html
import logging
import math
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from PIL import Image

from facetransfer.data.images import ImageReadError, read_rgb
from facetransfer.errors import InputError, UsageError
from facetransfer.progress import progress_bar

log = logging.getLogger(__name__)

FACE_SIDE = 128  # a face thumbnail's longest side at most, in pixels (shown at 96 px high)
PHOTO_SIDE = 192  # a whole-photo thumbnail's longest side at most (photos with nobody found)
FACE_MARGIN = 0.25  # of the box's larger side, around the face
MAX_FACES_SHOWN = 60  # thumbnails per group; the rest of its photos are listed as links
JPEG_QUALITY = 85
UNGROUPED = -1  # clusters.csv's cluster of a face in no group (modeling.clustering.UNGROUPED)
PAGE = "index.html"
THUMBS = "thumbs"
_VERSION = "1"  # part of each thumbnail's key: a change of how they are cut makes new ones
_THUMB_NAME = re.compile(r"^[0-9a-f]{20}\.jpg$")


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


# -- thumbnails ---------------------------------------------------------------------------------


def _upright_size(path: Path) -> tuple[int, int] | None:
    """The photo's (width, height) once turned upright by its EXIF orientation, from its header;
    None where the header cannot be read (read_rgb then says why)."""
    try:
        with Image.open(path) as image:
            width, height = image.size
            orientation = image.getexif().get(0x0112, 1)
    except Exception:  # any fault here is read_rgb's to report, with its reason
        return None
    return (height, width) if orientation in (5, 6, 7, 8) else (width, height)


def _crop_box(box, shape, scale: float) -> tuple[int, int, int, int]:
    """A square around the face with FACE_MARGIN on each side, in the decoded image's pixels,
    clipped to it: (left, top, right, bottom), empty (right <= left) for a box outside it."""
    x, y, w, h = (v * scale for v in box)
    side = max(w, h) * (1 + 2 * FACE_MARGIN)
    cx, cy = x + w / 2, y + h / 2
    left, top = max(0, int(cx - side / 2)), max(0, int(cy - side / 2))
    right = min(shape[1], int(math.ceil(cx + side / 2)))
    bottom = min(shape[0], int(math.ceil(cy + side / 2)))
    return left, top, right, bottom


def _read_for(path: Path, faces: Sequence[_Face], whole: bool):
    """The photo decoded no larger than its thumbnails need (a big JPEG at 1/2 to 1/8 scale),
    and the factor from full-size pixels (the boxes') to the decoded ones."""
    size = _upright_size(path)
    draft = None
    if size:
        short = min(size)
        need = short * PHOTO_SIDE / max(size) if whole else 0.0
        for face in faces:  # the smallest face must still fill its thumbnail
            crop = max(face.box[2], face.box[3]) * (1 + 2 * FACE_MARGIN)
            need = max(need, short * FACE_SIDE / max(crop, 1.0))
        draft = min(short, int(math.ceil(need)))
    image = read_rgb(path, draft_min_side=draft)
    scale = image.shape[1] / size[0] if size else 1.0
    return image, scale


def _save_jpeg(pixels, target: Path, side: int) -> tuple[int, int]:
    thumb = Image.fromarray(pixels)
    thumb.thumbnail((side, side), Image.Resampling.LANCZOS)
    partial = target.with_name(f".{target.name}.partial")
    thumb.save(partial, format="JPEG", quality=JPEG_QUALITY)
    os.replace(partial, target)
    return thumb.size


def _key(path: Path, stat: os.stat_result, what) -> str:
    text = f"{_VERSION}|{path}|{stat.st_size}|{stat.st_mtime_ns}|{what}|{FACE_SIDE}|{PHOTO_SIDE}"
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:20]


def _thumb_size(target: Path) -> tuple[int, int] | None:
    try:
        with Image.open(target) as image:
            return image.size
    except Exception:  # a damaged thumbnail from an earlier run: made again
        return None


def _make_thumbnails(faces: Iterable[_Face], whole: Iterable[Path], thumbs: Path, progress: bool):
    """{(photo, box or None): (file name, (w, h))} for every face and every whole photo ((None,
    reason) for a box outside its photo), and
    {photo: reason} for the photos that could not be read. Each photo is read at most once, and
    not at all when its thumbnails are already there (the key holds its size and time)."""
    wanted: dict[Path, set] = {}
    for face in faces:
        wanted.setdefault(face.photo, set()).add(face.box)
    for photo in whole:
        wanted.setdefault(photo, set()).add(None)
    made, failed, count = {}, {}, 0
    for photo in progress_bar(sorted(wanted), desc="thumbnails", enabled=progress, unit="photo"):
        boxes = sorted(wanted[photo], key=lambda b: (b is not None, b or ()))
        try:
            stat = photo.stat()
        except OSError as error:
            failed[photo] = "file not found" if isinstance(error, FileNotFoundError) else str(error)
            continue
        names = {box: _key(photo, stat, box) + ".jpg" for box in boxes}
        sizes = {box: _thumb_size(thumbs / name) for box, name in names.items()}
        todo = [box for box in boxes if sizes[box] is None]
        if todo:
            try:
                image, scale = _read_for(
                    photo,
                    [_Face(photo, b, "") for b in todo if b is not None],
                    whole=None in todo,
                )
            except ImageReadError as error:
                failed[photo] = error.reason
                continue
            for box in todo:
                if box is None:
                    sizes[box] = _save_jpeg(image, thumbs / names[box], PHOTO_SIDE)
                else:
                    left, top, right, bottom = _crop_box(box, image.shape, scale)
                    if right - left < 2 or bottom - top < 2:  # the photo changed since?
                        names[box], sizes[box] = None, "face box outside the photo"
                        continue
                    pixels = image[top:bottom, left:right]
                    sizes[box] = _save_jpeg(pixels, thumbs / names[box], FACE_SIDE)
                count += 1
        for box in boxes:
            made[(photo, box)] = (names[box], sizes[box])
    return made, failed, count


# -- the page ---------------------------------------------------------------------------------

_STYLE = """
:root { color-scheme: light; --ink: #1d2327; --muted: #5f6b73; --line: #dde3e8; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink);
  margin: 0 auto; padding: 24px 28px 48px; max-width: 1400px; background: #fafbfc; }
h1 { font-size: 24px; margin: 0 0 4px; }
.summary { color: var(--muted); margin: 0 0 16px; }
nav ul { list-style: none; padding: 0; margin: 0 0 12px; display: flex; flex-wrap: wrap;
  gap: 6px; }
nav a { display: inline-block; padding: 2px 10px; border: 1px solid var(--line);
  border-radius: 12px; background: #fff; color: var(--ink); text-decoration: none;
  font-size: 13px; }
section { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px;
  margin: 0 0 14px; }
h2 { font-size: 17px; margin: 0 0 8px; display: flex; align-items: baseline; gap: 10px;
  flex-wrap: wrap; }
h2 .name { overflow-wrap: anywhere; }
h2 .unnamed { color: var(--muted); font-style: italic; }
h2 .count { color: var(--muted); font-size: 13px; font-weight: normal; }
.faces { display: flex; flex-wrap: wrap; gap: 6px; }
.faces a { display: block; line-height: 0; border-radius: 4px; outline-offset: 1px; }
.faces a:hover, .faces a:focus { outline: 2px solid #2f6fde; }
.faces img { height: 96px; width: auto; border-radius: 4px; background: #eef1f4; }
.photos img { height: 120px; }
.photos figure { margin: 0; }
.photos figcaption { font-size: 12px; color: var(--muted); line-height: 1.3; max-width: 160px;
  overflow-wrap: anywhere; margin-top: 4px; }
.missing { display: flex; align-items: center; justify-content: center; height: 96px; width: 96px;
  border: 1px dashed #c33; border-radius: 4px; color: #a22; font-size: 12px; text-align: center;
  line-height: 1.2; padding: 4px; }
details { margin-top: 8px; font-size: 13px; }
details ul { columns: 3 220px; margin: 6px 0 0; padding-left: 18px; }
.unreadable li { overflow-wrap: anywhere; }
.empty { color: var(--muted); }
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
    made, failed, count = _make_thumbnails(every, [p.photo for p in nobody], thumbs, progress)
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
        sections.append(
            _group_section(
                "ungrouped",
                "Faces in no group",
                "",
                loose,
                made,
                failed,
                page_dir,
                max_faces_shown,
            )
        )
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
    _remove_unused(thumbs, {name for name, _ in made.values()})
    return summary


def _remove_unused(thumbs: Path, used: set[str]) -> None:
    """Thumbnails of earlier pages that this one no longer shows, and leftovers of a killed run
    (only files named as this module names them)."""
    for path in thumbs.iterdir():
        name = path.name
        stale = _THUMB_NAME.match(name) and name not in used
        leftover = name.startswith(".") and name.endswith(".jpg.partial")
        if (stale or leftover) and path.is_file():
            path.unlink(missing_ok=True)


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
