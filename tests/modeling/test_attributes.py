"""Attribute training on tiny drawn data: identity classes, checkpoints, the best-model lookup."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np

from facetransfer.config import ARCHITECTURES
from facetransfer.data.celeba import load_celeba
from facetransfer.modeling import attribute_evaluation, attributes


def test_identity_classes_number_repeated_training_people_only():
    ids = {
        "train": np.array([7, 7, 3, 9, 9, 9]),
        "validation": np.array([1, 1]),
        "test": np.array([2]),
    }
    classes = attributes.identity_classes(ids, min_images=2)
    assert classes["train"].tolist() == [0, 0, -1, 1, 1, 1]
    assert classes["validation"].tolist() == [-1, -1] and classes["test"].tolist() == [-1]


def test_excluded_people_never_reach_any_split(tiny_celeba, tmp_path):
    celeba = load_celeba(tiny_celeba)
    person = int(celeba.identity.iloc[0])
    data = attributes.load_attribute_data(
        celeba, 32, tmp_path, crop="face", progress=False, exclude_identities=[person]
    )
    kept = sum(len(y) for y in data.labels.values())
    assert kept == len(celeba.attributes) - int((celeba.identity == person).sum())


def test_improved_training_with_identities_saves_a_plain_attribute_model(tiny_celeba, tmp_path):
    celeba = load_celeba(tiny_celeba)
    data = attributes.load_attribute_data(
        celeba, 32, tmp_path / "cache", crop="face", progress=False
    )
    assert data.n_identities > 1
    _, result = attributes.train_attribute_model(
        data,
        replace(ARCHITECTURES["improved"], epochs=2, batch_size=16),
        models_dir=tmp_path / "models",
        logs_dir=tmp_path / "logs",
        verbose=0,
    )
    assert "identity_loss" in result.history
    record = json.loads((tmp_path / "models" / "improved.json").read_text())
    assert record["identity_classes"] == data.n_identities
    assert record["crop"] == "face" and record["image_size"] == 32
    assert attributes.best_checkpoint(tmp_path / "models", arch="improved") == result.checkpoint
    report = attribute_evaluation.attribute_report(
        __import__("keras").models.load_model(result.checkpoint, compile=False), data
    )
    assert len(report) == 40
