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
# # 03 · Transfer: recognise one person
#
# Loads attribute models from `models/`, freezes them, and trains a small head to answer "is this photo
# the person?" from a few photos in `fotos/`: first the seed's transfer (its head on the best seed
# config), then a head on the improved network's embedding. Each decision threshold is chosen on the
# validation photos for a target rate of strangers accepted (1% by default) and saved beside the model;
# the test photos report accuracy, balanced accuracy, how many of the person's photos are accepted and
# how many strangers are.
#
# Photos: `fotos/<person>/` (plus, optionally, `fotos/others/`), or the seed's layout
# `fotos/{train,validation,test}/{<person>,no <person>}`. Without `others`, negatives are CelebA faces of
# many people. Your photos are detected and aligned like CelebA's crops first. Without any photos, a
# drawn person is generated.

# %% tags=["parameters"]
from facetransfer import config

person = "paco"            # the folder name of the person's photos
fotos_dir = None           # None: fotos/, else the drawn default person
celeba_dir = None          # your CelebA folder (official or Kaggle layout); None: data/celeba, else drawn faces
synthetic_size = "default"  # size of the drawn default data: "tiny" (CI) or "default"
limit = None               # at most this many training images (None: all)
seed = 0                   # reaches every random choice
home = ".."                # the project folder the outputs go under (relative to this notebook)
data_dir = None            # None: <home>/data
models_dir = None          # None: <home>/models
logs_dir = None            # None: <home>/logs
reports_dir = None         # None: <home>/reports
seed_base = "auto"         # a seed model in models/, or "auto": the best of the three configs
improved_base = "improved.h5"  # used when present in models/ (notebook 02 trains it)
seed_epochs = config.HEADS["seed"].epochs  # the seed's: 150
seed_optimizer = "adam"    # the seed: "sgd" with seed_loss "mse" and seed_learning_rate 1e-5
seed_loss = "binary_crossentropy"
seed_learning_rate = config.HEADS["seed"].learning_rate
improved_epochs = config.HEADS["embedding"].epochs
improved_learning_rate = config.HEADS["embedding"].learning_rate
unfreeze_top = False       # also fine-tune the improved base's last block (at UNFREEZE_TOP_LEARNING_RATE)
batch_size = config.HEADS["seed"].batch_size
negatives = config.NEGATIVES  # CelebA faces drawn as negatives when there is no others/ folder
target_false_accept = config.TARGET_FALSE_ACCEPT
strangers = config.STRANGERS  # CelebA strangers each threshold is chosen on (0: validation negatives)
use_dlib = True            # also transfer on dlib's face ResNet (face_recognition_models), when installed
final = "auto"             # the base whose model becomes models/<person>.h5; "auto": dlib, else improved, else seed
align = "auto"             # detect and align faces: "auto" (yes for real photos), "yes", "no"

# %%
from facetransfer.progress import setup_logging

setup_logging()  # first: TensorFlow, loaded by the imports below, then starts without its notices

from dataclasses import replace

import numpy as np
from IPython.display import display

from facetransfer.config import Paths, PersonSettings
from facetransfer.modeling.attributes import best_checkpoint
from facetransfer.modeling.card import read_card
from facetransfer.modeling.checkpoints import load_model_file
from facetransfer.modeling.fit import run_dir
from facetransfer.modeling.person import train_person_model
from facetransfer.report import evaluate, gradcam, plots, samples, tensorboard_logs

paths = Paths(root=home, data=data_dir, models=models_dir, logs=logs_dir, reports=reports_dir)
figures = paths.reports / "figures"
# What every transfer below shares; each base's cell replaces what differs (head, epochs, ...).
# `train_person_model` takes the photos (yours, or a drawn person), aligns them to the base's crop
# (drawn photos are CelebA crops already), draws CelebA strangers for the threshold, and transfers.
shared = PersonSettings(person=person, negatives=negatives, strangers=strangers,
                        target_false_accept=target_false_accept, align=align,
                        synthetic_size=synthetic_size, seed=seed)

# %% [markdown]
# ## The seed's transfer
#
# The best seed config, frozen, with the seed's head: `Dense(128, sigmoid)` + `Dense(1)`. The summary
# shows **4,353 trainable parameters** (4,224 + 129). The seed's `Dense(1)` was linear and thresholded like
# a probability; here a sigmoid follows it, so its output is one. Augmentation (mirror, small turns,
# zoom, shifts, light) is done by Keras preprocessing layers, the replacement for the deprecated
# `ImageDataGenerator`.

# %%
import importlib.util

seed_path = best_checkpoint(paths.models, "seed") if seed_base == "auto" else paths.models / seed_base
improved_path = paths.models / improved_base
have_improved = improved_path.exists()
have_dlib = use_dlib and importlib.util.find_spec("face_recognition_models") is not None
if final == "auto":
    final = "dlib" if have_dlib else "improved" if have_improved else "seed"
out = {key: paths.models / (f"{person}.h5" if key == final else f"{person}_{key}.h5")
       for key in ("seed", "improved", "dlib")}
print("Seed base:", seed_path, "| improved base:", improved_path if have_improved else "none",
      "| dlib base:", "yes" if have_dlib else "no", "| saved as", out[final].name, ":", final)
results, datas, runs = {}, {}, {}
runs = {key: run_dir(paths.logs, "03_transfer_learning", f"{person}-{key}") for key in out}
seed_settings = replace(shared, head="seed", epochs=seed_epochs, optimizer=seed_optimizer,
                        learning_rate=seed_learning_rate, loss=seed_loss, batch_size=batch_size)
