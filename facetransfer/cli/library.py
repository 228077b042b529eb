"""`index` and `merge-index`: a photo library described once into an index file (SQLite); and
the people commands' `--index FILE` form (identify, find, cluster), answered from the index
without reading a photo. docs/library.md has the schema and the shards.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from facetransfer import config
from facetransfer.cli import options
from facetransfer.cli.output import face_line, say, to_json, write_csv
from facetransfer.errors import ExitCode, InputError, NoFaceError, UsageError

log = logging.getLogger("facetransfer")


def index_file(value) -> Path:
    """--index FILE, or library.sqlite under --home / the working directory."""
    return Path(value) if value is not None else config.home() / "library.sqlite"


def check_index(path) -> Path:
    """An index file that is there and opens (schema checked) before any model loads."""
    from facetransfer.library import store

    store.connect(options.check_file(path, "index file")).close()
    return Path(path)


def _shard(text: str) -> tuple[int, int]:
    import argparse

    part, _, total = text.partition("/")
    if not (part.isdigit() and total.isdigit() and 0 <= int(part) < int(total)):
        raise argparse.ArgumentTypeError(f"{text!r}: expected K/N with 0 <= K < N, e.g. 0/4")
    return int(part), int(total)


# -- index -----------------------------------------------------------------------------------


def cmd_index(args) -> int:
    options.check_photos(args.library, recursive=args.recursive)
    options.check_base(args.base)
    target = index_file(args.index)
    if target.exists() and target.stat().st_size:  # (an empty file is an empty database)
        check_index(target)
    from facetransfer.library.index import index_library

    summary = index_library(
        args.library,
        target,
        base=args.base,
        recursive=args.recursive,
        min_face_confidence=args.min_face_confidence,
        shard=args.shard,
        progress=True,
    )
    if summary.photos and summary.counts["skipped"] == summary.photos:  # (recorded as skipped)
        path, why = summary.skipped[0]
        if summary.photos == 1:
            raise InputError(f"{path}: {why}")
        raise InputError(
            f"none of the {summary.photos} photos could be read (first: {path}: {why})"
        )
    for path, why in summary.skipped:  # recorded in the index too, with the same reason
        log.warning("skipped %s: %s", path, why)
    if args.json:
        print(to_json({"index": str(target), **summary.as_dict()}))
    say(f"{target}: {summary}; {_index_totals(target)}")
    return ExitCode.OK


def _index_totals(target: Path) -> str:
    """What the index holds now, all runs together."""
    from facetransfer.library import store

    db = store.connect(target)
    try:
        photos, skipped = db.execute(
            "SELECT COUNT(*), COALESCE(SUM(status = 'skipped'), 0) FROM photos "
            "WHERE status != 'removed'"
        ).fetchone()
        faces = db.execute(
            "SELECT COUNT(*) FROM faces f JOIN photos p ON p.hash = f.hash WHERE p.status = 'ok'"
        ).fetchone()[0]
    finally:
        db.close()
    return f"the index holds {photos} photos ({skipped} unreadable) and {faces} faces"


def _index_parser(sub) -> None:
    p = sub.add_parser(
        "index",
        formatter_class=options.FORMATTER,
        help="describe every face of a photo library once, into an index file",
        description="Detects, aligns and describes every face of every photo once, into an "
        "SQLite index. Run it again to add new photos, re-do edited ones and mark removed "
        "ones; a moved photo is found by its content. Killed, it resumes where it stopped. "
        "Exit code 3: a library or the index missing or unreadable.",
    )
    p.add_argument("library", nargs="+", metavar="LIBRARY", help="photo folders or files")
    options.add_recursive(p)
    p.add_argument(
        "--index", type=Path, default=None, help="the index file (default: library.sqlite)"
    )
    p.add_argument(
        "--shard",
        type=_shard,
        default=None,
        metavar="K/N",
        help="only the photos whose content hash falls in shard K of N (merge-index joins them)",
    )
    options.add_base(p)
    options.add_detector(p)
    options.add_json(p, "the summary as one JSON object")
    options.add_common(p)
    p.set_defaults(func=cmd_index)


# -- merge-index -------------------------------------------------------------------------------


def cmd_merge(args) -> int:
    for shard in args.shards:
        check_index(shard)
    target = index_file(args.index)
    from facetransfer.library.shards import merge

    counts = merge(args.shards, target)
    say(f"{target}: {counts['photos']} photos, {counts['faces']} faces from {len(args.shards)}")
    return ExitCode.OK


def _merge_parser(sub) -> None:
    p = sub.add_parser(
        "merge-index",
        formatter_class=options.FORMATTER,
        help="merge index shards (index --shard K/N) into one index",
        description="Copies every shard's photos and faces into --index (made when missing).",
    )
    p.add_argument("shards", nargs="+", metavar="SHARD", help="index files made with --shard")
    p.add_argument("--index", type=Path, default=None, help="the merged index file")
    options.add_common(p)
    p.set_defaults(func=cmd_merge)


def register(sub) -> None:
    _index_parser(sub)
    _merge_parser(sub)


# -- the people commands on an index ----------------------------------------------------------


def identify(args) -> int:
    """identify --index FILE --gallery G: every indexed face named, one JSON object per photo."""
    check_index(args.index)
    from facetransfer.library import queries
    from facetransfer.modeling.gallery_files import load_gallery

    gallery = load_gallery(args.gallery)  # (its folder checked first, by gallery_folder)
    faces = queries.load_faces(
        args.index, gallery.base.weights_sha256, min_face_confidence=args.min_face_confidence
    )
    answers = queries.identify_faces(faces, gallery, max_distance=args.max_distance)
    by_photo: dict[str, list] = {}
    for answer in answers:
        by_photo.setdefault(answer.pop("path"), []).append(answer)
    counts: dict[str, int] = {}
    for path, found in by_photo.items():
        for face in found:
            counts[face["person"]] = counts.get(face["person"], 0) + 1
        if args.json:
            print(to_json({"path": path, "faces": [_face(f) for f in found]}))
        else:
            for face in found:
                print(face_line(path, face["face"], face))
    if args.csv:
        header = ["path", "face", "box", "person", "distance", "max_distance"]
        rows = [
            [
                p,
                f["face"],
                " ".join(map(str, f["box"])),
                f["person"],
                f["distance"],
                f["max_distance"],
            ]
            for p, found in by_photo.items()
            for f in found
        ]
        write_csv(args.csv, header, rows)
    said = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
    say(f"summary: {len(by_photo)} photos, {len(answers)} faces" + (f": {said}" if said else ""))
    if not answers:
        return ExitCode.NO_FACE
    return ExitCode.OK if any(a["person"] != "unknown" for a in answers) else ExitCode.NO


def _face(answer: dict) -> dict:
    return {k: v for k, v in answer.items() if k != "face"}


def find(args) -> int:
    """find --index FILE (--person NAME --gallery G | PHOTO): closest first, with distances."""
    check_index(args.index)
    if (args.person is None) == (args.photo is None):
        raise UsageError("find --index: give either --person NAME (with --gallery) or a PHOTO")
    if args.folder is not None:
        raise UsageError("find --index: the index replaces FOLDER; give one or the other")
    if args.person is not None:
        if args.gallery is None:
            raise UsageError("find --person needs --gallery (where the person is enrolled)")
        # answered from the index and the gallery alone: numpy, no TensorFlow to load
        from facetransfer.library import queries
        from facetransfer.modeling.gallery_files import load_gallery

        known = load_gallery(args.gallery)
        faces = queries.load_faces(
            args.index, known.base.weights_sha256, min_face_confidence=args.min_face_confidence
        )
        hits = queries.find_person(faces, known, args.person, max_distance=args.max_distance)
        who = args.person
    else:
        from facetransfer import api

        options.check_photos([args.photo])
        options.check_base(args.base)
        if args.max_distance is None:
            options.check_rate(args.base, args.target_false_accept)
        hits = api.find(
            args.photo,
            index=args.index,
            base=args.base,
            target_false_accept=args.target_false_accept,
            max_distance=args.max_distance,
            min_face_confidence=args.min_face_confidence,
        )
        who = f"the person of {args.photo}"
    for hit in hits:
        if args.json:
            print(to_json(hit))
        else:
            print(f"{hit['path']}\tface {hit['face']}\tdistance {hit['distance']:.4f}")
    say(f"{len(hits)} faces of {who} in {args.index}")
    return ExitCode.OK if hits else ExitCode.NO


def cluster(args) -> int:
    """cluster --index FILE: the faces no gallery names (all, without --gallery), grouped; the
    groups kept in the index, so a later run places only the new faces and names stay."""
    check_index(args.index)
    out = options.check_new_output(args.out_dir, "clusters output")
    wanted = options.namings(args.name)
    gallery = None
    if args.gallery is not None:
        from facetransfer.modeling.gallery_files import load_gallery

        gallery = load_gallery(args.gallery)
    from facetransfer.library import groups

    grouping = groups.group_index(
        args.index,
        gallery,
        target_false_accept=args.target_false_accept,
        max_distance=args.max_distance,
        min_face_confidence=args.min_face_confidence,
        regroup=args.regroup,
        names=wanted,
    )
    faces = grouping.faces
    if not len(faces):
        raise NoFaceError(f"{args.index}: no faces indexed")
    header = ["path", "face", "box", "name", "cluster"]
    rows = []
    for k, label in zip(grouping.rows.tolist(), grouping.labels.tolist(), strict=True):
        record = faces.record(k)
        name = grouping.names.get(label, "")
        rows.append([record["path"], record["face"], " ".join(map(str, record["box"])), name,
                     label])  # fmt: skip
    out.mkdir(parents=True, exist_ok=True)
    write_csv(out / "clusters.csv", header, rows)
    if args.json:  # the box as a list and no name as null, as every --json answer has them
        for path, face, box, name, label in rows:
            box = [int(v) for v in box.split()]
            print(to_json({"path": path, "face": face, "box": box, "name": name or None,
                           "cluster": label}))  # fmt: skip
    groups = grouping.groups()
    sheets = {}
    for group in groups:
        members = grouping.members(group)
        name = grouping.names.get(group)
        title = f"cluster {group}" + (f" ({name})" if name else "") + f": {len(members)} faces"
        sheets[group] = (title, [_face_ref(faces, k) for k in members[:SHEET_FACES]])
    write_sheets(out, sheets)
    for lost in grouping.lost_names:
        log.warning("the faces named %s are no longer one group: name them again", lost)
    named = sum(1 for g in groups if g in grouping.names)
    how = (
        f"grouped anew ({grouping.why})"
        if grouping.regrouped and grouping.why != "first grouping"
        else f"{grouping.placed} placed this run"
    )
    print(
        f"{len(rows)} unknown faces of {len(faces)} indexed: {len(groups)} groups ({named} "
        f"named), {int((grouping.labels == -1).sum())} faces in none, {how}; "
        f"{out / 'clusters.csv'}",
        file=sys.stderr if args.json else sys.stdout,
    )
    for group, name in wanted.items():
        table = [[faces.paths[k], int(faces.numbers[k]), _box_text(faces, k), group]
                 for k in grouping.members(group).tolist()]  # fmt: skip
        written = write_person_folder(out, name, table, group)
        say(f"cluster {group} -> {out / 'people' / name} ({len(written)} faces) for enrol")
    return ExitCode.OK


SHEET_FACES = 64  # faces drawn on a group's contact sheet (the title says how many it holds)
SHEETS_MANIFEST = ".sheets.json"  # which faces each cluster_*.png of a folder shows


def _box_text(faces, k: int) -> str:
    return " ".join(str(int(v)) for v in faces.boxes[k])


def _face_ref(faces, k: int) -> tuple[str, tuple[int, ...]]:
    return faces.paths[k], tuple(int(v) for v in faces.boxes[k])


def write_sheets(out: Path, sheets: dict) -> int:
    """One contact sheet per group, `out/cluster_<group>.png`, from {group: (title, faces)}
    (faces: (photo path, box), cut from the photos as each sheet is drawn, one photo in memory
    at a time; SHEET_FACES at most). Any other cluster_*.png in `out` (a previous run's) is
    removed. A sheet whose title, faces and photos (path, box, size, mtime) are those a previous
    run drew is kept as it is (out/.sheets.json records them), so a re-run redraws only the
    groups that changed. Returns how many were drawn."""
    import hashlib
    import json
    import os

    manifest = out / SHEETS_MANIFEST
    try:
        before = json.loads(manifest.read_text())
        before = before if isinstance(before, dict) else {}
    except (OSError, ValueError):
        before = {}
    now, drawn = {}, 0
    for group, (title, refs) in sheets.items():
        refs = list(refs)[:SHEET_FACES]
        name = f"cluster_{group}.png"
        key = hashlib.sha256(
            json.dumps([title, [[p, list(b), _stamp(p)] for p, b in refs]]).encode()
        ).hexdigest()
        now[name] = key
        if before.get(name) == key and (out / name).is_file():
            continue
        from facetransfer.report.annotate import contact_sheet  # (matplotlib: only to draw)

        partial = out / f".{name}.partial.png"
        try:
            contact_sheet(refs, partial, title, max_faces=SHEET_FACES)
            os.replace(partial, out / name)
        finally:
            partial.unlink(missing_ok=True)
        drawn += 1
    for stale in out.glob("cluster_*.png"):
        if stale.name not in now:
            stale.unlink(missing_ok=True)
    partial = out / f".{SHEETS_MANIFEST}.partial"
    partial.write_text(json.dumps(now, indent=0, sort_keys=True))
    os.replace(partial, manifest)
    return drawn


def _stamp(path) -> list[int] | None:
    try:
        stat = Path(path).stat()
    except OSError:
        return None
    return [stat.st_size, stat.st_mtime_ns]


def write_person_folder(out: Path, name: str, table: list[list], group: int) -> list[Path]:
    """`out/people/<name>/`: the faces of `table` (rows path, face, "x y w h", cluster) cut from
    their photos for `enrol`, written to a hidden folder renamed into place (a previous folder
    of that name replaced only once the new one is whole)."""
    import os
    import shutil

    import pandas as pd

    from facetransfer.modeling.clustering import FaceClusters, person_folder

    clusters = FaceClusters(pd.DataFrame(table, columns=["path", "face", "box", "cluster"]), None)
    target = out / "people" / name
    partial = out / "people" / f".{name}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    written = person_folder(clusters, group, partial)
    if target.exists():
        shutil.rmtree(target)
    os.replace(partial, target)
    return [target / w.name for w in written]
