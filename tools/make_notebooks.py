"""Write notebooks/*.ipynb from the cell sources below (outputs empty). Run after editing them:
    .venv/bin/python tools/make_notebooks.py
Keeping the sources here lets a reviewer read every notebook as plain Python in one diff."""

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"

SETUP = """\
from pathlib import Path

import numpy as np
import pandas as pd
from IPython.display import display

from facetransfer import plots
from facetransfer.config import Paths
from facetransfer.progress import setup_logging

setup_logging()
paths = Paths(data=data_dir, models=models_dir, logs=logs_dir, reports=reports_dir)
figures = paths.reports / "figures"
"""

COMMON_PARAMS = """\
celeba_dir = None          # your CelebA folder (official or Kaggle layout); None: data/celeba, else drawn faces
synthetic_size = "default"  # size of the drawn default data: "tiny" (CI) or "default"
limit = None               # at most this many training images (None: all)
seed = 0                   # reaches every random choice
data_dir = None            # None: data/
models_dir = None          # None: models/
logs_dir = None            # None: logs/
reports_dir = None         # None: reports/
"""


# Cells written by the figures/export work, kept verbatim.
CELL_TB = """\
from facetransfer import tensorboard_logs

person_models = {key: person_lib.load_model_file(seed_out if key == "seed" else paths.models / f"{person}.h5",
                                                 expect="person") for key in results}
for key, r in results.items():
    tensorboard_logs.log_results(
        runs[key], {m: v for m, v in r.report.items() if m != "confusion_matrix"}, person_models[key],
        datas[key].images["test"][:8], datas[key].labels["test"][:8], step=len(r.history["loss"]),
        threshold=r.threshold, person=person)
print("TensorBoard runs:", {k: str(v) for k, v in runs.items()})
"""
CELL_GRADCAM = '''\
from facetransfer import gradcam

def first_of_each(labels, n=3):
    """The first n test photos of the person, then of others."""
    return np.r_[np.flatnonzero(labels == 1)[:n], np.flatnonzero(labels == 0)[:n]]

names = person_lib.model_metadata(seed_path)["attributes"]
shown = first_of_each(datas["seed"].labels["test"])
faces = datas["seed"].images["test"][shown]
maps, row_images = {}, {}
for key, attribute_model, data_key in (("seed", person_lib.load_model_file(seed_path), "seed"),
                                       ("improved", person_lib.load_model_file(improved_path) if have_improved else None, "improved")):
    if attribute_model is None:
        continue
    images = datas[data_key].images["test"][first_of_each(datas[data_key].labels["test"])]
    for label, explained, output in ((f"{key} base: Smiling", attribute_model, "Smiling"),
                                     (f"{key} transfer: {person}", person_models[key], None)):
        row = f"{label}\\n({gradcam.describe_layer(explained)})"
        maps[row] = gradcam.gradcam(explained, images, output, names=names)
        row_images[row] = images
titles = [f"{person if y else 'other'}" for y in datas["seed"].labels["test"][shown]]
fig = plots.saliency_grid(faces, maps, titles, row_images=row_images)
plots.save_figure(fig, figures / "03_gradcam.png");
'''
CELL_EMBED = """\
for key, d in datas.items():
    images = np.concatenate([d.images["validation"], d.images["test"]])
    labels = np.concatenate([d.labels["validation"], d.labels["test"]])
    fig = plots.embedding_projection(
        gradcam.embeddings(person_models[key], images), labels == 1,
        title=f"{key} base: what the {person} head reads (validation + test photos)")
    plots.save_figure(fig, figures / f"03_embeddings_{key}.png");
"""
CELL_EXPORT = """\
from facetransfer import export

exported = export.export_person_model(paths.models / f"{person}.h5", data.images["test"])
print("Keras:", exported.keras_path)
print("SavedModel:", exported.savedmodel_dir)
print("TensorFlow Lite:", exported.tflite_path)
print(f"largest score difference from the Keras model on {len(data.images['test'])} test faces:",
      {k: f"{v:.1e}" for k, v in exported.max_abs_diff.items()})
"""


def code(source: str, tags=None):
    cell = new_code_cell(source.strip("\n"))
    if tags:
        cell.metadata["tags"] = tags
    return cell


def md(source: str):
    return new_markdown_cell(source.strip("\n"))


