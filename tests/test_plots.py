"""Tests for facetransfer.plots: each figure has the expected parts and saves a non-empty PNG."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from facetransfer import evaluate as ev
from facetransfer import plots
from facetransfer.config import PROJECT_ROOT

plt = plots.plt
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

# Where the PNGs go when FACETRANSFER_PLOT_DIR is set (to look at them); tmp_path otherwise.
_KEEP = os.environ.get("FACETRANSFER_PLOT_DIR")


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture
def out_dir(tmp_path):
    return Path(_KEEP) if _KEEP else tmp_path


def assert_png(path):
    data = path.read_bytes()
    assert data.startswith(PNG_MAGIC)
    assert len(data) > 2000  # a real drawing, not an empty canvas


@pytest.fixture
def attribute_data():
    rng = np.random.default_rng(0)
    names = [f"Attr_{i:02d}" for i in range(12)]
    rates = np.linspace(0.02, 0.8, len(names))
    y = (rng.random((300, len(names))) < rates).astype(np.uint8)
    prob = np.clip(0.3 * y + rng.random(y.shape) * 0.7, 0, 1)
    return names, y, prob


def test_save_figure_creates_folders(tmp_path):
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    path = plots.save_figure(fig, tmp_path / "deep" / "er" / "line.png")
    assert path.parent.is_dir()
    assert_png(path)


def test_attribute_frequencies(out_dir, attribute_data):
    names, y, _ = attribute_data
    rates = pd.Series(y.mean(axis=0), index=names)
    fig = plots.attribute_frequencies(rates)
    (ax,) = fig.axes
    assert len(ax.patches) == len(names)
    widths = [p.get_width() for p in ax.patches]
    assert widths == sorted(widths)  # sorted, commonest at the top
    assert [t.get_text() for t in ax.get_yticklabels()][-1] == rates.idxmax()
    assert "frequencies" in ax.get_title()
    assert_png(plots.save_figure(fig, out_dir / "attribute_frequencies.png"))


def test_attribute_accuracy_vs_baseline(out_dir, attribute_data):
    names, y, prob = attribute_data
    report = ev.attribute_report(y, prob, names)
    fig = plots.attribute_accuracy_vs_baseline(report)
    (ax,) = fig.axes
    assert len(ax.patches) == 2 * len(names)  # model and baseline for every attribute
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[-1] == report["accuracy"].idxmax()
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["model", "majority baseline"]
    assert_png(plots.save_figure(fig, out_dir / "attribute_accuracy_vs_baseline.png"))
    with pytest.raises(ValueError, match="majority_accuracy"):
        plots.attribute_accuracy_vs_baseline(report.drop(columns="majority_accuracy"))


def test_training_curves(out_dir):
    epochs = np.arange(1, 9)
    histories = {
        "model1": {"loss": list(1 / epochs), "val_loss": list(1.2 / epochs), "accuracy": [0.8] * 8},
        "model2": {
            "loss": list(0.8 / epochs),
            "val_loss": list(1.0 / epochs),
            "accuracy": list(0.8 + epochs / 100),
            "val_accuracy": list(0.78 + epochs / 100),
        },
    }
    fig = plots.training_curves(histories, metrics=("loss", "accuracy"))
    assert len(fig.axes) == 2
    loss_ax, acc_ax = fig.axes
    assert len(loss_ax.lines) == 4  # two configs, train and val each
    assert len(acc_ax.lines) == 3  # model1 has no val_accuracy
    assert {line.get_linestyle() for line in loss_ax.lines} == {"-", "--"}
    assert len(plots.training_curves(histories).axes) == 2  # default: every training metric
    assert_png(plots.save_figure(fig, out_dir / "training_curves.png"))
    with pytest.raises(ValueError, match="auc"):
        plots.training_curves(histories, metrics=("auc",))


def test_roc_plot(out_dir):
    rng = np.random.default_rng(3)
    y = np.r_[np.zeros(200, int), np.ones(30, int)]
    s = np.r_[rng.normal(0, 1, 200), rng.normal(1.5, 1, 30)]
    fpr, tpr, _ = ev.roc_curve(y, s)
    auc = ev.roc_auc(y, s)
    t = ev.threshold_for_false_accept(y, s, 0.05)
    point = ((s[y == 0] >= t).mean(), (s[y == 1] >= t).mean())
    fig = plots.roc(fpr, tpr, auc, operating_point=point)
    (ax,) = fig.axes
    assert len(ax.lines) == 3  # curve, chance diagonal, operating point
    assert f"{auc:.3f}" in ax.get_title()
    assert len(plots.roc(fpr, tpr, auc, None).axes[0].lines) == 2
    assert_png(plots.save_figure(fig, out_dir / "roc.png"))


def test_confusion_plot(out_dir):
    cm = ev.confusion_matrix([0] * 40 + [1] * 10, [0] * 38 + [1] * 2 + [1] * 7 + [0] * 3)
    fig = plots.confusion(cm)
    (ax,) = fig.axes
    texts = [t.get_text() for t in ax.texts]
    assert len(texts) == 4
    assert texts[0].startswith("38") and texts[3].startswith("7")
    assert "Confusion" in ax.get_title()
    assert_png(plots.save_figure(fig, out_dir / "confusion.png"))
    with pytest.raises(ValueError, match="2x2"):
        plots.confusion(np.zeros((3, 3)))


def test_image_grid(out_dir):
    rng = np.random.default_rng(4)
    images = rng.integers(0, 256, (8, 40, 32, 3), dtype=np.uint8)
    titles = [f"p={i / 8:.2f}" for i in range(8)]
    colors = ["green" if i % 2 else "red" for i in range(8)]
    fig = plots.image_grid(images, titles, colors, ncols=3)
    assert len(fig.axes) == 8  # 3x3 grid, the ninth axis removed
    assert [len(ax.images) for ax in fig.axes] == [1] * 8
    assert fig.axes[1].title.get_text() == "p=0.12"
    assert fig.axes[0].title.get_color() == "red"
    assert_png(plots.save_figure(fig, out_dir / "image_grid.png"))
    with pytest.raises(ValueError, match="titles"):
        plots.image_grid(images, titles[:3])


def test_embedding_projection(out_dir):
    rng = np.random.default_rng(5)
    others = rng.normal(0, 1, (120, 16))
    person = rng.normal(0, 0.3, (15, 16)) + 4
    embeddings = np.r_[others, person]
    is_person = np.r_[np.zeros(120, bool), np.ones(15, bool)]
    fig = plots.embedding_projection(embeddings, is_person)
    (ax,) = fig.axes
    assert len(ax.collections) == 2
    assert [len(c.get_offsets()) for c in ax.collections] == [120, 15]
    assert "PCA" in ax.get_title()
    assert_png(plots.save_figure(fig, out_dir / "embedding_projection.png"))
    with pytest.raises(ValueError, match="method"):
        plots.embedding_projection(embeddings, is_person, method="tsne")


def test_pca_2d_matches_covariance_eigenvectors():
    rng = np.random.default_rng(6)
    x = rng.normal(size=(200, 5)) * np.array([5.0, 2.0, 1.0, 0.5, 0.1])
    coords, explained = plots.pca_2d(x)
    assert coords.shape == (200, 2)
    values, vectors = np.linalg.eigh(np.cov(x, rowvar=False))
    top = vectors[:, ::-1][:, :2]
    projected = (x - x.mean(axis=0)) @ top
    assert np.allclose(np.abs(coords), np.abs(projected))
    assert explained == pytest.approx(values[::-1][:2] / values.sum())
    assert explained[0] > explained[1]


def backend_after_import(env: dict[str, str]) -> str:
    """The backend a fresh interpreter reports after importing facetransfer.plots."""
    code = "import facetransfer.plots, matplotlib; print(matplotlib.get_backend())"
    run = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=PROJECT_ROOT,
    )
    return run.stdout.strip().lower()


def test_import_does_not_override_a_chosen_backend():
    # A notebook kernel sets MPLBACKEND; importing plots must leave that choice alone.
    assert backend_after_import({**os.environ, "MPLBACKEND": "svg"}) == "svg"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="headless check is for Linux")
def test_import_picks_agg_when_headless():
    hidden = ("MPLBACKEND", "DISPLAY", "WAYLAND_DISPLAY")
    env = {k: v for k, v in os.environ.items() if k not in hidden}
    assert backend_after_import(env) == "agg"
