"""Paths and the one table of defaults: per architecture, per transfer head, and per run size.

The CLI's flags, the notebooks' parameters cells and the functions all read these tables, so a
default is written once. Run `python -m facetransfer.config` to print them.
"""

from __future__ import annotations

import os
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

# The folder outputs go under when none is given: this variable's value, else the working
# directory (never the package's own folder: after `pip install` that is site-packages).
HOME_VARIABLE = "FACETRANSFER_HOME"


def home() -> Path:
    """Where `models/`, `data/`, `logs/`, `reports/` and `fotos/` live by default: the folder
    named by $FACETRANSFER_HOME (or the CLI's --home), else the working directory."""
    return Path(os.environ.get(HOME_VARIABLE) or Path.cwd())


# CelebA's aligned crop: 178 wide, 218 high.
CELEBA_CROP_SIZE = (178, 218)  # (width, height)


@dataclass
class Paths:
    """Where data is read from and outputs are written to: each folder under `root` (default:
    `home()`, read when the Paths is made) unless given."""

    root: Path = field(default=None)  # type: ignore[assignment]
    data: Path = field(default=None)  # type: ignore[assignment]
    models: Path = field(default=None)  # type: ignore[assignment]
    logs: Path = field(default=None)  # type: ignore[assignment]
    fotos: Path = field(default=None)  # type: ignore[assignment]
    reports: Path = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        self.root = home() if self.root is None else Path(self.root)
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


# The squared distance to the teacher's descriptor weighs this much beside the attribute loss.
DISTILL_WEIGHT = 10.0
TEACHERS = ("dlib",)  # a face network whose descriptor an attribute network can learn


@dataclass(frozen=True)
class Architecture:
    """How an attribute network is trained by default."""

    image_size: int  # square input side in pixels
    crop: str  # "full": the whole 178x218 crop squashed square; "face": its central square
    epochs: int
    batch_size: int
    learning_rate: float | None  # None: the seed compile config's own rate
    precision: str  # "float32", "bfloat16", or "auto" (bfloat16 where the CPU has the units)
    augment: str | None  # None, "flip" or "light" (see data.pipeline.make_dataset)
    identity_weight: float  # weight of the additive-margin identity loss (0: none)
    widths: tuple[int, ...] = ()  # the improved network's conv block widths
    schedule: str = "constant"  # the learning rate: "constant", or "cosine" decay to 2% by the end
    geometry: str = "celeba"  # the crop geometry its images are cut to (data.geometry.GEOMETRIES)
    # Distillation from a teacher's face descriptor (`--teacher dlib`): the weight of the squared
    # distance between the embedding and the teacher's descriptor, and of the batch's pairwise
    # distances (relational), and whether the identity centres are the teacher's class means.
    distill_weight: float = 0.0
    relational_weight: float = 0.0
    teacher_centres: bool = False
    name: str = ""  # its key in ARCHITECTURES: "seed" or "improved" (the network it builds)


ARCHITECTURES = {
    # The seed's as it trained: 192 px, the whole crop, batch 32 (Keras' default), 30 epochs.
    "seed": Architecture(
        image_size=192,
        crop="full",
        epochs=30,
        batch_size=32,
        learning_rate=None,
        precision="float32",
        augment=None,
        identity_weight=0.0,
        name="seed",
    ),
    # 112 px and widths 32..256 (1.2 M parameters; it was 128 px and 64..256, 1.9 M): the student
    # of `--teacher dlib`, small enough to score faces several times faster than dlib's ResNet
    # (BENCHMARKS.md, section 5). float32: bfloat16's effect on accuracy is not measured yet.
    "improved": Architecture(
        image_size=112,
        crop="face",
        epochs=12,
        batch_size=64,
        learning_rate=2e-3,
        precision="float32",
        augment="flip",
        identity_weight=1.0,
        widths=(32, 64, 128, 256),
        schedule="cosine",
        distill_weight=DISTILL_WEIGHT,
        relational_weight=0.0,
        teacher_centres=False,
        name="improved",
    ),
}
SEED_CONFIGS = ("model1", "model2", "model3")  # the seed's compile configs (modeling.networks)
DEFAULT_SEED_CONFIG = "model2"  # the seed's best


@dataclass(frozen=True)
class Head:
    """How a transfer head on a frozen base is trained by default."""

    epochs: int
    learning_rate: float
    optimizer: str = "adam"
    loss: str = "binary_crossentropy"
    batch_size: int = 16


