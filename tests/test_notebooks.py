"""The notebooks: each `.ipynb` is its jupytext source (`NN_name.py`) without outputs, and all four
run top to bottom with papermill, at the "ci" run size of the defaults table, into a temporary
project."""

from __future__ import annotations

import json
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


def _cells(notebook) -> list[tuple[str, str, tuple[str, ...]]]:
    return [
        (c["cell_type"], "".join(c["source"]).strip(), tuple(c["metadata"].get("tags", [])))
        for c in notebook["cells"]
    ]


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


@pytest.mark.slow
def test_notebooks_run_top_to_bottom(tmp_path):
    papermill = pytest.importorskip("papermill")
    dirs = {name: str(tmp_path / name) for name in ("data", "models", "logs", "reports")}
    params = {f"{k}_dir": v for k, v in dirs.items()}
    for name in ORDER:
        papermill.execute_notebook(
            str(NOTEBOOKS / f"{name}.ipynb"),
            str(tmp_path / f"{name}.ipynb"),
            parameters=params | RUN_SIZES["ci"][name],
            kernel_name="python3",
            cwd=str(NOTEBOOKS),
            progress_bar=False,
        )
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
