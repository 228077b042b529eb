"""What each `facetransfer` command does, calling the same functions as the notebooks.

The package's stages are imported inside each command, on purpose: TensorFlow takes seconds to
import, and `--help` or a mistyped flag should answer at once (ruff's PLC0415 is off here).
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

from facetransfer.config import ARCHITECTURES, Paths
from facetransfer.progress import keras_verbose

log = logging.getLogger("facetransfer")


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


def cmd_prepare(args) -> int:
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
    from facetransfer.modeling.checkpoints import load_model_file, model_metadata
    from facetransfer.modeling.fit import run_dir

    paths = _paths(args)
    arch = ARCHITECTURES[args.arch]
    if args.teacher and args.arch != "improved":
        print("--teacher needs --arch improved: the seed's network has no embedding to teach")
        return 2
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
    _, result = train_attribute_model(
        data,
        arch=args.arch,
        config=config_name,
        models_dir=paths.models,
        logs_dir=logs,
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        identity_weight=args.identity_weight,
        distill_weight=args.distill_weight,
        relational_weight=args.relational_weight,
        teacher_centres=args.teacher_centres,
        precision=args.precision,
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
        record = model_metadata(result.checkpoint)
        summary["teacher"] = data.teacher["name"]
        summary["teacher_cache_seconds"] = data.teacher["build_seconds"]
        summary["distance_thresholds"] = record.get("distance_thresholds")
    print(json.dumps(summary))
    return 0


def cmd_transfer(args) -> int:
    from facetransfer.data.celeba import load_celeba
    from facetransfer.data.fotos import describe_split
    from facetransfer.data.intake import person_photos
    from facetransfer.demo.sources import resolve_celeba, resolve_fotos
    from facetransfer.modeling.bases import drawn_faces_warning, geometry_of, resolve_base
    from facetransfer.modeling.checkpoints import load_model_file, model_metadata
    from facetransfer.modeling.fit import run_dir
    from facetransfer.modeling.transfer import transfer

    paths = _paths(args)
    base = resolve_base(args.base, paths.models)
    load_model_file(base, expect="attributes")  # fail early on a wrong file
    geometry = geometry_of(base)
    fotos = resolve_fotos(args.fotos, args.person, paths, args.seed)
    print(f"photos: {fotos}; base: {base} ({geometry} crops)", file=sys.stderr)
    if fotos.kind != "synthetic":
        warning = drawn_faces_warning(model_metadata(base).get("learned_from"), f"base {base}")
        if warning:
            log.warning(warning)
    celeba = None
    if args.celeba_dir or paths.celeba.exists() or fotos.kind == "synthetic":
        source = resolve_celeba(args.celeba_dir, paths, args.synthetic_size, args.seed)
        celeba = load_celeba(source.root, seed=args.seed)
    out = Path(args.out or paths.models / f"{args.person}.h5")
    # Drawn photos are CelebA crops already: aligned again only for a base of another geometry.
    drawn_as_is = fotos.kind == "synthetic" and geometry == "celeba"
    align = (not drawn_as_is) if args.align == "auto" else args.align == "yes"
    frame, strangers = person_photos(
        fotos.root,
        args.person,
        celeba,
        aligned_dir=paths.data / "aligned",
        geometry=geometry,
        align=align,
        negatives=args.negatives,
        strangers=args.strangers,
        seed=args.seed,
        manifest=out.with_suffix(".split.csv"),
        # a base with calibrated distances (dlib) can do with the person's photos alone
        need_others=not model_metadata(base).get("distance_thresholds"),
    )
    print(describe_split(frame, args.person).to_string(), file=sys.stderr)
    if not (frame["label"] == 0).any():
        print("no one else to learn from: the base's calibrated distance decides", file=sys.stderr)
    if strangers is not None:
        print(f"threshold chosen on {len(strangers)} CelebA strangers", file=sys.stderr)
    result, _, _ = transfer(
        base,
        frame,
        out=out,
        logs_dir=run_dir(paths.logs, "transfer", args.person),
        cache_dir=paths.cache,
        person=args.person,
        head=args.head,
        epochs=args.epochs,
        optimizer=args.optimizer,
        learning_rate=args.learning_rate,
        batch_size=args.batch_size,
        target_false_accept=args.target_false_accept,
        unfreeze_top=args.unfreeze_top,
        align=align,
        strangers=strangers,
        seed=args.seed,
        verbose=keras_verbose(args.verbose),
    )
    report = {k: _json_number(v) for k, v in result.report.items() if k != "confusion_matrix"}
    print(json.dumps({"model": str(out.with_suffix(".h5")), **report}))
    return 0


def _json_number(value):
    """A report value as JSON has it: NaN (a rate with nothing to count) becomes null."""
    if isinstance(value, float) and value != value:
        return None
    return float(value) if hasattr(value, "__float__") and not isinstance(value, int) else value


def cmd_predict(args) -> int:
    import csv

    from facetransfer.cli.people import annotated_path, photo_list
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
        raise ValueError("two --model files are of the same person: give each person once")
    counts = {p.person: PredictionCounts(p.person) for p in people}
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
        for person in people:
            result = predict_image(
                person,
                photo,
                threshold=args.threshold,
                min_face_confidence=args.min_face_confidence,
                faces=faces,
            )
            result["path"] = str(path)
            said = counts[person.person].add(result)
            if "error" in result:
                log.warning("skipped %s", result["error"])
            if args.json:
                print(json.dumps({**result, "model": str(person.path), "person": person.person}))
            else:
                p = result["probability"]
                shown = said if p is None else f"{p:.3f}"
                tail = f"\t{person.person}" if len(people) > 1 else ""
                print(f"{path}\t{shown}\t{said}\t(threshold {result['threshold']:.3f}){tail}")
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
    if args.csv:
        args.csv.parent.mkdir(parents=True, exist_ok=True)
        with open(args.csv, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["path", "model", "face", "box", "probability", "threshold", "said"])
            writer.writerows(rows)
    for person_counts in counts.values():
        print(person_counts, file=sys.stderr)
    return 0


def cmd_export(args) -> int:
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
