"""TensorBoard beyond the loss curves: each run's config and final metrics in the HParams
dashboard, and sample predictions as images.

Runs live in ``logs/<notebook-or-command>/<config>-<time>/`` (see
:func:`facetransfer.modeling.fit.run_dir`); Keras' TensorBoard callback writes the scalars under
``train/`` and ``validation/`` inside it. This module writes beside them, in the run folder itself:

- the run's hyperparameters as an HParams session (``tensorboard.plugins.hparams.api``). No
  experiment config is written: TensorBoard then gathers the union of every run's hyperparameters
  and offers every scalar tag as a metric, each session showing its last value, so the seed's
  three configs and the improved model fill one table even though their settings differ;
- final metrics (``final/<name>`` scalars: test accuracy, the majority baseline...) that appear
  as columns of that table;
- a grid of sample faces with their prediction, probability and whether it was right (the
  Images tab), after every epoch or once after training.
"""

from __future__ import annotations

import io
import logging
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from PIL import Image
from tensorboard.plugins.hparams import api as hp

from facetransfer.report import plots

log = logging.getLogger(__name__)

SAMPLES_TAG = "sample_predictions"
FINAL_PREFIX = "final/"


_writers: dict[Path, object] = {}


def _writer(run_dir):
    """One summary writer per run folder and process: each new writer starts another events
    file, and a run's hparams, final metrics and sample images belong in one."""
    run_dir = Path(run_dir).resolve()
    writer = _writers.get(run_dir)
    if writer is None or not run_dir.is_dir():  # a folder deleted since: start a new file
        run_dir.mkdir(parents=True, exist_ok=True)
        writer = _writers[run_dir] = tf.summary.create_file_writer(str(run_dir))
    return writer


def _hparam_value(value):
    """HParams accept bool, int, float and str; anything else (None, a tuple) becomes text."""
    if isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


def _loss_name(loss) -> str:
    """ "mse", "binary_crossentropy (from logits)", or "output: loss + output: loss" for a model
    trained on several outputs (the improved model with its identity head)."""
    if isinstance(loss, str):
        return loss
    if isinstance(loss, Mapping):
        return " + ".join(f"{key}: {_loss_name(value)}" for key, value in loss.items())
    if isinstance(loss, (list, tuple)):
        return " + ".join(_loss_name(value) for value in loss)
    name = getattr(loss, "name", None) or type(loss).__name__
    if getattr(loss, "from_logits", False):
        name += " (from logits)"
    return name


def run_hparams(model, metadata: Mapping | None = None, epochs: int | None = None) -> dict:
    """The hyperparameters of a compiled model's run, as HParams wants them: architecture, config,
    optimizer, learning rate, loss, image size, crop, epochs, trainable parameters, and whatever
    scalar fields ``metadata`` holds (lists and dicts, such as attribute names, are left out)."""
    hparams: dict = {}
    for key, value in (metadata or {}).items():
        if isinstance(value, (bool, int, float, str)) or value is None:
            hparams[key] = value
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None:
        hparams["optimizer"] = type(optimizer).__name__.lower()
        try:
            rate = float(keras.ops.convert_to_numpy(optimizer.learning_rate))
            hparams["learning_rate"] = float(f"{rate:.6g}")  # float32 1e-3 is 0.0010000000475
        except (TypeError, ValueError, AttributeError):
            pass  # a schedule: no single number to show
    loss = getattr(model, "loss", None)
    if loss is not None:
        hparams["loss"] = _loss_name(loss)
    if epochs is not None:
        hparams["epochs"] = int(epochs)
    hparams.setdefault("image_size", int(model.input_shape[1]))
    hparams["trainable_params"] = int(sum(int(np.prod(w.shape)) for w in model.trainable_weights))
    return {k: _hparam_value(v) for k, v in hparams.items() if v is not None}


