"""Transfer helpers: CelebA negatives go through the same intake as the person's photos."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from shared_data import SHARED_DATA

from facetransfer.data.intake import PersonData, align_celeba_rows
from facetransfer.modeling import networks
from facetransfer.modeling.heads import build_person_model, set_centroid_head
from facetransfer.modeling.predict import scores
from facetransfer.modeling.transfer import finish_person

REAL_FACE = SHARED_DATA / "celeba" / "img_align_celeba" / "000002.jpg"


def test_celeba_negative_without_a_face_is_dropped(tmp_path):
    blank = tmp_path / "blank.jpg"
    Image.fromarray(np.full((218, 178, 3), 128, np.uint8)).save(blank)
    frame = pd.DataFrame(
        {"path": [str(blank)], "label": [0], "split": ["train"], "source": ["celeba"]}
    )
    assert align_celeba_rows(frame, tmp_path / "aligned").empty


@pytest.mark.skipif(not REAL_FACE.exists(), reason="the real CelebA sample is absent")
def test_celeba_negative_is_realigned_and_cached(tmp_path):
    frame = pd.DataFrame(
        {
            "path": [str(REAL_FACE), "fotos/paco/1.jpg"],
            "label": [0, 1],
            "split": ["train", "train"],
            "source": ["celeba", "fotos"],
        }
    )
    out = align_celeba_rows(frame, tmp_path / "aligned")
    crop = tmp_path / "aligned" / "000002.png"
    assert out["aligned"].tolist() == [str(crop), "fotos/paco/1.jpg"]
    assert Image.open(crop).size == (178, 218)
    stamp = crop.stat().st_mtime_ns
    align_celeba_rows(frame, tmp_path / "aligned")
    assert crop.stat().st_mtime_ns == stamp, "cached: not aligned twice"


def test_centroid_head_scores_the_persons_photos_higher_and_saves_a_threshold(tmp_path):
    rng = np.random.default_rng(0)
    base = networks.improved_cnn(32)
    bright = rng.integers(150, 256, (12, 32, 32, 3), dtype=np.uint8)  # "the person"
    dark = rng.integers(0, 100, (12, 32, 32, 3), dtype=np.uint8)  # "others"

    def split(a, b):
        return np.concatenate([a, b]), np.r_[np.ones(len(a)), np.zeros(len(b))].astype("float32")

    parts = {
        "train": split(bright[:6], dark[:6]),
        "validation": split(bright[6:9], dark[6:9]),
        "test": split(bright[9:], dark[9:]),
    }
    data = PersonData(
        {k: v[0] for k, v in parts.items()},
        {k: v[1] for k, v in parts.items()},
        {k: [] for k in parts},
    )
    model = build_person_model(base, "centroid")
    set_centroid_head(model, data)
    train_scores = scores(model, data.images["train"])
    assert train_scores[:6].mean() > train_scores[6:].mean()
    result = finish_person(model, data, tmp_path / "p.h5", metadata={"person": "p"})
    assert (tmp_path / "p.json").exists() and 0.0 <= result.threshold <= 1.0
    assert result.report["roc_auc"] > 0.5


def test_a_distance_model_accepts_exactly_within_its_distance():
    import keras

    from facetransfer.modeling.heads import distance_person_model

    base = networks.improved_cnn(32, widths=(8,), embedding_dim=4)
    image = np.random.default_rng(2).integers(0, 256, (1, 32, 32, 3), dtype=np.uint8)
    embedding = keras.Model(base.inputs[0], base.get_layer("embedding").output)
    e = np.asarray(embedding(image.astype("float32")))[0]
    step = np.array([0.3, 0.0, -0.4, 0.0], np.float32)  # length 0.5
    for distance, expected in ((0.5, 0.5), (0.6, 1.0), (0.4, 0.0)):
        model = distance_person_model(base, e + step, distance, sharpness=400.0)
        score = float(np.asarray(model(image.astype("float32")))[0, 0])
        assert score == pytest.approx(expected, abs=0.02), distance


def _photos_only_of_the_person(tmp_path, n=8):
    rng = np.random.default_rng(3)
    rows = []
    for i in range(n):
        path = tmp_path / f"p{i}.png"
        Image.fromarray(rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)).save(path)
        split = "train" if i < 4 else "validation" if i < 6 else "test"
        rows.append({"path": str(path), "label": 1, "split": split, "source": "fotos"})
    return pd.DataFrame(rows)


def test_with_no_one_else_a_calibrated_base_decides_by_distance(tmp_path):
    from facetransfer.config import PersonSettings
    from facetransfer.modeling.checkpoints import save_with_sidecar
    from facetransfer.modeling.transfer import transfer

    frame = _photos_only_of_the_person(tmp_path)
    base = networks.improved_cnn(32, widths=(8,), embedding_dim=4)
    calibrated = tmp_path / "calibrated.h5"
    save_with_sidecar(base, calibrated, {"crop": "full", "distance_thresholds": {"0.01": 50.0}})
    result, _, model = transfer(
        calibrated,
        frame,
        out=tmp_path / "p.h5",
        logs_dir=tmp_path / "logs",
        cache_dir=tmp_path / "cache",
        settings=PersonSettings(person="p"),
        progress=False,
    )
    assert result.threshold == 0.5 and result.report["acceptance"] == 1.0
    assert json.loads((tmp_path / "p.json").read_text())["head"] == "distance"
    plain = tmp_path / "plain.h5"
    save_with_sidecar(base, plain, {"crop": "full"})
    with pytest.raises(ValueError, match="no photos of anyone else to learn from"):
        transfer(
            plain,
            frame,
            out=tmp_path / "q.h5",
            logs_dir=tmp_path / "logs",
            cache_dir=tmp_path / "cache",
            settings=PersonSettings(person="p"),
            progress=False,
        )