def nb01():
    return [
        md("""
# 01 · CelebA preprocessing

Reads CelebA's labels (the official `.txt` files or Kaggle's `.csv`), looks at how often each of the
40 attributes occurs, computes the **majority-class baseline** (always answering the commoner value of
each attribute: about 0.805 mean accuracy on CelebA, the number any attribute model must beat), shows
faces with their labels, and decodes every image once into the cache that `02_attribute_cnn` reads.

With no CelebA in `data/celeba` (and no `celeba_dir`), it generates the embedded default: drawn faces in
CelebA's layout, so every cell runs offline.
"""),
        code(
            COMMON_PARAMS
            + """\
image_size = 192           # the seed's input size
crop = "full"              # "full": whole 178x218 crop squashed square (the seed's); "face": central square
""",
            tags=["parameters"],
        ),
        code(SETUP),
        md("## The data"),
        code("""\
from facetransfer.celeba import load_celeba
from facetransfer.sources import resolve_celeba

source = resolve_celeba(celeba_dir, paths, synthetic_size, seed)
print("Using:", source)
celeba = load_celeba(source.root, limit=limit, seed=seed)
print(celeba.describe())
celeba.attributes.head()
"""),
        md("""
## How often each attribute occurs

Most attributes are rare (or, like `No_Beard`, almost always present), so a model that always answers
"no" is already right most of the time.
"""),
        code("""\
rates = celeba.attributes.mean()
fig = plots.attribute_frequencies(rates, title=f"Attribute frequencies ({source.kind})")
plots.save_figure(fig, figures / "01_attribute_frequencies.png");
"""),
        md("""
## The majority-class baseline

The commoner value of each attribute is learned on the training split and scored on every split.
Every attribute accuracy in the next notebook is shown beside this number.
"""),
        code("""\
from facetransfer.evaluate import majority_accuracy, majority_baseline

train_labels = celeba.split("train").to_numpy()
majority = majority_baseline(train_labels)
baseline = pd.DataFrame({
    split: majority_accuracy(celeba.split(split).to_numpy(), majority)
    for split in ("train", "validation", "test")
}, index=celeba.attributes.columns)
baseline.insert(0, "majority_answer", np.where(majority == 1, "yes", "no"))
display(baseline.round(3))
print("mean majority-class accuracy:", baseline[["train", "validation", "test"]].mean().round(4).to_dict())
"""),
        md("## Faces and their labels"),
        code("""\
from facetransfer.images import read_rgb, resize

shown = ["Male", "Smiling", "Eyeglasses", "Wearing_Hat", "Blond_Hair", "Black_Hair", "No_Beard", "Bangs"]
rng = np.random.default_rng(seed)
sample = celeba.attributes.sample(min(12, len(celeba.attributes)), random_state=seed)
faces = np.stack([resize(read_rgb(p), (178, 218)) for p in celeba.paths(sample.index)])
titles = [", ".join(a for a in shown if row[a]) or "-" for _, row in sample.iterrows()]
fig = plots.image_grid(faces, titles, ncols=6, title="Faces with some of their attributes")
plots.save_figure(fig, figures / "01_faces.png");
"""),
        md("""
## The image cache

Each image is decoded and resized once into a uint8 array on disk, keyed by the files, the size and the
crop; `02_attribute_cnn` reads it memory-mapped. Re-running this cell reuses it.
"""),
        code("""\
from facetransfer.attributes import load_attribute_data

data = load_attribute_data(celeba, image_size, paths.cache, crop)
print("images per split:", data.counts(), f"at {image_size}x{image_size}, crop {crop!r}")
print(f"{len(data.skipped)} unreadable images skipped")
"""),
    ]


