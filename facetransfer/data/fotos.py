"""The person's photos: find them in either layout, split them once, and remember the split.

Layouts accepted under the photos folder (default `fotos/`):
- the seed's: `train/`, `validation/` (or `val/`), `test/`, each with `<person>/` and
  `no <person>/` (or `no_<person>/`, `others/`);
- the simple one: `<person>/` with every photo of the person, and optionally `others/` with photos
  of other people. It is split deterministically from the seed; when there is no `others/`,
  negatives are drawn from CelebA (its train and validation partitions only, so no image that
  tests the attribute base is used, and identity-disjoint across the splits).

Photos in sub-folders of these folders count too. Near-duplicates among the user's photos (the
same photo resized, re-encoded or slightly cropped: facetransfer.data.dedup) are kept together: the
simple layout splits whole groups of them, the seed's layout moves a group that its folders spread
over several splits into the earliest (train before validation before test), and the same photo
under the person and under others is an error naming both files.

The split is written to a manifest CSV, so a rerun uses the same photos.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import pandas as pd

from facetransfer.data.dedup import NearDuplicates, near_duplicate_groups
from facetransfer.data.images import list_images
from facetransfer.errors import InputError

log = logging.getLogger(__name__)

SPLITS = ("train", "validation", "test")
SPLIT_ALIASES = {"train": ("train",), "validation": ("validation", "val"), "test": ("test",)}
OTHERS_FOLDERS = ("others", "otros")
COLUMNS = ["path", "label", "split", "source", "group"]
NO_GROUP = -1  # the group of CelebA negatives: not hashed, and identity-disjoint anyway


class PhotoConflictError(ValueError):
    """The same photo (or a near-duplicate of it) is filed both as the person and as others."""


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


def _photos(folder: Path) -> list[Path]:
    """Every photo in `folder` and its sub-folders (photos sorted into years stay in)."""
    return list_images(folder, recursive=True)


def _seed_layout_rows(root: Path, person: str) -> list[dict]:
    rows = []
    for split in SPLITS:
        split_dir = _first_dir(root, SPLIT_ALIASES[split])
        if split_dir is None:
            raise FileNotFoundError(
                f"{root} uses the train/validation/test layout but has no {split}/ folder"
            )
        person_dir = split_dir / person
        rows += _rows(_photos(person_dir) if person_dir.is_dir() else [], 1, split, "fotos")
        others = _first_dir(split_dir, negative_folder_names(person))
        rows += _rows(_photos(others) if others else [], 0, split, "fotos")
    return rows


def people_folders(root) -> dict[str, list[Path]]:
    """Every person's photos under a photos folder, for a gallery: `root/<name>/` (photos in its
    sub-folders too), or the seed's `train|validation|test/<name>/` merged; folders of others
    (`others/`, `no <name>/`) are nobody's and left out."""
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"{root}: not a folder of people's photo folders")
    split_dirs = [d for split in SPLITS if (d := _first_dir(root, SPLIT_ALIASES[split]))]
    parents = split_dirs or [root]
    people: dict[str, list[Path]] = {}
    for parent in parents:
        for folder in sorted(p for p in parent.iterdir() if p.is_dir()):
            name = folder.name
            if name.startswith(".") or name in OTHERS_FOLDERS or _is_negative(name):
                continue
            people.setdefault(name, []).extend(_photos(folder))
    people = {name: sorted(photos) for name, photos in people.items() if photos}
    if not people:
        raise InputError(
            f"{root}: no person folders with photos (expected {root}/<name>/ for each person)"
        )
    return people


def _is_negative(name: str) -> bool:
    return any(name.startswith(prefix) for prefix in ("no ", "no_", "no-"))


def split_indices(n: int, fractions, rng: np.random.Generator) -> list[np.ndarray]:
    """Shuffle 0..n-1 and cut it by `fractions`; each split gets at least one item when n allows."""
    order = rng.permutation(n)
    return np.split(order, np.cumsum(split_counts(n, fractions))[:-1])


def split_counts(n: int, fractions) -> np.ndarray:
    """How many of `n` items each split gets: floor of each fraction, the rest to train, and at
    least one for validation and test when n allows."""
    counts = np.floor(np.asarray(fractions) * n).astype(int)
    counts[0] += n - counts.sum()
    for i in range(1, len(counts)):
        if counts[i] == 0 and counts[0] > 1:
            counts[i] += 1
            counts[0] -= 1
    return counts


