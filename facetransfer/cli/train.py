"""`prepare` and `train-attributes`: CelebA read and cached, the attribute CNN trained (the seed's
or the improved one, on one device or several, optionally a student of dlib).

Each command's parser sits beside its handler; the package's stages are imported inside the
handlers, so `--help` does not wait for TensorFlow (ruff's PLC0415 is off for the CLI).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace

from facetransfer import config
from facetransfer.cli import options
from facetransfer.config import ARCHITECTURES, Paths
from facetransfer.errors import UsageError
from facetransfer.progress import keras_verbose


def _paths(args) -> Paths:
    return Paths(
        data=getattr(args, "data_dir", None),
        models=getattr(args, "models_dir", None),
        logs=getattr(args, "logs_dir", None),
    )


def _load_celeba(args, paths: Paths):
    from facetransfer.data.celeba import load_celeba
    from facetransfer.demo.sources import resolve_celeba

    source = resolve_celeba(args.celeba_dir, paths, args.synthetic_size, args.seed)
    print(f"data: {source}", file=sys.stderr)
    return source, load_celeba(source.root, limit=args.limit, seed=args.seed)


def _check_celeba(args) -> None:
    """A CelebA folder given is there, said at once (reading it needs TensorFlow's seconds)."""
    if args.celeba_dir is not None:
        options.check_folder(args.celeba_dir, "CelebA folder")


def cmd_prepare(args) -> int:
    _check_celeba(args)
    from facetransfer.modeling.attributes import load_attribute_data
    from facetransfer.report.evaluate import majority_accuracy

    paths = _paths(args)
    _, celeba = _load_celeba(args, paths)
    print(celeba.describe())
    arch = ARCHITECTURES[args.arch]
    size, crop = args.image_size or arch.image_size, args.crop or arch.crop
    data = load_attribute_data(celeba, size, paths.cache, crop=crop)
    majority = data.majority
    for split, labels in data.labels.items():
        acc = majority_accuracy(labels, majority).mean() if len(labels) else float("nan")
        print(f"{split}: {len(labels)} images; majority-class baseline mean accuracy {acc:.4f}")
    if data.skipped:
        print(f"skipped {len(data.skipped)} unreadable images")
    return 0


def cmd_train_attributes(args) -> int:
    _check_celeba(args)
    from facetransfer.modeling import distribute

    # First: MultiWorkerMirroredStrategy must exist before any other TensorFlow op runs.
    if args.logical_cpus > 1:
        distribute.use_logical_cpus(args.logical_cpus)
    strategy = distribute.make_strategy(args.strategy)
    cluster = distribute.cluster_of(strategy)

    from facetransfer.modeling.attribute_evaluation import evaluate_attribute_model
    from facetransfer.modeling.attributes import (
        load_attribute_data,
        train_attribute_model,
    )
    from facetransfer.modeling.bases import resolve_base
    from facetransfer.modeling.card import read_card
    from facetransfer.modeling.checkpoints import load_model_file
    from facetransfer.modeling.fit import run_dir

    paths = _paths(args)
    arch = ARCHITECTURES[args.arch]
    if args.teacher and args.arch != "improved":
        raise UsageError("--teacher needs --arch improved: the seed's network has no embedding")
    size, crop = args.image_size or arch.image_size, args.crop or arch.crop
    _, celeba = _load_celeba(args, paths)
    teacher = resolve_base(args.teacher, paths.models) if args.teacher else None
    data = load_attribute_data(
        celeba,
        size,
        paths.cache,
        crop=crop,
        shard=cluster.shard,
        progress=cluster.is_chief,
        teacher=teacher,
        geometry=args.geometry or arch.geometry,
    )
    print(
        f"images: {data.counts()} at {size}px, crop {crop}; {type(strategy).__name__} with "
        f"{strategy.num_replicas_in_sync} replica(s), worker {cluster.index + 1} of "
        f"{cluster.num_workers}",
        file=sys.stderr,
    )
    config_name = args.config if args.arch == "seed" else None
    # run folders named as the notebook names them (model1..3, improved), side by side
    logs = run_dir(paths.logs, "train-attributes", config_name or args.arch)
    given = {
        name: getattr(args, name)
        for name in (
            "epochs",
            "batch_size",
            "learning_rate",
            "identity_weight",
            "distill_weight",
            "relational_weight",
            "teacher_centres",
            "precision",
        )
        if getattr(args, name) is not None
    }
    _, result = train_attribute_model(
        data,
        replace(arch, **given),
        config=config_name,
        models_dir=paths.models,
        logs_dir=logs,
        strategy=strategy,
        seed=args.seed,
        resume=not args.no_resume,
        verbose=keras_verbose(args.verbose),
    )
    if not cluster.is_chief:
        return 0
    best = load_model_file(result.checkpoint)
    epochs_run = len(result.history.get("loss", []))
    evaluation = evaluate_attribute_model(best, data, "test", run_dir=logs, step=epochs_run)
    summary = {
        "checkpoint": str(result.checkpoint),
        "logs": str(logs),
        "seconds": round(result.seconds, 1),
        **evaluation.summary,
    }
    if data.teacher:
        summary["teacher"] = data.teacher["name"]
        summary["teacher_cache_seconds"] = data.teacher["build_seconds"]
        summary["distance_thresholds"] = read_card(result.checkpoint).distance_thresholds
    print(json.dumps(summary))
    return 0


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
    p = sub.add_parser(
        "prepare", formatter_class=options.FORMATTER, help="read CelebA labels and cache its images"
    )
    options.add_common(p)
    options.add_seed(p)
    options.add_celeba(p)
    _add_image(p)
    p.add_argument(
        "--arch",
        choices=tuple(ARCHITECTURES),
        default="seed",
        help="cache at this architecture's image size and crop",
    )
    p.set_defaults(func=cmd_prepare)


def _train_parser(sub) -> None:
    p = sub.add_parser(
        "train-attributes", formatter_class=options.FORMATTER, help="train the 40-attribute CNN"
    )
    options.add_common(p)
    options.add_seed(p)
    options.add_celeba(p)
    _add_image(p)
    options.add_outputs(p)
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


def register(sub) -> None:
    _prepare_parser(sub)
    _train_parser(sub)