def write_hparams(run_dir, hparams: Mapping, trial_id: str | None = None) -> None:
    """Record ``hparams`` as the HParams session of ``run_dir`` (its folder name by default)."""
    values = {str(k): _hparam_value(v) for k, v in hparams.items() if v is not None}
    writer = _writer(run_dir)
    with writer.as_default():
        hp.hparams(values, trial_id=trial_id or Path(run_dir).name)
    writer.flush()


def write_final_metrics(run_dir, metrics: Mapping[str, float], step: int = 0) -> list[str]:
    """Write ``metrics`` as ``final/<name>`` scalars in ``run_dir``: the HParams table shows them
    as columns beside each run's config. Non-numbers and NaN are skipped. Returns the tags."""
    tags = []
    writer = _writer(run_dir)
    with writer.as_default():
        for name, value in metrics.items():
            try:
                number = float(value)
            except (TypeError, ValueError):
                continue
            if not math.isfinite(number):
                continue
            tag = FINAL_PREFIX + str(name)
            tf.summary.scalar(tag, number, step=step)
            tags.append(tag)
    writer.flush()
    return tags


# A model trained on several outputs names its metrics after the output ("attribute_logits_
# binary_accuracy"); the aliases put them under the plain tag the single-output runs use.
ALIAS_PREFIXES = ("attribute_logits_",)


def shared_tag_aliases(logs: Mapping[str, float]) -> dict[tuple[str, str], float]:
    """{(split, tag): value} for the metrics of a multi-output run that single-output runs log
    under a plain name: ``val_attribute_logits_binary_accuracy`` -> ("validation",
    "epoch_binary_accuracy"). A plain name the run logs itself (its total ``loss``) is never
    shadowed."""
    aliases = {}
    for key, value in logs.items():
        split, name = ("validation", key[4:]) if key.startswith("val_") else ("train", key)
        for prefix in ALIAS_PREFIXES:
            if not name.startswith(prefix):
                continue
            plain = name[len(prefix) :]
            own = f"val_{plain}" if split == "validation" else plain
            if plain and own not in logs:
                aliases[(split, f"epoch_{plain}")] = float(value)
    return aliases


class HParamsLogger(keras.callbacks.Callback):
    """What TensorBoard needs beyond Keras' own callback, for one run folder:

    - the run's hyperparameters, when training begins (so an interrupted run is listed too);
      ``hparams`` None derives them from the compiled model with :func:`run_hparams`;
    - when it ends, the best value of ``monitor`` as ``final/best_<monitor>``: the epoch the
      checkpoint kept, beside the last epoch's values that the HParams table shows anyway;
    - every epoch, for a model trained on several outputs (the improved network with its
      identity head), its attribute metrics under the plain tags the other runs use
      (:func:`shared_tag_aliases`), so all runs line up in the Scalars tab.
    """

    def __init__(
        self,
        run_dir,
        hparams: Mapping | None = None,
        metadata: Mapping | None = None,
        monitor: str = "val_loss",
        mode: str = "min",
    ):
        super().__init__()
        self.run_dir = Path(run_dir)
        self.hparams = dict(hparams) if hparams is not None else None
        self.metadata = dict(metadata or {})
        self.monitor = monitor
        self.pick = min if mode == "min" else max
        self.values: list[float] = []

    def on_train_begin(self, logs=None):
        if self.hparams is None:
            epochs = (self.params or {}).get("epochs")
            self.hparams = run_hparams(self.model, self.metadata, epochs)
        write_hparams(self.run_dir, self.hparams)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        value = logs.get(self.monitor)
        if value is not None and math.isfinite(float(value)):
            self.values.append(float(value))
        self._write_aliases(epoch, logs)

    def _write_aliases(self, epoch: int, logs: Mapping[str, float]) -> None:
        by_split: dict[str, dict[str, float]] = {}
        for (split, tag), value in shared_tag_aliases(logs).items():
            by_split.setdefault(split, {})[tag] = value
        for split, scalars in by_split.items():  # beside Keras' own train/ and validation/ files
            writer = _writer(self.run_dir / split)
            with writer.as_default():
                for tag, value in scalars.items():
                    tf.summary.scalar(tag, value, step=epoch)
            writer.flush()

    def on_train_end(self, logs=None):
        if self.values:
            best = self.pick(self.values)
            write_final_metrics(self.run_dir, {f"best_{self.monitor}": best}, len(self.values))


