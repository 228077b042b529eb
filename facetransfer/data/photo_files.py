"""Which files in a folder are photos, and what went wrong with one that could not be read: an
`ImageReadError` naming the file and its fault, and the `SkipSummary` a caller reading a folder
says at the end (how many were skipped, and why); the photos a path, a folder, a list or an
array stands for (`photos_in`)."""

from __future__ import annotations

import logging
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from facetransfer.errors import InputError

log = logging.getLogger("facetransfer.data.images")


# Suffixes we try to read (lower case). HEIC/HEIF need pillow_heif; AVIF needs Pillow >= 11.2
# or pillow_heif's AVIF plugin. Anything else in a photo folder is ignored by list_images.
IMAGE_SUFFIXES = {
    ".jpg",
    ".jpeg",
    ".jpe",
    ".jfif",
    ".png",
    ".bmp",
    ".gif",
    ".webp",
    ".tif",
    ".tiff",
    ".heic",
    ".heif",
    ".avif",
}

# Files that operating systems drop into photo folders; they are never images.
IGNORED_NAMES = {".ds_store", "thumbs.db", "desktop.ini", "ehthumbs.db"}

# Why a file was skipped, in the words a summary uses. `ImageReadError.kind` is one of the keys.
SKIP_KINDS = {
    "missing": "file not found",
    "permission": "permission denied",
    "folder": "a folder, not a file",
    "empty": "empty file",
    "not_image": "not an image",
    "truncated": "truncated or corrupt",
    "too_large": "too large",
    "too_small": "too small",
    # align.align_file's kinds (AlignResult.problem), counted by the photo intake
    "no_face": "no face found",
    "detection_failed": "face detection failed",
}


class ImageReadError(InputError):
    """An image that could not be read; `str()` gives "<path>: <reason>".

    `kind` names the fault in one word (a key of SKIP_KINDS), for counting skips by cause.
    """

    def __init__(self, path: str | os.PathLike, reason: str, kind: str = "not_image"):
        self.path = Path(path)
        self.reason = reason
        self.kind = kind
        super().__init__(f"{self.path}: {reason}")


@dataclass
class SkipSummary:
    """Files looked at, and the ones skipped with their kind of fault, for one report at the end.

    `str()` reads like "read 18 of 21 photos; skipped 3: 2 empty file, 1 not an image".
    The kinds' words are SKIP_KINDS's; `notes` adds counts of files used but worth a look.
    """

    what: str = "images"
    seen: int = 0
    done: str = "read"  # what happened to the ones not skipped: "read", "aligned", ...
    skipped: list[tuple[Path, str, str]] = field(default_factory=list)  # (path, kind, reason)
    notes: Counter = field(default_factory=Counter)  # used, but worth a look: {"note": count}

    def add_ok(self, count: int = 1) -> None:
        self.seen += count

    def add_skip(self, path: str | os.PathLike, kind: str, reason: str) -> None:
        self.seen += 1
        self.skipped.append((Path(path), kind, reason))

    def add_error(self, error: ImageReadError) -> None:
        self.add_skip(error.path, error.kind, error.reason)

    def counts(self) -> Counter:
        """Skipped files by kind, commonest first."""
        return Counter(kind for _, kind, _ in self.skipped)

    def __str__(self) -> str:
        used = self.seen - len(self.skipped)
        text = f"{self.done} {used} of {self.seen} {self.what}"
        if self.skipped:
            causes = ", ".join(
                f"{n} {SKIP_KINDS.get(kind, kind.replace('_', ' '))}"
                for kind, n in self.counts().most_common()
            )
            text += f"; skipped {len(self.skipped)}: {causes}"
        for note, count in self.notes.items():
            text += f"; {count} {note}"
        return text

    def log(self, logger: logging.Logger = log, where: str = "") -> None:
        """One line for the whole batch: a warning when anything was skipped, else info."""
        level = logging.WARNING if self.skipped else logging.INFO
        logger.log(level, "%s%s", f"{where}: " if where else "", self)


