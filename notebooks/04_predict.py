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
# # 04 · Predict: is this photo the person?
#
# Points the saved person model at photos: every face in each photo is detected, aligned like CelebA's
# crops and scored; each photo's answer is its most likely face, compared with the threshold saved
# beside the model. A PNG per photo with labelled boxes goes to `reports/predictions/`.
#
# The same thing from a shell: `facetransfer predict --model models/paco.h5 PHOTOS... --json`.

# %% tags=["parameters"]
person = "paco"
model_path = None          # None: models/<person>.h5
photos = None              # a folder or file of photos; None: the test photos of notebook 03's split
limit = 24                 # at most this many photos
data_dir = None
models_dir = None
logs_dir = None
reports_dir = None

# %%
from pathlib import Path

import pandas as pd
from IPython.display import display

from facetransfer.config import Paths
from facetransfer.data.images import list_images, read_rgb
from facetransfer.modeling.predict import PredictionCounts, load_person_model, predict_photo
from facetransfer.progress import progress_bar, setup_logging
from facetransfer.report import plots
from facetransfer.report.annotate import annotate_photo

setup_logging()
paths = Paths(data=data_dir, models=models_dir, logs=logs_dir, reports=reports_dir)
figures = paths.reports / "figures"

# %%
model_path = Path(model_path) if model_path else paths.models / f"{person}.h5"
recogniser = load_person_model(model_path)
print(f"{model_path}: {recogniser.person!r}, threshold {recogniser.threshold:.4f}, "
      f"face alignment {'on' if recogniser.align else 'off (drawn faces)'}")
if photos is None:
    split = pd.read_csv(model_path.with_suffix(".split.csv"))
    chosen = [Path(p) for p in split.loc[split["split"] == "test", "path"]]
else:
    chosen = list_images(photos) if Path(photos).is_dir() else [Path(photos)]
chosen = chosen[:limit]
print(len(chosen), "photos")

# %%
counts = PredictionCounts(recogniser.person)
results = [predict_photo(recogniser, p) for p in progress_bar(chosen, desc="predicting")]
table = pd.DataFrame({
    "photo": [Path(r["path"]).name for r in results],
    "faces": [len(r["faces"]) for r in results],
    "probability": [r["probability"] for r in results],
    "decision": [counts.add(r) for r in results],
})
display(table)
print(counts)

# %%
out_dir = paths.reports / "predictions"
pngs = [annotate_photo(r["path"], r, recogniser.person, out_dir) for r in results]
shown = [p for p in pngs if p is not None][:12]
if shown:
    fig = plots.image_grid([read_rgb(p) for p in shown],
                           [p.stem for p in shown], ncols=6, title="Annotated predictions")
    plots.save_figure(fig, figures / "04_predictions.png");
print("annotated photos in", out_dir)
