"""`enrol`, `identify`, `verify` and `cluster`: several people at once, on a base whose distances
are calibrated (dlib's, or a student distilled from it). Also the photo listing every command
that reads photos shares, and the annotated-photo names that mirror the folders given.

As in `commands`, the package's stages are imported inside each command, so `--help` answers at
once (ruff's PLC0415 is off here).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections import Counter
from pathlib import Path

from facetransfer import config
from facetransfer.config import Paths

log = logging.getLogger("facetransfer")

# verify's exit codes
SAME, DIFFERENT, NO_FACE = 0, 1, 2


def add_photo_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--recursive", action="store_true", help="search folders' sub-folders for photos too"
    )
    p.add_argument(
        "--min-face-confidence",
        type=float,
        default=config.MIN_FACE_CONFIDENCE,
        help="the face detector's score for a face to count "
        f"(default {config.MIN_FACE_CONFIDENCE})",
    )
    p.add_argument(
        "--out-dir",
        type=Path,
        default=None,
        help="write a PNG per photo with labelled face boxes here, sub-folders mirrored",
    )


def photo_list(items, recursive: bool = False) -> list[tuple[Path, Path]]:
    """(photo, what it was found under) for photo files and folders given on a command line."""
    from facetransfer.data.images import list_images

    photos = []
    for item in map(Path, items):
        if item.is_dir():
            photos += [(p, item) for p in list_images(item, recursive=recursive)]
        else:
            photos.append((item, item.parent))
    return photos


def annotated_path(out_dir: Path, photo: Path, found_under: Path, taken: set[Path]) -> Path:
    """`out_dir/<folder given>/<sub-folders>/<stem>.png`: two folders' IMG_0001.jpg, or a.jpg and
    a.png side by side, never overwrite each other's annotated copy."""
    relative = photo.relative_to(found_under) if photo.is_relative_to(found_under) else photo
    parts = relative.parent.parts if photo != found_under else ()
    target = Path(out_dir, found_under.name or "photos", *parts, f"{photo.stem}.png")
    n = 2
    while target in taken:
        target = target.with_name(f"{photo.stem}-{n}.png")
        n += 1
    taken.add(target)
    return target


def _embedder(args):
    from facetransfer.modeling.bases import resolve_base
    from facetransfer.modeling.gallery import FaceEmbedder

    paths = Paths(models=getattr(args, "models_dir", None))
    return FaceEmbedder.load(resolve_base(args.base, paths.models))


def _add_base(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--base",
        default="dlib",
        help="dlib (default), or a student distilled from it (models/improved.h5 trained with "
        "--teacher dlib): a base whose sidecar has calibrated distances",
    )
    p.add_argument("--models-dir", type=Path, default=None, help="default: models/")


def cmd_enrol(args) -> int:
    from facetransfer.data.celeba import load_celeba
    from facetransfer.data.fotos import people_folders
    from facetransfer.data.intake import align_celeba_rows
    from facetransfer.data.strangers import stranger_rows
    from facetransfer.modeling.gallery import enrol

    embedder = _embedder(args)
    people = people_folders(args.fotos)
    print(f"enrolling {len(people)} people from {args.fotos}", file=sys.stderr)
    strangers = None
    paths = Paths(data=args.data_dir)
    celeba_dir = args.celeba_dir or (paths.celeba if paths.celeba.exists() else None)
    if celeba_dir and args.strangers:
        celeba = load_celeba(celeba_dir, seed=args.seed)
        pool = stranger_rows(celeba, args.strangers, seed=args.seed)
        aligned = paths.data / "aligned" / "_strangers" / embedder.geometry
        pool = align_celeba_rows(pool, aligned, embedder.geometry)
        strangers = pool["aligned"].tolist()
    gallery = enrol(
        people,
        embedder,
        strangers=strangers,
        target_false_accept=args.target_false_accept,
        min_face_confidence=args.min_face_confidence,
    )
    gallery.save(args.out)
    for name, record in gallery.people.items():
        print(
            f"{name}: {record['faces']} of {record['photos']} photos enrolled; threshold "
            f"{record['threshold']:.4f} ({record['chosen_on']})"
        )
    print(f"gallery: {args.out}", file=sys.stderr)
    return 0


def cmd_identify(args) -> int:
    from facetransfer.modeling.gallery import FaceEmbedder, identify_image, load_gallery
    from facetransfer.report.annotate import annotate_photo

    gallery = load_gallery(args.gallery)
    embedder = FaceEmbedder.load(gallery.base_path)
    counts, taken = Counter(), set()
    for photo, found_under in photo_list(args.photos, args.recursive):
        result = identify_image(
            gallery, embedder, photo, min_face_confidence=args.min_face_confidence
        )
        counts["photos"] += 1
        if "error" in result:
            counts["unreadable"] += 1
            log.warning("skipped %s", result["error"])
        elif not result["faces"]:
            counts["no face"] += 1
        for face in result["faces"]:
            counts[face["person"]] += 1
        if args.json:
            print(json.dumps(result))
        else:
            for k, face in enumerate(result["faces"]):
                print(
                    f"{photo}\tface {k}\t{face['person']}\t{face['score']:.3f}"
                    f"\trunner-up {face['runner_up']} {face['runner_up_score']}"
                )
            if not result["faces"]:
                print(f"{photo}\t{'unreadable' if 'error' in result else 'no face'}")
        if args.out_dir:
            annotate_photo(
                photo, result, None, annotated_path(args.out_dir, photo, found_under, taken)
            )
    print("summary: " + ", ".join(f"{k} {v}" for k, v in counts.items()), file=sys.stderr)
    return 0


