"""Tests for report.samples: the notebooks' photo grids and answer tables, on written photos."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from facetransfer.report import plots, samples


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plots.plt.close("all")


def write_photos(folder: Path, n: int, size=(40, 50)) -> list[Path]:
    """n plain-coloured photos, photo i filled with grey level 20 * i."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        path = folder / f"p{i}.png"
        Image.fromarray(np.full((size[1], size[0], 3), 20 * i, np.uint8)).save(path)
        paths.append(path)
    return paths


def test_decision_grid_titles_each_decision_green_when_right(tmp_path):
    photos = write_photos(tmp_path, 4)
    scores, labels = [0.9, 0.2, 0.6, 0.1], [1, 1, 0, 0]
    fig = samples.decision_grid(photos, scores, labels, 0.5, person="paco", n=4, seed=0)
    order = np.random.default_rng(0).permutation(4)
    want = {0: ("paco 0.90", "green"), 1: ("unknown 0.20", "red"), 2: ("paco 0.60", "red"),
            3: ("unknown 0.10", "green")}  # fmt: skip
    for ax, i in zip(fig.axes, order, strict=True):
        title = ax.title
        assert (title.get_text(), title.get_color()) == want[i]
        image = ax.images[0].get_array()
        assert image.shape[:2] == (218, 178) and int(image[0, 0, 0]) == 20 * i  # CelebA-sized
    with pytest.raises(ValueError, match="3 scores"):
        samples.decision_grid(photos, scores[:3], labels, 0.5, person="paco")


def test_labelled_faces_names_the_attributes_each_face_has(tmp_path):
    photos = write_photos(tmp_path, 3)

    class CelebA:
        attributes = pd.DataFrame(
            {"Smiling": [1, 0, 1], "Male": [1, 0, 0], "Bald": [1, 1, 0]},
            index=[p.name for p in photos],
        )

        def paths(self, ids):
            return [tmp_path / i for i in ids]

    fig = samples.labelled_faces(CelebA(), ["Smiling", "Male"], n=5, seed=1)
    titles = sorted(ax.get_title() for ax in fig.axes)
    assert titles == ["-", "Smiling", "Smiling, Male"]  # at most as many as there are


def test_photo_grid_leaves_out_missing_pngs_and_says_none_when_empty(tmp_path):
    photos = write_photos(tmp_path, 3)
    fig = samples.photo_grid([photos[0], None, photos[2]], title="Annotated", n=12)
    assert [ax.get_title() for ax in fig.axes] == ["p0", "p2"]
    assert fig._suptitle.get_text() == "Annotated"
    assert [ax.get_title() for ax in samples.photo_grid(photos, title="x", n=1).axes] == ["p0"]
    assert samples.photo_grid([None], title="Annotated") is None


def test_prediction_table_names_rows_and_calls_decide_once_each_in_order():
    results = [
        {"path": "/a/one.jpg", "faces": [{}, {}], "probability": 0.8},
        {"path": "/b/two.png", "faces": [], "probability": None},
    ]
    seen = []

    def decide(r):
        seen.append(r["path"])
        return "paco" if r["probability"] else "no face"

    table = samples.prediction_table(results, decide)
    assert seen == ["/a/one.jpg", "/b/two.png"]
    assert table.drop(columns="probability").to_dict("list") == {
        "photo": ["one.jpg", "two.png"], "faces": [2, 0], "decision": ["paco", "no face"],
    }  # fmt: skip
    assert table["probability"].iloc[0] == 0.8 and pd.isna(table["probability"].iloc[1])
    frames = samples.prediction_table({5: results[0]}, decide, key="frame")
    assert list(frames.columns) == ["frame", "faces", "probability", "decision"]
    assert frames["frame"].tolist() == [5]


def test_annotate_predictions_writes_one_png_per_photo_or_frame(tmp_path):
    photo = write_photos(tmp_path / "in", 1, size=(60, 60))[0]
    result = {"path": str(photo), "faces": [], "probability": None, "is_person": False}
    pngs = samples.annotate_predictions([result], "paco", tmp_path / "out")
    assert pngs == [tmp_path / "out" / "p0.png"] and pngs[0].exists()
    frame = np.zeros((60, 60, 3), np.uint8)
    pngs = samples.annotate_predictions(
        {7: {"faces": [], "probability": None}}, "paco", tmp_path / "video", frames={7: frame}
    )
    assert pngs == [tmp_path / "video" / "frame_00007.png"] and pngs[0].exists()
    missing = {**result, "path": str(tmp_path / "gone.jpg")}
    assert samples.annotate_predictions([missing], "paco", tmp_path / "out") == [None]
