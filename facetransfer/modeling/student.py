"""What makes an attribute network a student of a face network: fixed identity centres from the
teacher, and distance thresholds for its embedding once trained."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import keras
import numpy as np

from facetransfer.modeling.calibrate import calibrate_distances
from facetransfer.modeling.card import read_card, write_card
from facetransfer.modeling.checkpoints import load_model_file

log = logging.getLogger(__name__)


def teacher_class_means(classes: np.ndarray, descriptors: np.ndarray, n_classes: int):
    """(dim, n_classes): each identity's mean teacher descriptor, unit length: fixed class
    centres for the identity loss, as ProxylessKD takes them from its teacher."""
    centres = np.zeros((descriptors.shape[1], n_classes), np.float32)
    for k in range(n_classes):
        mean = descriptors[classes == k].mean(axis=0)
        centres[:, k] = mean / (np.linalg.norm(mean) + 1e-12)
    return centres


def embeddings(model, images, batch_size: int = 64) -> np.ndarray:
    """The embedding layer's output for `images` (uint8, the model's input size)."""
    embed = keras.Model(model.inputs[0], model.get_layer("embedding").output)
    return embed.predict(np.asarray(images), batch_size=batch_size, verbose=0)


def calibrate_student(checkpoint, images, identities) -> dict | None:
    """Distance thresholds of the saved student's embedding on faces of people it did not learn
    from (CelebA's validation split), written into its sidecar, where a person model on it,
    verify and enrol find them as they find dlib's. None (and a warning) when those faces are
    too few people to calibrate on."""
    vectors = embeddings(load_model_file(checkpoint), images)
    try:
        calibration = calibrate_distances(vectors, identities)
    except ValueError as error:
        log.warning("the student's distances are not calibrated: %s", error)
        return None
    card = read_card(checkpoint).with_extra(
        calibration={k: v for k, v in calibration.items() if k != "distance_thresholds"}
        | {"on": "CelebA validation faces (people the student did not learn from)"},
        same_person_distance=calibration["distance_thresholds"]["0.01"],
        embedding_dim=int(vectors.shape[1]),
    )
    card = replace(card, distance_thresholds=calibration["distance_thresholds"])
    write_card(Path(checkpoint), card)
    log.info("student's distance thresholds on validation faces: %s", calibration)
    return calibration
