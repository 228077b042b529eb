"""Progress bars and logging, quiet in CI.

- :func:`progress_bar` wraps every loop over files that can take more than a few seconds
  (caching, alignment, prediction on a folder); it is a no-op in CI or with
  ``FACETRANSFER_QUIET=1``.
- :func:`keras_verbose` is what ``model.fit(verbose=...)`` should get: Keras' own progress bar
  when someone watches, one line per epoch in CI (a bar redrawn hundreds of times fills a log).
- :func:`setup_logging` makes the package's messages concise by default (INFO lines of our own,
  warnings from libraries) and verbose with ``-v``/``verbose=True``.
"""

from __future__ import annotations

import logging
import os
import sys

from tqdm.auto import tqdm

NOISY_LOGGERS = ("tensorflow", "absl", "h5py", "matplotlib", "PIL", "keras")


def quiet() -> bool:
    """CI and non-interactive runs get no progress bars (they would fill logs with redraws)."""
    return bool(os.environ.get("CI")) or os.environ.get("FACETRANSFER_QUIET") == "1"


def progress_bar(
    iterable, total: int | None = None, desc: str = "", enabled: bool = True, *, unit: str = "it"
):
    """tqdm over `iterable`, or the iterable itself when disabled or in CI.

    The bar goes to stderr and disappears when done (``leave=False``), so a notebook or a shell
    keeps only the summary lines the caller logs.
    """
    if not enabled or quiet():
        return iterable
    return tqdm(iterable, total=total, desc=desc, unit=unit, leave=False, mininterval=0.5)


def keras_verbose(verbose: bool = False):
    """Keras' ``verbose`` for fit/predict: 2 (one line per epoch) in CI or when quiet, else
    "auto" (its progress bar); ``verbose`` asks for the one-line-per-epoch log explicitly."""
    return 2 if verbose or quiet() else "auto"


def setup_logging(verbose: bool = False) -> None:
    """Concise by default (warnings and our own INFO lines), everything with verbose.

    Also lowers TensorFlow's C++ log level (its start-up notices about CPU instructions and
    oneDNN) unless verbose; that only takes effect if TensorFlow is not imported yet.
    """
    level = logging.DEBUG if verbose else logging.INFO
    logging.basicConfig(
        level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr, force=True
    )
    if not verbose:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    for noisy in NOISY_LOGGERS:  # NOTSET: a verbose call after a concise one lets them through
        logging.getLogger(noisy).setLevel(logging.NOTSET if verbose else logging.WARNING)
