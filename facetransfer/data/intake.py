"""The photo intake for a person model: each photo of a split replaced by its aligned face crop
(CelebA negatives through the same detection and alignment), then read at a base's input size."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from facetransfer.config import STRANGERS
from facetransfer.data.align import align_file
from facetransfer.data.cache import build_cache
from facetransfer.data.fotos import split_fotos
from facetransfer.data.geometry import resolve_geometry
from facetransfer.data.images import SkipSummary
from facetransfer.data.strangers import stranger_rows
from facetransfer.progress import progress_bar

log = logging.getLogger(__name__)


@dataclass
class PersonData:
    """The split photos as arrays at the base's input size, plus what was skipped."""

    images: dict[str, np.ndarray]
    labels: dict[str, np.ndarray]
    paths: dict[str, list[str]]  # the photos as the user gave them
    skipped: list[tuple[str, str]] = field(default_factory=list)
    files: dict[str, list[str]] = field(default_factory=dict)  # the crops actually read

    def counts(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                s: {"person": int(y.sum()), "others": int((1 - y).sum())}
                for s, y in self.labels.items()
            }
        ).T


def align_photos(
    frame: pd.DataFrame, aligned_dir, geometry: str = "celeba", progress: bool = True
) -> pd.DataFrame:
    """Replace each photo's path by its aligned face crop in `geometry` (the base's: CelebA's
    178x218 crop, or dlib's 150x150 chip); photos with no face are dropped. CelebA negatives go
    through the same intake (align_celeba_rows).

    What was dropped is said in one line (how many, and why); the list is in the returned frame's
    ``attrs["skipped"]`` as (path, reason), and logged at DEBUG a photo a line.

    Crops are cached by the photo's content, under `aligned_dir/<geometry>/by-content/`: a photo
    moved or copied to another folder reuses its crop, a changed photo is aligned again, and two
    folders' photos of the same name never share a crop. A photo with no face is remembered too
    (a `.noface` note beside where its crop would be); one that could not be read is tried again
    next time.
    """
    frame, summaries = _align_split(frame, aligned_dir, geometry, progress)
    _say(summaries)
    return frame


def content_key(path) -> str:
    """A name for a photo's content: the same bytes anywhere give the same name."""
    digest = hashlib.sha1()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:24]


def align_celeba_rows(frame: pd.DataFrame, aligned_dir, geometry: str = "celeba") -> pd.DataFrame:
    """Send CelebA negatives through the same detection and alignment as the user's photos.

    CelebA's crops were aligned by CelebA's own pipeline, a little differently from ours; were only
    the person's photos re-aligned, a head could learn "our crop" versus "CelebA's crop" instead of
    who is in it, and accept any stranger whose photo went through our intake. Each crop is cached
    as `aligned_dir/<name>.png`; a CelebA image with no face found is dropped, counted in one
    warning line and listed in the returned frame's ``attrs["skipped"]`` (and at DEBUG).
    """
    frame, summary = _align_celeba(frame, aligned_dir, geometry, "CelebA faces")
    if summary.skipped:
        _say([summary])
    return frame


def _align_split(frame, aligned_dir, geometry, progress):
    """align_photos without a word: (the frame, a SkipSummary for the user's photos and for the
    CelebA negatives)."""
    out = Path(aligned_dir) / resolve_geometry(geometry).name / "by-content"
    out.mkdir(parents=True, exist_ok=True)
    frame = frame.copy()
    frame["aligned"] = frame["path"]
    user = frame.index[frame["source"] == "fotos"]
    summary = SkipSummary("photos", done="aligned")
    reused = 0
    for i in progress_bar(user, desc="aligning faces", enabled=progress, unit="photo"):
        source = Path(frame.at[i, "path"])
        frame.at[i, "aligned"] = None
        try:
            key = content_key(source)
        except OSError as error:
            summary.add_skip(source, "unreadable", f"cannot be read ({error})")
            continue
        crop, no_face = out / f"{key}.png", out / f"{key}.noface"
        if crop.exists():
            reused += 1
        elif no_face.exists():
            reused += 1
            summary.add_skip(source, "no_face", no_face.read_text(encoding="utf-8").strip())
            continue
        else:
            result = align_file(source, crop, geometry)
            if result.status != "ok":
                if result.status == "no_face":
                    no_face.write_text(result.reason + "\n", encoding="utf-8")
                summary.add_skip(source, result.problem or result.status, result.reason)
                continue
        summary.add_ok()
        frame.at[i, "aligned"] = str(crop)
    if reused:
        summary.notes["crops reused from an earlier run"] = reused
    frame = frame[frame["aligned"].notna()].reset_index(drop=True)
    frame, negatives = _align_celeba(
        frame, Path(aligned_dir) / "_celeba", geometry, "CelebA negatives"
    )
    frame.attrs["skipped"] = _listed([summary, negatives])
    return frame, [s for s in (summary, negatives) if s.seen]


