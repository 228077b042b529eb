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
# # 02 · The attribute CNN
#
# The seed's network, exactly: input 192x192x3, six `Conv2D(32, 3, relu)` + `MaxPooling2D` blocks,
# `Flatten`, `Dense(128, sigmoid)`, `Dense(40)`: 56,520 parameters. It is compiled three ways, as the
# seed compared them, each trained with its own TensorBoard run (`logs/02_attribute_cnn/`) and saved as
# H5 in `models/`. Then an improved network is trained on the same data for comparison.
#
# Open TensorBoard beside it: `make tensorboard` (or `tensorboard --logdir logs`).

# %% tags=["parameters"]
celeba_dir = None          # your CelebA folder (official or Kaggle layout); None: data/celeba, else drawn faces
synthetic_size = "default"  # size of the drawn default data: "tiny" (CI) or "default"
limit = None               # at most this many training images (None: all)
seed = 0                   # reaches every random choice
data_dir = None            # None: data/
models_dir = None          # None: models/
logs_dir = None            # None: logs/
reports_dir = None         # None: reports/
image_size = 192           # the seed's input size
crop = "full"              # the seed's: the whole crop squashed square
epochs = 30                # the seed trained each config 30 epochs
batch_size = 32
configs = ["model1", "model2", "model3"]
train_improved = True      # also train the improved architecture
improved_epochs = 15
improved_image_size = 128
improved_crop = "face"

# %%
from pathlib import Path

import numpy as np
import pandas as pd
from IPython.display import display

from facetransfer.report import plots
from facetransfer.config import Paths
from facetransfer.progress import setup_logging

setup_logging()
paths = Paths(data=data_dir, models=models_dir, logs=logs_dir, reports=reports_dir)
figures = paths.reports / "figures"

# %%
from facetransfer.modeling.attributes import (
    attribute_report,
    load_attribute_data,
    train_attribute_model,
    tuned_thresholds,
)
from facetransfer.data.celeba import load_celeba
from facetransfer.report.evaluate import summarize_attributes
from facetransfer.report import tensorboard_logs
from facetransfer.modeling.networks import SEED_CONFIGS, seed_cnn
from facetransfer.modeling.checkpoints import load_model_file
from facetransfer.demo.sources import resolve_celeba
from facetransfer.modeling.fit import run_dir

source = resolve_celeba(celeba_dir, paths, synthetic_size, seed)
print("Using:", source)
celeba = load_celeba(source.root, limit=limit, seed=seed)
data = load_attribute_data(celeba, image_size, paths.cache, crop)
print("images per split:", data.counts())

# %% [markdown]
# ## The seed's architecture
#
# At 192x192 the six conv + pool blocks shrink the image to a **1x1x32** map: the dense head sees 32
# numbers about the whole face. The summary must show 56,520 parameters.

# %%
seed_cnn(image_size).summary()

# %% [markdown]
# ## Three compile configs, kept as the seed had them
#
# | config | optimizer | loss |
# |---|---|---|
# | Model 1 | Adam | binary cross-entropy |
# | Model 2 | SGD | mean squared error |
# | Model 3 | Adam | categorical cross-entropy |
#
# **Why Model 3 is wrong.** Categorical cross-entropy treats the 40 outputs as one probability
# distribution over 40 mutually exclusive classes (a softmax: raising one lowers the others) and asks
# which single attribute the face "is". But the attributes are 40 independent yes/no questions: a face
# can be smiling *and* young *and* wearing a hat. The right loss is one binary cross-entropy per
# attribute (a sigmoid each), which is what Model 1 means to do.
#
# The seed also left `Dense(40)` without an activation while its losses expect probabilities, and it
# judged the result by binary accuracy without comparing it to the majority baseline. Those faults stay
# here, on purpose, so the comparison is the seed's.

# %%
histories, reports, summaries = {}, {}, {}
for config in configs:
    print(SEED_CONFIGS[config].description)
    logs = run_dir(paths.logs, "02_attribute_cnn", config)
    _, result = train_attribute_model(data, "seed", config, epochs, paths.models, logs,
                                      batch_size, seed=seed, verbose=2)
    histories[config] = result.history
    best = load_model_file(result.checkpoint)
    reports[config] = attribute_report(best, data, "test")
    summaries[config] = summarize_attributes(reports[config])
    tensorboard_logs.log_results(logs, summaries[config], best, data.images["test"][:8],
                                 data.labels["test"][:8], step=epochs, names=data.names)
    print(f"  saved {result.checkpoint}, TensorBoard run {logs}")

# %%
fig = plots.training_curves(histories, metrics=["loss", "binary_accuracy"],
                            title="The seed's three configs")
plots.save_figure(fig, figures / "02_training_curves.png");

# %% [markdown]
# ## How they compare, on the test split
#
# Mean accuracy at a 0.5 threshold, mean balanced accuracy (the mean of the rates on positives and on
# negatives: 0.5 for a model that always answers the same), and the majority-class baseline of the same
# split. A model is only learning if it beats the baseline.

# %%
comparison = pd.DataFrame(summaries).T[["mean_accuracy", "mean_balanced_accuracy",
                                        "mean_majority_accuracy", "n_better_than_majority"]]
display(comparison.round(4))
best_config = comparison["mean_accuracy"].idxmax()
fig = plots.attribute_accuracy_vs_baseline(reports[best_config],
                                           title=f"Seed {best_config}: per-attribute test accuracy")
plots.save_figure(fig, figures / "02_seed_accuracy_vs_baseline.png");

# %% [markdown]
# ## The improved network
#
# BatchNorm, global average pooling and a 128-d embedding layer, trained with binary cross-entropy on
# logits (40 independent answers), at 128x128 on the face-centred crop. Its accuracy is reported at 0.5
# and, for balanced accuracy, with per-attribute thresholds chosen on the validation split.

# %%
if train_improved:
    improved_data = load_attribute_data(celeba, improved_image_size, paths.cache, improved_crop)
    logs = run_dir(paths.logs, "02_attribute_cnn", "improved")
    _, result = train_attribute_model(improved_data, "improved", "improved", improved_epochs,
                                      paths.models, logs, batch_size, seed=seed, verbose=2)
    histories["improved"] = plots.attribute_history(result.history)
    improved = load_model_file(result.checkpoint)
    reports["improved"] = attribute_report(improved, improved_data, "test")
    tuned = attribute_report(improved, improved_data, "test", tuned_thresholds(improved, improved_data))
    summaries["improved"] = summarize_attributes(reports["improved"])
    summaries["improved"]["mean_balanced_accuracy"] = summarize_attributes(tuned)["mean_balanced_accuracy"]
    tensorboard_logs.log_results(logs, summaries["improved"], improved,
                                 improved_data.images["test"][:8], improved_data.labels["test"][:8],
                                 step=improved_epochs, names=improved_data.names)
    fig = plots.attribute_accuracy_vs_baseline(reports["improved"],
                                               title="Improved: per-attribute test accuracy")
    plots.save_figure(fig, figures / "02_improved_accuracy_vs_baseline.png");
display(pd.DataFrame(summaries).T[["mean_accuracy", "mean_balanced_accuracy",
                                   "mean_majority_accuracy"]].round(4))

# %%
fig = plots.training_curves(histories, metrics=["loss", "binary_accuracy"],
                            title="Every config, attribute loss and accuracy")
plots.save_figure(fig, figures / "02_training_curves_all.png");
