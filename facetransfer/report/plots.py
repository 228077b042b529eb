"""Matplotlib figures for the notebooks and the CLI. Every function returns its Figure.

Figures are made with pyplot, so in a notebook they show inline at the end of the cell; write
``fig = plots.roc(...)`` rather than leaving the call as the cell's last line, or Jupyter shows
the figure twice (once inline, once as the cell's value). :func:`save_figure` writes a PNG.

Backend: a notebook or a desktop keeps its own. Only on a machine with no display at all (a
server, CI) and with no backend chosen by anyone (``MPLBACKEND``, ``matplotlib.use``, a
matplotlibrc) is Agg selected, before pyplot is first imported.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib
import matplotlib.ticker
import numpy as np
import pandas as pd


def _has_display() -> bool:
    """False only on Linux-like systems with neither an X11 nor a Wayland display."""
    if sys.platform.startswith(("linux", "freebsd", "openbsd")):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True  # macOS and Windows always have a window system


def _backend_already_chosen() -> bool:
    if os.environ.get("MPLBACKEND") or "matplotlib.pyplot" in sys.modules:
        return True
    if "ipykernel" in sys.modules:  # a Jupyter kernel sets up inline plotting itself
        return True
    # None while matplotlib would still pick a backend automatically (private but long-standing).
    get_backend_or_none = getattr(matplotlib.rcParams, "_get_backend_or_none", lambda: None)
    return get_backend_or_none() is not None


def _use_agg_when_headless() -> None:
    """Select Agg only where no display exists and nothing else chose a backend."""
    if not _backend_already_chosen() and not _has_display():
        matplotlib.use("Agg")


_use_agg_when_headless()

import matplotlib.pyplot as plt  # noqa: E402  (after the backend choice, on purpose)
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

from facetransfer.report.evaluate import roc_curve  # noqa: E402

# Colours used across figures, so "person" and "model" look the same everywhere.
MODEL_COLOR = "tab:blue"
BASELINE_COLOR = "tab:gray"
PERSON_COLOR = "tab:red"
OTHERS_COLOR = "tab:gray"


def save_figure(fig: Figure, path, dpi: int = 120) -> Path:
    """Write ``fig`` as a PNG at ``path``, creating missing folders; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, format="png", bbox_inches="tight")
    return path


def save_figures(figures: Mapping[str, Figure], folder, name: str = "{}.png") -> list[Path]:
    """:func:`save_figure` for each of ``figures``, as ``folder / name.format(key)``."""
    return [save_figure(fig, Path(folder) / name.format(key)) for key, fig in figures.items()]


def attribute_frequencies(positive_rate: pd.Series, title: str | None = None) -> Figure:
    """Horizontal bars: the share of positive labels of each attribute, commonest on top.

    A dotted line at 0.5 marks where the majority answer flips from "absent" to "present".
    """
    rates = pd.Series(positive_rate, dtype=float).sort_values()
    fig, ax = plt.subplots(figsize=(7, 1.5 + 0.22 * len(rates)), layout="constrained")
    ax.barh(np.arange(len(rates)), rates.to_numpy(), color=MODEL_COLOR)
    ax.set_yticks(np.arange(len(rates)), [str(i) for i in rates.index], fontsize=8)
    ax.axvline(0.5, color="black", linestyle=":", linewidth=1)
    ax.set_xlim(0, 1)
    ax.set_ylim(-0.6, len(rates) - 0.4)
    ax.set_xlabel("share of images with the attribute")
    ax.set_title(title or f"Attribute frequencies ({len(rates)} attributes)")
    return fig


def attribute_accuracy_vs_baseline(
    report: pd.DataFrame,
    title: str = "Per attribute accuracy vs majority baseline",
    sort_by: str = "accuracy",
) -> Figure:
    """Model accuracy and the majority-class baseline side by side for every attribute.

    ``report`` is :func:`facetransfer.report.evaluate.attribute_report` (columns ``accuracy`` and
    ``majority_accuracy``, indexed by attribute). Rows are sorted by ``sort_by``, best on top;
    ``sort_by="gain"`` puts the attributes where the model adds most on top.
    """
    for column in ("accuracy", "majority_accuracy", sort_by):
        if column not in report.columns:
            raise ValueError(f"report has no column {column!r} (columns: {list(report.columns)})")
    rows = report.sort_values(sort_by)
    y = np.arange(len(rows))
    height = 0.4
    fig, ax = plt.subplots(figsize=(8, 1.5 + 0.3 * len(rows)), layout="constrained")
    ax.barh(y + height / 2, rows["accuracy"], height, color=MODEL_COLOR, label="model")
    ax.barh(
        y - height / 2,
        rows["majority_accuracy"],
        height,
        color=BASELINE_COLOR,
        label="majority baseline",
    )
    ax.set_yticks(y, [str(i) for i in rows.index], fontsize=8)
    ax.set_ylim(-0.7, len(rows) - 0.3)
    low = float(min(rows["accuracy"].min(), rows["majority_accuracy"].min()))
    # Start the axis a little below the lowest bar (not at 0), so that 0.90 vs 0.95 stays visible.
    ax.set_xlim(max(0.0, math.floor((low - 0.05) * 10) / 10), 1.0)
    ax.set_xlabel("accuracy")
    ax.set_title(title)
    fig.legend(loc="outside lower center", ncols=2)  # below the axes: never covers a bar
    return fig


