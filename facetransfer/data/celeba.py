"""A CelebA folder, official or Kaggle layout: its files found, its labels read (`labels`), the
images present on disk kept, the partition applied, and the check that no person is in two
splits."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from facetransfer.config import DRAWN_CELEBA_MARKER
from facetransfer.data.labels import (
    ACCEPTED_LAYOUTS,
    ATTRIBUTE_FILES,
    FALLBACK_FRACTIONS,
    IDENTITY_FILES,
    IMAGE_DIR_NAME,
    PARTITION_FILES,
    SPLIT_CODES,
    SPLITS,
    read_attributes,
    read_identities,
    read_partition,
)

log = logging.getLogger(__name__)


@dataclass
class CelebAFiles:
    """Where a CelebA folder keeps its parts; ``None`` for an optional file that is absent."""

    image_dir: Path
    attributes: Path
    partition: Path | None
    identities: Path | None


def _first_existing(root: Path, names: Iterable[str]) -> Path | None:
    for name in names:
        if (root / name).is_file():
            return root / name
    return None


def find_celeba_files(root: str | os.PathLike) -> CelebAFiles:
    """Locate images and label files under ``root``, in the official or Kaggle layout.

    Kaggle's archive nests the images one level deeper (``img_align_celeba/img_align_celeba``);
    the nested folder wins when it exists. When both a ``.txt`` and a ``.csv`` label file exist,
    the official ``.txt`` is used. Raises FileNotFoundError naming what is missing.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(
            f"CelebA folder {root} does not exist. Accepted: {ACCEPTED_LAYOUTS}"
        )
    nested = root / IMAGE_DIR_NAME / IMAGE_DIR_NAME
    image_dir = nested if nested.is_dir() else root / IMAGE_DIR_NAME
    attributes = _first_existing(root, ATTRIBUTE_FILES)
    missing = []
    if not image_dir.is_dir():
        missing.append(f"the image folder {IMAGE_DIR_NAME}/")
    if attributes is None:
        missing.append(f"the attribute file ({' or '.join(ATTRIBUTE_FILES)})")
    if missing:
        raise FileNotFoundError(
            f"{root} is not a CelebA folder: missing {' and '.join(missing)}. "
            f"Accepted layouts: {ACCEPTED_LAYOUTS}"
        )
    return CelebAFiles(
        image_dir=image_dir,
        attributes=attributes,  # type: ignore[arg-type]  # checked above
        partition=_first_existing(root, PARTITION_FILES),
        identities=_first_existing(root, IDENTITY_FILES),
    )


@dataclass
class CelebA:
    """The labelled CelebA images present on disk. All tables share one index, in file order."""

    root: Path
    image_dir: Path
    attributes: pd.DataFrame  # uint8 0/1, one column per attribute, index image_id
    partition: pd.Series  # int8 0 train / 1 validation / 2 test
    identity: pd.Series | None  # int64 person id, or None without an identity file
    n_listed: int  # rows in the attribute file
    n_missing: int  # listed there but not on disk
    split_source: str = "partition file"  # or how the fallback split was made
    n_unlabelled: int = 0  # image files on disk with no row in the attribute file (not used)

    @property
    def drawn(self) -> bool:
        """Whether these are the drawn default faces (facetransfer.demo), not real photos."""
        return (self.root / DRAWN_CELEBA_MARKER).exists()

    def learned_from(self, split_frame: pd.DataFrame | None = None) -> dict:
        """What a model trained on these images (or on `split_frame`'s rows) learned from, for
        its sidecar: drawn or real faces, how many images and people."""
        rows = self.attributes.index if split_frame is None else split_frame.index
        people = None if self.identity is None else int(self.identity.loc[rows].nunique())
        return {
            "data": "drawn faces (facetransfer's demo data)" if self.drawn else "real CelebA faces",
            "drawn": self.drawn,
            "images": int(len(rows)),
            "people": people,
        }

    @property
    def attribute_names(self) -> list[str]:
        return list(self.attributes.columns)

    def split(self, name: str) -> pd.DataFrame:
        """The attributes of one split: ``"train"``, ``"validation"`` or ``"test"``."""
        if name not in SPLIT_CODES:
            raise ValueError(f"unknown split {name!r}; expected one of {', '.join(SPLITS)}")
        return self.attributes[self.partition.to_numpy() == SPLIT_CODES[name]]

    def paths(self, image_ids: Iterable[str] | pd.DataFrame | pd.Series | str) -> list[Path]:
        """Image paths for ids; a DataFrame or Series stands for its index."""
        if isinstance(image_ids, (pd.DataFrame, pd.Series)):
            image_ids = image_ids.index
        elif isinstance(image_ids, str):
            image_ids = [image_ids]
        return [self.image_dir / image_id for image_id in image_ids]

    def split_sizes(self) -> dict[str, int]:
        counts = np.bincount(self.partition.to_numpy(), minlength=len(SPLITS))
        return {name: int(counts[code]) for name, code in SPLIT_CODES.items()}

    def describe(self) -> str:
        """One line: where, how many images, per split, how many missing, identities."""
        sizes = ", ".join(f"{name} {count:,}" for name, count in self.split_sizes().items())
        people = (
            f"{self.identity.nunique():,} identities"
            if self.identity is not None
            else "no identities"
        )
        return (
            f"CelebA at {self.root}: {len(self.attributes):,} images ({sizes}; "
            f"{self.split_source}), {self.n_missing:,} of {self.n_listed:,} listed missing "
            f"on disk, {people}"
        )


