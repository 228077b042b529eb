"""Tests for report.plots: each figure has the expected parts and saves a non-empty PNG."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from shared_data import REPO as PROJECT_ROOT

from facetransfer.report import annotate, plots
from facetransfer.report import evaluate as ev

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
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend == ["model1", "model2", "train", "validation"]  # one figure legend
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
    """The backend a fresh interpreter reports after importing facetransfer.report.plots."""
    code = "import facetransfer.report.plots, matplotlib; print(matplotlib.get_backend())"
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


def test_training_curves_use_a_log_axis_when_losses_span_decades():
    histories = {
        "model1": {"loss": [2.0, 1.8], "binary_accuracy": [0.7, 0.8]},
        "model3": {"loss": [80.0, 75.0], "binary_accuracy": [0.6, 0.62]},
    }
    loss_ax, acc_ax = plots.training_curves(histories).axes
    assert loss_ax.get_yscale() == "log" and "log scale" in loss_ax.get_title()
    assert acc_ax.get_yscale() == "linear"
    forced = plots.training_curves(histories, metrics=["loss"], log_scale=False)
    assert forced.axes[0].get_yscale() == "linear"


def test_heat_overlay_is_transparent_where_cold():
    heat = np.array([[0.0, 0.5], [1.0, 0.25]])
    rgba = plots.heat_overlay(heat, alpha=0.8)
    assert rgba.shape == (2, 2, 4)
    np.testing.assert_allclose(rgba[..., 3], 0.8 * heat)


def test_saliency_grid(out_dir):
    rng = np.random.default_rng(7)
    faces = rng.integers(0, 256, (3, 30, 30, 3), dtype=np.uint8)
    crops = rng.integers(0, 256, (3, 20, 20, 3), dtype=np.uint8)
    maps = {"seed: Smiling": rng.random((3, 2, 2)), "improved: Smiling": rng.random((3, 20, 20))}
    fig = plots.saliency_grid(faces, maps, ["a", "b", "c"], row_images={"improved: Smiling": crops})
    assert len(fig.axes) == 3 * 3  # the faces row, then one row per model
    assert [fig.axes[i].get_ylabel() for i in (0, 3, 6)] == ["face", *maps]
    improved_row = fig.axes[6]
    assert improved_row.images[0].get_array().shape[:2] == (20, 20)  # drawn over its own crop
    assert improved_row.images[1].get_extent() == [-0.5, 19.5, 19.5, -0.5]  # map stretched on it
    assert_png(plots.save_figure(fig, out_dir / "saliency_grid.png"))
    with pytest.raises(ValueError, match="2 heatmaps"):
        plots.saliency_grid(faces, {"x": rng.random((2, 4, 4))})
    with pytest.raises(ValueError, match="no heatmaps"):
        plots.saliency_grid(faces, {"x": rng.random((3, 4, 4))}, row_images={"y": crops})


@pytest.fixture
def photo(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(8)
    path = tmp_path / "holiday.jpg"
    Image.fromarray(rng.integers(0, 256, (300, 400, 3), dtype=np.uint8)).save(path)
    return path


def test_annotate_photo_draws_each_face(photo, tmp_path):
    from PIL import Image

    result = {
        "path": str(photo),
        "faces": [
            {"box": [40, 60, 80, 100], "probability": 0.93, "is_person": True},
            {"box": [250, 0, 90, 110], "probability": 0.12, "is_person": False},
        ],
        "probability": 0.93,
        "is_person": True,
    }
    out = annotate.annotate_photo(photo, result, "paco", tmp_path / "annotated" / "holiday.png")
    assert out == tmp_path / "annotated" / "holiday.png"
    assert_png(out)
    pixels = np.asarray(Image.open(out).convert("RGB")).astype(int)
    red = (pixels[..., 0] > 180) & (pixels[..., 1] < 80) & (pixels[..., 2] < 80)
    assert red.sum() > 200  # the person's box and label are drawn in red
    assert max(Image.open(out).size) >= 480  # small photos are drawn big enough to read


def test_annotate_photo_without_faces_and_unreadable(photo, tmp_path, caplog):
    empty = {"path": str(photo), "faces": [], "probability": None, "is_person": False}
    assert_png(annotate.annotate_photo(photo, empty, "paco", tmp_path / "empty.png"))
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not a jpeg")
    assert annotate.annotate_photo(broken, empty, "paco", tmp_path / "out" / "broken.png") is None
    assert "broken.jpg" in caplog.text
    assert not (tmp_path / "out" / "broken.png").exists()


def test_annotate_photo_shrinks_large_photos(tmp_path):
    from PIL import Image

    big = tmp_path / "big.png"
    Image.new("RGB", (3000, 2000), (30, 90, 160)).save(big)
    result = {
        "faces": [{"box": [1200, 600, 400, 500], "probability": 0.7, "is_person": True}],
        "probability": 0.7,
        "is_person": True,
    }
    out = annotate.annotate_photo(big, result, "paco", tmp_path / "big.png.png", max_side=800)
    width, height = Image.open(out).size
    assert width == 800 and 533 <= height <= 600  # the photo's shape plus the title line


def test_annotate_a_gallery_answer_on_an_array_names_each_face(tmp_path):
    frame = np.full((240, 320, 3), 90, np.uint8)
    result = {
        "path": None,
        "faces": [
            {"box": [20, 30, 80, 100], "person": "ana", "score": 0.31},
            {"box": [200, 30, 80, 100], "person": "unknown", "score": 0.8},
        ],
    }
    from PIL import Image

    out = annotate.annotate_photo(frame, result, None, tmp_path / "frame.png")
    assert_png(out)
    pixels = np.asarray(Image.open(out).convert("RGB")).astype(int)
    red = (pixels[..., 0] > 180) & (pixels[..., 1] < 80) & (pixels[..., 2] < 80)
    assert red.sum() > 100  # ana's box is drawn as a known person


def test_attribute_history_puts_attribute_metrics_under_plain_names():
    multi = {
        "loss": [3.0],
        "attribute_logits_loss": [0.4],
        "attribute_logits_binary_accuracy": [0.8],
        "identity_loss": [2.6],
        "val_loss": [3.1],
        "val_attribute_logits_loss": [0.5],
        "val_attribute_logits_binary_accuracy": [0.78],
    }
    assert plots.attribute_history(multi) == {
        "loss": [0.4],
        "binary_accuracy": [0.8],
        "val_loss": [0.5],
        "val_binary_accuracy": [0.78],
    }
    single = {"loss": [0.3], "binary_accuracy": [0.8]}
    assert plots.attribute_history(single) == single


def test_save_figures_names_each_png_by_its_key(tmp_path):
    figures = {
        "seed": plots.confusion(np.array([[3, 1], [0, 2]])),
        "dlib": plots.confusion(np.eye(2)),
    }
    paths = plots.save_figures(figures, tmp_path / "figs", name="03_embeddings_{}.png")
    assert [p.name for p in paths] == ["03_embeddings_seed.png", "03_embeddings_dlib.png"]
    assert all(p.read_bytes().startswith(PNG_MAGIC) for p in paths)


def test_person_roc_marks_the_saved_threshold_and_the_auc():
    y, s = np.array([0, 0, 0, 1, 1]), np.array([0.1, 0.7, 0.3, 0.8, 0.6])
    report = ev.person_report(y, s, 0.65)
    fig = plots.person_roc(y, s, report, title="seed base")
    ax = fig.axes[0]
    assert ax.get_title() == "seed base"
    curve, _chance, point = ax.get_lines()
    fpr, tpr, _ = ev.roc_curve(y, s)
    np.testing.assert_allclose(curve.get_xdata(), fpr)
    assert (point.get_xdata()[0], point.get_ydata()[0]) == (1 / 3, 0.5)  # 0.7 of 3; 0.8 of 2
    assert f"AUC = {report['roc_auc']:.3f}" in curve.get_label()