def list_images(folder: str | os.PathLike, recursive: bool = False) -> list[Path]:
    """The image files in `folder`, sorted by path.

    Skips hidden files (and, when recursive, hidden folders such as `.thumbnails`), OS litter
    (.DS_Store, Thumbs.db), sub-folders themselves and files whose suffix is not in IMAGE_SUFFIXES.
    What was passed over is logged once (`ignored_entries` lists it); a sub-folder with images in
    it that a non-recursive listing leaves out is a warning, since those photos go unused.
    """
    folder = Path(folder)
    if not folder.exists():
        raise FileNotFoundError(f"{folder}: folder not found")
    if not folder.is_dir():
        raise NotADirectoryError(f"{folder}: not a folder")
    candidates = folder.rglob("*") if recursive else folder.iterdir()
    images = sorted(p for p in candidates if _looks_like_image(p, folder))
    _log_ignored(folder, ignored_entries(folder, recursive), len(images))
    return images


def ignored_entries(folder: str | os.PathLike, recursive: bool = False) -> list[tuple[Path, str]]:
    """(path, why) for every entry of `folder` that list_images passes over.

    Entries inside a hidden folder are not listed one by one: the folder stands for them.
    """
    folder = Path(folder)
    ignored = []
    for path in sorted(folder.rglob("*") if recursive else folder.iterdir()):
        parents = path.relative_to(folder).parts[:-1]
        if any(part.startswith(".") for part in parents) or _looks_like_image(path, folder):
            continue
        name = path.name
        if path.is_dir():
            if name.startswith("."):
                ignored.append((path, "hidden folder"))
            elif not recursive:
                ignored.append((path, "sub-folder, not read"))
        elif name.lower() in IGNORED_NAMES:
            ignored.append((path, "system file"))
        elif name.startswith("."):
            ignored.append((path, "hidden file"))
        else:
            ignored.append((path, f"not an image file ({path.suffix or 'no suffix'})"))
    return ignored


def _log_ignored(folder: Path, ignored: list[tuple[Path, str]], n_images: int) -> None:
    for path, why in ignored:
        if why == "sub-folder, not read":
            n_inside = sum(1 for p in path.rglob("*") if _looks_like_image(p, path))
            if n_inside:
                log.warning(
                    "%s: sub-folder with %d images, not read (only the files directly in %s are)",
                    path,
                    n_inside,
                    folder,
                )
    if ignored:
        shown = ", ".join(f"{p.name} ({why})" for p, why in ignored[:10])
        more = f" and {len(ignored) - 10} more" if len(ignored) > 10 else ""
        log.info("%s: %d images; passed over %s%s", folder, n_images, shown, more)


def _looks_like_image(path: Path, root: Path) -> bool:
    relative_parts = path.relative_to(root).parts
    if any(part.startswith(".") for part in relative_parts):  # hidden file or inside hidden folder
        return False
    if path.name.lower() in IGNORED_NAMES or path.suffix.lower() not in IMAGE_SUFFIXES:
        return False
    return path.is_file()


def photos_in(item, *, recursive: bool = False) -> list:
    """The photos `item` stands for: [array] for an array, [path] for a file, every photo of a
    list, the photos of a folder (sorted; its sub-folders' too when `recursive`). InputError
    for a path that is not there or a folder with no photos."""
    if isinstance(item, np.ndarray):
        return [item]
    if isinstance(item, (list, tuple)):  # several photos of one person
        return [photo for each in item for photo in photos_in(each, recursive=recursive)]
    path = Path(item).expanduser()
    if not path.exists():
        raise InputError(f"{path}: no such file or folder")
    if path.is_dir():
        found = list_images(path, recursive=recursive)
        if not found:
            hint = "" if recursive else " (photos in its sub-folders: recursive=True)"
            raise InputError(f"{path}: a folder with no photos{hint}")
        return found
    return [path]


def existing_folder(folder) -> Path:
    """`folder` as a Path, InputError when it is not there or is a file."""
    path = Path(folder).expanduser()
    if not path.exists():
        raise InputError(f"{path}: no such folder")
    if not path.is_dir():
        raise InputError(f"{path}: a file, not a folder")
    return path
