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
# At the end, the frames of a video are labelled the same way (and a webcam's, in the last cell).

# %% tags=["parameters"]
person = "paco"
model_path = None          # None: models/<person>.h5
photos = None              # a folder or file of photos; None: the test photos of notebook 03's split
limit = 24                 # at most this many photos
video = None               # a video file to label; None: a short clip made from the photos above
every = 5                  # label every n-th frame of the video
video_frames = 12          # at most this many labelled frames
home = ".."                # the project folder the outputs go under (relative to this notebook)
data_dir = None            # None: <home>/data
models_dir = None          # None: <home>/models
logs_dir = None            # None: <home>/logs
reports_dir = None         # None: <home>/reports
library = None             # a folder of photos to index and show as a page; None: the photos above

# %%
from facetransfer.progress import setup_logging

setup_logging()  # first: TensorFlow, loaded by the imports below, then starts without its notices

from pathlib import Path

import pandas as pd
from IPython.display import display

from facetransfer.config import Paths
from facetransfer.data.images import list_images, read_rgb
from facetransfer.data.video import read_frames, write_video
from facetransfer.modeling.predict import (
    PredictionCounts,
    decision,
    load_person_model,
    predict_image,
)
from facetransfer.progress import progress_bar
from facetransfer.report import plots, samples

paths = Paths(root=home, data=data_dir, models=models_dir, logs=logs_dir, reports=reports_dir)
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
results = [predict_image(recogniser, p) for p in progress_bar(chosen, desc="predicting")]
display(samples.prediction_table(results, counts.add))
print(counts)

# %%
out_dir = paths.reports / "predictions"
pngs = samples.annotate_predictions(results, recogniser.person, out_dir)
fig = samples.photo_grid(pngs, title="Annotated predictions")
if fig is not None:
    plots.save_figure(fig, figures / "04_predictions.png");
print("annotated photos in", out_dir)

# %% [markdown]
# ## A library of photos, as a page
#
# A photo library is indexed once (`ft.index`: every face detected and described, into one SQLite
# file; run again, only new or changed photos cost anything), then answered from: here, a static
# HTML page (`ft.make_report`) with each group of faces as a row of thumbnails linking to the
# photos, and the photos where nobody was found. With the CelebA sample's wild photos as
# `library`, the groups are people; the drawn demo faces are too stylised for the face detector, so
# their page lists them under "nobody found". Open `reports/library/index.html` in a browser.

# %%
import facetransfer as ft

library_folder = Path(library) if library else chosen[0].parent
indexed = ft.index(library_folder, paths.reports / "library.sqlite")
print(indexed)
print(ft.make_report(paths.reports / "library.sqlite", paths.reports / "library"))

# %% [markdown]
# ## Frames of a video
#
# `predict_image` takes an RGB array wherever it takes a path: here, every `every`-th frame of a
# video file (any format imageio reads through ffmpeg). Without a `video`, a short clip is made
# from the photos above, each held for a few frames.

# %%
if video is None:
    video = write_video([read_rgb(p) for p in chosen[:6]], paths.reports / "clip.mp4")
frames = dict(read_frames(video, every=every, limit=video_frames))
answers = {n: predict_image(recogniser, frame) for n, frame in frames.items()}
display(samples.prediction_table(answers, lambda r: decision(r, recogniser.person), key="frame"))

# %%
frame_pngs = samples.annotate_predictions(answers, recogniser.person, out_dir / "video", frames=frames)
fig = samples.photo_grid(frame_pngs, title=Path(video).name)
if fig is not None:
    plots.save_figure(fig, figures / "04_video_frames.png");

# %% [markdown]
# ## A webcam
#
# The same loop over a webcam's frames (not run here: a notebook server rarely has a camera).
# OpenCV gives BGR frames, so they are turned RGB first:
#
# ```python
# import cv2                                    # pip install opencv-python
# camera = cv2.VideoCapture(0)
# ok, frame = camera.read()
# while ok:
#     result = predict_image(recogniser, cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
#     print(result["is_person"], result["probability"])
#     ok, frame = camera.read()
# camera.release()
# ```
