"""`report`: the faces of a library as a static HTML page (no server, no network, no JavaScript
needed): each person and each unnamed group a row of face thumbnails linking to the photos, with
counts, then the faces in no group and the photos where nobody was found.

From `facetransfer cluster`'s output folder (--clusters DIR: its clusters.csv), or from the photo
index (--index FILE). Inputs are checked before anything heavy loads.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

from facetransfer import config
from facetransfer.cli import options
from facetransfer.cli.output import say
from facetransfer.errors import ExitCode, InputError, UsageError


def cmd_report(args) -> int:
    if args.out_dir is None:
        raise UsageError("report needs --out-dir DIR, the folder the page is written to")
    out = options.check_new_output(args.out_dir, "report")
    if args.index is not None:
        if args.name or args.photos:
            raise UsageError("--name and PHOTO go with --clusters; with --index, --gallery names")
        options.check_file(args.index, "photo index file (from `facetransfer index`)")
        if args.gallery is not None:
            from facetransfer.modeling.gallery_files import gallery_folder

            gallery_folder(args.gallery)
    else:
        folder = options.check_folder(args.clusters, "clusters folder (from `cluster`)")
        table = options.check_file(folder / "clusters.csv", "clusters.csv in the clusters folder")
        if args.photos:
            options.check_photos(args.photos, recursive=args.recursive)
    wanted = options.namings(args.name)

    from facetransfer.report.html import MAX_FACES_SHOWN, groups_from_clusters_csv, write_report

    if args.index is not None:
        from facetransfer.library.pages import index_report

        summary = index_report(
            args.index,
            out,
            gallery=args.gallery,
            target_false_accept=args.target_false_accept,
            max_distance=args.max_distance,
            title=args.title,
            max_faces_shown=args.max_faces,
        )
        return _said(summary)
    else:
        photos = []
        if args.photos:
            from facetransfer.cli.photos import photo_list

            photos = [p for p, _ in photo_list(args.photos, args.recursive)]
        data = groups_from_clusters_csv(table, names=wanted, photos=photos)
        title = f"Faces in {Path(args.clusters).resolve().name or args.clusters}"
    if not (data.groups or data.ungrouped or data.no_face or data.skipped):
        raise InputError(f"{table}: no photos in it")
    summary = write_report(
        data.groups,
        data.no_face,
        out,
        ungrouped=data.ungrouped,
        skipped=data.skipped,
        title=args.title or title,
        max_faces_shown=args.max_faces or MAX_FACES_SHOWN,
    )
    return _said(summary)


def _said(summary) -> int:
    """The page's summary on stderr (unreadable photos in one line, by cause); exit 3 when no
    photo could be read."""
    if summary.unreadable:  # one line, by cause; the page lists them all
        causes = Counter(reason for _, reason in summary.unreadable).most_common()
        said = ", ".join(f"{n} {reason}" for reason, n in causes)
        first = summary.unreadable[0][0]
        say(f"could not read {len(summary.unreadable)} photos ({said}; first {first})")
    say(str(summary))
    if summary.photos and len(summary.unreadable) == summary.photos:
        raise InputError(f"none of the {summary.photos} photos could be read; the page lists them")
    return ExitCode.OK


def register(sub) -> None:
    p = sub.add_parser(
        "report",
        formatter_class=options.FORMATTER,
        help="a static HTML page of the people and groups found, with their photos",
        description="Writes DIR/index.html and DIR/thumbs/: each person and each unnamed group a "
        "row of face thumbnails linking to the photos, with counts, the faces in no group and "
        "the photos where nobody was found. Open it in any browser; links are relative to the "
        "page. Exit code 3: the input is missing or no photo could be read.",
    )
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--clusters",
        type=Path,
        metavar="DIR",
        help="a folder written by `facetransfer cluster` (its clusters.csv)",
    )
    source.add_argument(
        "--index", type=Path, metavar="FILE", help="a photo index from `facetransfer index`"
    )
    p.add_argument(
        "photos",
        nargs="*",
        metavar="PHOTO",
        help="with --clusters: the photos that were clustered (files or folders), so that those "
        "where nobody was found are shown too (clusters.csv lists faces only)",
    )
    options.add_recursive(p)
    options.add_out_dir(p, "the folder for index.html and thumbs/ (required)")
    p.add_argument("--out", dest="out_dir", type=Path, help=argparse.SUPPRESS)
    p.add_argument(
        "--name",
        action="append",
        metavar="CLUSTER=NAME",
        help="with --clusters: show that group as the person NAME (as `cluster --name`)",
    )
    p.add_argument(
        "--gallery",
        type=Path,
        default=None,
        help="with --index: name the people this gallery knows; the other faces are grouped",
    )
    options.add_target_false_accept(
        p, "with --index: pairs of different people grouped", config.GROUP_FALSE_ACCEPT
    )
    options.add_max_distance(p, "with --index: groups merge while their faces are this close")
    p.add_argument("--title", default=None, help="the page's title (default: from the input)")
    p.add_argument(
        "--max-faces",
        type=options.positive,
        default=None,
        metavar="N",
        help="thumbnails per group at most; the rest of its photos are listed as links "
        "(default: 60)",
    )
    options.add_common(p)
    p.set_defaults(func=cmd_report)