def split_groups(groups, fractions, rng: np.random.Generator) -> np.ndarray:
    """A split code (0 train, 1 validation, 2 test) per item, moving whole groups.

    Groups are shuffled, then each goes to the first split not yet holding its share of items
    (split_counts), except that while some split is still empty, enough groups are kept back
    to give each one. With every item its own group this is exactly split_indices, so photos
    without near-duplicates are split as they always were; a group may take a split a little
    over its share.
    """
    groups = np.asarray(groups)
    unique, first_seen, inverse = np.unique(groups, return_index=True, return_inverse=True)
    rank = np.empty(len(unique), dtype=np.int64)  # number groups by first item, not by value
    rank[np.argsort(first_seen)] = np.arange(len(unique))
    item_group = rank[inverse]
    sizes = np.bincount(item_group, minlength=len(unique))
    shares = split_counts(len(groups), fractions)
    filled = np.zeros(len(shares), dtype=np.int64)
    code_of_group = np.empty(len(unique), dtype=np.int64)
    order = rng.permutation(len(unique))
    for position, group in enumerate(order):
        empty = np.flatnonzero(filled == 0)
        open_splits = np.flatnonzero(filled < shares)
        if len(empty) >= len(order) - position:  # the groups left must cover the empty splits
            code = int(empty[0])
        elif len(open_splits):
            code = int(open_splits[0])
        else:  # every split has its share (groups overshot): the least over it
            code = int(np.argmin(filled - shares))
        code_of_group[group] = code
        filled[code] += sizes[group]
    return code_of_group[item_group]


def _split_paths(paths, label: int, source: str, fractions, rng, groups=None) -> list[dict]:
    """Rows for `paths` (sorted), split by whole groups (`groups[path]`; default one per path)."""
    paths = sorted(paths)
    keys = [groups[str(p)] for p in paths] if groups is not None else list(range(len(paths)))
    codes = split_groups(keys, fractions, rng) if paths else np.array([], dtype=int)
    rows = []
    for code, split in enumerate(SPLITS):
        rows += _rows(
            [p for p, c in zip(paths, codes, strict=True) if c == code], label, split, source
        )
    return rows


def celeba_negative_rows(
    celeba, n: int, fractions, rng, *, exclude=(), exclude_identities=()
) -> list[dict]:
    """`n` CelebA images of many people, from the base's train and validation partitions, split so
    that no identity appears in two splits.

    `exclude` leaves out image ids; `exclude_identities` leaves out people, e.g. the person
    themselves when they are a CelebA identity (a benchmark), so no photo of them is a negative.
    """
    usable = celeba.partition[celeba.partition.isin([0, 1])].index.difference(pd.Index(exclude))
    if len(exclude_identities):
        if celeba.identity is None:
            raise ValueError(
                f"{celeba.root}: cannot leave out identities {list(exclude_identities)[:5]}: "
                "this CelebA has no identity file"
            )
        people = celeba.identity.reindex(usable)
        usable = usable[~people.isin(list(exclude_identities)).to_numpy()]
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
    *,
    fractions=(0.6, 0.2, 0.2),
    seed: int = 0,
    manifest=None,
    exclude_identities=(),
    deduplicate: bool = True,
    need_others: bool = True,
) -> pd.DataFrame:
    """The photos of `person` and of others, each assigned to train, validation or test.

    Columns: path, label (1 the person, 0 someone else), split, source ("fotos" or "celeba"),
    group (near-duplicates of one photo share it; NO_GROUP for CelebA negatives). Near-duplicate
    photos always share a split (see the module docstring); `deduplicate=False` skips the check.
    Raises PhotoConflictError when one photo is both the person and others. CelebA negatives
    leave out `exclude_identities`. When `manifest` exists and lists the same person photos, it
    is reused unchanged.
    """
    root = Path(root)
    if not has_person(root, person):
        raise FileNotFoundError(
            f"no folder of {person!r} photos in {root}: expected "
            f"{root}/{person}/ or {root}/train/{person}/"
        )
    previous = _read_manifest(manifest)
    if previous is not None and _manifest_still_valid(previous, root, person):
        log.info("using the split in %s", manifest)
        return previous

    rng = np.random.default_rng(seed)
    if is_seed_layout(root, person):
        frame = pd.DataFrame(_seed_layout_rows(root, person), columns=COLUMNS)
        frame = _keep_duplicates_together(frame, person, deduplicate)
    else:
        person_photos = _photos(root / person)
        others = _first_dir(root, negative_folder_names(person))
        other_photos = _photos(others) if others is not None else []
        groups = _near_duplicate_groups(person_photos, other_photos, person, deduplicate)
        rows = _split_paths(person_photos, 1, "fotos", fractions, rng, groups)
        rows += _split_paths(other_photos, 0, "fotos", fractions, rng, groups)
        frame = pd.DataFrame(rows, columns=COLUMNS)
        frame["group"] = [groups[path] for path in frame["path"]]
    if celeba is not None and (frame["label"] == 0).sum() == 0:
        negatives = celeba_negative_rows(
            celeba, n_celeba_negatives, fractions, rng, exclude_identities=exclude_identities
        )
        negatives = pd.DataFrame(negatives).assign(group=NO_GROUP)
        frame = pd.concat([frame, negatives[COLUMNS]], ignore_index=True)
    frame["group"] = frame["group"].astype("int64")
    _check_split(frame, root, person, need_others)
    if manifest is not None:
        _write_manifest(frame, Path(manifest))
    return frame


# ---------------------------------------------------------------------------------------------
# Near-duplicates


