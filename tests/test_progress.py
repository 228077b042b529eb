"""Tests for facetransfer.progress: bars off in CI, Keras verbosity, logging levels."""

from __future__ import annotations

import logging
import os

import pytest

from facetransfer import progress


@pytest.fixture
def interactive(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("FACETRANSFER_QUIET", raising=False)


def test_bars_are_off_in_ci(monkeypatch, interactive):
    items = [1, 2, 3]
    monkeypatch.setenv("CI", "true")
    assert progress.quiet()
    assert progress.progress_bar(items, desc="caching") is items  # no wrapper at all
    assert progress.keras_verbose() == 2  # one line per epoch in a CI log


def test_bars_are_on_when_someone_watches(interactive):
    items = [1, 2, 3]
    bar = progress.progress_bar(items, total=3, desc="aligning", unit="photo")
    assert bar is not items and list(bar) == items
    assert progress.progress_bar(items, enabled=False) is items
    assert progress.keras_verbose() == "auto"
    assert progress.keras_verbose(verbose=True) == 2


def test_quiet_variable(monkeypatch, interactive):
    monkeypatch.setenv("FACETRANSFER_QUIET", "1")
    assert progress.quiet()
    monkeypatch.setenv("FACETRANSFER_QUIET", "0")
    assert not progress.quiet()


def test_logging_concise_by_default_verbose_with_a_flag(monkeypatch):
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)
    try:
        progress.setup_logging()
        assert logging.getLogger().level == logging.INFO
        assert logging.getLogger("tensorflow").level == logging.WARNING
        assert not logging.getLogger("facetransfer.data.cache").isEnabledFor(logging.DEBUG)
        assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "2"
        progress.setup_logging(verbose=True)
        assert logging.getLogger().level == logging.DEBUG
        assert logging.getLogger("tensorflow").isEnabledFor(logging.DEBUG)  # let through again
    finally:
        progress.setup_logging()
