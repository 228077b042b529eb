# Two commands for a newcomer: `make demo` and `make test`. Everything runs on a CPU, offline.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# Quiet (FACETRANSFER_QUIET=1): no progress bars, Keras one line per epoch, so neither the
# terminal's log nor the executed notebooks keep a line per progress update.
PAPERMILL := FACETRANSFER_QUIET=1 $(PY) -m papermill --kernel python3 --log-output --cwd notebooks
EXECUTED := notebooks/executed
NOTEBOOKS := 01_celeba_preprocessing 02_attribute_cnn 03_transfer_learning 04_predict
# Each notebook's parameters at the "demo" run size: facetransfer/config.py, RUN_SIZES.
demo_flags = $$($(PY) -m facetransfer.config papermill demo $(1))

.PHONY: venv demo test tensorboard lint notebooks

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	$(PY) -m pip install -q --no-deps --no-build-isolation -e .
	touch $@

demo: venv
	mkdir -p $(EXECUTED)
	@for nb in $(NOTEBOOKS); do \
		echo "== $$nb"; \
		$(PAPERMILL) notebooks/$$nb.ipynb $(EXECUTED)/$$nb.ipynb $(call demo_flags,$$nb) || exit 1; \
	done
	@echo "Executed notebooks: $(EXECUTED)/  models: models/  TensorBoard: make tensorboard"

# The import contracts (pyproject.toml, [tool.importlinter]) first: a cycle or an upward import
# fails before any test runs. Then every pin must resolve for Linux, macOS and Windows (exit 3:
# no package registry reachable, said and skipped).
test: venv
	$(VENV)/bin/lint-imports
	$(PY) tools/check_requirements.py > .requirements-check.log || { s=$$?; cat .requirements-check.log; [ $$s -eq 3 ]; }
	@tail -n 1 .requirements-check.log
	$(PY) -m pytest -q

tensorboard: venv
	$(VENV)/bin/tensorboard --logdir logs

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

# Notebooks are edited as their sources, notebooks/NN_name.py (or in JupyterLab, which jupytext
# keeps paired): sync both ways, newest wins, then commit the .ipynb without outputs.
notebooks: venv
	$(VENV)/bin/jupytext --sync notebooks/[0-9]*.py
	$(VENV)/bin/jupyter nbconvert --clear-output --inplace --log-level WARN notebooks/[0-9]*.ipynb
