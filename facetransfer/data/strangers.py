"""Strangers for choosing a threshold: enough CelebA faces of other people to measure a 1% false
accept rate (1,000 by default: ten of them may pass), through the same intake as the user's photos.

A person model's threshold is the score that at most `target` of these strangers reach. Chosen on
the 50 CelebA negatives of a validation split, "1%" meant "none of 50", and on new strangers the
rate came out at 7% (BENCHMARKS.md); chosen on 1,000, the rate holds within a binomial spread of
about 0.3 points. The strangers come from CelebA's train and validation partitions (never its
test partition, which the bases are scored on), as many different people as the images allow,
none of them in `exclude_identities` (the person, when they are a CelebA identity); their aligned
crops are cached once per crop geometry and shared by every person model.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from facetransfer.config import STRANGERS

log = logging.getLogger(__name__)

PARTITIONS = (0, 1)  # CelebA's train and validation


def stranger_rows(
    celeba, n: int = STRANGERS, *, seed: int = 0, exclude_identities=(), exclude_paths=()
) -> pd.DataFrame:
    """`n` CelebA images of other people, spread over as many people as there are: one image per
    person first, then a second, ... (`celeba.identity` when known, else any images)."""
    ok = celeba.partition.isin(PARTITIONS).to_numpy()
    index = celeba.partition.index[ok]
    excluded_paths = {str(p) for p in exclude_paths}  # e.g. the person model's training negatives
    rng = np.random.default_rng(seed)
    if celeba.identity is not None:
        who = celeba.identity.loc[index]
        index = index[~who.isin(set(exclude_identities)).to_numpy()]
        who = celeba.identity.loc[index].to_numpy()
        order = rng.permutation(len(index))
        # the k-th image of each person gets rank k: sorting by rank takes one per person first
        rank = pd.Series(who[order]).groupby(who[order]).cumcount().to_numpy()
        chosen = index[order[np.argsort(rank, kind="stable")]]
    else:
        chosen = index[rng.permutation(len(index))]
    paths = [str(p) for p in celeba.paths(chosen)]
    keep = [i for i, p in enumerate(paths) if p not in excluded_paths][:n]
    if len(keep) < n:
        log.warning(
            "only %d CelebA images of other people in train/validation (%d asked for): the "
            "threshold's false-accept rate is measured on those",
            len(keep),
            n,
        )
    frame = pd.DataFrame({"path": [paths[i] for i in keep], "label": 0, "source": "celeba"})
    frame["split"] = "strangers"
    if celeba.identity is not None:
        frame["identity"] = celeba.identity.loc[chosen[keep]].to_numpy()
    return frame