def nb02():
    return [
        md("""
# 02 · The attribute CNN

The seed's network, exactly: input 192x192x3, six `Conv2D(32, 3, relu)` + `MaxPooling2D` blocks,
`Flatten`, `Dense(128, sigmoid)`, `Dense(40)`: 56,520 parameters. It is compiled three ways, as the
seed compared them, each trained with its own TensorBoard run (`logs/02_attribute_cnn/`) and saved as
H5 in `models/`. Then an improved network is trained on the same data for comparison.

Open TensorBoard beside it: `make tensorboard` (or `tensorboard --logdir logs`).
"""),
        code(
            COMMON_PARAMS
            + """\
image_size = 192           # the seed's input size
crop = "full"              # the seed's: the whole crop squashed square
epochs = 30                # the seed trained each config 30 epochs
batch_size = 32
configs = ["model1", "model2", "model3"]
train_improved = True      # also train the improved architecture
improved_epochs = 15
improved_image_size = 128
improved_crop = "face"
""",
            tags=["parameters"],
        ),
        code(SETUP),
        code("""\
from facetransfer.attributes import (attribute_report, load_attribute_data, train_attribute_model,
                                     tuned_thresholds)
from facetransfer.celeba import load_celeba
from facetransfer.evaluate import summarize_attributes
from facetransfer import tensorboard_logs
from facetransfer.models import SEED_CONFIGS, seed_cnn
from facetransfer.person import load_model_file
from facetransfer.sources import resolve_celeba
from facetransfer.training import run_dir

source = resolve_celeba(celeba_dir, paths, synthetic_size, seed)
print("Using:", source)
celeba = load_celeba(source.root, limit=limit, seed=seed)
data = load_attribute_data(celeba, image_size, paths.cache, crop)
print("images per split:", data.counts())
"""),
        md("""
## The seed's architecture

At 192x192 the six conv + pool blocks shrink the image to a **1x1x32** map: the dense head sees 32
numbers about the whole face. The summary must show 56,520 parameters.
"""),
        code("""\
seed_cnn(image_size).summary()
"""),
        md("""
## Three compile configs, kept as the seed had them

| config | optimizer | loss |
|---|---|---|
| Model 1 | Adam | binary cross-entropy |
| Model 2 | SGD | mean squared error |
| Model 3 | Adam | categorical cross-entropy |

**Why Model 3 is wrong.** Categorical cross-entropy treats the 40 outputs as one probability
distribution over 40 mutually exclusive classes (a softmax: raising one lowers the others) and asks
which single attribute the face "is". But the attributes are 40 independent yes/no questions: a face
can be smiling *and* young *and* wearing a hat. The right loss is one binary cross-entropy per
attribute (a sigmoid each), which is what Model 1 means to do.

The seed also left `Dense(40)` without an activation while its losses expect probabilities, and it
judged the result by binary accuracy without comparing it to the majority baseline. Those faults stay
here, on purpose, so the comparison is the seed's.
"""),
        code("""\
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
"""),
        code("""\
fig = plots.training_curves(histories, metrics=["loss", "binary_accuracy"],
                            title="The seed's three configs")
plots.save_figure(fig, figures / "02_training_curves.png");
"""),
        md("""
## How they compare, on the test split

Mean accuracy at a 0.5 threshold, mean balanced accuracy (the mean of the rates on positives and on
negatives: 0.5 for a model that always answers the same), and the majority-class baseline of the same
split. A model is only learning if it beats the baseline.
"""),
        code("""\
comparison = pd.DataFrame(summaries).T[["mean_accuracy", "mean_balanced_accuracy",
                                        "mean_majority_accuracy", "n_better_than_majority"]]
display(comparison.round(4))
best_config = comparison["mean_accuracy"].idxmax()
fig = plots.attribute_accuracy_vs_baseline(reports[best_config],
                                           title=f"Seed {best_config}: per-attribute test accuracy")
plots.save_figure(fig, figures / "02_seed_accuracy_vs_baseline.png");
"""),
        md("""
## The improved network

BatchNorm, global average pooling and a 128-d embedding layer, trained with binary cross-entropy on
logits (40 independent answers), at 128x128 on the face-centred crop. Its accuracy is reported at 0.5
and, for balanced accuracy, with per-attribute thresholds chosen on the validation split.
"""),
        code("""\
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
"""),
        code("""\
fig = plots.training_curves(histories, metrics=["loss", "binary_accuracy"],
                            title="Every config, attribute loss and accuracy")
plots.save_figure(fig, figures / "02_training_curves_all.png");
"""),
    ]


