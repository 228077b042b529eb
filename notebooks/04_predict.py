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
from facetransfer.report import plots
from facetransfer.report.annotate import annotate_photo

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
pngs = [annotate_photo(r["path"], r, recogniser.person, out_dir / f"{Path(r['path']).stem}.png")
        for r in results]
shown = [p for p in pngs if p is not None][:12]
if shown:
    fig = plots.image_grid([read_rgb(p) for p in shown],
                           [p.stem for p in shown], ncols=6, title="Annotated predictions")
    plots.save_figure(fig, figures / "04_predictions.png");
print("annotated photos in", out_dir)

# %% [markdown]
# ## Frames of a video
#
# `predict_image` takes an RGB array wherever it takes a path: here, every `every`-th frame of a
# video file (any format imageio reads through ffmpeg). Without a `video`, a short clip is made
# from the photos above, each held for a few frames.

# %%
if video is None:
    video = write_video([read_rgb(p) for p in chosen[:6]], paths.reports / "clip.mp4")
labelled = []
for number, frame in read_frames(video, every=every, limit=video_frames):
    result = predict_image(recogniser, frame)
    labelled.append((number, frame, result))
frame_table = pd.DataFrame({
    "frame": [n for n, _, _ in labelled],
    "faces": [len(r["faces"]) for _, _, r in labelled],
    "probability": [r["probability"] for _, _, r in labelled],
    "decision": [decision(r, recogniser.person) for _, _, r in labelled],
})
display(frame_table)
frame_pngs = [annotate_photo(frame, {**r, "path": f"frame {n}"}, recogniser.person,
                             out_dir / "video" / f"frame_{n:05d}.png")
              for n, frame, r in labelled]
if frame_pngs:
    fig = plots.image_grid([read_rgb(p) for p in frame_pngs[:12]],
                           [p.stem for p in frame_pngs[:12]], ncols=6, title=f"{Path(video).name}")
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
