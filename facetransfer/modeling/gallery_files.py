"""A gallery folder's files and the names inside it, checked with nothing heavy imported: the
CLI checks a gallery and the names given to it before any model loads."""

from __future__ import annotations

import re
from pathlib import Path

from facetransfer.errors import InputError, UsageError

GALLERY_FILE = "gallery.json"  # the gallery's card: base, people, each one's max distance
FACES_FILE = "faces.npz"  # each enrolled face's descriptor and owner
CARRIED_BASE = "base.h5"  # a base given as a file travels inside the gallery folder


def gallery_folder(path) -> Path:
    """The gallery folder for a folder or its gallery.json, checked to hold both files (no model
    is needed for that, so the CLI checks it before loading one)."""
    path = Path(path)
    folder = path.parent if path.name == GALLERY_FILE else path
    if not folder.exists():
        raise InputError(f"{folder}: no such gallery folder (make one with `facetransfer enrol`)")
    if not folder.is_dir():
        raise InputError(f"{folder}: a file, not a gallery folder")
    for name in (GALLERY_FILE, FACES_FILE):
        if not (folder / name).is_file():
            raise InputError(
                f"{folder / name}: missing, so {folder} is not a gallery (make one with "
                "`facetransfer enrol`)"
            )
    return folder


def check_person_name(name: str, where) -> str:
    """A person's or group's name as it becomes a folder: plain, visible, one path part."""
    if (
        not isinstance(name, str)
        or not name.strip()
        or name in (".", "..")
        or name.startswith(".")
        or re.search(r"[/\\\x00-\x1f]", name)
        or len(name) > 100
    ):
        raise UsageError(
            f"{where}: {name!r} is not a usable name (a plain folder name: not empty, no '/', "
            "'\\', leading '.', or control characters, at most 100 characters)"
        )
    return name
