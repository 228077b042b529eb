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


def _face_label(face: Mapping, person_name: str) -> str:
    probability = face.get("probability")
    name = person_name if face.get("is_person") else "unknown"
    return name if probability is None else f"{name} {probability:.2f}"


def annotate_photo(path, result: Mapping, person_name: str, out_dir, *, max_side: int = 1280):
    """Draw each face box of a prediction on its photo and save ``<out_dir>/<stem>.png``.

    ``result`` is :func:`facetransfer.modeling.predict.predict_photo`'s dict: boxes are
    (x, y, w, h) in the upright photo's pixels. Each box is labelled with ``person_name`` (red)
    or "unknown" (grey) and its probability; a photo with no face says so in its title. The PNG's
    long side is at most ``max_side`` pixels (and small photos are drawn at least 480 px, so the
    labels fit). Returns the PNG's path, or None (with a warning) when the photo cannot be read.
    """
    path = Path(path)
    try:
        image = read_rgb(path)
    except ImageReadError as error:
        logging.getLogger(__name__).warning("not annotated: %s", error)
        return None
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
        color = PERSON_COLOR if face.get("is_person") else OTHERS_COLOR
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
    if not faces:
        headline = "no face found"
    elif result.get("is_person"):
        headline = f"{person_name} ({result['probability']:.2f})"
    else:
        headline = f"unknown (best face {result['probability']:.2f})"
    fig.text(
        0.5,
        1 - 0.5 * title_h / (fig_h + title_h),
        f"{path.name}: {headline}",
        ha="center",
        va="center",
        fontsize=9,
    )
    out = Path(out_dir) / f"{path.stem}.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=dpi, format="png")
    return out
