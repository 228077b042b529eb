"""The photos a command line names (files and folders, sub-folders on request) and the
annotated copies' names, which mirror the folders given."""

from __future__ import annotations

from pathlib import Path


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