def _history_dict(history) -> Mapping[str, Sequence[float]]:
    """Accept a plain dict or a ``keras.callbacks.History`` (which keeps it in ``.history``)."""
    return getattr(history, "history", history)


def _spans_decades(values: Sequence[np.ndarray], ratio: float = 30.0) -> bool:
    """True when every value is positive and the largest is ``ratio`` times the smallest: on a
    linear axis the small curves would be flat lines along the bottom."""
    finite = np.concatenate([v[np.isfinite(v)] for v in values]) if values else np.array([])
    return bool(finite.size and finite.min() > 0 and finite.max() / finite.min() >= ratio)


def attribute_history(history) -> dict[str, list[float]]:
    """A run's history with its attribute metrics under the plain names the seed's runs use.

    The improved network trained with an identity head logs ``attribute_logits_loss`` and
    ``attribute_logits_binary_accuracy`` (its ``loss`` is the sum with the identity loss); this
    keeps the attribute part as ``loss`` and ``binary_accuracy`` (and ``val_...``), so the runs
    overlay in :func:`training_curves`. A single-output history is returned unchanged.
    """
    history = dict(_history_dict(history))
    prefix = "attribute_logits_"
    if not any(k.startswith(prefix) or k.startswith("val_" + prefix) for k in history):
        return history
    plain = {}
    for key, values in history.items():
        split = "val_" if key.startswith("val_") else ""
        name = key[len(split) :]
        if name.startswith(prefix):
            plain[split + name[len(prefix) :]] = list(values)
    return plain


def training_curves(
    histories: Mapping[str, Mapping[str, Sequence[float]]],
    metrics: Sequence[str] | None = None,
    title: str | None = None,
    log_scale: bool | None = None,
) -> Figure:
    """One panel per metric; every config overlaid, train solid and validation dashed.

    ``histories`` maps a config name to Keras' ``history.history`` (or a History object).
    ``metrics`` picks the panels, e.g. ``("loss", "binary_accuracy")``; the default (None)
    plots every training metric found, since metric names depend on the compile config. A config
    lacking a metric is left out of that panel; a metric no config has is an error that lists the
    ones available. ``log_scale`` None puts a panel on a log axis when its values span more than
    ~30x (the seed's Model 3 loss is ~100 times the others'); True or False forces it.
    """
    histories = {name: _history_dict(h) for name, h in histories.items()}
    if not histories:
        raise ValueError("histories is empty")
    available = list(dict.fromkeys(k for h in histories.values() for k in h))
    train_keys = [k for k in available if not k.startswith("val_")]
    metrics = list(metrics) if metrics is not None else train_keys
    missing = [m for m in metrics if m not in available]
    if missing:
        raise ValueError(f"no history has {missing}; available: {train_keys}")
    fig, axes = plt.subplots(
        1, len(metrics), figsize=(5 * len(metrics), 4), squeeze=False, layout="constrained"
    )
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, metric in zip(axes[0], metrics, strict=True):
        drawn = []
        for i, (name, history) in enumerate(histories.items()):
            color = colors[i % len(colors)]
            for key, style, split in ((metric, "-", "train"), (f"val_{metric}", "--", "val")):
                if key in history and len(history[key]):
                    values = np.asarray(history[key], dtype=float)
                    epochs = np.arange(1, len(values) + 1)
                    ax.plot(epochs, values, style, color=color, label=f"{name} {split}")
                    drawn.append(values)
        if log_scale or (log_scale is None and _spans_decades(drawn)):
            ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))  # whole epochs
        ax.set_title(metric + (" (log scale)" if ax.get_yscale() == "log" else ""))
        ax.grid(alpha=0.3)
    # One legend for the figure, below the panels (never over a curve): a colour per config, and
    # the line style for the split.
    handles = [
        Line2D([], [], color=colors[i % len(colors)], label=name)
        for i, name in enumerate(histories)
    ]
    handles += [
        Line2D([], [], color="black", linestyle="-", label="train"),
        Line2D([], [], color="black", linestyle="--", label="validation"),
    ]
    fig.legend(handles=handles, loc="outside lower center", ncols=len(handles), fontsize=9)
    if title:
        fig.suptitle(title)
    return fig


