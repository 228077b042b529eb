"""The photos a command line names (files and folders, sub-folders on request), the unreadable
ones among them (one line each, or one line for the run when none could be read) and the
annotated copies' names, which mirror the folders given."""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path

from facetransfer.errors import InputError

log = logging.getLogger("facetransfer")


def photo_list(items, recursive: bool = False) -> list[tuple[Path, Path]]:
    """(photo, what it was found under) for photo files and folders given on a command line."""
    from facetransfer.data.images import list_images

    photos = []
    for item in map(Path, items):
        if item.is_dir():
            photos += [(p, item) for p in list_images(item, recursive=recursive)]
        else:
            photos.append((item, item.parent))
    return photos


def annotated_path(out_dir: Path, photo: Path, found_under: Path, taken: set[Path]) -> Path:
    """`out_dir/<folder given>/<sub-folders>/<stem>.png`: two folders' IMG_0001.jpg, or a.jpg and
    a.png side by side, never overwrite each other's annotated copy."""
    relative = photo.relative_to(found_under) if photo.is_relative_to(found_under) else photo
    parts = relative.parent.parts if photo != found_under else ()
    target = Path(out_dir, found_under.name or "photos", *parts, f"{photo.stem}.png")
    n = 2
    while target in taken:
        target = target.with_name(f"{photo.stem}-{n}.png")
        n += 1
    taken.add(target)
    return target


class Unreadable:
    """The photos of a run that could not be read, each said in one warning line; while no photo
    has been read yet the warnings wait, so a run where none could be read says so in one line
    (`none_read`, an InputError: exit code 3) instead of a warning per photo and a summary."""

    def __init__(self):
        self.errors: list[Exception] = []
        self.held: list[Exception] = []
        self.read = 0

    def skipped(self, error: Exception) -> None:
        self.errors.append(error)
        if self.read:
            log.warning("skipped %s", error)
        else:
            self.held.append(error)

    def photo_read(self) -> None:
        self.read += 1
        for error in self.held:
            log.warning("skipped %s", error)
        self.held = []

    def none_read(self) -> InputError | None:
        """The one-line error for a run where photos were given and none could be read."""
        if self.read or not self.errors:
            return None
        if len(self.errors) == 1:
            return InputError(str(self.errors[0]))
        causes = Counter(getattr(e, "reason", "unreadable") for e in self.errors).most_common()
        said = ", ".join(f"{n} {reason}" for reason, n in causes)
        first = getattr(self.errors[0], "path", None) or str(self.errors[0]).split(": ")[0]
        return InputError(
            f"none of the {len(self.errors)} photos could be read ({said}; first {first})"
        )