def log_results(
    run_dir,
    metrics: Mapping[str, float],
    model=None,
    images=None,
    *,
    labels=None,
    step: int = 0,
    names: Sequence[str] | None = None,
    threshold: float = 0.5,
    person: str = "person",
    prefix: str = "test_",
) -> None:
    """After training and evaluating a run: ``metrics`` (e.g. the test summary) as
    ``final/<prefix><name>`` scalars, columns of the HParams table beside the run's config; and,
    given ``model`` with sample ``images`` and ``labels``, the kept model's predictions on them in
    the Images tab (see :func:`write_sample_predictions`)."""
    write_final_metrics(run_dir, {f"{prefix}{k}": v for k, v in metrics.items()}, step)
    if model is not None and images is not None and labels is not None:
        write_sample_predictions(
            run_dir,
            model,
            images,
            labels,
            step=step,
            names=names,
            threshold=threshold,
            person=person,
        )


# ---------------------------------------------------------------------------------------------
# Sample predictions as images


def person_captions(
    probabilities: np.ndarray, labels: np.ndarray, threshold: float, person: str = "person"
) -> tuple[list[str], list[str]]:
    """Caption and colour per face for a one-output model: "paco 0.83" / "unknown 0.12", green
    when the decision matches the truth and red when not."""
    probabilities = np.asarray(probabilities, dtype=float).reshape(-1)
    labels = np.asarray(labels).reshape(-1).astype(bool)
    said = probabilities >= threshold
    names = [person if s else "unknown" for s in said]
    captions = [f"{n} {p:.2f}" for n, p in zip(names, probabilities, strict=True)]
    colors = ["green" if s == y else "red" for s, y in zip(said, labels, strict=True)]
    return captions, colors


def attribute_captions(
    probabilities: np.ndarray, labels: np.ndarray, names: Sequence[str], shown: int = 2
) -> tuple[list[str], list[str]]:
    """Caption per face for a 40-attribute model: how many attributes it got right at 0.5, and
    the ``shown`` attributes it is surest are present, each marked right (+) or wrong (-).
    Green when it gets more right than always answering "no" would."""
    probabilities = np.asarray(probabilities, dtype=float)
    labels = np.asarray(labels).astype(bool)
    captions, colors = [], []
    for prob, truth in zip(probabilities, labels, strict=True):
        right = int(((prob >= 0.5) == truth).sum())
        top = np.argsort(-prob)[:shown]
        marks = " ".join(f"{names[i]}{'+' if truth[i] else '-'}" for i in top)
        captions.append(f"{right}/{len(truth)} right\n{marks}")
        colors.append("green" if right > int((~truth).sum()) else "black")
    return captions, colors


def predictions_image(images, captions: Sequence[str], colors: Sequence[str], ncols: int = 4):
    """The sample grid as one RGB uint8 array (1, H, W, 3), ready for ``tf.summary.image``."""
    fig = plots.image_grid(images, captions, colors, ncols=ncols)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80)
    plots.plt.close(fig)
    buffer.seek(0)
    return np.asarray(Image.open(buffer).convert("RGB"))[None]


