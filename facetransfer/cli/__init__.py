"""`facetransfer <command>`: the parser and `main` live in `facetransfer.cli.app`; each command
group in its own module (train, person, people, clusters, library, faces, report) beside the
options they share (options) and how answers are printed (output).

`facetransfer.cli.main` and `facetransfer.cli.build_parser` are looked up on first use, so this
package imports none of its modules: a command module that reads `facetransfer.cli.options`
never loops back through the parser that registers it.
"""

from __future__ import annotations

import importlib


def __getattr__(name: str):
    if name in ("main", "build_parser", "Parser"):
        return getattr(importlib.import_module("facetransfer.cli.app"), name)
    raise AttributeError(f"module 'facetransfer.cli' has no attribute {name!r}")
