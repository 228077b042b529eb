"""The house rules, checked: imports run one way (import-linter's contracts in pyproject.toml),
calls with many parameters read by name, modules stay small, private names stay private, and the
development machines' paths stay out of the package."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "facetransfer"
MODULES = sorted(PACKAGE.rglob("*.py"))
MAX_POSITIONAL = 4
MAX_LINES = 450


def _functions(tree):
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node


def test_the_import_contracts_hold():
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    if lint is None:
        pytest.skip("import-linter is not installed (requirements-dev.txt)")
    done = subprocess.run([lint], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "broken" in done.stdout and ", 0 broken" in done.stdout


def test_functions_with_many_parameters_take_the_rest_by_keyword():
    offenders = []
    for path in MODULES:
        for fn in _functions(ast.parse(path.read_text())):
            positional = [a.arg for a in fn.args.posonlyargs + fn.args.args]
            positional = [a for a in positional if a not in ("self", "cls")]
            if len(positional) > MAX_POSITIONAL and not fn.name.startswith("_"):
                offenders.append(f"{path.relative_to(ROOT)}:{fn.lineno} {fn.name}{positional}")
    assert not offenders, "add `*` after the fourth parameter:\n" + "\n".join(offenders)


def test_no_module_is_too_long_to_read():
    long = [
        f"{p.relative_to(ROOT)}: {n}"
        for p in MODULES
        if (n := len(p.read_text().splitlines())) > MAX_LINES
    ]
    assert not long, long


def test_private_names_are_not_imported_from_other_modules():
    pattern = re.compile(r"^\s*from facetransfer[\w.]* import [^\n]*\b_[a-z]\w*", re.M)
    files = [*MODULES, *ROOT.glob("tests/**/*.py"), *ROOT.glob("benchmarks/*.py")]
    found = [str(f.relative_to(ROOT)) for f in files if pattern.search(f.read_text())]
    assert not found, found


def test_the_package_does_not_know_where_the_development_data_lives():
    """No string in the package names ../shared/data (comments saying where a constant was
    measured are fine): tests and benchmarks take it from tests/shared_data.py or a flag."""
    found = []
    for path in MODULES:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                if node.value == "shared" or "shared/data" in node.value:
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not found, found