def nb03():
    return [
        md("""
# 03 · Transfer: recognise one person

Loads attribute models from `models/`, freezes them, and trains a small head to answer "is this photo
the person?" from a few photos in `fotos/`: first the seed's transfer (its head on the best seed
config), then a head on the improved network's embedding. Each decision threshold is chosen on the
validation photos for a target rate of strangers accepted (1% by default) and saved beside the model;
the test photos report accuracy, balanced accuracy, how many of the person's photos are accepted and
how many strangers are.

Photos: `fotos/<person>/` (plus, optionally, `fotos/others/`), or the seed's layout
`fotos/{train,validation,test}/{<person>,no <person>}`. Without `others`, negatives are CelebA faces of
many people. Your photos are detected and aligned like CelebA's crops first. Without any photos, a
drawn person is generated.
"""),
        code(
            """\
person = "paco"            # the folder name of the person's photos
fotos_dir = None           # None: fotos/, else the drawn default person
"""
            + COMMON_PARAMS
            + """\
seed_base = "auto"         # a seed model in models/, or "auto": the best of the three configs
improved_base = "improved.h5"  # used when present in models/ (notebook 02 trains it)
seed_epochs = 150          # the seed's
seed_optimizer = "adam"    # the seed: "sgd" with seed_loss "mse" and seed_learning_rate 1e-5
seed_loss = "binary_crossentropy"
seed_learning_rate = 1e-3
improved_epochs = 40
improved_learning_rate = 1e-2
unfreeze_top = False       # also fine-tune the improved base's last block (learning rate 1e-4)
batch_size = 16
negatives = 200            # CelebA faces drawn as negatives when there is no others/ folder
target_false_accept = 0.01
align = "auto"             # detect and align faces: "auto" (yes for real photos), "yes", "no"
""",
            tags=["parameters"],
        ),
        code(SETUP),
        code("""\
from facetransfer import person as person_lib
from facetransfer.attributes import best_checkpoint
from facetransfer.celeba import load_celeba
from facetransfer.evaluate import roc_curve
from facetransfer.fotos import describe_split, split_fotos
from facetransfer.sources import resolve_celeba, resolve_fotos
from facetransfer.training import run_dir

fotos = resolve_fotos(fotos_dir, person, paths, seed)
print("Photos:", fotos)
celeba = load_celeba(resolve_celeba(celeba_dir, paths, synthetic_size, seed).root, seed=seed)
manifest = paths.models / f"{person}.split.csv"
split = split_fotos(fotos.root, person, celeba, negatives, seed=seed, manifest=manifest)
use_alignment = fotos.kind != "synthetic" if align == "auto" else align == "yes"
if use_alignment:
    split = person_lib.align_photos(split, paths.data / "aligned" / person)
display(describe_split(split, person))
"""),
        md("""
## The seed's transfer

The best seed config, frozen, with the seed's head: `Dense(128, sigmoid)` + `Dense(1)`. The summary
shows **4,353 trainable parameters** (4,224 + 129). The seed's `Dense(1)` was linear and thresholded like
a probability; here a sigmoid follows it, so its output is one. Augmentation (mirror, small turns,
zoom, shifts, light) is done by Keras preprocessing layers, the replacement for the deprecated
`ImageDataGenerator`.
"""),
        code("""\
seed_path = best_checkpoint(paths.models, "seed") if seed_base == "auto" else paths.models / seed_base
improved_path = paths.models / improved_base
have_improved = improved_path.exists()
print("Seed base:", seed_path, "| improved base:", improved_path if have_improved else "none")
results, datas, runs = {}, {}, {}
runs["seed"] = run_dir(paths.logs, "03_transfer_learning", f"{person}-seed")
seed_out = paths.models / (f"{person}_seed.h5" if have_improved else f"{person}.h5")
results["seed"], datas["seed"], model = person_lib.transfer(
    seed_path, split, seed_out, runs["seed"],
    paths.cache, person, "seed", seed_epochs, seed_optimizer, seed_learning_rate, seed_loss,
    batch_size, target_false_accept, align=use_alignment, seed=seed)
model.summary()
"""),
        md("""
## On the improved base

A logistic unit on the improved network's L2-normalised embedding (129 weights), which notebook 02
trained to tell attributes and, where CelebA's identities are known, people apart.
"""),
        code("""\
if have_improved:
    runs["improved"] = run_dir(paths.logs, "03_transfer_learning", f"{person}-improved")
    results["improved"], datas["improved"], model = person_lib.transfer(
        improved_path, split, paths.models / f"{person}.h5", runs["improved"], paths.cache, person,
        "embedding", improved_epochs, "adam",
        1e-4 if unfreeze_top else improved_learning_rate, batch_size=batch_size,
        target_false_accept=target_false_accept, unfreeze_top=unfreeze_top,
        align=use_alignment, seed=seed)
fig = plots.training_curves({k: r.history for k, r in results.items()}, metrics=["loss", "auc"],
                            title="Transfer heads")
plots.save_figure(fig, figures / "03_training_curves.png");
"""),
        md("""
## On the test photos

Every number states how many photos of the person and of others it used. "Acceptance" is the share
of the person's photos accepted; "false accept" the share of strangers accepted, at the threshold
chosen on validation. "tpr_at_1pct_fpr" is the acceptance the test photos would allow at 1% false
accepts, a property of the scores rather than of the saved threshold.
"""),
        code("""\
table = pd.DataFrame({k: {m: v for m, v in r.report.items() if m != "confusion_matrix"}
                      for k, r in results.items()})
display(table.round(4))
final = "improved" if "improved" in results else "seed"
result, data = results[final], datas[final]
report = result.report
fpr, tpr, _ = roc_curve(data.labels["test"], result.test_scores)
fig = plots.roc(fpr, tpr, report["roc_auc"], (report["false_accept"], report["acceptance"]),
                title=f"{final} base: ROC on test")
plots.save_figure(fig, figures / "03_roc.png");
fig = plots.confusion(np.array(report["confusion_matrix"]), labels=("others", person))
plots.save_figure(fig, figures / "03_confusion.png");
"""),
        code("""\
from facetransfer.images import read_rgb, resize

test_paths = data.paths["test"]
order = np.random.default_rng(seed).permutation(len(test_paths))[:12]
faces = np.stack([resize(read_rgb(test_paths[i]), (178, 218)) for i in order])
titles, colors = [], []
for i in order:
    said = result.test_scores[i] >= result.threshold
    right = said == bool(data.labels["test"][i])
    titles.append(f"{person if said else 'unknown'} {result.test_scores[i]:.2f}")
    colors.append("green" if right else "red")
fig = plots.image_grid(faces, titles, colors, ncols=6, title="Test photos: decision, probability")
plots.save_figure(fig, figures / "03_test_predictions.png");
print(f"saved {paths.models / (person + '.h5')} with threshold {result.threshold:.4f}")
"""),
        md("""
## In TensorBoard

Test metrics join each run's row in the HParams dashboard; eight test photos with the model's answer
are in the Images tab.
"""),
        code(CELL_TB),
        md("""
## Where the models look (Grad-CAM)

Bright regions raise the score. The seed's last conv layer is a 2x2 map at 192 px, so it can only
point at a quarter of the face.
"""),
        code(CELL_GRADCAM),
        md("## The person among the others: what each head reads, projected to 2-D"),
        code(CELL_EMBED),
        md("""
## Export for phones and servers

The final person model as `.keras`, as a SavedModel (`model.export()`) and as TensorFlow Lite, each
checked to give the Keras model's scores on the test faces.
"""),
        code(CELL_EXPORT),
    ]


