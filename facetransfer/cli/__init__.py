"""`facetransfer <command>`: the notebooks' steps from a shell, calling the same functions.

facetransfer prepare            read CelebA (or make the drawn default), cache its images
facetransfer train-attributes   train the attribute CNN (seed or improved; one device or several)
facetransfer transfer           train a person model on a frozen base
facetransfer predict            is this photo the person? one line per photo
facetransfer export             SavedModel and TensorFlow Lite copies of a person model
facetransfer enrol              enrol every person folder in a gallery (several people)
facetransfer identify           name every face in photos from a gallery
facetransfer verify             are the faces in two photos the same person?
facetransfer cluster            group the faces of unlabelled photos by person

Defaults come from `facetransfer.config` (print them with `python -m facetransfer.config`).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from facetransfer import config
from facetransfer.cli.commands import (
    cmd_export,
    cmd_predict,
    cmd_prepare,
    cmd_train_attributes,
    cmd_transfer,
)
from facetransfer.cli.people import add_people_parsers, add_photo_options
from facetransfer.config import ARCHITECTURES, HEADS
from facetransfer.progress import setup_logging

log = logging.getLogger("facetransfer")


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-v", "--verbose", action="store_true", help="log everything")
    parser.add_argument("--seed", type=int, default=0, help="seed for every random choice")


def _add_celeba(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--celeba-dir",
        type=Path,
        default=None,
        help="CelebA folder, official or Kaggle layout (default: data/celeba, "
        "else the drawn default data)",
    )
    parser.add_argument(
        "--synthetic-size",
        choices=tuple(config.SYNTHETIC_SIZES),
        default="default",
        help="size of the drawn default data when no CelebA is found",
    )
    parser.add_argument(
        "--limit",
        type=int,
        default=None,
        help="use at most this many images (split proportionally)",
    )
    parser.add_argument("--data-dir", type=Path, default=None, help="data folder (default: data/)")


def _add_outputs(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--models-dir", type=Path, default=None, help="default: models/")
    parser.add_argument("--logs-dir", type=Path, default=None, help="default: logs/")


def _add_image(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--image-size",
        type=int,
        default=None,
        help="square input side in pixels (default: the architecture's, "
        + ", ".join(f"{k} {a.image_size}" for k, a in ARCHITECTURES.items())
        + ")",
    )
    parser.add_argument(
        "--crop",
        choices=("full", "face"),
        default=None,
        help="full: the whole 178x218 crop squashed square (the seed's); "
        "face: the central square around the face (default: the architecture's)",
    )


def _per_arch(field: str) -> str:
    return ", ".join(f"{k} {getattr(a, field)}" for k, a in ARCHITECTURES.items())


def _prepare_parser(sub) -> None:
    p = sub.add_parser("prepare", help="read CelebA labels and cache its images")
    _add_common(p)
    _add_celeba(p)
    _add_image(p)
    p.add_argument(
        "--arch",
        choices=tuple(ARCHITECTURES),
        default="seed",
        help="cache at this architecture's image size and crop",
    )
    p.set_defaults(func=cmd_prepare)


def _train_parser(sub) -> None:
    p = sub.add_parser("train-attributes", help="train the 40-attribute CNN")
    _add_common(p)
    _add_celeba(p)
    _add_image(p)
    _add_outputs(p)
    p.add_argument("--arch", choices=tuple(ARCHITECTURES), default="seed")
    p.add_argument(
        "--config",
        choices=config.SEED_CONFIGS,
        default=config.DEFAULT_SEED_CONFIG,
        help="the seed's compile config (seed architecture only)",
    )
    p.add_argument("--epochs", type=int, default=None, help=f"default: {_per_arch('epochs')}")
    p.add_argument(
        "--batch-size",
        type=int,
        default=None,
        help=f"global batch, split over every replica (default: {_per_arch('batch_size')})",
    )
    p.add_argument(
        "--learning-rate",
        type=float,
        default=None,
        help=f"default: {_per_arch('learning_rate')} (None: the seed config's own)",
    )
    p.add_argument(
        "--identity-weight",
        type=float,
        default=None,
        help="improved only: weight of the identity objective (0: attributes only; default "
        f"{ARCHITECTURES['improved'].identity_weight}); used when identity_CelebA.txt is present",
    )
    p.add_argument(
        "--geometry",
        choices=("celeba", "dlib_chip"),
        default=None,
        help="improved only: the crop its images are cut to (dlib_chip: dlib's face chip, "
        f"tighter on the face; default {ARCHITECTURES['improved'].geometry})",
    )
    p.add_argument(
        "--teacher",
        choices=config.TEACHERS,
        default=None,
        help="improved only: distil this face network into the embedding (dlib: its ResNet, "
        "from the face_recognition_models package); its descriptors of every image are "
        "computed once and cached",
    )
    p.add_argument(
        "--distill-weight",
        type=float,
        default=None,
        help="with --teacher: weight of the squared distance to the teacher's descriptor "
        f"(default {ARCHITECTURES['improved'].distill_weight})",
    )
    p.add_argument(
        "--relational-weight",
        type=float,
        default=None,
        help="with --teacher: weight of matching the batch's pairwise distances "
        f"(default {ARCHITECTURES['improved'].relational_weight})",
    )
    p.add_argument(
        "--teacher-centres",
        action="store_true",
        default=None,
        help="with --teacher: fix the identity centres at the teacher's class means",
    )
    p.add_argument(
        "--precision",
        choices=("float32", "auto", "bfloat16"),
        default=None,
        help="auto: bfloat16 compute where the CPU has bfloat16 units (about 1.4-2x faster "
        f"there); checkpoints are float32 either way (default: {_per_arch('precision')})",
    )
    p.add_argument(
        "--strategy",
        choices=("none", "mirrored", "multi-worker"),
        default="none",
        help="mirrored: every device of this machine; multi-worker: the machines named in "
        "TF_CONFIG, each running the same command (README: Train on several machines)",
    )
    p.add_argument(
        "--logical-cpus",
        type=int,
        default=0,
        help="split the CPU into this many logical devices for --strategy mirrored (shows the "
        "mechanics on one CPU, not a speed-up)",
    )
    p.add_argument("--no-resume", action="store_true", help="start afresh even if interrupted")
    p.set_defaults(func=cmd_train_attributes)


def _transfer_parser(sub) -> None:
    p = sub.add_parser("transfer", help="train a person model on a frozen attribute base")
    _add_common(p)
    _add_celeba(p)
    _add_outputs(p)
    p.add_argument(
        "--base",
        required=True,
        help="dlib (dlib's face ResNet, from the face_recognition_models package), or a base "
        "trained here (.h5 or .keras: models/improved.h5, models/seed_model2.h5)",
    )
    p.add_argument("--fotos", type=Path, default=None, help="photos folder (default: fotos/)")
    p.add_argument("--person", default="paco")
    p.add_argument("--out", type=Path, default=None, help="default: models/<person>.h5")
    p.add_argument(
        "--head",
        choices=("auto", *HEADS),
        default="auto",
        help="auto: embedding on a base with an embedding, else seed; "
        "centroid: no training, closeness to the mean of the person's photos",
    )
    per_head = ", ".join(f"{k} {h.epochs}" for k, h in HEADS.items() if h.epochs)
    p.add_argument("--epochs", type=int, default=None, help=f"default: {per_head}")
    p.add_argument("--batch-size", type=int, default=None, help="default: 16")
    p.add_argument("--optimizer", choices=("adam", "sgd"), default=None, help="default: adam")
    lrs = ", ".join(f"{k} {h.learning_rate}" for k, h in HEADS.items() if h.epochs)
    p.add_argument(
        "--learning-rate",
        type=float,
        default=None,
        help=f"default: {lrs} ({config.UNFREEZE_TOP_LEARNING_RATE} with --unfreeze-top)",
    )
    p.add_argument(
        "--unfreeze-top",
        action="store_true",
        help="improved base: also fine-tune its last block and embedding",
    )
    p.add_argument(
        "--negatives",
        type=int,
        default=config.NEGATIVES,
        help="CelebA images drawn as negatives when there is no others/ folder",
    )
    p.add_argument("--target-false-accept", type=float, default=config.TARGET_FALSE_ACCEPT)
    p.add_argument(
        "--strangers",
        type=int,
        default=config.STRANGERS,
        help="CelebA faces of other people the threshold is chosen on (0: the validation "
        "negatives instead)",
    )
    p.add_argument(
        "--align",
        choices=("auto", "yes", "no"),
        default="auto",
        help="detect and align faces (auto: yes for your photos, no for drawn ones)",
    )
    p.set_defaults(func=cmd_transfer)


def _predict_parser(sub) -> None:
    p = sub.add_parser("predict", help="score photos: path, probability, decision")
    _add_common(p)
    p.add_argument("photos", nargs="+", help="photo files or folders")
    p.add_argument(
        "--model",
        type=Path,
        action="append",
        required=True,
        help="person model from `transfer`; repeat it to score every photo with each (for "
        "naming several people, a gallery: `facetransfer enrol` and `identify`)",
    )
    p.add_argument("--json", action="store_true", help="one JSON object per photo and model")
    p.add_argument(
        "--threshold",
        type=float,
        default=None,
        help="accept at this probability instead of the model's saved threshold",
    )
    p.add_argument("--csv", type=Path, default=None, help="also write one row per face here")
    add_photo_options(p)
    p.set_defaults(func=cmd_predict)


def _export_parser(sub) -> None:
    p = sub.add_parser("export", help="SavedModel and TensorFlow Lite copies of a person model")
    _add_common(p)
    p.add_argument("--model", type=Path, required=True, help="person model from `transfer`")
    p.add_argument(
        "--check-faces",
        type=Path,
        default=None,
        help="folder of aligned faces to check the exports' scores on",
    )
    p.add_argument("--out-dir", type=Path, default=None, help="default: beside the model")
    p.add_argument("--no-tflite", action="store_true", help="skip TensorFlow Lite")
    p.set_defaults(func=cmd_export)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="facetransfer",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for add in (_prepare_parser, _train_parser, _transfer_parser, _predict_parser, _export_parser):
        add(sub)
    add_people_parsers(sub)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.verbose)
    try:
        return args.func(args)
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
