"""`facetransfer <command>`: the notebooks' steps and the face tools from a shell, calling the
same functions as the notebooks and the Python API.

  train:   prepare, train-attributes
  person:  transfer, predict, export
  people:  enrol, identify, verify, find, cluster
  library: index, merge-index (then identify / find / cluster --index FILE)
  faces:   detect, represent, analyze
  report:  a static HTML page of the groups and people (from cluster or an index)

Exit codes (the same for every command):
  0  done; for a question, yes (same person, someone known, someone accepted)
  1  a decision of no (verify: different people; identify/predict/find: nobody known)
  2  usage error (unknown option, a value out of its range)
  3  an input missing, unreadable or damaged (photo, folder, model, gallery)
  4  no face found where one was needed
  5  internal error (run again with -v for the traceback, and please report it)
  130 interrupted

Defaults come from `facetransfer.config` (print them with `python -m facetransfer.config`);
outputs go under the working directory, or --home / $FACETRANSFER_HOME.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import traceback

from facetransfer import config
from facetransfer.cli import clusters, faces, library, people, person, report, train
from facetransfer.errors import ExitCode, FacetransferError

log = logging.getLogger("facetransfer")


class Parser(argparse.ArgumentParser):
    """argparse with the tool's manners: a usage error is one line on stderr naming the command
    and where to read more (exit code 2), and an option is never guessed from its first letters."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str):
        where = "" if self.prog == "facetransfer" else f"{self.prog}: "  # not said twice
        self.exit(
            int(ExitCode.USAGE),
            f"facetransfer: error: {where}{message} (see `{self.prog} --help`)\n",
        )


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="facetransfer",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log everything")
    parser.add_argument(
        "--home",
        default=None,
        help=f"folder for models/, data/, logs/, reports/, fotos/ (default: ${config.HOME_VARIABLE}"
        ", else the working directory)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in (train, person, people, clusters, library, faces, report):
        module.register(sub)
    return parser


def _one_line(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return " ".join(text.split())  # a message spread over lines, as one


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)  # a usage error exits 2 here, before anything loads
    from facetransfer.progress import setup_logging

    setup_logging(args.verbose)
    previous_home = os.environ.get(config.HOME_VARIABLE)
    if args.home:
        os.environ[config.HOME_VARIABLE] = os.path.abspath(os.path.expanduser(str(args.home)))
    try:
        from facetransfer.cli.options import check_output_files

        check_output_files(args)
        return int(args.func(args))
    except FacetransferError as error:
        print(f"facetransfer: error: {_one_line(error)}", file=sys.stderr)
        return int(error.exit_code)
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError, PermissionError) as error:
        where = f"{error.filename}: " if getattr(error, "filename", None) else ""
        said = error.strerror or _one_line(error)
        print(f"facetransfer: error: {where}{said}", file=sys.stderr)
        return int(ExitCode.INPUT)
    except ValueError as error:  # the data stages' checks of what they read (labels, photos)
        print(f"facetransfer: error: {_one_line(error)}", file=sys.stderr)
        return int(ExitCode.INPUT)
    except KeyboardInterrupt:
        print("facetransfer: interrupted", file=sys.stderr)
        return int(ExitCode.INTERRUPTED)
    except BrokenPipeError:  # `| head` read what it wanted: stop quietly, as `ls | head` does
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no error at exit
        return int(ExitCode.PIPE_CLOSED)
    except Exception as error:  # a fault of ours: one line, the traceback with -v
        if args.verbose:
            traceback.print_exc()
        print(
            f"facetransfer: internal error: {type(error).__name__}: {_one_line(error)} "
            "(run with -v for the traceback; please report it)",
            file=sys.stderr,
        )
        return int(ExitCode.INTERNAL)
    finally:
        if previous_home is None:
            os.environ.pop(config.HOME_VARIABLE, None)
        else:
            os.environ[config.HOME_VARIABLE] = previous_home


if __name__ == "__main__":
    sys.exit(main())
