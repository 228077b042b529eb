"""Which data a run uses: the user's real CelebA and photos when present, else the embedded default
(drawn faces generated on first use). Every notebook prints the answer."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from facetransfer.config import Paths
from facetransfer.data.fotos import has_person
from facetransfer.demo import synthetic

log = logging.getLogger(__name__)

SYNTHETIC_MARKER = ".facetransfer-synthetic"


@dataclass
class DataSource:
    root: Path
    kind: str  # "celeba" (real CelebA), "photos" (the user's own) or "synthetic" (drawn default)

    def __str__(self) -> str:
        what = {
            "celeba": "real CelebA",
            "photos": "your photos",
            "synthetic": "embedded default (drawn faces)",
        }[self.kind]
        return f"{what} at {self.root}"


def _looks_like_celeba(root: Path) -> bool:
    return root.is_dir() and any(
        (root / name).exists() for name in ("list_attr_celeba.txt", "list_attr_celeba.csv")
    )


def resolve_celeba(
    celeba_dir=None, paths: Paths | None = None, synthetic_size: str = "default", seed: int = 0
) -> DataSource:
    """`celeba_dir` if given (it must hold CelebA), else data/celeba if present, else the drawn
    default in data/synthetic/celeba, generated now if missing."""
    paths = paths or Paths()
    if celeba_dir:
        root = Path(celeba_dir).expanduser()
        if not _looks_like_celeba(root):
            raise FileNotFoundError(
                f"{root} holds no CelebA label file (list_attr_celeba.txt or .csv); "
                "see README.md, 'Bring real CelebA'"
            )
        return DataSource(root, "celeba")
    if _looks_like_celeba(paths.celeba):
        return DataSource(paths.celeba, "celeba")
    return DataSource(make_synthetic_celeba(paths, synthetic_size, seed), "synthetic")


SYNTHETIC_SIZES = {
    # identities x images each; "tiny" is what CI runs the notebooks on.
    "tiny": (24, 10),
    "default": (60, 20),
}


def make_synthetic_celeba(paths: Paths, size: str = "default", seed: int = 0) -> Path:
    n_identities, per_identity = SYNTHETIC_SIZES[size]
    root = paths.synthetic / f"celeba-{size}-seed{seed}"
    return synthetic.make_celeba(
        root, n_identities=n_identities, images_per_identity=per_identity, seed=seed
    )


def resolve_fotos(
    fotos_dir=None, person: str = "paco", paths: Paths | None = None, seed: int = 0
) -> DataSource:
    """The user's photos folder if it holds the person (either layout), else drawn photos of a
    drawn person, generated into data/synthetic/fotos."""
    paths = paths or Paths()
    root = Path(fotos_dir).expanduser() if fotos_dir else paths.fotos
    if has_person(root, person):
        kind = "synthetic" if (root / SYNTHETIC_MARKER).exists() else "photos"
        return DataSource(root, kind)
    if fotos_dir:
        raise FileNotFoundError(
            f"no photos of {person!r} in {root}: expected {root}/{person}/ or "
            f"{root}/train/{person}/ (see README.md, 'Bring your own photos')"
        )
    root = paths.synthetic / f"fotos-{person}-seed{seed}"
    synthetic.make_fotos(root, person=person, seed=seed)
    (root / SYNTHETIC_MARKER).write_text("drawn faces made by facetransfer.demo.synthetic\n")
    return DataSource(root, "synthetic")
