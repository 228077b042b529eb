"""Where the real CelebA sample of the development machines lives: ../shared/data beside the
repository, or $FACETRANSFER_SHARED_DATA. Tests that read it skip when it is absent; the package
never knows this path."""

from __future__ import annotations

import os
from pathlib import Path

SHARED_DATA = Path(
    os.environ.get(
        "FACETRANSFER_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"
    )
)

# The repository's own folder, for tests that read its files (tools/, requirements): the package
# itself never refers to where it is installed.
REPO = Path(__file__).resolve().parents[1]
