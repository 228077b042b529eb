"""Paths and hyperparameters, one dataclass each. Defaults a user overrides in a notebook's
parameters cell or with CLI flags."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

# The repository root: the folder that holds the package. Notebooks run from notebooks/, the CLI
# from anywhere, so every default path is anchored here rather than at the working directory.
PROJECT_ROOT = Path(__file__).resolve().parent.parent

# CelebA's aligned crop: 178 wide, 218 high.
CELEBA_CROP_SIZE = (178, 218)  # (width, height)

# Where the real sample lives in this workplace (tests and benchmarks skip when it is absent).
SHARED_DATA = Path(
    os.environ.get("FACETRANSFER_SHARED_DATA", PROJECT_ROOT.parent / "shared" / "data")
)


@dataclass
class Paths:
    """Where data is read from and outputs are written to."""

    root: Path = PROJECT_ROOT
    data: Path = field(default=None)  # type: ignore[assignment]
    models: Path = field(default=None)  # type: ignore[assignment]
    logs: Path = field(default=None)  # type: ignore[assignment]
    fotos: Path = field(default=None)  # type: ignore[assignment]
    reports: Path = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        self.root = Path(self.root)
        for name in ("data", "models", "logs", "fotos", "reports"):
            value = getattr(self, name)
            setattr(self, name, Path(value) if value is not None else self.root / name)

    @property
    def celeba(self) -> Path:
        """Real CelebA, if the user brought it (official or Kaggle layout)."""
        return self.data / "celeba"

    @property
    def synthetic(self) -> Path:
        """The embedded default: drawn faces in CelebA's layout, generated on first use."""
        return self.data / "synthetic"

    @property
    def cache(self) -> Path:
        return self.data / "cache"


@dataclass
class AttributeTraining:
    """The attribute CNN's run. The seed used 192x192, batch 32 (Keras' default) and 30 epochs."""

    arch: str = "seed"  # "seed" or "improved"
    config: str = "model2"  # seed compile config: model1, model2 or model3 (ignored by improved)
    image_size: int = 192
    epochs: int = 30
    batch_size: int = 32
    learning_rate: float | None = None  # None: the config's own default
    limit: int | None = None  # at most this many training images (None: all)
    seed: int = 0


@dataclass
class TransferTraining:
    """The person head on a frozen base. The seed: 150 epochs, SGD + MSE, lr 1e-5."""

    person: str = "paco"
    epochs: int = 150
    batch_size: int = 16
    learning_rate: float = 1e-5
    target_false_accept: float = 0.01
    seed: int = 0
