"""Sample photos shown with what is known or said about them: the notebooks' face grids and
per-photo answer tables.

Each function reads the photos itself (RGB, through :mod:`facetransfer.data.images`) and returns a
figure or a table, so a notebook cell is one call and its result. The models' answers come in
as plain values (scores, result dicts, a decision function): this stage draws, it does not predict.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from facetransfer.data.images import read_rgb, resize
from facetransfer.report import plots
from facetransfer.report.annotate import annotate_photo

CELEBA_SIZE = (178, 218)  # (width, height) of CelebA's aligned crops: every grid face is drawn so


def labelled_faces(celeba, attributes: Sequence[str], n: int = 12, *, seed: int = 0) -> Figure:
    """``n`` faces of ``celeba`` (a :class:`facetransfer.data.celeba.CelebA`) drawn at random
    (``seed``), each titled with those of ``attributes`` it has ("-" for none)."""
    sample = celeba.attributes.sample(min(n, len(celeba.attributes)), random_state=seed)
    faces = np.stack([resize(read_rgb(p), CELEBA_SIZE) for p in celeba.paths(sample.index)])
    titles = [", ".join(a for a in attributes if row[a]) or "-" for _, row in sample.iterrows()]
    return plots.image_grid(faces, titles, ncols=6, title="Faces with some of their attributes")


def decision_grid(photos, scores, labels, threshold: float, *, person: str, n=12, seed=0) -> Figure:
    """``n`` of ``photos`` drawn at random (``seed``), each titled with the decision at
    ``threshold`` (``person`` or "unknown") and its score, green where the decision matches the
    photo's 0/1 label and red where it does not."""
    scores, labels = np.asarray(scores, dtype=float), np.asarray(labels).ravel()
    if not len(photos) == len(scores) == len(labels):
        raise ValueError(f"{len(photos)} photos, {len(scores)} scores and {len(labels)} labels")
    order = np.random.default_rng(seed).permutation(len(photos))[:n]
    faces = np.stack([resize(read_rgb(photos[i]), CELEBA_SIZE) for i in order])
    said = scores[order] >= threshold
    titles = [
        f"{person if s else 'unknown'} {scores[i]:.2f}" for s, i in zip(said, order, strict=True)
    ]
    colors = ["green" if s == bool(labels[i]) else "red" for s, i in zip(said, order, strict=True)]
    return plots.image_grid(
        faces, titles, colors, ncols=6, title="Test photos: decision, probability"
    )


def photo_grid(photos, *, title: str, n: int = 12) -> Figure | None:
    """The first ``n`` of ``photos`` (paths; None entries, photos that were not written, are left
    out), each titled with its file name's stem. None when there is none to show."""
    shown = [Path(p) for p in photos if p is not None][:n]
    if not shown:
        return None
    return plots.image_grid(
        [read_rgb(p) for p in shown], [p.stem for p in shown], ncols=6, title=title
    )


def prediction_table(
    results, decide: Callable[[Mapping], str], *, key: str = "photo"
) -> pd.DataFrame:
    """One row per prediction: its name, how many faces, the probability and ``decide(result)``.

    ``results`` is a list of :func:`facetransfer.modeling.predict.predict_image` dicts (named by
    their ``path``'s file name) or a mapping {name: result} (e.g. video frame numbers); the names
    go in column ``key``. ``decide`` is called once per result, in order (so a counter's ``add``
    counts them)."""
    named = (
        results.items()
        if isinstance(results, Mapping)
        else ((Path(r["path"]).name, r) for r in results)
    )
    rows = [
        {
            key: name,
            "faces": len(r["faces"]),
            "probability": r["probability"],
            "decision": decide(r),
        }
        for name, r in named
    ]
    return pd.DataFrame(rows, columns=[key, "faces", "probability", "decision"])


def annotate_predictions(results, person: str, out_dir, *, frames=None) -> list:
    """Each prediction's photo with its face boxes
    (:func:`facetransfer.report.annotate.annotate_photo`), as a PNG in ``out_dir``.

    ``results`` is a list of :func:`facetransfer.modeling.predict.predict_image` dicts, each photo
    read from its ``path`` and saved as ``<stem>.png``; or, with ``frames`` ({number: RGB array}),
    a mapping {number: result}, each frame titled "frame <number>" and saved as
    ``frame_<number, 5 digits>.png``. Returns the PNG paths, None where a photo could not be read.
    """
    out_dir = Path(out_dir)
    if frames is None:
        return [
            annotate_photo(r["path"], r, person, out_dir / f"{Path(r['path']).stem}.png")
            for r in results
        ]
    return [
        annotate_photo(
            frames[n], {**r, "path": f"frame {n}"}, person, out_dir / f"frame_{n:05d}.png"
        )
        for n, r in results.items()
    ]