def _probabilities(model, images: np.ndarray) -> np.ndarray:
    """Scores in [0, 1]: a person model's probability (N,), or attribute probabilities (N, 40)
    from logits (improved), raw scores (seed configs) or the "attribute_logits" output of a
    model trained with an identity head."""
    # A direct call, not predict(): a sample of 8 faces needs no batching, and predict() would
    # retrace its tf.function for each new sample size (and warn about it).
    raw = model(keras.ops.convert_to_tensor(np.asarray(images, dtype=np.float32)), training=False)
    if isinstance(raw, Mapping):
        raw = {key: keras.ops.convert_to_numpy(value) for key, value in raw.items()}
    elif isinstance(raw, (list, tuple)):
        raw = [keras.ops.convert_to_numpy(value) for value in raw]
    else:
        raw = keras.ops.convert_to_numpy(raw)
    logits = False
    if isinstance(raw, Mapping):  # several named outputs: show the attributes
        key = "attribute_logits" if "attribute_logits" in raw else sorted(raw)[0]
        raw, logits = raw[key], key == "attribute_logits"
    elif isinstance(raw, (list, tuple)):
        raw = raw[0]
    else:
        logits = model.get_layer(index=-1).name == "attribute_logits"
    raw = np.asarray(raw, dtype=np.float64)
    if raw.ndim == 2 and raw.shape[1] == 1:  # a person model ends in a sigmoid
        return raw[:, 0]
    return 1.0 / (1.0 + np.exp(-raw)) if logits else np.clip(raw, 0.0, 1.0)


def write_sample_predictions(
    run_dir,
    model,
    images,
    labels,
    *,
    step: int,
    names: Sequence[str] | None = None,
    threshold: float = 0.5,
    person: str = "person",
    tag: str = SAMPLES_TAG,
) -> np.ndarray:
    """Predict ``images`` with ``model`` and write the captioned grid to ``run_dir`` as an image
    summary at ``step``. A one-output model is captioned as a person model (``threshold``,
    ``person``), a multi-output one as an attribute model (``names``). Returns the image."""
    images = np.asarray(images)
    probabilities = _probabilities(model, images)
    if probabilities.ndim == 1:
        captions, colors = person_captions(probabilities, labels, threshold, person)
    else:
        if names is None:
            names = [f"attr{i}" for i in range(probabilities.shape[1])]
        captions, colors = attribute_captions(probabilities, labels, names)
    grid = predictions_image(images, captions, colors)
    writer = _writer(run_dir)
    with writer.as_default():
        tf.summary.image(tag, grid, step=step, max_outputs=1)
    writer.flush()
    return grid


class SamplePredictions(keras.callbacks.Callback):
    """After every ``every`` epochs, write a grid of ``images`` with the model's prediction,
    probability and whether it was right (green) or wrong (red) to TensorBoard's Images tab.

    Keep the sample small (8 faces): drawing it takes a fraction of a second.
    """

    def __init__(
        self,
        run_dir,
        images,
        labels,
        names: Sequence[str] | None = None,
        threshold: float = 0.5,
        person: str = "person",
        every: int = 1,
    ):
        super().__init__()
        self.run_dir = Path(run_dir)
        self.images = np.asarray(images)
        self.labels = np.asarray(labels)
        if len(self.images) != len(self.labels):
            raise ValueError(f"{len(self.images)} images but {len(self.labels)} labels")
        self.names = names
        self.threshold = threshold
        self.person = person
        self.every = max(1, int(every))

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every == 0:
            write_sample_predictions(
                self.run_dir,
                self.model,
                self.images,
                self.labels,
                step=epoch + 1,
                names=self.names,
                threshold=self.threshold,
                person=self.person,
            )


def log_person_runs(runs, results, datas, models, *, person: str, n_images: int = 8) -> dict:
    """:func:`log_results` for each person model of notebook 03 (or ``facetransfer transfer``):
    its test report (less the confusion matrix) as final metrics, and its answers on the first
    ``n_images`` test faces in the Images tab, at its saved threshold.

    ``runs``, ``results`` (each with ``report``, ``history`` and ``threshold``), ``datas`` (each
    with ``images["test"]``, ``labels["test"]``) and ``models`` share their keys ("seed", ...);
    every key of ``results`` is logged. Returns {key: run folder as text}.
    """
    for key, result in results.items():
        test = datas[key]
        log_results(
            runs[key],
            {m: v for m, v in result.report.items() if m != "confusion_matrix"},
            models[key],
            test.images["test"][:n_images],
            labels=test.labels["test"][:n_images],
            step=len(result.history.get("loss", [])),
            threshold=result.threshold,
            person=person,
        )
    return {key: str(runs[key]) for key in results}
