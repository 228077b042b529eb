"""Transfer: a frozen base plus a small head (modeling.heads) that answers "is this photo the
person?", its decision threshold chosen for a target false-accept rate on strangers (or the
validation negatives) and saved with it."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from facetransfer.config import (
    HEADS,
    TARGET_FALSE_ACCEPT,
    UNFREEZE_TOP_LEARNING_RATE,
    PersonSettings,
)
from facetransfer.data.cache import build_cache
from facetransfer.data.intake import PersonData, load_person_data
from facetransfer.errors import InputError
from facetransfer.modeling.bases import load_base
from facetransfer.modeling.card import (
    SCHEMA_VERSION,
    BaseRef,
    Decision,
    ModelCard,
    card_from_dict,
)
from facetransfer.modeling.checkpoints import save_with_sidecar
from facetransfer.modeling.features import FeatureCache
from facetransfer.modeling.heads import (
    build_person_model,
    distance_person_model,
    distance_scores,
    feature_scores,
    gallery_rule_person_model,
    gallery_rule_scores,
    head_on_features,
    resolve_head,
    set_centroid_head,
    train_head_on_features,
    train_person,
)
from facetransfer.modeling.predict import scores
from facetransfer.report import evaluate

log = logging.getLogger(__name__)


@dataclass
class PersonResult:
    threshold: float
    report: dict
    test_scores: np.ndarray
    history: dict


def finish_person(
    model,
    data: PersonData,
    checkpoint,
    *,
    target_false_accept: float = TARGET_FALSE_ACCEPT,
    metadata: ModelCard | dict | None = None,
    history: dict | None = None,
    score=None,
    stranger_scores: np.ndarray | None = None,
    threshold: float | None = None,
) -> PersonResult:
    """Choose the threshold, report on test, save model + threshold + report.

    The threshold admits at most `target_false_accept` of the strangers when their scores are
    given (`stranger_scores`: 1,000 CelebA faces through the same intake, see data.strangers),
    else of the validation split's negatives. `score(split)` gives a split's scores (the model on
    its images by default; a head on cached features when the base is frozen)."""
    score = score or (lambda split: scores(model, data.images[split]))
    val_labels, val_scores = data.labels["validation"], score("validation")
    if stranger_scores is not None:
        positives = val_scores[val_labels > 0.5]
        val_labels = np.r_[np.ones(len(positives)), np.zeros(len(stranger_scores))]
        val_scores = np.r_[positives, stranger_scores]
    chosen_on = f"{len(stranger_scores)} strangers" if stranger_scores is not None else "validation"
    if threshold is None:
        threshold = evaluate.threshold_for_false_accept(val_labels, val_scores, target_false_accept)
    else:
        chosen_on = "calibrated distance"
    test_scores = score("test")
    report = evaluate.person_report(data.labels["test"], test_scores, threshold)
    decision = Decision("probability", float(threshold), target_false_accept, chosen_on)
    if isinstance(metadata, dict):  # a plain record: its known fields typed, the rest kept
        record = {"kind": "person", **metadata, "schema_version": SCHEMA_VERSION}
        metadata = card_from_dict({**record, "decision": asdict(decision)})
    card = replace(metadata or ModelCard(kind="person"), decision=decision).with_extra(
        test={k: v for k, v in report.items() if k != "confusion_matrix"},
        counts=data.counts().to_dict(),
    )
    if stranger_scores is not None:
        card = card.with_extra(strangers=len(stranger_scores))
        report["strangers_for_threshold"] = len(stranger_scores)
    save_with_sidecar(model, Path(checkpoint).with_suffix(".h5"), card)
    return PersonResult(float(threshold), report, test_scores, history or {})


def transfer(
    base_path,
    frame: pd.DataFrame,
    *,
    out,
    logs_dir,
    cache_dir,
    settings: PersonSettings | None = None,
    align: bool = False,
    strangers: pd.DataFrame | None = None,
    augment: bool = True,
    precompute: bool | None = None,
    verbose=0,
    progress: bool = True,
):
    """The whole transfer from a split of photos: load the base, read the photos at its input
    size and crop, build and train the head, choose the threshold, save `out` (.h5, .keras,
    .json: the card with the threshold). Returns (PersonResult, PersonData, model).
    `modeling.person.train_person_model` (the CLI, notebook 03) and the benchmark call this.
    `settings` (config.PersonSettings): the person, head and training settings; those left None
    come from `config.HEADS`.

    `strangers`: aligned CelebA faces of other people (`data.intake.person_photos` gives them,
    in the base's geometry) to choose the threshold on; None chooses it on the validation
    negatives.
    `precompute`: train the head on the frozen base's cached features (each training photo and
    its mirror image) instead of on augmented images; None does so for the dlib base, whose
    forward pass costs tens of times the head's."""
    settings = settings or PersonSettings()
    head, unfreeze_top = settings.head, settings.unfreeze_top
    target_false_accept = settings.target_false_accept
    base, base_card, _ = load_base(base_path)
    crop = base_card.crop
    size = int(base.input_shape[1])
    data = load_person_data(frame, size, crop, cache_dir, progress=progress)
    if head == "auto" and base_card.distance_thresholds:
        head = "distance"  # measured best on the dlib base (BENCHMARKS.md, section 2)
    head = resolve_head(base, head)
    defaults = HEADS[head]
    learning_rate = settings.learning_rate
    if learning_rate is None:
        learning_rate = UNFREEZE_TOP_LEARNING_RATE if unfreeze_top else defaults.learning_rate
    metadata = ModelCard(
        kind="person",
        person=settings.person,
        geometry=base_card.geometry,
        image_size=size,
        crop=crop,
        base=BaseRef(
            base_card.weights_sha256,
            base_card.arch if base_card.arch == "dlib" else None,
            str(Path(base_path).resolve()),
        ),
        extra={
            "base_arch": base_card.arch,
            "align": align,
            "head": head,
            "unfreeze_top": unfreeze_top,
            "base_learned_from": base_card.learned_from,
        },
    )
    if head == "distance" or not (data.labels["train"] < 0.5).any():
        return _transfer_by_distance(
            base,
            base_path,
            base_card,
            data,
            out=out,
            cache_dir=cache_dir,
            target_false_accept=target_false_accept,
            metadata=metadata,
            strangers=strangers,
        )
    model = build_person_model(base, head, unfreeze_top)
    if precompute is None:
        precompute = base_card.arch == "dlib"
    training = {
        "epochs": settings.epochs or defaults.epochs,
        "optimizer": settings.optimizer or defaults.optimizer,
        "learning_rate": learning_rate,
        "loss": settings.loss or defaults.loss,
        "batch_size": settings.batch_size or defaults.batch_size,
        "seed": settings.seed,
        "verbose": verbose,
    }
    if precompute and not unfreeze_top:
        return _transfer_on_features(
            model,
            base,
            base_path,
            data,
            out=out,
            logs_dir=logs_dir,
            cache_dir=cache_dir,
            size=size,
            crop=crop,
            head=head,
            target_false_accept=target_false_accept,
            augment=augment,
            strangers=strangers,
            metadata=metadata,
            training=training,
        )
    stranger_images = None
    if strangers is not None:
        column = "aligned" if "aligned" in strangers.columns else "path"
        built = build_cache(strangers[column].tolist(), size, cache_dir, crop, progress=progress)
        stranger_images = np.asarray(built.images)
    if head == "centroid":
        set_centroid_head(model, data)
        best, history = model, {}
    else:
        best, history = train_person(
            model, data, checkpoint=out, logs_dir=logs_dir, augment=augment, **training
        )
    result = finish_person(
        best,
        data,
        out,
        target_false_accept=target_false_accept,
        metadata=metadata,
        history=history,
        stranger_scores=None if stranger_images is None else scores(best, stranger_images),
    )
    return result, data, best


