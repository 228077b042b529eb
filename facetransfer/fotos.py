"""The person's photos: find them in either layout, split them once, and remember the split.

Layouts accepted under the photos folder (default `fotos/`):
- the seed's: `train/`, `validation/` (or `val/`), `test/`, each with `<person>/` and
  `no <person>/` (or `no_<person>/`, `others/`);
- the simple one: `<person>/` with every photo of the person, and optionally `others/` with photos
  of other people. It is split deterministically from the seed; when there is no `others/`,
  negatives are drawn from CelebA (its train and validation partitions only, so no image that
  tests the attribute base is used, and identity-disjoint across the splits).

The split is written to a manifest CSV, so a rerun uses the same photos.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from facetransfer.images import list_images

log = logging.getLogger(__name__)

SPLITS = ("train", "validation", "test")
SPLIT_ALIASES = {"train": ("train",), "validation": ("validation", "val"), "test": ("test",)}
OTHERS_FOLDERS = ("others", "otros")


def negative_folder_names(person: str) -> tuple[str, ...]:
    return (f"no {person}", f"no_{person}", f"no-{person}", *OTHERS_FOLDERS)


def _first_dir(parent: Path, names) -> Path | None:
    for name in names:
        if (parent / name).is_dir():
            return parent / name
    return None


def is_seed_layout(root, person: str) -> bool:
    return (Path(root) / "train" / person).is_dir()


def has_person(root, person: str) -> bool:
    root = Path(root)
    return (root / person).is_dir() or is_seed_layout(root, person)


def _rows(paths, label: int, split: str, source: str) -> list[dict]:
    return [{"path": str(p), "label": label, "split": split, "source": source} for p in paths]


def _seed_layout_rows(root: Path, person: str) -> list[dict]:
    rows = []
    for split in SPLITS:
        split_dir = _first_dir(root, SPLIT_ALIASES[split])
        if split_dir is None:
            raise FileNotFoundError(
                f"{root} uses the train/validation/test layout but has no {split}/ folder"
            )
        person_dir = split_dir / person
        rows += _rows(list_images(person_dir) if person_dir.is_dir() else [], 1, split, "fotos")
        others = _first_dir(split_dir, negative_folder_names(person))
        rows += _rows(list_images(others) if others else [], 0, split, "fotos")
    return rows


def split_indices(n: int, fractions, rng: np.random.Generator) -> list[np.ndarray]:
    """Shuffle 0..n-1 and cut it by `fractions`; each split gets at least one item when n allows."""
    order = rng.permutation(n)
    counts = np.floor(np.asarray(fractions) * n).astype(int)
    counts[0] += n - counts.sum()
    for i in range(1, len(counts)):  # validation and test need at least one each
        if counts[i] == 0 and counts[0] > 1:
            counts[i] += 1
            counts[0] -= 1
    bounds = np.cumsum(counts)[:-1]
    return np.split(order, bounds)


def _split_paths(paths, label: int, source: str, fractions, rng) -> list[dict]:
    paths = sorted(paths)
    rows = []
    for split, index in zip(SPLITS, split_indices(len(paths), fractions, rng), strict=True):
        rows += _rows([paths[i] for i in sorted(index)], label, split, source)
    return rows


def celeba_negative_rows(celeba, n: int, fractions, rng, exclude=()) -> list[dict]:
    """`n` CelebA images of many people, from the base's train and validation partitions, split so
    that no identity appears in two splits."""
    usable = celeba.partition[celeba.partition.isin([0, 1])].index.difference(pd.Index(exclude))
    if len(usable) == 0:
        raise ValueError(f"no CelebA train/validation images for negatives in {celeba.root}")
    picked = rng.choice(np.asarray(usable), size=min(n, len(usable)), replace=False)
    picked = np.sort(picked)
    rows = []
    if celeba.identity is not None:
        identities = celeba.identity.loc[picked].to_numpy()
        unique = np.unique(identities)
        parts = split_indices(len(unique), fractions, rng)
        for split, index in zip(SPLITS, parts, strict=True):
            chosen = picked[np.isin(identities, unique[index])]
            rows += _rows(celeba.paths(chosen), 0, split, "celeba")
    else:
        for split, index in zip(SPLITS, split_indices(len(picked), fractions, rng), strict=True):
            rows += _rows(celeba.paths(picked[np.sort(index)]), 0, split, "celeba")
    return rows


def split_fotos(
    root,
    person: str = "paco",
    celeba=None,
    n_celeba_negatives: int = 200,
    fractions=(0.6, 0.2, 0.2),
    seed: int = 0,
    manifest=None,
) -> pd.DataFrame:
    """The photos of `person` and of others, each assigned to train, validation or test.

    Columns: path, label (1 the person, 0 someone else), split, source ("fotos" or "celeba").
    When `manifest` exists and lists the same person photos, it is reused unchanged.
    """
    root = Path(root)
    if not has_person(root, person):
        raise FileNotFoundError(
            f"no folder of {person!r} photos in {root}: expected "
            f"{root}/{person}/ or {root}/train/{person}/"
        )
    if manifest is not None and Path(manifest).exists():
        previous = pd.read_csv(manifest)
        if _manifest_still_valid(previous, root, person):
            log.info("using the split in %s", manifest)
            return previous

    rng = np.random.default_rng(seed)
    if is_seed_layout(root, person):
        rows = _seed_layout_rows(root, person)
    else:
        rows = _split_paths(list_images(root / person), 1, "fotos", fractions, rng)
        others = _first_dir(root, negative_folder_names(person))
        if others is not None:
            rows += _split_paths(list_images(others), 0, "fotos", fractions, rng)
    frame = pd.DataFrame(rows, columns=["path", "label", "split", "source"])
    if celeba is not None and (frame["label"] == 0).sum() == 0:
        frame = pd.concat(
            [frame, pd.DataFrame(celeba_negative_rows(celeba, n_celeba_negatives, fractions, rng))],
            ignore_index=True,
        )
    _check_split(frame, root, person)
    if manifest is not None:
        Path(manifest).parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(manifest, index=False)
    return frame


def _manifest_still_valid(previous: pd.DataFrame, root: Path, person: str) -> bool:
    if set(previous.columns) != {"path", "label", "split", "source"}:
        return False
    if not all(Path(p).exists() for p in previous["path"]):
        return False
    if is_seed_layout(root, person):
        current = {str(p) for p in _seed_layout_rows_paths(root, person)}
    else:
        current = {str(p) for p in list_images(root / person)}
    listed = set(previous.loc[(previous["label"] == 1), "path"])
    return current == listed


def _seed_layout_rows_paths(root: Path, person: str) -> list[Path]:
    return [Path(r["path"]) for r in _seed_layout_rows(root, person) if r["label"] == 1]


def _check_split(frame: pd.DataFrame, root: Path, person: str) -> None:
    counts = frame.groupby(["split", "label"]).size()
    for split in SPLITS:
        for label, who in ((1, person), (0, "others")):
            if counts.get((split, label), 0) == 0:
                raise ValueError(
                    f"{root}: the {split} split has no photos of {who} "
                    f"(counts: {counts.to_dict()}); add photos, an others/ folder, or CelebA for "
                    "negatives"
                )


def describe_split(frame: pd.DataFrame, person: str) -> pd.DataFrame:
    """Counts per split: photos of the person and of others (and where the others came from)."""
    table = frame.assign(who=np.where(frame["label"] == 1, person, "others"))
    return table.groupby(["split", "who", "source"]).size().unstack(["who", "source"], fill_value=0)
