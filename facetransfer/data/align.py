"""Alignment: a photo warped so that its five landmarks fall where a base's crop geometry puts them
(data.geometry: CelebA's 178x218 crop, dlib's 150x150 chip),
and folders of photos aligned once into a cache of crops with a manifest."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from facetransfer.config import MIN_FACE_CONFIDENCE
from facetransfer.data.faces import AlignResult, Face, detect_faces
from facetransfer.data.geometry import (
    Geometry,
    resolve_geometry,
    similarity_transform,
)
from facetransfer.data.images import (
    ImageReadError,
    SkipSummary,
    check_rgb_image,
    list_images,
    read_rgb,
    resize,
)
from facetransfer.progress import progress_bar

log = logging.getLogger(__name__)


def align_face(
    image: np.ndarray,
    landmarks: np.ndarray,
    size: tuple[int, int] | None = None,
    *,
    geometry: str | Geometry = "celeba",
) -> np.ndarray:
    """Warp `image` so its five `landmarks` land where `geometry` puts them (CelebA's crop by
    default); an RGB uint8 (height, width, 3), `size` = (width, height) or the geometry's own.

    Beyond the photo's border the geometry's fill is used (edge pixels repeated for CelebA's
    crops, black for dlib's chips), and a face larger than the crop's is first shrunk with PIL's
    antialiasing resize so the bilinear warp does not alias.
    """
    check_rgb_image(image)
    geometry = resolve_geometry(geometry)
    size = tuple(size) if size is not None else geometry.size
    landmarks = np.asarray(landmarks, dtype=np.float64).reshape(5, 2)
    out_width, out_height = size
    # Work in continuous coordinates (pixel i spans [i, i+1)), PIL's convention for warps.
    target = geometry.landmarks_at(size)
    to_crop = _as_3x3(similarity_transform(landmarks + 0.5, target + 0.5))
    scale = float(np.sqrt(abs(np.linalg.det(to_crop[:2, :2]))))

    source, to_source = image, np.eye(3)
    if scale < 1.0:  # the face is bigger than the crop: shrink first, then warp at ~1:1
        height, width = image.shape[:2]
        small_size = (max(1, round(width * scale)), max(1, round(height * scale)))
        source = resize(image, small_size)
        to_source = np.diag([small_size[0] / width, small_size[1] / height, 1.0])
    to_crop = to_crop @ np.linalg.inv(to_source)  # from the (possibly shrunk) source

    patch, offset = _padded_patch(
        source, np.linalg.inv(to_crop), out_width, out_height, black=geometry.fill == "black"
    )
    patch_to_crop = to_crop @ np.array([[1, 0, offset[0]], [0, 1, offset[1]], [0, 0, 1]])
    crop_to_patch = np.linalg.inv(patch_to_crop)
    warped = Image.fromarray(patch).transform(
        (out_width, out_height),
        Image.Transform.AFFINE,
        data=tuple(crop_to_patch[:2].ravel()),
        resample=Image.Resampling.BILINEAR,
    )
    return np.asarray(warped, dtype=np.uint8)


def recut_aligned(image: np.ndarray, geometry: str | Geometry) -> np.ndarray:
    """An image already aligned to CelebA's crop (any size: the sample has half-size copies), cut
    again to another geometry (dlib's chip) from CelebA's landmark template: what training a base
    of that geometry, or its teacher, sees of a CelebA image."""
    height, width = image.shape[:2]
    landmarks = resolve_geometry("celeba").landmarks_at((width, height))
    return align_face(image, landmarks, geometry=geometry)


def _as_3x3(matrix: np.ndarray) -> np.ndarray:
    return np.vstack([matrix, [0.0, 0.0, 1.0]])


def _padded_patch(
    image: np.ndarray, crop_to_source: np.ndarray, out_width: int, out_height: int, black: bool
) -> tuple[np.ndarray, tuple[int, int]]:
    """The part of `image` the crop needs, with edge pixels repeated (or black, when `black`)
    wherever it leaves the photo.

    Returns the patch and the (x, y) of its top-left corner in image coordinates.
    """
    corners = np.array(
        [[0, 0, 1], [out_width, 0, 1], [0, out_height, 1], [out_width, out_height, 1]]
    )
    mapped = (crop_to_source @ corners.T)[:2]
    x0, y0 = np.floor(mapped.min(axis=1)).astype(int) - 2
    x1, y1 = np.ceil(mapped.max(axis=1)).astype(int) + 2
    height, width = image.shape[:2]
    rows, cols = np.arange(y0, y1), np.arange(x0, x1)
    patch = image[np.clip(rows, 0, height - 1)][:, np.clip(cols, 0, width - 1)]
    if black:
        outside = ((rows < 0) | (rows >= height))[:, None] | ((cols < 0) | (cols >= width))[None]
        patch = np.where(outside[..., None], np.uint8(0), patch)
    return np.ascontiguousarray(patch), (int(x0), int(y0))


def align_image(
    image: np.ndarray,
    geometry: str | Geometry = "celeba",
    min_confidence: float = MIN_FACE_CONFIDENCE,
) -> tuple[np.ndarray | None, list[Face]]:
    """Detect faces and align the largest: (crop or None, all faces found, largest first)."""
    faces = detect_faces(image, min_confidence=min_confidence)
    if not faces:
        return None, faces
    return align_face(image, faces[0].landmarks, geometry=geometry), faces


# --- whole folders, with a manifest that doubles as a cache ---------------------------------

MANIFEST_NAME = "manifest.csv"
MANIFEST_COLUMNS = [
    "source",  # path relative to src_dir, POSIX separators
    "status",  # ok | no_face | error
    "n_faces",
    "crop",  # file name inside out_dir ("" when there is no crop)
    "reason",
    "problem",  # AlignResult.problem: "" | several_faces | no_face | detection_failed | empty ...
    "source_mtime_ns",
    "source_size",
]
# Which photo folder an out_dir holds the crops of: two folders must never share one, or the
# second would overwrite the first's crops (a.jpg in each becomes a.png) without a word.
SOURCE_NOTE = ".aligned-from"


def align_file(
    source: str | os.PathLike,
    crop_path: str | os.PathLike,
    geometry: str | Geometry = "celeba",
    min_confidence: float = MIN_FACE_CONFIDENCE,
) -> AlignResult:
    """Read one photo, align its largest face and write the crop as PNG; never raises for a bad
    photo (the result says what went wrong)."""
    source, crop_path = Path(source), Path(crop_path)
    try:
        image = read_rgb(source)
        crop, faces = align_image(image, geometry, min_confidence)
    except ImageReadError as error:
        return AlignResult(source, "error", 0, None, error.reason, error.kind)
    except Exception as error:  # one odd photo must not stop a folder of hundreds
        log.exception("%s: face detection failed", source)
        reason = f"{type(error).__name__}: {error}"
        return AlignResult(source, "error", 0, None, reason, "detection_failed")
    if crop is None:
        reason = f"no face with confidence >= {min_confidence}"
        return AlignResult(source, "no_face", 0, None, reason, "no_face")
    _write_png_atomically(crop, crop_path)
    if len(faces) > 1:
        reason = f"{len(faces)} faces; used the largest"
        log.warning("%s: %s", source, reason)  # it may be someone else: worth a look
        return AlignResult(source, "ok", len(faces), crop_path, reason, "several_faces")
    return AlignResult(source, "ok", len(faces), crop_path, "")


def _write_png_atomically(image: np.ndarray, path: Path) -> None:
    temporary = path.with_name(path.name + ".tmp")
    Image.fromarray(image).save(temporary, format="PNG")
    os.replace(temporary, path)


def align_folder(
    src_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    geometry: str | Geometry = "celeba",
    progress: bool = True,
    *,
    recursive: bool = False,
    min_confidence: float = MIN_FACE_CONFIDENCE,
) -> pd.DataFrame:
    """Align every photo in `src_dir` into `out_dir`/<stem>.png (in `geometry`'s crop) and write
    `out_dir`/manifest.csv.

    The manifest has one row per photo (see MANIFEST_COLUMNS); photos with no face or that cannot
    be read are listed with the reason and skipped, and one summary line (SkipSummary: how many
    skipped, by cause, and how many had several faces) is logged at the end. A rerun reuses every
    row whose source still has the same mtime and size (and whose crop is still there at this
    size), so only new or changed photos are processed. An `out_dir` belongs to one `src_dir`:
    aligning another folder into it is a ValueError (unless the first folder no longer exists,
    as when both were moved).

    Returns the manifest with `source` and `crop` as full paths (src_dir/…, out_dir/…; crop missing
    when there is none). The CSV keeps them relative, so the two folders can be moved together.
    """
    src_dir, out_dir = Path(src_dir), Path(out_dir)
    size = resolve_geometry(geometry).size
    if src_dir.resolve() == out_dir.resolve():
        raise ValueError(f"{out_dir}: out_dir must differ from src_dir (crops would become inputs)")
    out_dir.mkdir(parents=True, exist_ok=True)
    _claim_out_dir(src_dir, out_dir)
    sources = [
        p
        for p in list_images(src_dir, recursive)
        if not p.resolve().is_relative_to(out_dir.resolve())
    ]
    previous = _read_manifest(out_dir / MANIFEST_NAME)

    rows: dict[str, dict] = {}
    pending: list[tuple[Path, str, os.stat_result]] = []
    for path in sources:
        key = path.relative_to(src_dir).as_posix()
        stat = path.stat()
        cached = previous.get(key)
        if cached is not None and _cache_still_valid(cached, stat, out_dir, size):
            rows[key] = cached
        else:
            pending.append((path, key, stat))
    log.info("%d photos: %d cached, %d to align", len(sources), len(rows), len(pending))

    taken = {row["crop"] for row in rows.values() if row["crop"]}
    bar = progress_bar(pending, desc="aligning faces", enabled=progress, unit="photo")
    try:
        for path, key, stat in bar:
            previous_name = previous.get(key, {}).get("crop", "")
            if previous_name and previous_name not in taken:
                name = previous_name  # a changed photo keeps its crop's name
            else:
                name = _unique_crop_name(path.stem, taken)
            result = align_file(path, out_dir / name, geometry, min_confidence)
            if result.status == "ok":
                taken.add(name)
            else:
                log.warning("%s: %s (%s)", path, result.status, result.reason)
            rows[key] = _manifest_row(key, result, stat)
    finally:
        manifest = _manifest_frame(rows, order=[p.relative_to(src_dir).as_posix() for p in sources])
        _write_manifest(manifest, out_dir / MANIFEST_NAME)
    alignment_summary(manifest).log(log, where=f"aligning {src_dir} into {out_dir}")
    return _with_full_paths(manifest, src_dir, out_dir)


def alignment_summary(manifest: pd.DataFrame) -> SkipSummary:
    """The photos of an align_folder manifest skipped, by cause, and how many had several faces."""
    summary = SkipSummary("photos", done="aligned")
    for row in manifest.itertuples():
        if row.status == "ok":
            summary.add_ok()
        else:
            summary.add_skip(row.source, row.problem or row.status, row.reason)
    several = int((manifest["problem"] == "several_faces").sum())
    if several:
        summary.notes["with several faces (the largest used)"] = several
    return summary


def _claim_out_dir(src_dir: Path, out_dir: Path) -> None:
    """Record that `out_dir` holds `src_dir`'s crops; refuse if another live folder's are there."""
    note = out_dir / SOURCE_NOTE
    mine = str(src_dir.resolve())
    if note.exists():
        previous = note.read_text(encoding="utf-8").strip()
        if previous and previous != mine and Path(previous).is_dir():
            raise ValueError(
                f"{out_dir} holds the aligned faces of {previous}; aligning {src_dir} into it "
                "would overwrite them (photos with the same name in both). Give each photo "
                "folder its own out_dir."
            )
    note.write_text(mine + "\n", encoding="utf-8")


def _with_full_paths(manifest: pd.DataFrame, src_dir: Path, out_dir: Path) -> pd.DataFrame:
    manifest = manifest.copy()
    manifest["source"] = [str(src_dir / key) for key in manifest["source"]]
    manifest["crop"] = [str(out_dir / name) if name else None for name in manifest["crop"]]
    return manifest


def _unique_crop_name(stem: str, taken: set[str]) -> str:
    """`<stem>.png`, or `<stem>-2.png`, `<stem>-3.png`… when photos share a stem (a.jpg, a.heic)."""
    name, number = f"{stem}.png", 1
    while name in taken:
        number += 1
        name = f"{stem}-{number}.png"
    return name


def _manifest_row(key: str, result: AlignResult, stat: os.stat_result) -> dict:
    return {
        "source": key,
        "status": result.status,
        "n_faces": result.n_faces,
        "crop": result.crop.name if result.crop is not None else "",
        "reason": result.reason,
        "problem": result.problem,
        "source_mtime_ns": stat.st_mtime_ns,
        "source_size": stat.st_size,
    }


def _cache_still_valid(
    row: dict, stat: os.stat_result, out_dir: Path, size: tuple[int, int]
) -> bool:
    if int(row["source_mtime_ns"]) != stat.st_mtime_ns or int(row["source_size"]) != stat.st_size:
        return False
    if row["status"] == "error":
        return False  # maybe a transient failure (permissions, a half-copied file): try again
    if row["status"] != "ok":
        return True
    crop = out_dir / row["crop"]
    try:
        with Image.open(crop) as image:
            return image.size == tuple(size)
    except (OSError, ValueError):
        return False


def _read_manifest(path: Path) -> dict[str, dict]:
    """The previous run's rows by source; an unreadable manifest just means no cache."""
    if not path.exists():
        return {}
    try:
        frame = pd.read_csv(
            path,
            dtype={"source": str, "crop": str, "reason": str, "problem": str},
            keep_default_na=False,
        )
        missing = set(MANIFEST_COLUMNS) - set(frame.columns) - {"problem"}
        if missing:
            raise ValueError(f"missing columns {sorted(missing)}")
        if "problem" not in frame.columns:  # written before the column existed: derive it
            frame["problem"] = _derived_problem(frame)
        return {row["source"]: row for row in frame[MANIFEST_COLUMNS].to_dict("records")}
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as error:
        log.warning("%s: ignoring unreadable manifest, realigning everything (%s)", path, error)
        return {}


def _derived_problem(frame: pd.DataFrame) -> list[str]:
    problems = []
    for status, n_faces in zip(frame["status"], frame["n_faces"], strict=True):
        if status == "ok":
            problems.append("several_faces" if int(n_faces) > 1 else "")
        else:
            problems.append("no_face" if status == "no_face" else "error")
    return problems


def _manifest_frame(rows: dict[str, dict], order: list[str]) -> pd.DataFrame:
    records = [rows[key] for key in order if key in rows]
    frame = pd.DataFrame(records, columns=MANIFEST_COLUMNS)
    return frame.astype({"n_faces": "int64", "source_mtime_ns": "int64", "source_size": "int64"})


def _write_manifest(frame: pd.DataFrame, path: Path) -> None:
    temporary = path.with_name(path.name + ".tmp")
    frame.to_csv(temporary, index=False)
    os.replace(temporary, path)