HEADS = {
    # The seed's head: 4,353 weights behind a sigmoid layer learn slowly (the seed: 150 epochs).
    "seed": Head(epochs=150, learning_rate=1e-3),
    # A logistic unit on a normalised embedding converges in tens of epochs at a higher rate.
    "embedding": Head(epochs=40, learning_rate=1e-2),
    # No training: closeness to the mean of the person's photos.
    "centroid": Head(epochs=0, learning_rate=0.0),
    # No training either: distance to the mean of the person's photos (its threshold measured on
    # strangers), or, with nobody else to measure it on, a gallery's rule: the mean distance to
    # each photo within the base's calibrated distance.
    "distance": Head(epochs=0, learning_rate=0.0),
}
UNFREEZE_TOP_LEARNING_RATE = 1e-4  # the embedding head with the base's last block learning too
TARGET_FALSE_ACCEPT = 0.01  # strangers accepted at the saved threshold
# Grouping joins faces through chains of neighbours, so it takes the stricter calibrated distance
# (dlib: 0.5746, not 0.6401): on the wild sample, 68 people with 1 to 8 photos each grouped at
# an adjusted Rand index of 0.88-0.92 against 0.76-0.77, all 100 people 0.929 against 0.917, 5
# people with about 25 photos each 0.97-0.98 against 0.98-1.00 (benchmarks/cluster_scale.py
# --few; BENCHMARKS.md section 9).
GROUP_FALSE_ACCEPT = 0.001
NEGATIVES = 200  # CelebA faces drawn as negatives when a photo folder has no others/
STRANGERS = 1000  # CelebA faces of other people a threshold is chosen on (1%: ten may pass)
# dlib's descriptor: the distance below which this share of pairs of different people fall, on
# this package's intake (MTCNN, the dlib-chip template, the Keras network), for a user with no
# CelebA and no photos of others to learn from. Measured by
# `benchmarks/dlib_chips.py --stage calibrate`: 598 CelebA faces of 60 people (none of them
# evaluation people), 175,821 pairs of different people and 2,682 of the same; at 0.6401, 96.0% of
# same-person pairs pass; at 0.5746, 87.3%. dlib's own rule of thumb, 0.6, lets 0.27% of
# different-person pairs through (AMD EPYC, 2 cores).
DLIB_DISTANCE_THRESHOLDS = {0.01: 0.6401, 0.001: 0.5746}
MIN_FACE_CONFIDENCE = 0.9  # MTCNN's score for a detection to count as a face
NAMED_BASES = ("dlib",)  # bases given by name, built from a pip-installed package's weights


@dataclass(frozen=True)
class PersonSettings:
    """How a person model is made from a photos folder (`modeling.person.train_person_model`):
    override with `dataclasses.replace(PersonSettings(), epochs=20)`. None: the head's default
    from HEADS."""

    person: str = "paco"
    head: str = "auto"  # "auto", or a key of HEADS
    epochs: int | None = None
    batch_size: int | None = None
    optimizer: str | None = None
    learning_rate: float | None = None
    loss: str | None = None  # the seed's: "mse"
    unfreeze_top: bool = False
    negatives: int = NEGATIVES
    strangers: int = STRANGERS
    target_false_accept: float = TARGET_FALSE_ACCEPT
    align: str = "auto"  # "auto" (yes for real photos, no for drawn crops), "yes", "no"
    synthetic_size: str = "default"  # the drawn default data's size, when there is no CelebA
    seed: int = 0


# The file the drawn default data's generator writes last into its CelebA-layout folder: a base
# trained on a folder holding it learned from drawn faces only (and says so in its sidecar).
DRAWN_CELEBA_MARKER = "synthetic_celeba.json"
# The drawn default data: identities x images each.
SYNTHETIC_SIZES = {"tiny": (24, 10), "default": (60, 20)}

# Notebook parameters per run size, for papermill (`make demo`, the notebook test). "demo" runs
# the whole pipeline on the drawn data in under 10 minutes on the slowest machine measured (a
# 2-core AMD EPYC without bfloat16 units, where the seed CNN trains at ~24 images/s at 192 px):
# the seed's three configs see few images and epochs, so its numbers there show the flow, not
# what the network can learn. "ci" is the smallest run that still executes every cell.
RUN_SIZES = {
    "demo": {
        "01_celeba_preprocessing": {"limit": 300},
        "02_attribute_cnn": {"limit": 300, "epochs": 2, "improved_epochs": 3},
        "03_transfer_learning": {"seed_epochs": 20, "improved_epochs": 10, "strangers": 100},
        "04_predict": {},
    },
    "ci": {
        "01_celeba_preprocessing": {"synthetic_size": "tiny"},
        "02_attribute_cnn": {"synthetic_size": "tiny", "epochs": 1, "improved_epochs": 1},
        "03_transfer_learning": {
            "synthetic_size": "tiny",
            "seed_epochs": 2,
            "improved_epochs": 2,
            "strangers": 40,
        },
        "04_predict": {"limit": 4},
    },
}


def papermill_flags(run_size: str, notebook: str) -> list[str]:
    """`-p name value` for each parameter of `notebook` at `run_size` (the Makefile uses it)."""
    flags = []
    for name, value in RUN_SIZES[run_size][notebook].items():
        flags += ["-p", name, str(value)]
    return flags


def main(argv=None) -> int:
    """`python -m facetransfer.config`: the tables; `... papermill RUN_SIZE NOTEBOOK`: flags."""
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) == 3 and argv[0] == "papermill":
        print(" ".join(papermill_flags(argv[1], argv[2])))
        return 0
    for name, arch in ARCHITECTURES.items():
        print(f"architecture {name}: {asdict(arch)}")
    for name, head in HEADS.items():
        print(f"head {name}: {asdict(head)}")
    for name, sizes in RUN_SIZES.items():
        print(f"run size {name}: {sizes}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
