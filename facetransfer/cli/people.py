"""`enrol`, `identify`, `verify`, `find` and `cluster`: several people at once, on a base whose
distances are calibrated (dlib's, or a student distilled from it). Each command's parser sits
beside its handler; they call the Python API (`facetransfer.api`), so the shell and Python give
the same answers. Inputs are checked before any model loads.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from facetransfer import config
from facetransfer.cli import options
from facetransfer.cli.output import Outcome, face_line, say, to_json, write_csv
from facetransfer.config import Paths
from facetransfer.errors import ExitCode, UsageError

log = logging.getLogger("facetransfer")


# -- enrol -----------------------------------------------------------------------------------


def cmd_enrol(args) -> int:
    folder = args.fotos_option or args.folder
    if folder is None:
        raise UsageError("enrol needs a FOLDER holding one folder of photos per person")
    options.check_folder(folder, "folder of people's photo folders")
    options.check_base(args.base)
    options.check_new_output(args.gallery, "gallery")
    if (Path(args.gallery) / "gallery.json").exists() and not args.replace:
        raise UsageError(
            f"{args.gallery}: a gallery is there already; enrolling would replace it (everyone "
            "in it): give another --gallery, or --replace"
        )
    if args.celeba_dir is not None:
        options.check_folder(args.celeba_dir, "CelebA folder")
    if not args.strangers or not (args.celeba_dir or Paths(data=args.data_dir).celeba.exists()):
        options.check_rate(args.base, args.target_false_accept)  # the calibration decides
    from facetransfer.data.fotos import people_folders
    from facetransfer.modeling.gallery_files import check_person_name

    people = people_folders(folder)
    for name in people:
        check_person_name(name, Path(folder) / name)
    say(f"enrolling {len(people)} people from {folder}")

    from facetransfer import api

    model = api.embedder(args.base)
    strangers = _stranger_crops(args, model.geometry)
    gallery = api.enrol(
        folder,
        base=model,
        gallery=args.gallery,
        target_false_accept=args.target_false_accept,
        min_face_confidence=args.min_face_confidence,
        strangers=strangers,
    )
    for name, record in gallery.people.items():
        line = {"person": name, **record}
        if args.json:
            print(to_json(line))
        else:
            print(
                f"{name}: {record['faces']} of {record['photos']} photos enrolled; max distance "
                f"{record['max_distance']:.4f} ({record['chosen_on']})"
            )
    say(f"gallery: {args.gallery}")
    return ExitCode.OK


def _stranger_crops(args, geometry: str) -> list | None:
    """Aligned crops of CelebA strangers in the base's geometry, when CelebA is there."""
    from facetransfer.data.celeba import load_celeba
    from facetransfer.data.intake import stranger_crops

    paths = Paths(data=args.data_dir)
    celeba_dir = args.celeba_dir or (paths.celeba if paths.celeba.exists() else None)
    if not celeba_dir or not args.strangers:
        return None
    celeba = load_celeba(celeba_dir, seed=args.seed)
    pool = stranger_crops(celeba, args.strangers, paths.data / "aligned", geometry, seed=args.seed)
    return pool["aligned"].tolist()


