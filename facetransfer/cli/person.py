"""`transfer`, `predict` and `export`: one person's model, trained on a frozen base, used on photos,
and copied to SavedModel and TensorFlow Lite.

Each command's parser sits beside its handler; the stages are imported inside the handlers.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from facetransfer import config
from facetransfer.cli import options
from facetransfer.cli.output import Outcome, say, to_json, write_csv
from facetransfer.config import HEADS, Paths
from facetransfer.errors import ExitCode, InputError, UsageError
from facetransfer.progress import keras_verbose

log = logging.getLogger("facetransfer")


def paths_of(args) -> Paths:
    return Paths(
        data=getattr(args, "data_dir", None),
        models=getattr(args, "models_dir", None),
        logs=getattr(args, "logs_dir", None),
    )


# -- transfer --------------------------------------------------------------------------------


def cmd_transfer(args) -> int:
    from facetransfer.modeling.gallery_files import check_person_name

    check_person_name(args.person, "--person")
    options.check_base(args.base)
    folder = args.fotos_option or args.fotos
    if folder is not None:
        options.check_folder(folder, "photos folder")
        from facetransfer.data.fotos import has_person

        if not has_person(folder, args.person):
            raise InputError(
                f"{folder}: no photos of {args.person!r} (expected {folder}/{args.person}/ or "
                f"{folder}/train/{args.person}/; README: Bring your own photos)"
            )
    if args.celeba_dir is not None:
        options.check_folder(args.celeba_dir, "CelebA folder")

    from facetransfer.modeling.person import PersonSettings, train_person_model

    settings = PersonSettings(
        person=args.person,
        head=args.head,
        epochs=args.epochs,
        batch_size=args.batch_size,
        optimizer=args.optimizer,
        learning_rate=args.learning_rate,
        loss=None,
        unfreeze_top=args.unfreeze_top,
        negatives=args.negatives,
        strangers=args.strangers,
        target_false_accept=args.target_false_accept,
        align=args.align,
        synthetic_size=args.synthetic_size,
        seed=args.seed,
    )
    paths = paths_of(args)
    out = Path(args.model or paths.models / f"{args.person}.h5")
    result, _, _ = train_person_model(
        folder,
        args.base,
        settings,
        paths=paths,
        out=out,
        celeba_dir=args.celeba_dir,
        verbose=keras_verbose(args.verbose),
    )
    report = {k: _json_number(v) for k, v in result.report.items() if k != "confusion_matrix"}
    report = {"model": str(out.with_suffix(".h5")), **report}
    print(json.dumps(report) if args.json else transfer_summary(report, args.person))
    return ExitCode.OK


def transfer_summary(report: dict, person: str) -> str:
    """transfer's answer for a person: the model written, its threshold, and how it did on the
    test photos (the whole report: --json)."""
    lines = [f"{report['model']}: a model of {person}, min probability {report['threshold']:.3f}"]
    test = f"test photos: {person} {report['n_person']}"
    if report.get("n_person"):
        accepted = report["n_person"] - report["false_rejects"]
        test += f", {accepted} accepted"
    test += f"; others {report['n_others']}"
    if report.get("n_others"):
        test += f", {report['false_accepts']} accepted"
    if report.get("roc_auc") is not None:
        test += f"; ROC AUC {report['roc_auc']:.3f}"
    lines.append(test)
    if report.get("strangers_for_threshold"):
        lines.append(f"threshold chosen on {report['strangers_for_threshold']} CelebA strangers")
    return "\n".join(lines)


def _json_number(value):
    """A report value as JSON has it: NaN (a rate with nothing to count) becomes null."""
    if isinstance(value, float) and value != value:
        return None
    return float(value) if hasattr(value, "__float__") and not isinstance(value, int) else value


def _transfer_parser(sub) -> None:
    p = sub.add_parser(
        "transfer",
        formatter_class=options.FORMATTER,
        help="train a person model on a frozen base",
        description="Train a model that answers 'is this photo PERSON?' from FOLDER/PERSON/ (and "
        "FOLDER/others/ when there), on a frozen base.",
    )
    p.add_argument(
        "fotos",
        nargs="?",
        type=Path,
        default=None,
        metavar="FOLDER",
        help="photos folder holding FOLDER/<person>/ (default: fotos/ under --home, else drawn "
        "demo photos)",
    )
    p.add_argument("--fotos", dest="fotos_option", type=Path, help=argparse.SUPPRESS)
    options.add_base(p, default=None)
    p.add_argument("--person", default="paco", help="the person's folder name")
    p.add_argument(
        "--model",
        type=Path,
        default=None,
        help="the person model to write (default: models/<person>.h5 under --home)",
    )
    p.add_argument("--out", dest="model", type=Path, help=argparse.SUPPRESS)
    p.add_argument(
        "--head",
        choices=("auto", *HEADS),
        default="auto",
        help="auto: distance on a calibrated base (dlib), embedding on a base with an embedding, "
        "else seed; centroid: no training, closeness to the mean of the person's photos",
    )
    per_head = ", ".join(f"{k} {h.epochs}" for k, h in HEADS.items() if h.epochs)
    p.add_argument("--epochs", type=options.positive, default=None, help=f"default: {per_head}")
    p.add_argument("--batch-size", type=options.positive, default=None, help="default: 16")
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
        type=options.count,
        default=config.NEGATIVES,
        help="CelebA images drawn as negatives when there is no others/ folder",
    )
    options.add_target_false_accept(p, "strangers accepted at the saved threshold")
    options.add_json(p, "the model written and its test report as one JSON object")
    p.add_argument(
        "--strangers",
        type=options.count,
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
    options.add_celeba(p)
    options.add_outputs(p)
    options.add_seed(p)
    options.add_common(p)
    p.set_defaults(func=cmd_transfer)


# -- predict ---------------------------------------------------------------------------------


def cmd_predict(args) -> int:
    for model in args.model:
        options.check_file(model, "person model file")
    options.check_photos(args.photos, recursive=args.recursive)

    from facetransfer.cli.photos import annotated_path, photo_list
    from facetransfer.data.faces import detect_faces
    from facetransfer.data.images import ImageReadError, read_rgb
    from facetransfer.modeling.bases import drawn_faces_warning
    from facetransfer.modeling.predict import PredictionCounts, load_person_model, predict_image
    from facetransfer.report.annotate import annotate_photo

    people = [load_person_model(path) for path in args.model]
    for person in people:
        warning = drawn_faces_warning(person.base_learned_from, f"{person.path}'s base")
        if warning:
            log.warning(warning)
    if len({p.person for p in people}) < len(people):
        raise UsageError("two --model files are of the same person: give each person once")
    counts = {p.person: PredictionCounts(p.person) for p in people}
    outcome = Outcome(decides=True)
    rows, taken = [], set()
    for path, found_under in photo_list(args.photos, args.recursive):
        # decoded and detected once per photo, whichever models score it
        photo, faces = path, None
        try:
            photo = read_rgb(path)
            if all(p.align for p in people):
                faces = detect_faces(photo, min_confidence=args.min_face_confidence)
        except ImageReadError:
            photo = path  # predict_image names the fault
        n_faces, yes, unreadable = 0, 0, False
        for person in people:
            result = predict_image(
                person,
                photo,
                threshold=args.min_probability,
                min_face_confidence=args.min_face_confidence,
                faces=faces,
            )
            result["path"] = str(path)
            said = counts[person.person].add(result)
            unreadable = "error" in result
            if unreadable:
                log.warning("skipped %s", result["error"])
            n_faces, yes = len(result["faces"]), yes + int(result["is_person"])
            if args.json:
                print(to_json({**result, "model": str(person.path), "person": person.person}))
            else:
                p = result["probability"]
                shown = said if p is None else f"{p:.3f}"
                tail = f"\t{person.person}" if len(people) > 1 else ""
                print(f"{path}\t{shown}\t{said}\t(min probability {result['threshold']:.3f}){tail}")
            for k, face in enumerate(result["faces"]):
                rows.append(
                    [
                        path,
                        person.person,
                        k,
                        " ".join(map(str, face["box"])),
                        round(face["probability"], 4),
                        result["threshold"],
                        person.person if face["is_person"] else "unknown",
                    ]
                )
            if args.out_dir:
                stem_dir = args.out_dir if len(people) == 1 else args.out_dir / person.person
                annotate_photo(
                    path, result, person.person, annotated_path(stem_dir, path, found_under, taken)
                )
        outcome.photo(unreadable=unreadable, faces=n_faces, yes=yes)
    if args.csv:
        header = ["path", "model", "face", "box", "probability", "min_probability", "said"]
        write_csv(args.csv, header, rows)
    for person_counts in counts.values():
        say(str(person_counts))
    return outcome.exit_code()


def _predict_parser(sub) -> None:
    p = sub.add_parser(
        "predict",
        formatter_class=options.FORMATTER,
        help="is this photo the person? one line per photo",
        description="Score every face of each photo with person models from `transfer`. Exit "
        "code 0: someone accepted; 1: faces, none accepted; 4: no face; 3: nothing readable.",
    )
    options.add_photos(p)
    p.add_argument(
        "--model",
        type=Path,
        action="append",
        required=True,
        help="person model from `transfer`; repeat it to score every photo with each (to name "
        "several people, use a gallery: `facetransfer enrol` and `identify`)",
    )
    p.add_argument(
        "--min-probability",
        type=options.probability,
        default=None,
        metavar="P",
        help="accept a face at this probability or above, 0 to 1 (default: the model's saved "
        "threshold)",
    )
    p.add_argument(
        "--threshold", dest="min_probability", type=options.probability, help=argparse.SUPPRESS
    )
    options.add_detector(p)
    options.add_json(p, "one JSON object per photo and model")
    options.add_csv(p)
    options.add_out_dir(p, "write a PNG per photo with labelled face boxes here")
    options.add_common(p)
    p.set_defaults(func=cmd_predict)


# -- export ----------------------------------------------------------------------------------


def cmd_export(args) -> int:
    options.check_file(args.model, "person model file")
    if args.check_faces:
        options.check_photos([args.check_faces])

    import numpy as np

    from facetransfer.data.cache import load_square
    from facetransfer.data.images import list_images
    from facetransfer.modeling.export import export_person_model
    from facetransfer.modeling.predict import load_person_model

    person = load_person_model(args.model)
    faces = None
    if args.check_faces:  # aligned face crops, e.g. data/aligned/<person>/<person>
        paths = list_images(args.check_faces)[:64]
        faces = np.stack([load_square(p, person.size, person.crop) for p in paths])
    result = export_person_model(args.model, faces, tflite=not args.no_tflite, out_dir=args.out_dir)
    written = {
        "keras": str(result.keras_path),
        "savedmodel": str(result.savedmodel_dir),
        "tflite": str(result.tflite_path),
        "max_abs_diff": result.max_abs_diff,
    }
    if args.json:
        print(json.dumps(written))
    else:  # as the other commands: a line a person reads, the JSON with --json
        print(f"SavedModel: {written['savedmodel']}")
        if not args.no_tflite:
            print(f"TensorFlow Lite: {written['tflite']}")
        if result.max_abs_diff:
            diffs = ", ".join(f"{k} {v:.1e}" for k, v in result.max_abs_diff.items())
            print(f"largest score difference from the Keras model: {diffs}")
    return ExitCode.OK


def _export_parser(sub) -> None:
    p = sub.add_parser(
        "export",
        formatter_class=options.FORMATTER,
        help="SavedModel and TensorFlow Lite copies of a person model",
    )
    p.add_argument("--model", type=Path, required=True, help="person model from `transfer`")
    p.add_argument(
        "--check-faces",
        type=Path,
        default=None,
        help="folder of aligned faces to check the exports' scores on",
    )
    options.add_out_dir(p, "where the copies go (default: beside the model)")
    p.add_argument("--no-tflite", action="store_true", help="skip TensorFlow Lite")
    options.add_json(p, "the files written and the largest score difference, as one JSON object")
    options.add_common(p)
    p.set_defaults(func=cmd_export)


def register(sub) -> None:
    _transfer_parser(sub)
    _predict_parser(sub)
    _export_parser(sub)


__all__ = ["register", "paths_of", "sys"]