def _transfer_on_features(
    model, base, base_path, data: PersonData, *, cache_dir, size, crop, strangers, **settings
):
    """`transfer` with the head trained and scored on the frozen base's cached features."""
    cache = FeatureCache(base, base_path, cache_dir, size=size, crop=crop)
    features = {split: cache.features(files) for split, files in data.files.items()}
    labels = dict(data.labels)
    if settings["augment"]:  # the mirror image: the one view of a photo that costs nothing
        features["train"] = np.r_[features["train"], cache.features(data.files["train"], True)]
        labels["train"] = np.r_[labels["train"], labels["train"]]
    stranger_features = None
    if strangers is not None:
        column = "aligned" if "aligned" in strangers.columns else "path"
        stranger_features = cache.features(strangers[column].tolist())
    cache.save()
    if settings["head"] == "centroid":
        set_centroid_head(model, data, features=features["train"][: len(data.labels["train"])])
        best, history = model, {}
        head = head_on_features(model, features["train"].shape[1])
    else:
        best, head, history = train_head_on_features(
            model,
            features,
            labels,
            checkpoint=settings["out"],
            logs_dir=settings["logs_dir"],
            **settings["training"],
        )
    result = finish_person(
        best,
        data,
        settings["out"],
        target_false_accept=settings["target_false_accept"],
        metadata=settings["metadata"].with_extra(trained_on="cached base features"),
        history=history,
        score=lambda split: feature_scores(head, features[split][: len(data.labels[split])]),
        stranger_scores=(
            None if stranger_features is None else feature_scores(head, stranger_features)
        ),
    )
    return result, data, best