def _enrol_parser(sub) -> None:
    p = sub.add_parser(
        "enrol",
        formatter_class=options.FORMATTER,
        help="enrol every person folder of a photos folder in a gallery",
        description="Enrol FOLDER/<name>/ for each person (one photo is enough) into the "
        "gallery folder --gallery.",
    )
    p.add_argument("folder", nargs="?", type=Path, metavar="FOLDER", help="FOLDER/<name>/ each")
    p.add_argument("--fotos", dest="fotos_option", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--gallery", type=Path, required=True, help="the gallery folder to write")
    p.add_argument("--out", dest="gallery", type=Path, help=argparse.SUPPRESS)
    p.add_argument(
        "--replace", action="store_true", help="replace the gallery if one is there already"
    )
    options.add_base(p)
    options.add_target_false_accept(p, "strangers' faces the whole gallery may accept")
    p.add_argument(
        "--strangers",
        type=options.count,
        default=config.STRANGERS,
        help="CelebA strangers the max distances are chosen on, when CelebA is there (0: the "
        "base's calibration)",
    )
    options.add_celeba(p, drawn=False)
    options.add_detector(p)
    options.add_json(p, "one JSON object per person")
    options.add_seed(p)
    options.add_common(p)
    p.set_defaults(func=cmd_enrol)


# -- identify --------------------------------------------------------------------------------


def cmd_identify(args) -> int:
    if args.index is not None:
        if args.photos:
            raise UsageError("identify: give PHOTO... or --index FILE, not both")
        from facetransfer.cli import library

        return library.identify(args)
    if not args.photos:
        raise UsageError("identify needs PHOTO... (or --index FILE, an index of a library)")
    options.check_photos(args.photos, recursive=args.recursive)
    if args.base is not None:
        options.check_base(args.base)
    from facetransfer.modeling.gallery_files import load_gallery

    gallery = load_gallery(args.gallery)  # damaged or mixed files refused before any model loads

    from facetransfer import api
    from facetransfer.cli.photos import annotated_path, photo_list
    from facetransfer.modeling.gallery import embedder_for, identify_image
    from facetransfer.report.annotate import annotate_photo

    embedder = embedder_for(gallery, None if args.base is None else api.embedder(args.base))
    outcome, counts, rows, taken = Outcome(decides=True), {}, [], set()
    for photo, found_under in photo_list(args.photos, args.recursive):
        result = identify_image(
            gallery,
            embedder,
            photo,
            min_face_confidence=args.min_face_confidence,
            max_distance=args.max_distance,
        )
        named = [f for f in result["faces"] if f["person"] != "unknown"]
        outcome.photo(unreadable="error" in result, faces=len(result["faces"]), yes=len(named))
        if "error" in result:
            log.warning("skipped %s", result["error"])
        for face in result["faces"]:
            counts[face["person"]] = counts.get(face["person"], 0) + 1
        if args.json:
            print(to_json(result))
        else:
            for k, face in enumerate(result["faces"]):
                print(face_line(photo, k, face))
            if not result["faces"]:
                print(f"{photo}\t{'unreadable' if 'error' in result else 'no face'}")
        for k, face in enumerate(result["faces"]):
            box = " ".join(map(str, face["box"]))
            rows.append([photo, k, box, face["person"], face["distance"], face["max_distance"]])
        if args.out_dir:
            annotate_photo(
                photo, result, None, annotated_path(args.out_dir, photo, found_under, taken)
            )
    if args.csv:
        write_csv(args.csv, ["path", "face", "box", "person", "distance", "max_distance"], rows)
    said = {k: v for k, v in outcome.counts.items() if k not in ("yes",)}
    say("summary: " + ", ".join(f"{k} {v}" for k, v in {**said, **counts}.items()))
    return outcome.exit_code()


def _identify_parser(sub) -> None:
    p = sub.add_parser(
        "identify",
        formatter_class=options.FORMATTER,
        help="name every face in photos from a gallery",
        description="Exit code 0: someone known was found; 1: faces, all unknown; 4: no face; "
        "3: nothing readable. With --index FILE, every face of an index (`facetransfer index`) "
        "is named without reading a photo.",
    )
    options.add_photos(p, nargs="*")
    options.add_index(p)
    p.add_argument("--gallery", type=Path, required=True, help="a gallery folder from `enrol`")
    p.add_argument(
        "--base",
        default=None,
        help="the base the gallery was enrolled on, when it is a file that is neither carried "
        "in the gallery folder nor where it was (default: found by the gallery)",
    )
    options.add_max_distance(p, "accept a face this close to a person, for every person")
    options.add_detector(p)
    options.add_json(p)
    options.add_csv(p)
    options.add_out_dir(p, "write a PNG per photo with named face boxes here")
    options.add_common(p)
    p.set_defaults(func=cmd_identify)


# -- verify ----------------------------------------------------------------------------------


def cmd_verify(args) -> int:
    options.check_photos([args.first, args.second], recursive=args.recursive)
    options.check_base(args.base)
    if args.max_distance is None:
        options.check_rate(args.base, args.target_false_accept)
    from facetransfer import api

    answer = api.verify(
        _photos_of(args.first, args.recursive),
        _photos_of(args.second, args.recursive),
        base=args.base,
        target_false_accept=args.target_false_accept,
        max_distance=args.max_distance,
        min_face_confidence=args.min_face_confidence,
    )
    if args.json:
        print(to_json(answer))
    else:
        said = "same person" if answer["same"] else "different people"
        how = (
            f"{answer['target_false_accept']:.2%} false accepts"
            if answer["target_false_accept"] is not None
            else "given"
        )
        print(
            f"distance {answer['distance']:.4f}, max distance {answer['max_distance']:.4f} "
            f"({how}): {said}"
        )
    return ExitCode.OK if answer["same"] else ExitCode.NO


def _photos_of(item: str, recursive: bool):
    """A photo as a path; a folder as a pseudo-folder of its photos (the API takes a folder)."""
    path = Path(item)
    if path.is_dir() and recursive:
        from facetransfer.api import photos_in

        return photos_in(path, recursive=True)
    return path


def _verify_parser(sub) -> None:
    p = sub.add_parser(
        "verify",
        formatter_class=options.FORMATTER,
        help="are the faces in two photos the same person?",
        description="Exit code 0: same person; 1: different people; 4: no face in a photo; "
        "3: a photo missing or unreadable.",
    )
    p.add_argument("first", metavar="PHOTO", help="a photo (or a folder of one person's photos)")
    p.add_argument("second", metavar="PHOTO", help="a photo (or a folder of one person's photos)")
    options.add_recursive(p)
    options.add_base(p)
    options.add_target_false_accept(p, "different people accepted")
    options.add_max_distance(p, "same person at this distance or closer (instead of the target)")
    options.add_detector(p)
    options.add_json(p, "the answer as one JSON object")
    options.add_common(p)
    p.set_defaults(func=cmd_verify)


# -- find ------------------------------------------------------------------------------------


def cmd_find(args) -> int:
    if args.index is not None:
        from facetransfer.cli import library

        return library.find(args)
    if args.photo is None or args.folder is None or args.person is not None:
        raise UsageError("find needs PHOTO FOLDER (or --index FILE with PHOTO or --person NAME)")
    options.check_photos([args.photo])
    options.check_photos([args.folder], recursive=args.recursive)
    if Path(args.photo).is_dir():
        raise UsageError(f"{args.photo}: a folder; find takes one photo of the person")
    options.check_base(args.base)
    if args.max_distance is None:
        options.check_rate(args.base, args.target_false_accept)
    from facetransfer import api

    hits = api.find(
        args.photo,
        args.folder,
        base=args.base,
        target_false_accept=args.target_false_accept,
        max_distance=args.max_distance,
        min_face_confidence=args.min_face_confidence,
        recursive=args.recursive,
    )
    for hit in hits:
        if args.json:
            print(to_json(hit))
        else:
            print(f"{hit['path']}\tface {hit['face']}\tdistance {hit['distance']:.4f}")
    say(f"{len(hits)} faces of the person of {args.photo} in {args.folder}")
    return ExitCode.OK if hits else ExitCode.NO


def _find_parser(sub) -> None:
    p = sub.add_parser(
        "find",
        formatter_class=options.FORMATTER,
        help="the photos of a folder that show the person of a photo, closest first",
        description="Exit code 0: found; 1: nobody like them; 4: no face in PHOTO. With --index "
        "FILE, the faces of an index instead of FOLDER: of the person of PHOTO, or of --person "
        "NAME enrolled in --gallery.",
    )
    p.add_argument(
        "photo", nargs="?", metavar="PHOTO", help="a photo of the person (its largest face)"
    )
    p.add_argument("folder", nargs="?", metavar="FOLDER", help="the photos to look through")
    options.add_index(p)
    p.add_argument("--person", default=None, metavar="NAME", help="with --index: this person")
    p.add_argument("--gallery", type=Path, default=None, help="with --person: their gallery")
    options.add_recursive(p)
    options.add_base(p)
    options.add_target_false_accept(p, "different people accepted")
    options.add_max_distance(p, "a face this close or closer is the person")
    options.add_detector(p)
    options.add_json(p, "one JSON object per face found")
    options.add_common(p)
    p.set_defaults(func=cmd_find)


def register(sub) -> None:
    for add in (_enrol_parser, _identify_parser, _verify_parser, _find_parser):
        add(sub)