def nb04():
    return [
        md("""
# 04 · Predict: is this photo the person?

Points the saved person model at photos: every face in each photo is detected, aligned like CelebA's
crops and scored; each photo's answer is its most likely face, compared with the threshold saved
beside the model. A PNG per photo with labelled boxes goes to `reports/predictions/`.

The same thing from a shell: `facetransfer predict --model models/paco.h5 PHOTOS... --json`.
"""),
        code(
            """\
person = "paco"
model_path = None          # None: models/<person>.h5
photos = None              # a folder or file of photos; None: the test photos of notebook 03's split
limit = 24                 # at most this many photos
data_dir = None
models_dir = None
logs_dir = None
reports_dir = None
""",
            tags=["parameters"],
        ),
        code(SETUP),
        code("""\
from facetransfer.images import list_images
from facetransfer.person import load_person_model, predict_photo
from facetransfer.progress import progress_bar

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
"""),
        code("""\
results = [predict_photo(recogniser, p) for p in progress_bar(chosen, desc="predicting")]
table = pd.DataFrame({
    "photo": [Path(r["path"]).name for r in results],
    "faces": [len(r["faces"]) for r in results],
    "probability": [r["probability"] for r in results],
    "decision": [recogniser.person if r["is_person"] else ("no face" if r["probability"] is None
                 else "unknown") for r in results],
})
display(table)
print(table["decision"].value_counts().to_dict())
"""),
        code("""\
out_dir = paths.reports / "predictions"
pngs = [plots.annotate_photo(r["path"], r, recogniser.person, out_dir) for r in results]
from facetransfer.images import read_rgb, resize

shown = [p for p in pngs if p is not None][:12]
if shown:
    fig = plots.image_grid([read_rgb(p) for p in shown],
                           [p.stem for p in shown], ncols=6, title="Annotated predictions")
    plots.save_figure(fig, figures / "04_predictions.png");
print("annotated photos in", out_dir)
"""),
    ]


def write(name, cells):
    notebook = new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    notebook.metadata["language_info"] = {"name": "python"}
    NOTEBOOKS.mkdir(exist_ok=True)
    nbformat.write(notebook, NOTEBOOKS / f"{name}.ipynb")


if __name__ == "__main__":
    write("01_celeba_preprocessing", nb01())
    write("02_attribute_cnn", nb02())
    write("03_transfer_learning", nb03())
    write("04_predict", nb04())
    print("wrote", sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")))
