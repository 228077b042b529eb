"""`detect`, `represent` and `analyze`: the faces of photos found, described (a descriptor per
face) and read for CelebA's 40 attributes. They call the Python API (`ft.detect`,
`ft.represent`, `ft.analyze`) photo by photo; an unreadable photo is skipped and counted."""

from __future__ import annotations

from pathlib import Path

from facetransfer.cli import options
from facetransfer.cli.output import Outcome, say, to_json, write_csv
from facetransfer.errors import InputError


def _each_photo(args, answer):
    """(photo, faces) for each photo given; an unreadable one is counted, skipped and named in
    one warning line. When none could be read: one error line instead (exit code 3)."""
    from facetransfer.cli.photos import Unreadable, photo_list

    outcome, unreadable = Outcome(), Unreadable()
    for photo, _ in photo_list(args.photos, args.recursive):
        try:
            faces = answer(photo)
        except InputError as error:
            unreadable.skipped(error)
            outcome.photo(unreadable=True)
            continue
        unreadable.photo_read()
        outcome.photo(faces=len(faces))
        yield photo, faces
    args.outcome = outcome
    none_read = unreadable.none_read()
    if none_read:
        raise none_read
    say("summary: " + ", ".join(f"{k} {v}" for k, v in outcome.counts.items() if k != "yes"))


def _box(face) -> str:
    return " ".join(map(str, face["box"]))


def cmd_detect(args) -> int:
    options.check_photos(args.photos, recursive=args.recursive)
    from facetransfer import api

    rows = []
    for photo, faces in _each_photo(
        args, lambda p: api.detect(p, min_face_confidence=args.min_face_confidence)
    ):
        if args.json:
            print(to_json({"path": str(photo), "faces": faces}))
        for k, face in enumerate(faces):
            rows.append([photo, k, _box(face), face["confidence"]])
            if not args.json:
                print(f"{photo}\tface {k}\tbox {_box(face)}\tconfidence {face['confidence']:.4f}")
        if not faces and not args.json:
            print(f"{photo}\tno face")
    if args.csv:
        write_csv(args.csv, ["path", "face", "box", "confidence"], rows)
    return args.outcome.exit_code()


def cmd_represent(args) -> int:
    options.check_photos(args.photos, recursive=args.recursive)
    options.check_base(args.base)
    from facetransfer import api

    model = api.embedder(args.base)
    rows, vectors = [], []
    for photo, faces in _each_photo(
        args,
        lambda p: api.represent(p, base=model, min_face_confidence=args.min_face_confidence),
    ):
        if args.json:
            print(to_json({"path": str(photo), "faces": faces}))
        for k, face in enumerate(faces):
            rows.append([photo, k, _box(face), face["confidence"]])
            vectors.append(face["descriptor"])
            if not args.json:
                numbers = " ".join(f"{v:.6f}" for v in face["descriptor"])
                print(f"{photo}\tface {k}\tbox {_box(face)}\t{numbers}")
    if args.npy:
        _write_npy(args.npy, vectors, rows)
    return args.outcome.exit_code()


def _write_npy(path: Path, vectors, rows) -> None:
    """FILE.npy (n_faces, dim) float32, and FILE.csv naming each row's photo, face and box."""
    import numpy as np

    path = Path(path).with_suffix(".npy")
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.stem}.partial.npy")
    np.save(partial, np.asarray(vectors, np.float32).reshape(len(vectors), -1))
    partial.replace(path)
    write_csv(path.with_suffix(".csv"), ["path", "face", "box", "confidence"], rows)
    say(f"descriptors: {path} (rows named in {path.with_suffix('.csv')})")


def cmd_analyze(args) -> int:
    options.check_photos(args.photos, recursive=args.recursive)
    from facetransfer import api

    rows, names = [], None
    for photo, faces in _each_photo(
        args, lambda p: api.analyze(p, min_face_confidence=args.min_face_confidence)
    ):
        if args.json:
            print(to_json({"path": str(photo), "faces": faces}))
        for k, face in enumerate(faces):
            names = names or list(face["attributes"])
            rows.append([photo, k, _box(face), *face["attributes"].values()])
            if not args.json:
                print(f"{photo}\tface {k}\t{', '.join(face['present']) or '(none of the 40)'}")
        if not faces and not args.json:
            print(f"{photo}\tno face")
    if args.csv and names:
        write_csv(args.csv, ["path", "face", "box", *names], rows)
    return args.outcome.exit_code()


def register(sub) -> None:
    exit_codes = "Exit code 0: faces found; 4: no face in any photo; 3: nothing readable."
    p = sub.add_parser(
        "detect",
        formatter_class=options.FORMATTER,
        help="find the faces in photos: box, confidence, landmarks",
        description=exit_codes,
    )
    options.add_photos(p)
    options.add_detector(p)
    options.add_json(p, "one JSON object per photo, with each face's five landmarks")
    options.add_csv(p)
    options.add_common(p)
    p.set_defaults(func=cmd_detect)

    p = sub.add_parser(
        "represent",
        formatter_class=options.FORMATTER,
        help="a descriptor per face (128 numbers on dlib's base)",
        description=exit_codes,
    )
    options.add_photos(p)
    options.add_base(p)
    options.add_detector(p)
    options.add_json(p, "one JSON object per photo, each face's descriptor a list")
    p.add_argument(
        "--npy",
        type=Path,
        default=None,
        metavar="FILE",
        help="also write every descriptor to FILE.npy, rows named in FILE.csv",
    )
    options.add_common(p)
    p.set_defaults(func=cmd_represent)

    p = sub.add_parser(
        "analyze",
        formatter_class=options.FORMATTER,
        help="CelebA's 40 attributes of every face",
        description="Each face's attributes from a head on dlib's descriptor trained on "
        "CelebA's labels (BENCHMARKS.md, section 7). " + exit_codes,
    )
    options.add_photos(p)
    options.add_detector(p)
    options.add_json(p, "one JSON object per photo, each attribute's probability")
    options.add_csv(p)
    options.add_common(p)
    p.set_defaults(func=cmd_analyze)
