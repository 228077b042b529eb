"""Shared fixtures: small synthetic data, made once per session."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("FACETRANSFER_QUIET", "1")


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture(scope="session")
def tiny_celeba(tmp_path_factory):
    """A drawn CelebA-format dataset: 12 identities x 6 images."""
    from facetransfer.demo import synthetic

    root = tmp_path_factory.mktemp("celeba")
    return synthetic.make_celeba(root, n_identities=12, images_per_identity=6, seed=3)
