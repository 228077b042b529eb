"""Distance thresholds for a face descriptor, chosen on pairs of faces of different people.

A base whose embedding is a face descriptor (dlib's, or a student distilled from it) decides
"same person" by distance. The threshold that lets a given share of different-person pairs
through is read off CelebA faces whose identities are known, none of them anyone the model
learned from; the sidecar keeps it, so verify, enrol and a person model with no one else to learn
from use it.
"""

from __future__ import annotations

import numpy as np

RATES = (0.01, 0.001)  # shares of different-person pairs accepted
MAX_FACES = 3000  # all pairs of 3,000 faces: 4.5 million distances, enough for 0.1%


def pair_distances(vectors: np.ndarray, identities: np.ndarray):
    """Distances of every pair of faces, and whether each pair is one person."""
    vectors = np.asarray(vectors, np.float64)
    squared = (vectors**2).sum(1)
    d2 = squared[:, None] + squared[None, :] - 2.0 * vectors @ vectors.T
    upper = np.triu_indices(len(vectors), 1)
    distances = np.sqrt(np.maximum(d2[upper], 0.0))
    who = np.asarray(identities)
    return distances, who[upper[0]] == who[upper[1]]


def calibrate_distances(
    vectors: np.ndarray, identities: np.ndarray, rates=RATES, *, seed: int = 0
) -> dict:
    """{"distance_thresholds": {rate: distance}, "same_person_accepted": {rate: share}, ...}:
    the distance under which `rate` of the different-person pairs fall, and the share of
    same-person pairs it accepts. At most MAX_FACES faces, drawn at random, are paired."""
    vectors, identities = np.asarray(vectors), np.asarray(identities)
    if len(vectors) > MAX_FACES:
        keep = np.random.default_rng(seed).choice(len(vectors), MAX_FACES, replace=False)
        vectors, identities = vectors[keep], identities[keep]
    distances, same = pair_distances(vectors, identities)
    if (~same).sum() < 1 / min(rates):
        raise ValueError(
            f"{(~same).sum()} pairs of different people cannot set a threshold for "
            f"{min(rates):.1%} of them: calibrate on more faces"
        )
    thresholds, accepted = {}, {}
    for rate in rates:
        t = float(np.quantile(distances[~same], rate))
        thresholds[str(rate)] = round(t, 4)
        accepted[str(rate)] = round(float((distances[same] < t).mean()), 4) if same.any() else None
    return {
        "distance_thresholds": thresholds,
        "same_person_accepted": accepted,
        "faces": int(len(vectors)),
        "pairs_different": int((~same).sum()),
        "pairs_same": int(same.sum()),
    }