def load_celeba(root: str | os.PathLike, limit: int | None = None, seed: int = 0) -> CelebA:
    """Load CelebA's labels for the images present under ``root`` (official or Kaggle layout).

    - Only images on disk are kept; how many listed ones are missing is logged and kept in
      ``n_missing``. The image folder is listed once, never probed per file.
    - Partition and identity entries for images not in the attribute file are ignored; images
      with no partition entry (or no identity entry, when an identity file exists) are dropped
      with a warning, so every table covers exactly the same images.
    - Without a partition file, a seeded 80/10/10 split of the present images is made, with no
      person in two splits when identities are known.
    - ``limit`` keeps at most that many training images and shrinks validation and test by the
      same fraction (each capped at ``limit`` too), chosen at random from ``seed``; a smaller
      limit keeps a subset of a larger one.
    """
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be a positive number of images or None, not {limit}")
    files = find_celeba_files(root)
    attributes = read_attributes(files.attributes)
    n_listed = len(attributes)

    files_on_disk = os.listdir(files.image_dir)
    on_disk = attributes.index.isin(files_on_disk)
    n_missing = int(n_listed - on_disk.sum())
    log.info(
        "%s: %d of %d listed images are on disk, %d missing",
        files.image_dir,
        n_listed - n_missing,
        n_listed,
        n_missing,
    )
    attributes = attributes[on_disk]
    n_unlabelled = _count_unlabelled(files_on_disk, attributes.index, files)

    identity = None
    if files.identities is not None:
        identity = read_identities(files.identities)
        attributes = _keep_labelled(attributes, identity, files.identities)
        identity = identity.reindex(attributes.index)

    if files.partition is not None:
        partition = read_partition(files.partition)
        attributes = _keep_labelled(attributes, partition, files.partition)
        partition = partition.reindex(attributes.index)
        if identity is not None:
            identity = identity.reindex(attributes.index)
            _warn_if_identities_shared(partition, identity, files)
        split_source = f"partition from {files.partition.name}"
    else:
        partition = _fallback_partition(attributes.index, identity, seed)
        split_source = f"no partition file: seeded 80/10/10 split (seed {seed}" + (
            ", identity-disjoint)" if identity is not None else ")"
        )
        log.info("%s: %s", root, split_source)

    if limit is not None:
        keep = _limited_rows(partition.to_numpy(), limit, seed)
        attributes, partition = attributes.iloc[keep], partition.iloc[keep]
        identity = identity.iloc[keep] if identity is not None else None
        split_source += f", limited to {limit} training images"

    return CelebA(
        root=Path(root),
        image_dir=files.image_dir,
        attributes=attributes,
        partition=partition.astype(np.int8).rename("partition"),
        identity=identity,
        n_listed=n_listed,
        n_missing=n_missing,
        split_source=split_source,
        n_unlabelled=n_unlabelled,
    )


def _count_unlabelled(files_on_disk: list[str], labelled: pd.Index, files: CelebAFiles) -> int:
    """Image files in the image folder that the attribute file has no row for: never used, so
    say so once rather than leave the user wondering where they went."""
    suffixes = (".jpg", ".jpeg", ".png")
    images = pd.Index([name for name in files_on_disk if name.lower().endswith(suffixes)])
    unlabelled = images.difference(labelled)
    if len(unlabelled):
        log.warning(
            "%s: %d image files have no row in %s and are not used (e.g. %s)",
            files.image_dir,
            len(unlabelled),
            files.attributes.name,
            ", ".join(unlabelled[:3]),
        )
    return len(unlabelled)


# --------------------------------------------------------------------------------------------
# Identity-disjoint splits: no person both trained on and tested on.


