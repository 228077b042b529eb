"""`facetransfer <command>`: the notebooks' steps from a shell, calling the same functions.

facetransfer prepare            read CelebA (or make the drawn default), cache its images
facetransfer train-attributes   train the attribute CNN (seed or improved architecture)
facetransfer transfer           train a person model on a frozen base
facetransfer predict            is this photo the person? one line per photo
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from facetransfer.config import Paths
from facetransfer.progress import keras_verbose

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
        choices=("tiny", "default"),
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


def _add_image(parser: argparse.ArgumentParser, default_size: int | None) -> None:
    parser.add_argument(
        "--image-size", type=int, default=default_size, help="square input side in pixels"
    )
    parser.add_argument(
        "--crop",
        choices=("full", "face"),
        default=None,
        help="full: the whole 178x218 crop squashed square (the seed's); "
        "face: the central square around the face",
    )


def _paths(args) -> Paths:
    return Paths(
        data=getattr(args, "data_dir", None),
        models=getattr(args, "models_dir", None),
        logs=getattr(args, "logs_dir", None),
    )


def _load_celeba(args, paths: Paths):
    from facetransfer.celeba import load_celeba
    from facetransfer.sources import resolve_celeba

    source = resolve_celeba(args.celeba_dir, paths, args.synthetic_size, args.seed)
    print(f"data: {source}", file=sys.stderr)
    return source, load_celeba(source.root, limit=args.limit, seed=args.seed)


def cmd_prepare(args) -> int:
    from facetransfer.attributes import load_attribute_data
    from facetransfer.evaluate import majority_accuracy

    paths = _paths(args)
    _, celeba = _load_celeba(args, paths)
    print(celeba.describe())
    data = load_attribute_data(celeba, args.image_size, paths.cache, args.crop or "full")
    majority = data.majority
    for split, labels in data.labels.items():
        acc = majority_accuracy(labels, majority).mean() if len(labels) else float("nan")
        print(f"{split}: {len(labels)} images; majority-class baseline mean accuracy {acc:.4f}")
    if data.skipped:
        print(f"skipped {len(data.skipped)} unreadable images")
    return 0


def cmd_train_attributes(args) -> int:
    from facetransfer.attributes import (
        attribute_report,
        load_attribute_data,
        train_attribute_model,
        tuned_thresholds,
    )
    from facetransfer.evaluate import summarize_attributes
    from facetransfer.training import run_dir

    paths = _paths(args)
    seed_arch = args.arch == "seed"
    size = args.image_size or (192 if seed_arch else 128)
    crop = args.crop or ("full" if seed_arch else "face")
    epochs = args.epochs or (30 if seed_arch else 12)
    batch_size = args.batch_size or (32 if seed_arch else 64)
    _, celeba = _load_celeba(args, paths)
    data = load_attribute_data(celeba, size, paths.cache, crop)
    print(f"images: {data.counts()} at {size}px, crop {crop}", file=sys.stderr)
    name = args.config if args.arch == "seed" else args.arch
    logs = run_dir(paths.logs, "train-attributes", name)
    model, result = train_attribute_model(
        data,
        args.arch,
        args.config,
        epochs,
        paths.models,
        logs,
        batch_size,
        args.learning_rate,
        args.seed,
        resume=not args.no_resume,
        verbose=keras_verbose(args.verbose),
        identity_weight=args.identity_weight,
        precision=args.precision,
    )
    from facetransfer.person import load_model_file

    best = load_model_file(result.checkpoint)
    summary = summarize_attributes(attribute_report(best, data, "test"))
    tuned = attribute_report(best, data, "test", tuned_thresholds(best, data))
    summary["mean_balanced_accuracy_tuned"] = summarize_attributes(tuned)["mean_balanced_accuracy"]
    print(
        json.dumps(
            {
                "checkpoint": str(result.checkpoint),
                "logs": str(logs),
                "seconds": round(result.seconds, 1),
                **summary,
            }
        )
    )
    return 0


def cmd_transfer(args) -> int:
    from facetransfer import person as person_mod
    from facetransfer.celeba import load_celeba
    from facetransfer.fotos import describe_split, split_fotos
    from facetransfer.sources import resolve_celeba, resolve_fotos
    from facetransfer.training import run_dir

    paths = _paths(args)
    person_mod.load_model_file(args.base, expect="attributes")  # fail early on a wrong file
    fotos = resolve_fotos(args.fotos, args.person, paths, args.seed)
    print(f"photos: {fotos}", file=sys.stderr)
    celeba = None
    if args.celeba_dir or paths.celeba.exists() or fotos.kind == "synthetic":
        source = resolve_celeba(args.celeba_dir, paths, args.synthetic_size, args.seed)
        celeba = load_celeba(source.root, seed=args.seed)
    out = Path(args.out or paths.models / f"{args.person}.h5")
    frame = split_fotos(
        fotos.root,
        args.person,
        celeba,
        args.negatives,
        seed=args.seed,
        manifest=out.with_suffix(".split.csv"),
    )
    align = (fotos.kind != "synthetic") if args.align == "auto" else args.align == "yes"
    if align:
        frame = person_mod.align_photos(frame, paths.data / "aligned" / args.person)
    print(describe_split(frame, args.person).to_string(), file=sys.stderr)
    result, _, _ = person_mod.transfer(
        args.base,
        frame,
        out,
        run_dir(paths.logs, "transfer", args.person),
        paths.cache,
        args.person,
        args.head,
        args.epochs,
        args.optimizer,
        args.learning_rate,
        batch_size=args.batch_size,
        target_false_accept=args.target_false_accept,
        unfreeze_top=args.unfreeze_top,
        align=align,
        seed=args.seed,
        verbose=keras_verbose(args.verbose),
    )
    report = {k: v for k, v in result.report.items() if k != "confusion_matrix"}
    print(json.dumps({"model": str(out.with_suffix(".h5")), **report}, default=float))
    return 0


def cmd_predict(args) -> int:
    from facetransfer.images import list_images
    from facetransfer.person import load_person_model, predict_photo

    person = load_person_model(args.model)
    photos: list[Path] = []
    for item in args.photos:
        item = Path(item)
        photos += list_images(item) if item.is_dir() else [item]
    counts = {"photos": 0, person.person: 0, "unknown": 0, "no face": 0, "unreadable": 0}
    for path in photos:
        result = predict_photo(person, path)
        counts["photos"] += 1
        if "error" in result:
            counts["unreadable"] += 1
            log.warning("skipped %s", result["error"])
        elif result["probability"] is None:
            counts["no face"] += 1
        else:
            counts[person.person if result["is_person"] else "unknown"] += 1
        if args.json:
            print(json.dumps(result))
        else:
            p = result["probability"]
            decision = person.person if result["is_person"] else "unknown"
            shown = "unreadable" if "error" in result else "no face" if p is None else f"{p:.3f}"
            print(f"{path}\t{shown}\t{decision}")
        if args.out_dir:
            from facetransfer.plots import annotate_photo

            annotate_photo(path, result, person.person, Path(args.out_dir))
    print("summary: " + ", ".join(f"{k} {v}" for k, v in counts.items()), file=sys.stderr)
    return 0


def cmd_export(args) -> int:
    import numpy as np

    from facetransfer.dataset import load_square
    from facetransfer.export import export_person_model
    from facetransfer.images import list_images
    from facetransfer.person import load_person_model

    person = load_person_model(args.model)
    faces = None
    if args.check_faces:  # aligned face crops, e.g. data/aligned/<person>/<person>
        paths = list_images(args.check_faces)[:64]
        faces = np.stack([load_square(p, person.size, person.crop) for p in paths])
    result = export_person_model(args.model, faces, tflite=not args.no_tflite, out_dir=args.out_dir)
    print(
        json.dumps(
            {
                "keras": str(result.keras_path),
                "savedmodel": str(result.savedmodel_dir),
                "tflite": str(result.tflite_path),
                "max_abs_diff": result.max_abs_diff,
            }
        )
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="facetransfer",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("prepare", help="read CelebA labels and cache its images")
    _add_common(p)
    _add_celeba(p)
    _add_image(p, 192)
    p.set_defaults(func=cmd_prepare)

    p = sub.add_parser("train-attributes", help="train the 40-attribute CNN")
    _add_common(p)
    _add_celeba(p)
    _add_image(p, None)
    p.add_argument("--arch", choices=("seed", "improved"), default="seed")
    p.add_argument(
        "--config",
        choices=("model1", "model2", "model3"),
        default="model2",
        help="the seed's compile config (seed architecture only)",
    )
    p.add_argument(
        "--epochs",
        type=int,
        default=None,
        help="default: 30 for the seed (as it trained), 12 for improved",
    )
    p.add_argument(
        "--identity-weight",
        type=float,
        default=1.0,
        help="improved only: weight of the identity objective (0: attributes only); "
        "used when identity_CelebA.txt is present",
    )
    p.add_argument(
        "--batch-size", type=int, default=None, help="default: 32 for the seed, 64 for improved"
    )
    p.add_argument("--learning-rate", type=float, default=None)
    p.add_argument(
        "--precision",
        choices=("float32", "auto", "bfloat16"),
        default="float32",
        help="auto: bfloat16 compute where the CPU has bfloat16 units (about 2x "
        "faster there); checkpoints are float32 either way",
    )
    p.add_argument("--no-resume", action="store_true", help="start afresh even if interrupted")
    p.add_argument("--models-dir", type=Path, default=None)
    p.add_argument("--logs-dir", type=Path, default=None)
    p.set_defaults(func=cmd_train_attributes)

    p = sub.add_parser("transfer", help="train a person model on a frozen attribute base")
    _add_common(p)
    _add_celeba(p)
    p.add_argument("--base", type=Path, required=True, help="attribute model (.h5 or .keras)")
    p.add_argument("--fotos", type=Path, default=None, help="photos folder (default: fotos/)")
    p.add_argument("--person", default="paco")
    p.add_argument("--out", type=Path, default=None, help="default: models/<person>.h5")
    p.add_argument(
        "--head",
        choices=("auto", "seed", "embedding", "centroid"),
        default="auto",
        help="centroid: no training, closeness to the mean of the person's photos",
    )
    p.add_argument(
        "--epochs",
        type=int,
        default=None,
        help="default: 150 with the seed's head (as it trained), 40 on an embedding",
    )
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--optimizer", choices=("adam", "sgd"), default="adam")
    p.add_argument(
        "--learning-rate",
        type=float,
        default=None,
        help="default: 1e-3 with the seed's head, 1e-2 on an embedding (1e-4 with --unfreeze-top)",
    )
    p.add_argument(
        "--unfreeze-top",
        action="store_true",
        help="improved base: also fine-tune its last block and embedding",
    )
    p.add_argument(
        "--negatives",
        type=int,
        default=200,
        help="CelebA images drawn as negatives when there is no others/ folder",
    )
    p.add_argument("--target-false-accept", type=float, default=0.01)
    p.add_argument(
        "--align",
        choices=("auto", "yes", "no"),
        default="auto",
        help="detect and align faces (auto: yes for your photos, no for drawn ones)",
    )
    p.add_argument("--models-dir", type=Path, default=None)
    p.add_argument("--logs-dir", type=Path, default=None)
    p.set_defaults(func=cmd_transfer)

    p = sub.add_parser("predict", help="score photos: path, probability, decision")
    _add_common(p)
    p.add_argument("photos", nargs="+", help="photo files or folders")
    p.add_argument("--model", type=Path, required=True, help="person model from `transfer`")
    p.add_argument("--json", action="store_true", help="one JSON object per photo")
    p.add_argument(
        "--out-dir",
        type=Path,
        default=None,
        help="write a PNG per photo with labelled face boxes here",
    )
    p.set_defaults(func=cmd_predict)

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
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    from facetransfer.progress import setup_logging

    setup_logging(args.verbose)
    try:
        return args.func(args)
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