results["seed"], datas["seed"], model = train_person_model(
    fotos_dir, seed_path, seed_settings, paths=paths, out=out["seed"], celeba_dir=celeba_dir,
    logs_dir=runs["seed"])
model.summary()

# %% [markdown]
# ## On the improved base
#
# A logistic unit on the improved network's L2-normalised embedding (129 weights), which notebook 02
# trained to tell attributes and, where CelebA's identities are known, people apart. When notebook 02
# distilled dlib into it (a *student*), its embedding speaks dlib's distances and its sidecar has
# distances calibrated on CelebA faces: it then gets dlib's own head, a distance to the person's
# photos, on the crop it was trained on.

# %%
if have_improved:
    card = read_card(improved_path)
    teacher = card.extra.get("teacher")
    print("improved base:", f"a student of {teacher['name']}" if teacher
          else "attributes and identities only", "|", card.geometry, "crops")
    improved_settings = replace(
        shared, head="auto" if teacher else "embedding", epochs=improved_epochs,
        learning_rate=None if unfreeze_top else improved_learning_rate, batch_size=batch_size,
        unfreeze_top=unfreeze_top)
    results["improved"], datas["improved"], model = train_person_model(
        fotos_dir, improved_path, improved_settings, paths=paths, out=out["improved"],
        celeba_dir=celeba_dir, logs_dir=runs["improved"])

# %% [markdown]
# ## On dlib's face network
#
# dlib's face-recognition ResNet (trained on about 3 million faces of 7,485 people; weights from the
# `face_recognition_models` package, read into a plain Keras model), frozen. Its head is dlib's own
# rule: closeness to the mean descriptor of the person's photos, the threshold chosen on the same
# strangers (on the benchmark it beats a trained logistic head: BENCHMARKS.md). It was trained on its
# own 150x150 face chips, so the same photos are aligned again to that geometry. A few of the drawn
# faces are too stylised for the face detector: those photos are skipped, and one line says how many
# and why (the list: the split's `attrs["skipped"]`, or every file in the log after
# `setup_logging(verbose=True)`).

# %%
if have_dlib:
    results["dlib"], datas["dlib"], model = train_person_model(
        fotos_dir, "dlib", replace(shared, head="distance"), paths=paths, out=out["dlib"],
        celeba_dir=celeba_dir, logs_dir=runs["dlib"])
fig = plots.training_curves({k: r.history for k, r in results.items()}, metrics=["loss", "auc"],
                            title="Transfer heads")
plots.save_figure(fig, figures / "03_training_curves.png");

# %% [markdown]
# ## On the test photos
#
# The bases side by side on the same photos. Every number states how many photos of the person and of
# others it used. "Acceptance" is the share of the person's photos accepted; "false accept" the share
# of strangers accepted, at the saved threshold (chosen for the target on the strangers above). "tpr_at_1pct_fpr" is the acceptance the test photos would allow at 1% false
# accepts, a property of the scores rather than of the saved threshold.

# %%
display(evaluate.person_table(results).round(4))

# %%
result, data = results[final], datas[final]
fig = plots.person_roc(data.labels["test"], result.test_scores, result.report,
                       title=f"{final} base: ROC on test")
plots.save_figure(fig, figures / "03_roc.png");

# %%
fig = plots.confusion(np.array(result.report["confusion_matrix"]), labels=("others", person))
plots.save_figure(fig, figures / "03_confusion.png");

# %%
fig = samples.decision_grid(data.paths["test"], result.test_scores, data.labels["test"],
                            result.threshold, person=person, n=12, seed=seed)
plots.save_figure(fig, figures / "03_test_predictions.png");
print(f"saved {out[final]} ({final} base) with threshold {result.threshold:.4f}")

# %% [markdown]
# ## In TensorBoard
#
# Test metrics join each run's row in the HParams dashboard; eight test photos with the model's answer
# are in the Images tab.

# %%
person_models = {key: load_model_file(out[key], expect="person") for key in results}
logged = tensorboard_logs.log_person_runs(runs, results, datas, person_models, person=person)
print("TensorBoard runs:", logged)

# %% [markdown]
# ## Where the models look (Grad-CAM)
#
# Bright regions raise the score. The seed's last conv layer is a 2x2 map at 192 px, so it can only
# point at a quarter of the face. Each base is shown on its own crop of the first three test photos of
# the person and of others, explaining its `Smiling` output and its transfer's answer.

# %%
bases = {"seed": load_model_file(seed_path),
         "improved": load_model_file(improved_path) if have_improved else None}
fig = gradcam.transfer_saliency(bases, person_models, datas, person=person,
                                names=read_card(seed_path).extra["attributes"])
plots.save_figure(fig, figures / "03_gradcam.png");

# %% [markdown]
# ## The person among the others: what each head reads, projected to 2-D

# %%
projections = gradcam.embedding_projections(person_models, datas, person=person)
plots.save_figures(projections, figures, name="03_embeddings_{}.png");

# %% [markdown]
# ## Export for phones and servers
#
# The final person model as `.keras`, as a SavedModel (`model.export()`) and as TensorFlow Lite, each
# checked to give the Keras model's scores on the test faces.

# %%
from facetransfer.modeling import export

exported = export.export_person_model(out[final], data.images["test"])
print("Keras:", exported.keras_path)
print("SavedModel:", exported.savedmodel_dir)
print("TensorFlow Lite:", exported.tflite_path)
print(f"largest score difference from the Keras model on {len(data.images['test'])} test faces:",
      {k: f"{v:.1e}" for k, v in exported.max_abs_diff.items()})