def roc(
    fpr,
    tpr,
    auc: float,
    operating_point: tuple[float, float] | None = None,
    *,
    title: str | None = None,
) -> Figure:
    """The ROC curve with the chance diagonal, and the chosen threshold's (FPR, TPR) marked."""
    fig, ax = plt.subplots(figsize=(5, 5), layout="constrained")
    ax.plot(fpr, tpr, color=MODEL_COLOR, linewidth=2, label=f"model (AUC = {auc:.3f})")
    ax.plot([0, 1], [0, 1], linestyle="--", color=BASELINE_COLOR, linewidth=1, label="chance")
    if operating_point is not None:
        x, y = operating_point
        ax.plot(
            [x],
            [y],
            "o",
            color=PERSON_COLOR,
            markersize=8,
            label=f"threshold: FPR {x:.3f}, TPR {y:.3f}",
        )
    ax.set_xlim(-0.01, 1.01)
    ax.set_ylim(-0.01, 1.01)
    ax.set_aspect("equal")
    ax.set_xlabel("false-accept rate (strangers accepted)")
    ax.set_ylabel("acceptance rate (person accepted)")
    ax.set_title(title or f"ROC curve (AUC = {auc:.3f})")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    return fig


def person_roc(labels, scores, report: Mapping, *, title: str | None = None) -> Figure:
    """:func:`roc` of a person model's ``scores`` on photos with 0/1 ``labels``, its saved
    threshold marked where ``report`` (an ``evaluate.person_report``) puts it."""
    fpr, tpr, _ = roc_curve(labels, scores)
    point = (report["false_accept"], report["acceptance"])
    return roc(fpr, tpr, report["roc_auc"], point, title=title)


def confusion(cm, labels: Sequence[str] = ("others", "person"), title: str | None = None) -> Figure:
    """The confusion matrix (rows: truth, columns: decision) with counts and row percentages."""
    cm = np.asarray(cm)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1] or cm.shape[0] != len(labels):
        raise ValueError(f"cm must be {len(labels)}x{len(labels)} to match labels, got {cm.shape}")
    row_totals = cm.sum(axis=1, keepdims=True)
    shares = np.divide(cm, row_totals, out=np.zeros(cm.shape), where=row_totals > 0)
    fig, ax = plt.subplots(figsize=(4.5, 4), layout="constrained")
    ax.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    for (i, j), count in np.ndenumerate(cm):
        color = "white" if shares[i, j] > 0.5 else "black"
        ax.text(j, i, f"{count}\n{shares[i, j]:.0%}", ha="center", va="center", color=color)
    ticks = np.arange(len(labels))
    ax.set_xticks(ticks, [f"predicted {label}" for label in labels])
    counts = row_totals[:, 0]
    ax.set_yticks(ticks, [f"{lab}\n(n={int(n)})" for lab, n in zip(labels, counts, strict=True)])
    ax.set_ylabel("truth")
    ax.set_title(title or "Confusion matrix")
    return fig


def image_grid(
    images,
    titles: Sequence[str],
    colors: Sequence[str] | None = None,
    ncols: int = 6,
    *,
    title: str | None = None,
) -> Figure:
    """Images in a grid, each with its title (in ``colors``, e.g. green right / red wrong).

    ``images`` is (N, H, W, 3) or (N, H, W), uint8 or floats in [0, 1], or a list of such arrays.
    Only N axes are kept, so ``len(fig.axes) == N``.
    """
    n = len(images)
    if n == 0:
        raise ValueError("image_grid got no images")
    if len(titles) != n:
        raise ValueError(f"got {len(titles)} titles for {n} images")
    if colors is not None and len(colors) != n:
        raise ValueError(f"got {len(colors)} colors for {n} images")
    ncols = max(1, min(ncols, n))
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(2.2 * ncols, 2.7 * nrows), squeeze=False, layout="constrained"
    )
    for i, ax in enumerate(axes.ravel()):
        if i >= n:
            ax.remove()
            continue
        image = np.asarray(images[i])
        ax.imshow(image, cmap="gray" if image.ndim == 2 else None)
        ax.set_title(str(titles[i]), fontsize=8, color=colors[i] if colors else "black")
        ax.set_axis_off()
    if title:
        fig.suptitle(title)
    return fig


def pca_2d(embeddings) -> tuple[np.ndarray, np.ndarray]:
    """Project rows onto their first two principal components (numpy SVD).

    Returns ``(coords, explained)``: (N, 2) coordinates and the share of variance each
    component explains. Signs are fixed (largest loading positive) so reruns look the same.
    """
    x = np.asarray(embeddings, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"embeddings must be (N >= 2, D), got shape {x.shape}")
    x = x - x.mean(axis=0)
    u, s, vt = np.linalg.svd(x, full_matrices=False)
    signs = np.sign(vt[np.arange(len(vt)), np.argmax(np.abs(vt), axis=1)])
    signs[signs == 0] = 1
    coords = u * s * signs
    total = float((s**2).sum())
    explained = (s**2) / total if total > 0 else np.zeros_like(s)
    # Fewer than two dimensions (or rows): pad so callers always get two columns.
    coords = np.pad(coords[:, :2], ((0, 0), (0, max(0, 2 - coords.shape[1]))))
    explained = np.pad(explained[:2], (0, max(0, 2 - explained.size)))
    return coords, explained


