"""`cluster`: the faces of photos (or of a photo library's index) grouped by person, each group
a contact sheet, a named group cut into a person folder for `enrol`. The parser sits beside its
handler; inputs are checked before any model loads."""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from pathlib import Path

from facetransfer import config
from facetransfer.cli import options
from facetransfer.cli.output import say, to_json, write_csv
from facetransfer.errors import ExitCode, InputError, UsageError


def cmd_cluster(args) -> int:
    if args.index is not None:
        if args.photos:
            raise UsageError("cluster: give PHOTO... or --index FILE, not both")
        from facetransfer.cli import library

        return library.cluster(args)
    if args.regroup:
        raise UsageError("cluster --regroup (group a kept grouping again) needs --index FILE")
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
    from facetransfer.cli.library import write_person_folder, write_sheets
    from facetransfer.cli.photos import photo_list
    from facetransfer.modeling.clustering import UNGROUPED, cluster_photos

    embedder = api.embedder(args.base)
    photos = [p for p, _ in photo_list(args.photos, recursive=args.recursive)]
    with _skips_held() as held:  # said once each below, or as the one error when all fail
        clusters = cluster_photos(
            photos,
            embedder,
            target_false_accept=args.target_false_accept,
            max_distance=args.max_distance,
            min_face_confidence=args.min_face_confidence,
        )
    table = clusters.table
    if len(clusters.skipped) == len(photos):  # one line, as detect/identify say it
        from facetransfer.cli.photos import Unreadable
        from facetransfer.data.photo_files import ImageReadError

        unreadable = Unreadable()
        for path, reason in clusters.skipped:
            unreadable.skipped(ImageReadError(path, reason))
        raise unreadable.none_read() or InputError(f"none of the {len(photos)} photos read")
    for record in held:
        logging.getLogger(record.name).handle(record)
    if not len(table):
        from facetransfer.errors import NoFaceError

        raise NoFaceError(f"no face found in the {len(photos)} photos given")
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
    sheets = {}
    for cluster in sorted(set(table["cluster"]) - {UNGROUPED}):
        refs = clusters.faces(cluster)
        sheets[cluster] = (f"cluster {cluster}: {len(refs)} faces", refs)
    write_sheets(out, sheets)  # (a previous run's other cluster_*.png removed)
    if args.json:  # the box as a list, as every --json answer has it
        for row in table.to_dict("records"):
            print(to_json({**row, "box": [int(v) for v in str(row["box"]).split()]}))
    print(
        f"{len(table)} faces in {len(photos)} photos: {len(groups)} groups, "
        f"{int((table['cluster'] == UNGROUPED).sum())} faces in none"
        + (f", {len(clusters.skipped)} photos skipped" if clusters.skipped else "")
        + f"; {out / 'clusters.csv'}",
        file=sys.stderr if args.json else sys.stdout,
    )
    for cluster, name in wanted.items():
        written = write_person_folder(out, name, table.values.tolist(), cluster)
        say(f"cluster {cluster} -> {out / 'people' / name} ({len(written)} faces) for enrol")
    return ExitCode.OK


class _Held(logging.Filter):
    """Holds back the "skipped PHOTO: reason" warnings of cluster_photos."""

    def __init__(self):
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.WARNING and str(record.msg).startswith("skipped"):
            self.records.append(record)
            return False
        return True


@contextlib.contextmanager
def _skips_held():
    logger = logging.getLogger("facetransfer.modeling.clustering")
    held = _Held()
    logger.addFilter(held)
    try:
        yield held.records
    finally:
        logger.removeFilter(held)


def _cluster_parser(sub) -> None:
    p = sub.add_parser(
        "cluster",
        formatter_class=options.FORMATTER,
        help="group the faces of unlabelled photos by person",
        description="Writes DIR/clusters.csv (path, face, box, cluster; -1: in no group) and a "
        "contact sheet per group, cluster_K.png (a previous run's other sheets in DIR removed). "
        "Exit code 3: no photo readable; 4: no face in any photo. With --index FILE, the faces "
        "of an index that --gallery does not name (all of them without it), no photo read but "
        "for the sheets: the groups are kept in the index, so a later run places only the new "
        "faces, group ids stay and --name names a group there for good (clusters.csv gains a "
        "name column).",
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
        help="write that group's faces to DIR/people/NAME/, a person folder for enrol "
        "(with --index: the group keeps the name in the index)",
    )
    p.add_argument(
        "--regroup",
        action="store_true",
        help="with --index: group every face again (names move to the groups holding most "
        "of their faces) instead of placing only the new ones",
    )
    options.add_base(p)
    options.add_target_false_accept(
        p, "pairs of different people joined (grouping chains them)", config.GROUP_FALSE_ACCEPT
    )
    options.add_max_distance(p, "groups merge while their faces are this close on average")
    options.add_detector(p)
    options.add_json(p, "one JSON object per face")
    options.add_common(p)
    p.set_defaults(func=cmd_cluster)


def register(sub) -> None:
    _cluster_parser(sub)
