"""The house rules, checked: imports run one way (import-linter's contracts in pyproject.toml),
calls with many parameters read by name, modules stay small, private names stay private, and the
development machines' paths stay out of the package."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "facetransfer"
MODULES = sorted(PACKAGE.rglob("*.py"))
MAX_POSITIONAL = 4
MAX_LINES = 450
# The flow of the import contract, top first: each of these in a layer below the one before.
STAGE_ORDER = [
    "facetransfer.cli",
    "facetransfer.modeling",
    "facetransfer.data",
    "facetransfer.config",
]


def _functions(tree):
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node


def _contracts() -> list[dict]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text()).get("tool", {})
    linter = config.get("importlinter")
    assert linter, "pyproject.toml has no [tool.importlinter]: the import contracts are gone"
    assert linter.get("root_package") == "facetransfer"
    contracts = linter.get("contracts") or []
    assert contracts, "[tool.importlinter] lists no [[tool.importlinter.contracts]]"
    return contracts


def _top_level_modules() -> set[str]:
    """facetransfer's stages: every sub-package and top-level module but the package itself."""
    return {
        f"facetransfer.{p.stem if p.is_file() else p.name}"
        for p in PACKAGE.iterdir()
        if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").exists()
    }


def test_the_import_contracts_list_every_stage_in_order():
    """The layers contract names every top-level module of the package, the CLI on top and config
    at the bottom (a module in no layer may import anything), and a cycles contract covers the
    package: deleting or thinning either in pyproject.toml fails here."""
    contracts = _contracts()
    layers = [c for c in contracts if c.get("type") == "layers"]
    assert len(layers) == 1, f"one layers contract expected, found {len(layers)}"
    stages = [{m.strip() for m in layer.split("|")} for layer in layers[0].get("layers", [])]
    listed = [m for stage in stages for m in stage]
    assert len(listed) == len(set(listed)), f"a module in two layers: {listed}"
    missing = sorted(_top_level_modules() - set(listed))
    assert not missing, f"in no layer of the layers contract (pyproject.toml): {missing}"
    assert "facetransfer.cli" in stages[0], "the CLI is the top layer: nothing imports it"
    assert "facetransfer.config" in stages[-1], "config is the bottom layer: it imports no stage"
    order = [next(i for i, s in enumerate(stages) if m in s) for m in STAGE_ORDER]
    assert order == sorted(order), f"the stages' order is {STAGE_ORDER}, top first"
    cycles = [c for c in contracts if c.get("type") == "acyclic_siblings"]
    assert any("facetransfer" in c.get("ancestors", []) for c in cycles), (
        "no acyclic_siblings contract over facetransfer: import cycles would go unseen"
    )


def test_the_import_contracts_hold():
    names = [c["name"] for c in _contracts()]
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    if lint is None:
        pytest.skip("import-linter is not installed (requirements-dev.txt)")
    done = subprocess.run([lint], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    for name in names:
        assert re.search(rf"^{re.escape(name)} KEPT$", done.stdout, re.M), (
            f"lint-imports did not report {name!r} kept:\n{done.stdout[-3000:]}"
        )
    assert f"Contracts: {len(names)} kept, 0 broken." in done.stdout, done.stdout[-3000:]


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
