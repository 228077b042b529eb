"""What a command prints about photos: one line (or one JSON object) per photo on stdout, the
summary and diagnostics on stderr, rows to a CSV, and the exit code the answers add up to."""

from __future__ import annotations

import csv
import json
import sys
from collections import Counter
from pathlib import Path

from facetransfer.errors import ExitCode


def to_json(value):
    """JSON for numpy values too (descriptors, float32 scores)."""
    import numpy as np

    def default(obj):
        if isinstance(obj, np.ndarray):
            return [round(float(v), 6) for v in obj.ravel()]
        if isinstance(obj, (np.floating, np.integer)):
            return obj.item()
        if isinstance(obj, Path):
            return str(obj)
        raise TypeError(f"{type(obj).__name__} is not JSON")

    return json.dumps(value, default=default)


def face_line(where: str, number: int, face: dict) -> str:
    """identify's text line for one face: who, the distance, and the runner-up when there is
    one (a one-person gallery has none)."""
    line = f"{where}\tface {number}\t{face['person']}\tdistance {face['distance']:.4f}"
    if face.get("runner_up") is not None:
        line += f"\trunner-up {face['runner_up']} {face['runner_up_distance']:.4f}"
    return line


def say(message: str) -> None:
    print(message, file=sys.stderr)


class Outcome:
    """Counts of what happened to the photos of a run, and the exit code they add up to: a yes
    answer somewhere is 0; faces but no yes is NO (when the command decides); no face anywhere
    is NO_FACE; nothing readable is INPUT."""

    def __init__(self, decides: bool = False):
        self.counts = Counter()
        self.decides = decides

    def photo(self, *, unreadable: bool = False, faces: int = 0, yes: int = 0) -> None:
        self.counts["photos"] += 1
        self.counts["unreadable"] += int(unreadable)
        self.counts["no face"] += int(not unreadable and not faces)
        self.counts["faces"] += faces
        self.counts["yes"] += yes

    def exit_code(self) -> ExitCode:
        c = self.counts
        if c["photos"] and c["unreadable"] == c["photos"]:
            return ExitCode.INPUT
        if not c["faces"]:
            return ExitCode.NO_FACE
        if self.decides and not c["yes"]:
            return ExitCode.NO
        return ExitCode.OK


def write_csv(path: Path, header: list[str], rows: list[list]) -> None:
    """All rows at once, to a temporary name renamed into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    try:
        with open(partial, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows(rows)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
