"""The notebooks: each `.ipynb` is its jupytext source (`NN_name.py`) without outputs; the run
sizes name parameters each notebook has; and all four run top to bottom with papermill, at the
"ci" run size of the defaults table, into a temporary project, printing nothing on stderr that
the allow-list below does not expect."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import jupytext
import pytest

from facetransfer.config import RUN_SIZES

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
ORDER = [
    "01_celeba_preprocessing",
    "02_attribute_cnn",
    "03_transfer_learning",
    "04_predict",
]

# What a notebook run at the "ci" size may print on stderr: (notebooks, a line's pattern, why).
# Anything else on stderr fails the run: a learner reads a notebook's stderr as "something is
# wrong". Keep it short; each entry says why the line is expected.
EXPECTED_STDERR = [
    (
        ("02_attribute_cnn",),
        r"^WARNING facetransfer\.modeling\.student: the student's distances are not calibrated",
        "True at this size: the tiny drawn data has too few pairs of different people to "
        "calibrate the student at 0.1% false accepts.",
    ),
    (
        ("03_transfer_learning",),
        r"^WARNING facetransfer\.data\.intake: aligned (?!.*, \d+ ).*skipped \d+: \d+ no face",
        "Some drawn faces are too stylised for the face detector: one line says how many (and "
        "that no face was the only cause).",
    ),
    (
        ("03_transfer_learning",),
        r"^INFO: Created TensorFlow Lite XNNPACK delegate for CPU\.$",
        "TensorFlow Lite's own C++ logger, which TF_CPP_MIN_LOG_LEVEL does not reach, when the "
        "export checks its .tflite file.",
    ),
]


def _cells(notebook) -> list[tuple[str, str, tuple[str, ...]]]:
    return [
        (c["cell_type"], "".join(c["source"]).strip(), tuple(c["metadata"].get("tags", [])))
        for c in notebook["cells"]
    ]


def _parameters_cell(name: str) -> str:
    source = jupytext.read(NOTEBOOKS / f"{name}.py")
    tagged = [c for c in source["cells"] if "parameters" in c["metadata"].get("tags", [])]
    assert len(tagged) == 1, f"{name}: one cell tagged 'parameters'"
    return "".join(tagged[0]["source"])


def assigned_names(code: str) -> set[str]:
    """The names a cell assigns at its top level (`a = ...`, `a, b = ...`, `a: int = ...`)."""

    def names(target) -> set[str]:
        if isinstance(target, ast.Name):
            return {target.id}
        if isinstance(target, (ast.Tuple, ast.List)):
            return set().union(*map(names, target.elts))
        if isinstance(target, ast.Starred):
            return names(target.value)
        return set()  # an attribute or an item: not a variable of the notebook

    assigned = set()
    for node in ast.parse(code).body:
        targets = node.targets if isinstance(node, ast.Assign) else []
        if isinstance(node, ast.AnnAssign):
            targets = [node.target]
        for target in targets:
            assigned |= names(target)
    return assigned


def unexpected_stderr(name: str, executed: dict) -> list[str]:
    """Each stderr line of an executed notebook that EXPECTED_STDERR does not allow there, as
    "cell N: line"; also any progress widget left in the saved notebook."""
    allowed = [re.compile(pattern) for names, pattern, _ in EXPECTED_STDERR if name in names]
    found = []
    for number, cell in enumerate(executed["cells"]):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and output.get("name") == "stderr":
                text = "".join(output["text"])
                for line in re.split(r"[\r\n]+", text):
                    if line.strip() and not any(p.search(line) for p in allowed):
                        found.append(f"cell {number}: {line[:300]}")
            data = output.get("data", {})
            if any("widget" in kind for kind in data):
                found.append(f"cell {number}: a widget left in the saved notebook")
    if executed.get("metadata", {}).get("widgets"):
        found.append("widget state saved in the notebook's metadata")
    return found


@pytest.mark.parametrize("name", ORDER)
def test_each_notebook_is_its_source_without_outputs(name):
    committed = json.loads((NOTEBOOKS / f"{name}.ipynb").read_text())
    source = jupytext.read(NOTEBOOKS / f"{name}.py")
    assert _cells(committed) == _cells(source), (
        f"notebooks/{name}.ipynb differs from notebooks/{name}.py: run `make notebooks`"
    )
    tagged = [c for c in committed["cells"] if "parameters" in c["metadata"].get("tags", [])]
    assert len(tagged) == 1, f"{name}: one cell tagged 'parameters'"
    for cell in committed["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None, name


def test_every_notebook_has_a_size_for_each_run():
    for sizes in RUN_SIZES.values():
        assert set(sizes) == set(ORDER)


@pytest.mark.parametrize("name", ORDER)
def test_run_sizes_set_parameters_the_notebook_has(name):
    """papermill only warns about a parameter the notebook does not have: a renamed one would
    run the notebook at full size in CI, or the demo at the wrong size."""
    names = assigned_names(_parameters_cell(name))
    assert "home" in names, f"{name}: the parameters cell sets `home`, the project folder"
    for size, notebooks in RUN_SIZES.items():
        unknown = set(notebooks[name]) - names
        assert not unknown, f"RUN_SIZES[{size!r}][{name!r}] sets {sorted(unknown)}: not parameters"


def test_assigned_names_reads_the_parameters_cell_as_python():
    code = 'from x import Y\na = 1  # "b = 2" is a comment\nc, (d, e) = Y\nf: int = 3\ng.h = 4\n'
    assert assigned_names(code) == {"a", "c", "d", "e", "f"}


def test_the_stderr_check_allows_only_what_it_lists():
    def executed(*lines):
        outputs = [{"output_type": "stream", "name": "stderr", "text": line} for line in lines]
        return {"cells": [{"cell_type": "code", "outputs": outputs}], "metadata": {}}

    student = "WARNING facetransfer.modeling.student: the student's distances are not calibrated\n"
    h5 = "WARNING absl: You are saving your model as an HDF5 file via `model.save()` or ...\n"
    drawn = (
        "WARNING facetransfer.data.intake: aligned 71 of 80 photos; skipped 9: 9 no face found"
        " | aligned 38 of 40 CelebA negatives; skipped 2: 2 no face found; the list: ...\n"
    )
    assert unexpected_stderr("02_attribute_cnn", executed(student, "\r\n")) == []
    assert unexpected_stderr("03_transfer_learning", executed(drawn)) == []
    assert unexpected_stderr("03_transfer_learning", executed(student)) != []  # not expected there
    assert unexpected_stderr("02_attribute_cnn", executed(h5)) == [f"cell 0: {h5.strip()}"]
    mixed = drawn.replace("9 no face found", "8 no face found, 1 empty file")
    assert unexpected_stderr("03_transfer_learning", executed(mixed)) != []
    bar = "caching 192px:   0%|          | 0/200 [00:00<?, ?it/s]"
    shuffle = "/x/epoch_iterator.py:74: UserWarning: `shuffle=True` was passed, but will be ignored"
    for line in (bar, shuffle, "INFO facetransfer.data.cache: cached 200 images"):
        assert unexpected_stderr("03_transfer_learning", executed(line)) == [f"cell 0: {line}"]
    widget = executed()
    widget["cells"][0]["outputs"] = [
        {"output_type": "display_data", "data": {"application/vnd.jupyter.widget-view+json": {}}}
    ]
    left = unexpected_stderr("04_predict", widget)
    assert left == ["cell 0: a widget left in the saved notebook"]


@pytest.mark.slow
def test_notebooks_run_top_to_bottom(tmp_path, monkeypatch):
    papermill = pytest.importorskip("papermill")
    unexpected = []
    with monkeypatch.context() as kernel_env:  # each kernel starts as in a learner's Jupyter:
        kernel_env.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)  # the notebook's to set
        kernel_env.delenv("PYTEST_CURRENT_TEST")  # with it, ipykernel leaves C++ output uncaught
        for name in ORDER:
            executed = papermill.execute_notebook(
                str(NOTEBOOKS / f"{name}.ipynb"),
                str(tmp_path / f"{name}.ipynb"),
                parameters={"home": str(tmp_path)} | RUN_SIZES["ci"][name],
                kernel_name="python3",
                cwd=str(NOTEBOOKS),
                progress_bar=False,
            )
            unexpected += [f"{name}, {line}" for line in unexpected_stderr(name, executed)]
    models = tmp_path / "models"
    for name in ("seed_model1", "seed_model2", "seed_model3", "improved", "paco", "paco_seed"):
        assert (models / f"{name}.h5").exists(), name
    import keras

    for path in models.glob("*.h5"):  # what a user does with them: plain load_model, compiled
        keras.models.load_model(path)
    runs = {p.name.rsplit("-", 2)[0] for p in (tmp_path / "logs" / "02_attribute_cnn").iterdir()}
    assert runs == {"model1", "model2", "model3", "improved"}
    figures = {p.name for p in (tmp_path / "reports" / "figures").glob("*.png")}
    assert {
        "01_attribute_frequencies.png",
        "02_training_curves.png",
        "03_roc.png",
        "04_predictions.png",
    } <= figures
    assert len(list((tmp_path / "reports" / "predictions").glob("*.png"))) == 4
    assert not unexpected, "stderr the notebooks should not print:\n" + "\n".join(unexpected)