def cmd_verify(args) -> int:
    from facetransfer.data.images import ImageReadError
    from facetransfer.modeling.gallery import verify

    embedder = _embedder(args)
    sides = [[p for p, _ in photo_list([item])] for item in (args.first, args.second)]
    try:
        answer = verify(
            embedder,
            *sides,
            target_false_accept=args.target_false_accept,
            min_face_confidence=args.min_face_confidence,
        )
    except (ImageReadError, ValueError) as error:
        print(json.dumps({"error": str(error)}) if args.json else f"error: {error}")
        return NO_FACE
    if args.json:
        print(json.dumps(answer))
    else:
        said = "same person" if answer["same"] else "different people"
        print(
            f"distance {answer['distance']:.4f}, threshold {answer['threshold']:.4f} "
            f"({answer['target_false_accept']:.1%} false accepts): {said}"
        )
    return SAME if answer["same"] else DIFFERENT


def cmd_cluster(args) -> int:
    from facetransfer.modeling.clustering import UNGROUPED, cluster_photos, person_folder
    from facetransfer.report.annotate import contact_sheet

    embedder = _embedder(args)
    photos = [p for p, _ in photo_list([args.folder], recursive=args.recursive)]
    clusters = cluster_photos(
        photos,
        embedder,
        target_false_accept=args.target_false_accept,
        min_face_confidence=args.min_face_confidence,
    )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    clusters.table.to_csv(out / "clusters.csv", index=False)
    table = clusters.table
    for cluster in sorted(set(table["cluster"]) - {UNGROUPED}):
        rows = table.index[table["cluster"] == cluster]
        contact_sheet(
            [clusters.crops[i] for i in rows],
            out / f"cluster_{cluster}.png",
            f"cluster {cluster}: {len(rows)} faces",
        )
    groups = table["cluster"].value_counts().drop(UNGROUPED, errors="ignore")
    print(
        f"{len(table)} faces in {len(photos)} photos: {len(groups)} groups, "
        f"{int((table['cluster'] == UNGROUPED).sum())} faces in none; {out / 'clusters.csv'}"
    )
    for naming in args.name or []:
        cluster, _, name = naming.partition("=")
        if not name or not cluster.lstrip("-").isdigit() or int(cluster) not in groups.index:
            raise ValueError(f"--name {naming!r}: expected CLUSTER=NAME with a cluster listed")
        written = person_folder(clusters, int(cluster), out / "people" / name)
        print(f"cluster {cluster} -> {out / 'people' / name} ({len(written)} faces) for enrol")
    return 0


def add_people_parsers(sub) -> None:
    p = sub.add_parser("enrol", help="enrol every person folder of a photos folder in a gallery")
    p.add_argument("--fotos", type=Path, required=True, help="DIR/<name>/ for each person")
    p.add_argument("--out", type=Path, required=True, help="the gallery folder to write")
    _add_base(p)
    p.add_argument("--celeba-dir", type=Path, default=None, help="CelebA, for the strangers")
    p.add_argument("--data-dir", type=Path, default=None, help="default: data/")
    p.add_argument(
        "--strangers",
        type=int,
        default=config.STRANGERS,
        help="CelebA strangers the thresholds are chosen on (0: the base's calibration)",
    )
    p.add_argument("--target-false-accept", type=float, default=config.TARGET_FALSE_ACCEPT)
    p.add_argument("--min-face-confidence", type=float, default=config.MIN_FACE_CONFIDENCE)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("-v", "--verbose", action="store_true")
    p.set_defaults(func=cmd_enrol)

    p = sub.add_parser("identify", help="name every face in photos from a gallery")
    p.add_argument("photos", nargs="+", help="photo files or folders")
    p.add_argument("--gallery", type=Path, required=True)
    p.add_argument("--json", action="store_true", help="one JSON object per photo")
    add_photo_options(p)
    p.add_argument("-v", "--verbose", action="store_true")
    p.set_defaults(func=cmd_identify)

    p = sub.add_parser("verify", help="are the faces in two photos the same person?")
    p.add_argument("first", help="a photo (or a folder of one person's photos)")
    p.add_argument("second", help="a photo (or a folder of one person's photos)")
    _add_base(p)
    p.add_argument(
        "--target-false-accept",
        type=float,
        default=config.TARGET_FALSE_ACCEPT,
        help="different people accepted (the base's calibrated rates: 0.01, 0.001)",
    )
    p.add_argument("--min-face-confidence", type=float, default=config.MIN_FACE_CONFIDENCE)
    p.add_argument("--json", action="store_true")
    p.add_argument("-v", "--verbose", action="store_true")
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser("cluster", help="group the faces of unlabelled photos by person")
    p.add_argument("folder", type=Path)
    p.add_argument("--out", type=Path, required=True)
    _add_base(p)
    p.add_argument("--target-false-accept", type=float, default=config.TARGET_FALSE_ACCEPT)
    p.add_argument("--min-face-confidence", type=float, default=config.MIN_FACE_CONFIDENCE)
    p.add_argument("--recursive", action="store_true")
    p.add_argument(
        "--name",
        action="append",
        metavar="CLUSTER=NAME",
        help="write that group's faces to OUT/people/NAME/, a person folder for enrol",
    )
    p.add_argument("-v", "--verbose", action="store_true")
    p.set_defaults(func=cmd_cluster)
