"""The options every command shares, defined once: one name per concept, each with help text and
its default shown; and the checks of inputs that need no model, run before any model loads.

- photos in: positional PHOTO... (files or folders), `--recursive`
- where a gallery / a person model is: `--gallery DIR`, `--model FILE` (read or written)
- outputs: `--out-dir DIR` (a folder), `--csv FILE`, `--json` (one JSON object per line)
- decisions: `--max-distance` (a distance: lower is the same person), `--min-probability`
  (a probability: higher is the person), `--target-false-accept` (a share of other people let
  through), `--min-face-confidence` (the face detector's score)
- `--base`, `--home`, `-v`

This module imports nothing heavy: `--help` and a wrong argument answer at once.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from facetransfer import config
from facetransfer.errors import InputError, UsageError

FORMATTER = argparse.ArgumentDefaultsHelpFormatter
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".heic"}


def _number(text: str, name: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r}: {name} must be a finite number")
    return value


def probability(text: str) -> float:
    value = _number(text, "a probability")
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text}: a probability is between 0 and 1")
    return value


def share(text: str) -> float:
    value = _number(text, "a share")
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"{text}: a share of people is between 0 and 1 (0.01: 1%)")
    return value


def distance(text: str) -> float:
    value = _number(text, "a distance")
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text}: a distance is above 0 (dlib's: about 0.4-0.7)")
    return value


def count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text}: must be 0 or more")
    return value


def positive(text: str) -> int:
    value = count(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text}: must be 1 or more")
    return value


def add_common(p: argparse.ArgumentParser) -> None:
    """-v and --home, also accepted after the command (SUPPRESS: the main parser's value stays
    unless the sub-command's is given)."""
    p.add_argument(
        "-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help="log everything"
    )
    p.add_argument(
        "--home",
        type=Path,
        default=argparse.SUPPRESS,
        help=f"folder for models/, data/, logs/, reports/, fotos/ (default: ${config.HOME_VARIABLE}"
        ", else the working directory)",
    )


def add_photos(p: argparse.ArgumentParser, *, nargs="+", what: str = "photo files or folders"):
    p.add_argument("photos", nargs=nargs, metavar="PHOTO", help=what)
    add_recursive(p)


def add_recursive(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "-r", "--recursive", action="store_true", help="look in folders' sub-folders too"
    )


def add_detector(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--min-face-confidence",
        type=probability,
        default=config.MIN_FACE_CONFIDENCE,
        metavar="P",
        help="the face detector's score for a face to count, 0 to 1",
    )


def add_base(p: argparse.ArgumentParser, *, default: str | None = "dlib", what: str = "") -> None:
    p.add_argument(
        "--base",
        default=default,
        required=default is None,
        help="dlib (dlib's face ResNet, packaged), or a base trained here (.h5 with its .json "
        "card, e.g. a student: train-attributes --teacher dlib)" + what,
    )


def add_target_false_accept(
    p: argparse.ArgumentParser, what: str, default: float = config.TARGET_FALSE_ACCEPT
) -> None:
    p.add_argument(
        "--target-false-accept",
        type=share,
        default=default,
        metavar="RATE",
        help=f"{what} (0.01: 1%%; a base's calibrated distances cover 0.001 to 0.01)",
    )


def add_max_distance(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument(
        "--max-distance",
        type=distance,
        default=None,
        metavar="D",
        help=f"{what} (a distance: lower is more alike; default: from the calibration)",
    )


def add_json(p: argparse.ArgumentParser, what: str = "one JSON object per photo") -> None:
    p.add_argument("--json", action="store_true", help=what + ", on stdout")


def add_csv(p: argparse.ArgumentParser) -> None:
    p.add_argument("--csv", type=Path, default=None, help="also write one row per face here")


def add_out_dir(p: argparse.ArgumentParser, what: str, default=None) -> None:
    p.add_argument("--out-dir", type=Path, default=default, metavar="DIR", help=what)


def add_celeba(p: argparse.ArgumentParser, *, drawn: bool = True) -> None:
    p.add_argument(
        "--celeba-dir",
        type=Path,
        default=None,
        help="CelebA folder, official or Kaggle layout (default: data/celeba when there"
        + (", else the drawn default data)" if drawn else ")"),
    )
    p.add_argument("--data-dir", type=Path, default=None, help="default: data/ under --home")
    if drawn:
        p.add_argument(
            "--synthetic-size",
            choices=tuple(config.SYNTHETIC_SIZES),
            default="default",
            help="size of the drawn default data when no CelebA is found",
        )
        p.add_argument(
            "--limit",
            type=positive,
            default=None,
            help="use at most this many images (split proportionally)",
        )


def add_seed(p: argparse.ArgumentParser) -> None:
    p.add_argument("--seed", type=int, default=0, help="seed for every random choice")


def add_outputs(p: argparse.ArgumentParser) -> None:
    p.add_argument("--models-dir", type=Path, default=None, help="default: models/ under --home")
    p.add_argument("--logs-dir", type=Path, default=None, help="default: logs/ under --home")


# -- checks that need no model: run before any loads ------------------------------------------


def check_photos(items, *, recursive: bool = False) -> None:
    """Every photo file or folder given exists, and each folder holds photos."""
    for item in map(Path, items):
        if not item.exists():
            raise InputError(f"{item}: no such file or folder")
        if item.is_dir():
            found = item.rglob("*") if recursive else item.iterdir()
            if not any(p.suffix.lower() in IMAGE_SUFFIXES and p.is_file() for p in found):
                sub = "" if recursive else " (photos in sub-folders: add --recursive)"
                raise InputError(f"{item}: a folder with no photos{sub}")
        else:
            check_readable(item)


def check_readable(path: Path, what: str = "file") -> None:
    try:
        with open(path, "rb"):
            pass
    except PermissionError:
        raise InputError(f"{path}: cannot be read (permission denied)") from None
    except IsADirectoryError:
        raise InputError(f"{path}: a folder, not {_a(what)}") from None
    except OSError as error:
        raise InputError(f"{path}: cannot be read ({error.strerror})") from None


def _a(what: str) -> str:
    return f"an {what}" if what[:1] in "aeiou" else f"a {what}"


def check_file(path, what: str) -> Path:
    path = Path(path).expanduser()
    if not path.exists():
        raise InputError(f"{path}: no such {what}")
    if path.is_dir():
        raise InputError(f"{path}: a folder, not {_a(what)}")
    check_readable(path, what)
    return path


def check_base(base) -> None:
    """A named base, or a model file that is there (its card is checked when it loads)."""
    if str(base) not in config.NAMED_BASES:
        check_file(base, "base model file (.h5 or .keras; or --base dlib)")


def check_rate(base, rate: float) -> None:
    """A false-accept target the named base's calibration covers (a file base's card is checked
    when it loads): refused with the range, never rounded to the nearest calibrated rate."""
    if str(base) == "dlib":
        low, high = min(config.DLIB_DISTANCE_THRESHOLDS), max(config.DLIB_DISTANCE_THRESHOLDS)
        if not low <= rate <= high:
            raise UsageError(
                f"--target-false-accept {rate:g} is outside dlib's calibrated range {low:g} to "
                f"{high:g}; or give --max-distance"
            )


def check_folder(path, what: str) -> Path:
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such {what}")
    if not path.is_dir():
        raise InputError(f"{path}: a file, not {_a(what)}")
    return path


def check_output_files(args) -> None:
    """The files a command will write (--csv, --npy) are not folders, and their folders are not
    files: said before any work, not after."""
    for option in ("csv", "npy"):
        path = getattr(args, option, None)
        if path is None:
            continue
        path = Path(path)
        if path.is_dir():
            raise InputError(f"{path}: a folder; --{option} is the file to write")
        if path.parent.exists() and not path.parent.is_dir():
            raise InputError(f"{path.parent}: a file, so --{option} {path} cannot be written")


def check_new_output(path, what: str) -> Path:
    """An output path whose parent can be made, and that is not a file where a folder goes."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise InputError(f"{path}: a file is there; the {what} is a folder")
    return path


def namings(values) -> dict[int, str]:
    """`--name K=NAME` values as {group: name}, each name a plain folder name, checked."""
    from facetransfer.modeling.gallery_files import check_person_name

    wanted = {}
    for naming in values or []:
        cluster, _, name = naming.partition("=")
        if not name or not cluster.strip().lstrip("-").isdigit():
            raise UsageError(f"--name {naming!r}: expected CLUSTER=NAME, e.g. 0=ana")
        check_person_name(name, f"--name {naming}")
        if int(cluster) in wanted:
            raise UsageError(f"--name {naming!r}: group {cluster} is named twice")
        wanted[int(cluster)] = name
    if len(set(wanted.values())) < len(wanted):
        raise UsageError("--name: two groups given the same name")
    return wanted


def add_index(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--index",
        type=Path,
        default=None,
        metavar="FILE",
        help="answer from this index of a photo library (`facetransfer index`), not from photos",
    )