def identities_in_several_splits(partition: pd.Series, identity: pd.Series) -> pd.DataFrame:
    """The people whose images fall in more than one split.

    Returns one row per such identity (index ``identity``) with the number of its images in each
    split (columns ``train``, ``validation``, ``test``); empty when the split is identity-disjoint.
    """
    identity = identity.reindex(partition.index)
    if identity.isna().any():
        raise ValueError("every image with a partition needs an identity to check the split")
    counts = pd.crosstab(identity.rename("identity"), partition.rename("partition"))
    counts = counts.reindex(columns=range(len(SPLITS)), fill_value=0)
    counts.columns = pd.Index(SPLITS)
    return counts[(counts > 0).sum(axis=1) > 1]


class IdentityLeakError(ValueError):
    """A split that has the same person on both sides."""


def check_identity_disjoint(celeba: CelebA) -> int:
    """Assert that no identity of ``celeba`` has images in two splits; returns how many identities
    were checked. Raises IdentityLeakError naming some of the people and their image counts per
    split, or ValueError when ``celeba`` has no identities to check with.

    CelebA's official partition is identity-disjoint (verified on all 202,599 rows: 8,192 people
    in train, 985 in validation, 1,000 in test, none shared), and so is the fallback split.
    """
    if celeba.identity is None:
        raise ValueError(f"{celeba.root}: no identity file, so the split cannot be checked")
    shared = identities_in_several_splits(celeba.partition, celeba.identity)
    if len(shared):
        examples = "; ".join(
            f"identity {person}: " + ", ".join(f"{n} {split}" for split, n in row.items() if n)
            for person, row in shared.head(5).iterrows()
        )
        raise IdentityLeakError(
            f"{celeba.root} ({celeba.split_source}): {len(shared)} identities have images in "
            f"more than one split, so the test split holds people seen in training: {examples}"
        )
    return int(celeba.identity.nunique())


def _warn_if_identities_shared(partition: pd.Series, identity: pd.Series, files) -> None:
    shared = identities_in_several_splits(partition, identity)
    if len(shared):
        log.warning(
            "%s puts %d people in more than one split (not identity-disjoint, unlike CelebA's "
            "official split): test accuracy will be optimistic",
            files.partition,
            len(shared),
        )


def _keep_labelled(attributes: pd.DataFrame, labels: pd.Series, source: Path) -> pd.DataFrame:
    """Drop present images that ``labels`` does not cover, with a warning saying how many."""
    covered = attributes.index.isin(labels.index)
    n_uncovered = int((~covered).sum())
    if n_uncovered:
        log.warning(
            "%s has no %s entry for %d of the %d images on disk; they are left out",
            source,
            labels.name,
            n_uncovered,
            len(attributes),
        )
    return attributes[covered]


def _fallback_partition(index: pd.Index, identity: pd.Series | None, seed: int) -> pd.Series:
    """A deterministic 80/10/10 split of ``index``; whole people go to one split.

    Groups (people, or single images without identities) are shuffled with ``seed`` and then
    filled into train, validation and test in turn, by the share of images before each group.
    """
    groups = identity.to_numpy() if identity is not None else np.arange(len(index))
    unique, group_of_row = np.unique(groups, return_inverse=True)
    order = np.random.default_rng(seed).permutation(len(unique))
    sizes = np.bincount(group_of_row, minlength=len(unique))[order]
    share_before = (np.cumsum(sizes) - sizes) / max(len(index), 1)
    bounds = np.cumsum(FALLBACK_FRACTIONS)[:-1]
    code_in_order = np.searchsorted(bounds, share_before, side="right")
    code_of_group = np.empty(len(unique), dtype=np.int8)
    code_of_group[order] = code_in_order
    return pd.Series(code_of_group[group_of_row], index=index, name="partition")


def _limited_rows(codes: np.ndarray, limit: int, seed: int) -> np.ndarray:
    """Row positions to keep: ``limit`` training images and the same fraction of the others."""
    counts = np.bincount(codes, minlength=len(SPLITS))
    train = counts[SPLIT_CODES["train"]]
    fraction = min(1.0, limit / train) if train else 1.0
    keep = []
    for code, count in enumerate(counts):
        rows = np.flatnonzero(codes == code)
        wanted = min(limit, count, max(1, round(count * fraction))) if count else 0
        # One generator per split keeps each split's choice independent of the others; taking
        # the first rows of a fixed permutation makes a smaller limit a subset of a larger one.
        order = np.random.default_rng([seed, code]).permutation(count)
        keep.append(rows[np.sort(order[:wanted])])
    return np.sort(np.concatenate(keep))