def _near_duplicate_groups(
    person_photos: list[Path], other_photos: list[Path], person: str, deduplicate: bool
) -> dict[str, int]:
    """Group number per path (as str); near-duplicates share one. Raises PhotoConflictError when
    a group holds photos of both the person and others."""
    paths = [*person_photos, *other_photos]
    if not deduplicate:
        return {str(p): i for i, p in enumerate(paths)}
    found = near_duplicate_groups(paths)
    labels = [1] * len(person_photos) + [0] * len(other_photos)
    _raise_on_conflicts(found, labels, person)
    _log_duplicate_groups(found)
    return {str(p): int(g) for p, g in zip(found.paths, found.groups, strict=True)}


def label_conflicts(found: NearDuplicates, labels) -> list[tuple[Path, Path, float]]:
    """Near-duplicate pairs (person's photo, other's photo, distance) whose labels differ."""
    conflicts = []
    for i, j, distance in found.pairs:
        if labels[i] != labels[j]:
            mine, theirs = (i, j) if labels[i] == 1 else (j, i)
            conflicts.append((found.paths[mine], found.paths[theirs], distance))
    return conflicts


def _raise_on_conflicts(found: NearDuplicates, labels, person: str) -> None:
    conflicts = label_conflicts(found, labels)
    if not conflicts:
        return
    listed = "; ".join(f"{mine} and {theirs}" for mine, theirs, _ in conflicts[:10])
    more = f" (and {len(conflicts) - 10} more pairs)" if len(conflicts) > 10 else ""
    raise PhotoConflictError(
        f"{len(conflicts)} photos of {person} are also filed as someone else (the same photo, "
        f"or a resized or cropped copy of it): {listed}{more}. A photo cannot be both {person} "
        "and someone else: remove one copy of each pair."
    )


def _log_duplicate_groups(found: NearDuplicates) -> None:
    sets = found.duplicate_sets()
    if sets:
        n_photos = sum(len(paths) for paths in sets)
        log.info(
            "%d photos are near-duplicates in %d groups; each group stays in one split",
            n_photos,
            len(sets),
        )


def _keep_duplicates_together(frame: pd.DataFrame, person: str, deduplicate: bool) -> pd.DataFrame:
    """The seed's layout comes split already: give each row its group, and move a group spread
    over several splits into the earliest of them (a copy of a training photo tests nothing)."""
    frame = frame.copy()
    if not deduplicate or frame.empty:
        frame["group"] = np.arange(len(frame))
        return frame
    found = near_duplicate_groups(frame["path"].tolist())
    _raise_on_conflicts(found, frame["label"].tolist(), person)
    _log_duplicate_groups(found)
    frame["group"] = found.groups
    rank = frame["split"].map({split: i for i, split in enumerate(SPLITS)})
    earliest = rank.groupby(frame["group"]).transform("min").map(dict(enumerate(SPLITS)))
    moved = frame["split"] != earliest
    for row in frame[moved].itertuples():
        log.warning(
            "%s: a near-duplicate of a photo in %s/, so it moves there from %s/",
            row.path,
            earliest[row.Index],
            row.split,
        )
    frame["split"] = earliest
    return frame


# ---------------------------------------------------------------------------------------------
# The manifest


def _read_manifest(manifest) -> pd.DataFrame | None:
    """The split saved by an earlier run, or None (none, or unreadable: then it is redone)."""
    if manifest is None or not Path(manifest).exists():
        return None
    try:
        return pd.read_csv(manifest)
    except (ValueError, OSError, UnicodeDecodeError) as error:  # ParserError is a ValueError
        log.warning("%s: unreadable split manifest, splitting afresh (%s)", manifest, error)
        return None


def _write_manifest(frame: pd.DataFrame, path: Path) -> None:
    """Written to a temporary name and renamed: a run killed mid-write leaves the old manifest
    or none, never half of one (which could still look valid and silently drop photos)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    frame.to_csv(partial, index=False)
    os.replace(partial, path)


def _manifest_still_valid(previous: pd.DataFrame, root: Path, person: str) -> bool:
    """The saved split still describes the folder: same columns, every file still there, and
    the same photos of the person and of others (a photo added to either means a new split)."""
    if list(previous.columns) != COLUMNS:
        return False
    if not all(Path(p).exists() for p in previous["path"]):
        return False
    listed = set(previous.loc[previous["source"] == "fotos", "path"])
    return _user_photos(root, person) == listed


def _user_photos(root: Path, person: str) -> set[str]:
    """Every photo of the person and of others in the folder, in either layout."""
    if is_seed_layout(root, person):
        return {row["path"] for row in _seed_layout_rows(root, person)}
    others = _first_dir(root, negative_folder_names(person))
    paths = _photos(root / person) + (_photos(others) if others is not None else [])
    return {str(p) for p in paths}


def _check_split(frame: pd.DataFrame, root: Path, person: str, need_others: bool = True) -> None:
    """Every split has photos of the person and (unless `need_others` is False: a base that
    compares distances needs no one else) of others."""
    counts = frame.groupby(["split", "label"]).size()
    if not need_others and not (frame["label"] == 0).any():
        checked = ((1, person),)
    else:
        checked = ((1, person), (0, "others"))
    for split in SPLITS:
        for label, who in checked:
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
