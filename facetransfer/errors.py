"""What can go wrong for a user, as exceptions that carry the command's exit code.

Every command ends with one of these codes (README: "Exit codes"); the CLI prints the error's
message as one line on stderr, never a traceback. The Python API raises the same exceptions, so
a caller can tell "your file is broken" from "no face in this photo" without parsing messages.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0  # done; for a question, the answer is "yes" (same person, someone known)
    NO = 1  # a decision of "no": verify says different people, identify/predict know nobody
    USAGE = 2  # the command line is wrong (unknown option, value out of range)
    INPUT = 3  # an input is missing, unreadable or damaged (photo, folder, model, gallery)
    NO_FACE = 4  # the photos were read but no face was found where one was needed
    INTERNAL = 5  # a fault of facetransfer's own: please report it (-v shows the traceback)
    INTERRUPTED = 130  # Ctrl-C


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