def _transfer_by_distance(
    base,
    base_path,
    base_card: ModelCard,
    data: PersonData,
    *,
    out,
    cache_dir,
    target_false_accept,
    metadata,
    strangers=None,
):
    """A face is the person when its descriptor lies close to their enrolled photos (train and
    validation). With strangers or negatives: its distance to the mean of those photos, the
    threshold chosen on the strangers' or negatives' scores like any head's. With no one else to
    learn from (no others/, no CelebA), a base whose distances were calibrated on CelebA
    strangers (the dlib base) decides by a gallery's rule: the mean distance to each enrolled
    photo against the calibrated pair distance for `target_false_accept`, so `predict` with this
    model and `identify`/`verify` with a gallery of the same photos agree. (The calibration
    speaks of one pair's distance; the distance to the mean of the photos is shorter for
    everyone, strangers included, and that distance against it let strangers through.) Any
    other base cannot tell the person from anyone."""
    alone = not (data.labels["train"] < 0.5).any() and strangers is None
    if alone and not base_card.distance_thresholds:
        raise InputError(
            "no photos of anyone else to learn from: add fotos/others/, or bring CelebA "
            "(--celeba-dir), or use --base dlib, whose distances are calibrated"
        )
    if base_card.distance_thresholds:
        distance = base_card.distance_for(target_false_accept)
    else:  # only sets the scale of the scores: the threshold is chosen on the data
        distance = float(base_card.extra.get("same_person_distance", 1.0))
    size, crop = int(base.input_shape[1]), base_card.crop
    cache = FeatureCache(base, base_path, cache_dir, size=size, crop=crop)
    features = {split: cache.features(files) for split, files in data.files.items()}
    enrolled = np.r_[
        features["train"][data.labels["train"] > 0.5],
        features["validation"][data.labels["validation"] > 0.5],
    ]
    if alone:
        cache.save()
        model = gallery_rule_person_model(base, enrolled, distance)
        result = finish_person(
            model,
            data,
            out,
            target_false_accept=target_false_accept,
            metadata=metadata.with_extra(
                head="distance",
                distance=distance,
                distance_rule="mean distance to each enrolled photo (a gallery's rule)",
                enrolled=len(enrolled),
            ),
            score=lambda split: gallery_rule_scores(features[split], enrolled, distance),
            threshold=0.5,
        )
        return result, data, model
    centre = enrolled.mean(axis=0)
    stranger_scores = None
    if strangers is not None:
        column = "aligned" if "aligned" in strangers.columns else "path"
        stranger_scores = distance_scores(
            cache.features(strangers[column].tolist()), centre, distance
        )
    cache.save()
    model = distance_person_model(base, centre, distance)
    result = finish_person(
        model,
        data,
        out,
        target_false_accept=target_false_accept,
        metadata=metadata.with_extra(
            head="distance", distance=distance, distance_rule="distance to the mean photo"
        ),
        score=lambda split: distance_scores(features[split], centre, distance),
        stranger_scores=stranger_scores,
    )
    return result, data, model