def embedding_projection(
    embeddings,
    is_person,
    method: str = "pca",
    title: str | None = None,
) -> Figure:
    """Scatter of the embeddings in 2-D: the person's photos against everybody else's."""
    if method != "pca":
        raise ValueError(f"unknown projection method {method!r}; only 'pca' is available")
    mask = np.asarray(is_person, dtype=bool)
    coords, explained = pca_2d(embeddings)
    if mask.shape != (coords.shape[0],):
        raise ValueError(f"is_person has shape {mask.shape}, expected ({coords.shape[0]},)")
    fig, ax = plt.subplots(figsize=(6, 5), layout="constrained")
    others, person = coords[~mask], coords[mask]
    ax.scatter(*others.T, s=12, alpha=0.5, color=OTHERS_COLOR, label=f"others (n={len(others)})")
    ax.scatter(*person.T, s=30, alpha=0.9, color=PERSON_COLOR, label=f"person (n={len(person)})")
    ax.set_xlabel(f"PC 1 ({explained[0]:.0%} of variance)")
    ax.set_ylabel(f"PC 2 ({explained[1]:.0%} of variance)")
    ax.set_title(title or "Embeddings projected with PCA")
    ax.legend()
    ax.grid(alpha=0.3)
    return fig


def heat_overlay(heatmap, alpha: float = 0.6, cmap: str = "inferno") -> np.ndarray:
    """An RGBA image of a [0, 1] heatmap whose opacity grows with the heat: cold places stay
    transparent, so the face shows through where the model does not look."""
    heat = np.clip(np.asarray(heatmap, dtype=float), 0.0, 1.0)
    rgba = matplotlib.colormaps[cmap](heat)
    rgba[..., 3] = alpha * heat
    return rgba


def saliency_grid(
    images,
    heatmaps: Mapping[str, np.ndarray],
    titles: Sequence[str] | None = None,
    row_images: Mapping[str, np.ndarray] | None = None,
    *,
    alpha: float = 0.6,
    title: str | None = None,
) -> Figure:
    """Faces on the top row, then one row per model with its saliency map over each face.

    ``images`` is (N, H, W, 3); ``heatmaps`` maps a row label (e.g. "attribute model: Smiling")
    to (N, h, w) maps in [0, 1], as :func:`facetransfer.report.gradcam.gradcam` returns. A row whose
    model read the faces differently (another crop) names its own images in ``row_images``
    (label -> (N, h, w, 3)), so its map is drawn over what that model saw. A map of another size
    than its image is stretched over the whole image. Bright and opaque is where the model looks;
    a map that is bright everywhere says the layer cannot tell one place from another.
    """
    row_images = dict(row_images or {})
    n = len(images)
    if n == 0:
        raise ValueError("saliency_grid got no images")
    if not heatmaps:
        raise ValueError("saliency_grid got no heatmaps")
    unknown = set(row_images) - set(heatmaps)
    if unknown:
        raise ValueError(f"row_images names rows with no heatmaps: {sorted(unknown)}")
    for label, maps in heatmaps.items():
        under = row_images.get(label, images)
        if len(maps) != n or len(under) != n:
            raise ValueError(f"{label!r} has {len(maps)} heatmaps and {len(under)} images for {n}")
    if titles is not None and len(titles) != n:
        raise ValueError(f"got {len(titles)} titles for {n} images")
    rows = 1 + len(heatmaps)
    fig, axes = plt.subplots(
        rows, n, figsize=(1.9 * n + 1.2, 2.1 * rows), squeeze=False, layout="constrained"
    )
    for col in range(n):
        axes[0, col].imshow(np.asarray(images[col]))
        if titles is not None:
            axes[0, col].set_title(str(titles[col]), fontsize=8)
        for row, (label, maps) in enumerate(heatmaps.items(), start=1):
            image = np.asarray(row_images.get(label, images)[col])
            height, width = image.shape[:2]
            ax = axes[row, col]
            ax.imshow(image)
            ax.imshow(
                heat_overlay(maps[col], alpha),
                extent=(-0.5, width - 0.5, height - 0.5, -0.5),  # over the whole image
                interpolation="bilinear",
            )
    for row, label in enumerate(["face", *heatmaps]):
        axes[row, 0].set_ylabel(label, fontsize=9)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(title or "Grad-CAM: where each model looks (bright = raises its score)")
    return fig
