"""Annotated photos: each face of a prediction boxed and labelled on its photo, saved as PNG."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from facetransfer.data.images import ImageReadError, read_rgb, resize
from facetransfer.report.plots import OTHERS_COLOR, PERSON_COLOR


def _face_name(face: Mapping, person_name: str | None) -> str:
    """A gallery's face names its person; a person model's face is that person or unknown."""
    if "person" in face:
        return str(face["person"])
    return person_name if face.get("is_person") else "unknown"


def _face_label(face: Mapping, person_name: str | None) -> str:
    score = face.get("probability", face.get("distance"))
    name = _face_name(face, person_name)
    return name if score is None else f"{name} {score:.2f}"


def annotate_photo(
    photo, result: Mapping, person_name: str | None, out, *, max_side: int = 1280
) -> Path | None:
    """Draw each face box of a prediction on its photo (a path or an RGB array) and save it as
    the PNG `out`.

    ``result`` is :func:`facetransfer.modeling.predict.predict_image`'s or
    :func:`facetransfer.modeling.gallery.identify_image`'s dict: boxes are (x, y, w, h) in the
    upright photo's pixels. Each box is labelled with its person (``person_name`` for a person
    model; a gallery's face names its own), red, or "unknown", grey, and its score; a photo with
    no face says so in its title. The PNG's
    long side is at most ``max_side`` pixels (and small photos are drawn at least 480 px, so the
    labels fit). Returns the PNG's path, or None (with a warning) when the photo cannot be read.
    """
    if isinstance(photo, np.ndarray):
        image, title = photo, str(result.get("path") or "frame")
    else:
        try:
            image = read_rgb(photo)
        except ImageReadError as error:
            logging.getLogger(__name__).warning("not annotated: %s", error)
            return None
        title = Path(photo).name
    height, width = image.shape[:2]
    if max(height, width) > max_side:  # shrink the pixels, not only the drawing: smaller PNGs
        shrink = max_side / max(height, width)
        image = resize(image, (max(1, round(width * shrink)), max(1, round(height * shrink))))
    shown_side = min(max(max(height, width), 480), max_side)  # output pixels on the long side
    dpi = 100
    inches = shown_side / dpi
    fig_w = inches * width / max(height, width)
    fig_h = inches * height / max(height, width)
    title_h = 0.35
    # A Figure without pyplot: nothing accumulates when the CLI annotates a folder of photos.
    fig = Figure(figsize=(fig_w, fig_h + title_h), dpi=dpi)
    ax = fig.add_axes((0, 0, 1, fig_h / (fig_h + title_h)))
    # Drawn in the photo's own coordinates, whatever size the pixels were shrunk to.
    ax.imshow(image, extent=(0, width, height, 0), interpolation="antialiased")
    ax.set_xlim(0, width)
    ax.set_ylim(height, 0)
    ax.set_axis_off()
    points_per_pixel = 72 * inches / max(height, width)  # photo pixels -> font points
    faces = list(result.get("faces") or [])
    for face in faces:
        x, y, w, h = (float(v) for v in face["box"])
        known = _face_name(face, person_name) != "unknown"
        color = PERSON_COLOR if known else OTHERS_COLOR
        ax.add_patch(Rectangle((x, y), w, h, fill=False, edgecolor=color, linewidth=2))
        # Above the box, or inside its top edge when the box touches the top of the photo.
        inside = y < 0.06 * height
        ax.text(
            x + 2,
            y + 2 if inside else y - 2,
            _face_label(face, person_name),
            color="white",
            fontsize=float(np.clip(w * points_per_pixel / 6, 7, 14)),
            va="top" if inside else "bottom",
            bbox={"facecolor": color, "edgecolor": "none", "pad": 1.5, "alpha": 0.85},
            clip_on=True,
        )
    names = [_face_name(face, person_name) for face in faces]
    if not faces:
        headline = "no face found"
    elif "probability" not in result:  # a gallery's answer: who is in it
        headline = ", ".join(n for n in names if n != "unknown") or "nobody known"
    elif result.get("is_person"):
        headline = f"{person_name} ({result['probability']:.2f})"
    else:
        headline = f"unknown (best face {result['probability']:.2f})"
    fig.text(
        0.5,
        1 - 0.5 * title_h / (fig_h + title_h),
        f"{title}: {headline}",
        ha="center",
        va="center",
        fontsize=9,
    )
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=dpi, format="png")
    return out


def _face_tile(face, side: int, margin: float, photos: dict) -> np.ndarray:
    """One face as a `side` x `side` tile: an RGB crop as it is, or (path, (x, y, w, h)) cut
    from its photo, a square around the box with `margin` of it on each side. The last photo
    read is kept in `photos` (a group's faces often share one); an unreadable photo, grey."""
    if isinstance(face, np.ndarray):
        return resize(face, (side, side))
    path, box = face
    if path not in photos:
        photos.clear()
        try:
            photos[path] = read_rgb(path)
        except ImageReadError as error:
            logging.getLogger(__name__).warning("face not drawn: %s", error)
            photos[path] = None
    image = photos[path]
    if image is None:
        return np.full((side, side, 3), 160, np.uint8)
    x, y, w, h = (float(v) for v in box)
    half = max(w, h) * (0.5 + margin)
    cx, cy = x + w / 2, y + h / 2
    left, top = max(0, int(cx - half)), max(0, int(cy - half))
    right, bottom = min(image.shape[1], int(cx + half)), min(image.shape[0], int(cy + half))
    if right <= left or bottom <= top:
        return np.full((side, side, 3), 160, np.uint8)
    return resize(np.ascontiguousarray(image[top:bottom, left:right]), (side, side))


def contact_sheet(
    faces,
    out,
    title: str,
    *,
    columns: int = 8,
    side: int = 96,
    max_faces: int = 64,
    margin: float = 0.2,
):
    """Faces in a grid of `columns`, each `side` pixels, under `title`, saved as PNG.

    Each face is an RGB crop, or (photo path, (x, y, w, h)) (modeling.clustering's FaceRef):
    cut from its photo, with `margin` of the box around it, when the sheet is drawn. Only the
    first `max_faces` are drawn (the title says so), so a group of thousands costs what that
    many photos do, one photo in memory at a time."""
    faces = list(faces)
    shown = faces[:max_faces]
    if len(faces) > len(shown):
        title = f"{title} (first {len(shown)} shown)"
    rows = max(1, -(-len(shown) // columns))
    cols = min(columns, max(1, len(shown)))
    sheet = np.full((rows * side, cols * side, 3), 255, np.uint8)
    photos: dict = {}
    for i, face in enumerate(shown):
        top, left = (i // cols) * side, (i % cols) * side
        sheet[top : top + side, left : left + side] = _face_tile(face, side, margin, photos)
    photos.clear()
    title_h = 0.3
    fig = Figure(figsize=(cols * side / 100, rows * side / 100 + title_h), dpi=100)
    ax = fig.add_axes((0, 0, 1, rows * side / 100 / (rows * side / 100 + title_h)))
    ax.imshow(sheet, interpolation="nearest")
    ax.set_axis_off()
    fig.suptitle(title, fontsize=9)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=100, format="png")
    return out
