# Two commands for a newcomer: `make demo` and `make test`. Everything runs on a CPU, offline.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PAPERMILL := $(PY) -m papermill --kernel python3 --log-output --cwd notebooks
EXECUTED := notebooks/executed

# Notebook sizes: demo runs the whole pipeline on the drawn default data in a few minutes;
# ci is the tiniest run that still executes every cell.
DEMO_PARAMS := -p epochs 4 -p improved_epochs 4
DEMO_TRANSFER := -p seed_epochs 60 -p improved_epochs 30
CI_PARAMS := -p synthetic_size tiny -p epochs 1 -p improved_epochs 1
CI_TRANSFER := -p synthetic_size tiny -p seed_epochs 2 -p improved_epochs 2

.PHONY: venv demo test notebooks-ci tensorboard lint clean-notebooks

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	$(PY) -m pip install -q --no-deps --no-build-isolation -e .
	touch $@

demo: venv
	mkdir -p $(EXECUTED)
	$(PAPERMILL) notebooks/01_celeba_preprocessing.ipynb $(EXECUTED)/01_celeba_preprocessing.ipynb
	$(PAPERMILL) notebooks/02_attribute_cnn.ipynb $(EXECUTED)/02_attribute_cnn.ipynb $(DEMO_PARAMS)
	$(PAPERMILL) notebooks/03_transfer_learning.ipynb $(EXECUTED)/03_transfer_learning.ipynb $(DEMO_TRANSFER)
	$(PAPERMILL) notebooks/04_predict.ipynb $(EXECUTED)/04_predict.ipynb
	@echo "Executed notebooks: $(EXECUTED)/  models: models/  TensorBoard: make tensorboard"

test: venv
	$(PY) -m pytest -q

tensorboard: venv
	$(VENV)/bin/tensorboard --logdir logs

lint: venv
	$(VENV)/bin/ruff check .

# Notebooks are committed without outputs: regenerate them from tools/make_notebooks.py.
clean-notebooks: venv
	$(PY) tools/make_notebooks.py
