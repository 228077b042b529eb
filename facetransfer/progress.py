"""Progress bars and logging, quiet in CI."""

from __future__ import annotations

import logging
import os
import sys


def quiet() -> bool:
    """CI and non-interactive runs get no progress bars (they would fill logs with redraws)."""
    return bool(os.environ.get("CI")) or os.environ.get("FACETRANSFER_QUIET") == "1"


def progress_bar(iterable, total: int | None = None, desc: str = "", enabled: bool = True):
    """tqdm over `iterable`, or the iterable itself when disabled or in CI."""
    if not enabled or quiet():
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, total=total, desc=desc, leave=False)


def setup_logging(verbose: bool = False) -> None:
    """Concise by default (warnings and our own INFO lines), everything with verbose."""
    level = logging.DEBUG if verbose else logging.INFO
    logging.basicConfig(
        level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr, force=True
    )
    if not verbose:
        for noisy in ("tensorflow", "absl", "h5py", "matplotlib", "PIL"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
