"""`cluster`: the faces of photos (or of a photo library's index) grouped by person, each group
a contact sheet, a named group cut into a person folder for `enrol`. The parser sits beside its
handler; inputs are checked before any model loads."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

from facetransfer.cli import options
from facetransfer.cli.output import say, to_json, write_csv
from facetransfer.errors import ExitCode, InputError, UsageError


def cmd_cluster(args) -> int:
    if args.index is not None:
        if args.photos:
            raise UsageError("cluster: give PHOTO... or --index FILE, not both")
        from facetransfer.cli import library

        return library.cluster(args)
    if args.gallery is not None:
        raise UsageError("cluster --gallery (leave the known people out) needs --index FILE")
    if not args.photos:
        raise UsageError("cluster needs PHOTO... (or --index FILE, an index of a library)")
    options.check_photos(args.photos, recursive=args.recursive)
    options.check_base(args.base)
    if args.max_distance is None:
        options.check_rate(args.base, args.target_false_accept)
    out = options.check_new_output(args.out_dir, "clusters output")
    wanted = options.namings(args.name)

    from facetransfer import api
    from facetransfer.cli.photos import photo_list
    from facetransfer.modeling.clustering import UNGROUPED, cluster_photos, person_folder
    from facetransfer.report.annotate import contact_sheet

    embedder = api.embedder(args.base)
    photos = [p for p, _ in photo_list(args.photos, recursive=args.recursive)]
    clusters = cluster_photos(
        photos,
        embedder,
        target_false_accept=args.target_false_accept,
        max_distance=args.max_distance,
        min_face_confidence=args.min_face_confidence,
    )
    table = clusters.table
    if not len(table):
        raise_no_face = len(clusters.skipped) < len(photos)
        if raise_no_face:
            from facetransfer.errors import NoFaceError

            raise NoFaceError(f"no face found in the {len(photos)} photos given")
        raise InputError(f"none of the {len(photos)} photos could be read")
    groups = table["cluster"].value_counts().drop(UNGROUPED, errors="ignore")
    unknown = sorted(set(wanted) - set(groups.index))
    if unknown:
        raise UsageError(
            f"--name: no group {', '.join(map(str, unknown))}; the groups are 0 to "
            f"{len(groups) - 1}"
        )
    out.mkdir(parents=True, exist_ok=True)
    header = list(table.columns)
    write_csv(out / "clusters.csv", header, table.values.tolist())
    for cluster in sorted(set(table["cluster"]) - {UNGROUPED}):
        rows = table.index[table["cluster"] == cluster]
        contact_sheet(
            clusters.faces(cluster),
            out / f"cluster_{cluster}.png",
            f"cluster {cluster}: {len(rows)} faces",
        )
    if args.json:
        for row in table.to_dict("records"):
            print(to_json(row))
    print(
        f"{len(table)} faces in {len(photos)} photos: {len(groups)} groups, "
        f"{int((table['cluster'] == UNGROUPED).sum())} faces in none; {out / 'clusters.csv'}",
        file=sys.stderr if args.json else sys.stdout,
    )
    for cluster, name in wanted.items():
        target = out / "people" / name
        partial = out / "people" / f".{name}.partial"
        shutil.rmtree(partial, ignore_errors=True)
        written = person_folder(clusters, cluster, partial)
        if target.exists():
            shutil.rmtree(target)
        os.replace(partial, target)
        say(f"cluster {cluster} -> {target} ({len(written)} faces) for enrol")
    return ExitCode.OK


def _cluster_parser(sub) -> None:
    p = sub.add_parser(
        "cluster",
        formatter_class=options.FORMATTER,
        help="group the faces of unlabelled photos by person",
        description="Writes DIR/clusters.csv (path, face, box, cluster; -1: in no group) and a "
        "contact sheet per group. Exit code 4: no face in any photo. With --index FILE, the "
        "faces of an index that --gallery does not name (all of them without it), no photo read.",
    )
    options.add_photos(p, nargs="*")
    options.add_index(p)
    p.add_argument(
        "--gallery", type=Path, default=None, help="with --index: leave out the faces it names"
    )
    options.add_out_dir(p, "where clusters.csv, the contact sheets and people/ go", "clusters")
    p.add_argument("--out", dest="out_dir", type=Path, help=argparse.SUPPRESS)
    p.add_argument(
        "--name",
        action="append",
        metavar="CLUSTER=NAME",
        help="write that group's faces to DIR/people/NAME/, a person folder for enrol",
    )
    options.add_base(p)
    options.add_target_false_accept(p, "different people merged into one group")
    options.add_max_distance(p, "groups merge while their faces are this close on average")
    options.add_detector(p)
    options.add_json(p, "one JSON object per face")
    options.add_common(p)
    p.set_defaults(func=cmd_cluster)


def register(sub) -> None:
    _cluster_parser(sub)