def _align_celeba(frame, aligned_dir, geometry, what):
    """align_celeba_rows without a word: (the rows aligned, a SkipSummary of them)."""
    frame = frame.copy()
    if "aligned" not in frame.columns:
        frame["aligned"] = frame["path"]
    out = Path(aligned_dir)
    out.mkdir(parents=True, exist_ok=True)
    summary = SkipSummary(what, done="aligned")
    for i in frame.index[frame["source"] == "celeba"]:
        source = Path(frame.at[i, "path"])
        crop = out / f"{source.stem}.png"
        if not crop.exists():
            result = align_file(source, crop, geometry)
            if result.status != "ok":
                summary.add_skip(source, result.problem or result.status, result.reason)
                frame.at[i, "aligned"] = None
                continue
        summary.add_ok()
        frame.at[i, "aligned"] = str(crop)
    frame = frame[frame["aligned"].notna()].reset_index(drop=True)
    frame.attrs["skipped"] = _listed([summary])
    return frame, summary


def _listed(summaries) -> list[tuple[str, str]]:
    return [(str(path), reason) for s in summaries for path, _, reason in s.skipped]


def _say(summaries) -> None:
    """One line for an intake: each group's count, what was skipped and why (a warning when
    anything was); every skipped file on a DEBUG line of its own."""
    for summary in summaries:
        for path, _, reason in summary.skipped:
            log.debug("skipped %s: %s", path, reason)
    if not summaries:
        return
    skipped = any(s.skipped for s in summaries)
    hint = "; the list: the frame's attrs['skipped'], or the DEBUG log (-v)" if skipped else ""
    line = " | ".join(str(s) for s in summaries) + hint
    log.log(logging.WARNING if skipped else logging.INFO, "%s", line)


def load_person_data(
    frame: pd.DataFrame, size: int, crop: str, cache_dir, *, progress: bool = True
) -> PersonData:
    column = "aligned" if "aligned" in frame.columns else "path"
    data = PersonData({}, {}, {})
    for split in ("train", "validation", "test"):
        rows = frame[frame["split"] == split]
        cache = build_cache(rows[column].tolist(), size, cache_dir, crop, progress=progress)
        data.images[split] = np.asarray(cache.images)
        data.labels[split] = rows["label"].to_numpy()[cache.ok].astype(np.float32)
        data.paths[split] = rows["path"].to_numpy()[cache.ok].tolist()
        data.files[split] = rows[column].to_numpy()[cache.ok].tolist()
        data.skipped += cache.skipped
    return data


def person_photos(
    fotos_root,
    person: str,
    celeba,
    *,
    aligned_dir,
    geometry: str = "celeba",
    align: bool = True,
    negatives: int = 200,
    strangers: int = STRANGERS,
    seed: int = 0,
    manifest=None,
    need_others: bool = True,
):
    """Everything a person model learns and is judged on, through one intake: the split of the
    person's photos and their negatives (`data.fotos.split_fotos`), each aligned to the base's
    `geometry` when `align`; and, when CelebA is there, `strangers` CelebA faces of other people
    (none of them a training negative) to choose the threshold on. Returns (split, strangers or
    None). `aligned_dir`: the root of the crop caches (data/aligned). `need_others` False: with no
    others/ and no CelebA, the person's photos alone (for a base with calibrated distances)."""
    frame = split_fotos(
        fotos_root, person, celeba, negatives, seed=seed, manifest=manifest, need_others=need_others
    )
    summaries = []
    if align:
        frame, summaries = _align_split(frame, Path(aligned_dir) / person, geometry, progress=True)
    if celeba is None or not strangers:
        _say(summaries)
        return frame, None
    used = frame.loc[frame["source"] == "celeba", "path"]
    exclude = ()
    if celeba.identity is not None and len(used):
        names = [Path(p).name for p in used]
        exclude = set(celeba.identity.reindex(names).dropna().astype(int))
    if align:
        pool, summary = _stranger_crops(
            celeba, strangers, aligned_dir, geometry, seed, exclude, used
        )
        summaries.append(summary)
    else:
        pool = stranger_rows(
            celeba, strangers, seed=seed, exclude_identities=exclude, exclude_paths=used
        )
    _say(summaries)
    return frame, pool


def stranger_crops(
    celeba,
    count: int,
    aligned_dir,
    geometry: str = "celeba",
    *,
    seed: int = 0,
    exclude_identities=(),
    exclude_paths=(),
) -> pd.DataFrame:
    """`count` CelebA faces of other people (one or a few per person: `strangers.stranger_rows`),
    through the same detection and alignment as the user's photos, to `geometry`, cached under
    `aligned_dir/_strangers/<geometry>/`: what a threshold for a false-accept rate is chosen on
    (person models, galleries, benchmarks). One line says what was skipped; the rows' "aligned"
    column holds the crops."""
    pool, summary = _stranger_crops(
        celeba, count, aligned_dir, geometry, seed, exclude_identities, exclude_paths
    )
    _say([summary])
    return pool


def _stranger_crops(celeba, count, aligned_dir, geometry, seed, exclude_identities, exclude_paths):
    pool = stranger_rows(
        celeba,
        count,
        seed=seed,
        exclude_identities=exclude_identities,
        exclude_paths=exclude_paths,
    )
    where = Path(aligned_dir) / "_strangers" / geometry
    return _align_celeba(pool, where, geometry, "CelebA strangers")
