# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 01 · CelebA preprocessing
#
# Reads CelebA's labels (the official `.txt` files or Kaggle's `.csv`), looks at how often each of the
# 40 attributes occurs, computes the **majority-class baseline** (always answering the commoner value of
# each attribute: about 0.805 mean accuracy on CelebA, the number any attribute model must beat), shows
# faces with their labels, and decodes every image once into the cache that `02_attribute_cnn` reads.
#
# With no CelebA in `data/celeba` (and no `celeba_dir`), it generates the embedded default: drawn faces in
# CelebA's layout, so every cell runs offline. Outputs go under `home` (the project folder: `data/`,
# `models/`, `logs/`, `reports/`), unless a folder of its own is given.

# %% tags=["parameters"]
from facetransfer.config import ARCHITECTURES

celeba_dir = None          # your CelebA folder (official or Kaggle layout); None: data/celeba, else drawn faces
synthetic_size = "default"  # size of the drawn default data: "tiny" (CI) or "default"
limit = None               # at most this many training images (None: all)
seed = 0                   # reaches every random choice
home = ".."                # the project folder the outputs go under (relative to this notebook)
data_dir = None            # None: <home>/data
models_dir = None          # None: <home>/models
logs_dir = None            # None: <home>/logs
reports_dir = None         # None: <home>/reports
image_size = ARCHITECTURES["seed"].image_size  # the seed's input size
crop = ARCHITECTURES["seed"].crop  # "full": whole 178x218 crop squashed square (the seed's); "face": central square
shown_attributes = ["Male", "Smiling", "Eyeglasses", "Wearing_Hat", "Blond_Hair", "Black_Hair",
                    "No_Beard", "Bangs"]  # named under the sample faces
faces_shown = 12           # sample faces drawn with their labels

# %%
from facetransfer.progress import setup_logging

setup_logging()  # first: TensorFlow, loaded by the imports below, then starts without its notices

from IPython.display import display

from facetransfer.config import Paths
from facetransfer.report import plots

paths = Paths(root=home, data=data_dir, models=models_dir, logs=logs_dir, reports=reports_dir)
figures = paths.reports / "figures"

# %% [markdown]
# ## The data

# %%
from facetransfer.data.celeba import load_celeba
from facetransfer.demo.sources import resolve_celeba

source = resolve_celeba(celeba_dir, paths, synthetic_size, seed)
print("Using:", source)
celeba = load_celeba(source.root, limit=limit, seed=seed)
print(celeba.describe())
celeba.attributes.head()

# %% [markdown]
# ## How often each attribute occurs
#
# Most attributes are rare (or, like `No_Beard`, almost always present), so a model that always answers
# "no" is already right most of the time.

# %%
rates = celeba.attributes.mean()
fig = plots.attribute_frequencies(rates, title=f"Attribute frequencies ({source.kind})")
plots.save_figure(fig, figures / "01_attribute_frequencies.png");

# %% [markdown]
# ## The majority-class baseline
#
# The commoner value of each attribute is learned on the training split and scored on every split.
# Every attribute accuracy in the next notebook is shown beside this number.

# %%
from facetransfer.report.evaluate import majority_table

baseline = majority_table(celeba, splits=("train", "validation", "test"))
display(baseline.round(3))
print("mean majority-class accuracy:", baseline[["train", "validation", "test"]].mean().round(4).to_dict())

# %% [markdown]
# ## Faces and their labels

# %%
from facetransfer.report import samples

fig = samples.labelled_faces(celeba, shown_attributes, faces_shown, seed=seed)
plots.save_figure(fig, figures / "01_faces.png");

# %% [markdown]
# ## The image cache
#
# Each image is decoded and resized once into a uint8 array on disk, keyed by the files, the size and the
# crop; `02_attribute_cnn` reads it memory-mapped. Re-running this cell reuses it.

# %%
from facetransfer.modeling.attributes import load_attribute_data

data = load_attribute_data(celeba, image_size, paths.cache, crop=crop)
print("images per split:", data.counts(), f"at {image_size}x{image_size}, crop {crop!r}")
print(f"{len(data.skipped)} unreadable images skipped")
