"""What can go wrong for a user, as exceptions that carry the command's exit code.

Every command ends with one of these codes (README: "Exit codes"); the CLI prints the error's
message as one line on stderr, never a traceback. The Python API raises the same exceptions, so
a caller can tell "your file is broken" from "no face in this photo" without parsing messages.
"""

from __future__ import annotations

import math
from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0  # done; for a question, the answer is "yes" (same person, someone known)
    NO = 1  # a decision of "no": verify says different people, identify/predict know nobody
    USAGE = 2  # the command line is wrong (unknown option, value out of range)
    INPUT = 3  # an input is missing, unreadable or damaged (photo, folder, model, gallery)
    NO_FACE = 4  # the photos were read but no face was found where one was needed
    INTERNAL = 5  # a fault of facetransfer's own: please report it (-v shows the traceback)
    INTERRUPTED = 130  # Ctrl-C
    PIPE_CLOSED = 141  # the reader of the output stopped reading (`| head`): 128 + SIGPIPE


class FacetransferError(Exception):
    """Base of the errors a user can act on; `exit_code` is what the CLI returns."""

    exit_code = ExitCode.INTERNAL


class UsageError(FacetransferError, ValueError):
    """A setting out of its range, or settings that contradict each other."""

    exit_code = ExitCode.USAGE


class InputError(FacetransferError, ValueError):
    """A file or folder that is missing, unreadable, empty or damaged; the message names it."""

    exit_code = ExitCode.INPUT


class NoFaceError(FacetransferError, ValueError):
    """A photo (or every photo) in which no face was found, where one was needed."""

    exit_code = ExitCode.NO_FACE


def check_confidence(value: float) -> float:
    """A detector confidence as the API takes it (0 to 1), or UsageError."""
    if not 0.0 <= float(value) <= 1.0:
        raise UsageError(f"min_face_confidence {value} is outside 0 to 1")
    return float(value)


def check_limits(target_false_accept: float | None, max_distance: float | None) -> None:
    """A false-accept rate (0 to 1, exclusive) and a distance (positive), either None."""
    if target_false_accept is not None and not 0.0 < float(target_false_accept) < 1.0:
        raise UsageError(f"target_false_accept {target_false_accept} is outside 0 to 1")
    if max_distance is not None and not (math.isfinite(max_distance) and max_distance > 0):
        raise UsageError(f"max_distance {max_distance} is not a positive distance")
