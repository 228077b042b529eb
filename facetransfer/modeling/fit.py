"""`fit` with everything a long run needs: TensorBoard, a best checkpoint that is written atomically
and never replaced by a worse one, resumption after an interruption, and a history on disk."""

from __future__ import annotations

import json
import logging
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import pandas as pd

from facetransfer.modeling.checkpoints import (
    checkpoint_record,
    save_model_atomically,
    write_json_atomically,
)
from facetransfer.report.tensorboard_logs import HParamsLogger

log = logging.getLogger(__name__)


def run_dir(logs_root, group: str, name: str) -> Path:
    """logs/<notebook-or-command>/<config>-<timestamp>/: one folder per run, so TensorBoard shows
    runs of different configs side by side."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = Path(logs_root) / group / f"{name}-{stamp}"
    suffix = 1
    while path.exists():  # two runs in the same second
        suffix += 1
        path = Path(logs_root) / group / f"{name}-{stamp}-{suffix}"
    return path


class BestCheckpoint(keras.callbacks.Callback):
    """Keep the best model by a validation metric in `path` (.h5 + .keras + .json sidecar).

    Unlike ModelCheckpoint it remembers the best value across runs: a rerun that ends worse than
    the model already on disk leaves that model in place (unless `replace_worse`), and it writes
    atomically.
    """

    def __init__(
        self,
        path,
        *,
        monitor: str = "val_loss",
        mode: str = "min",
        replace_worse: bool = False,
        metadata: dict | None = None,
        save_model=None,
    ):
        super().__init__()
        self.path = Path(path).with_suffix(".h5")
        # What to save when the model being fitted carries training-only parts (an identity head):
        # a model sharing its layers, so it always holds the current weights.
        self.save_model = save_model
        self.monitor = monitor
        self.sign = 1.0 if mode == "min" else -1.0
        self.metadata = metadata or {}
        previous = None if replace_worse else checkpoint_record(self.path)
        same_metric = previous is not None and previous.get("monitor") == monitor
        self.best = previous["value"] if same_metric else None
        self.saved_epochs: list[int] = []

    def _better(self, value: float) -> bool:
        return self.best is None or self.sign * value < self.sign * self.best

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None or not np.isfinite(value):
            return
        if not self._better(float(value)):
            return
        self.best = float(value)
        save_model_atomically(self.save_model or self.model, self.path)
        record = {
            "monitor": self.monitor,
            "value": self.best,
            "epoch": epoch + 1,
            "logs": {k: float(v) for k, v in (logs or {}).items()},
            **self.metadata,
        }
        write_json_atomically(self.path.with_suffix(".json"), record)
        self.saved_epochs.append(epoch + 1)


@dataclass
class FitResult:
    history: dict[str, list[float]]
    checkpoint: Path
    run_dir: Path
    resumed_from_epoch: int
    best: float | None
    seconds: float


def _history_from_csv(path: Path) -> dict[str, list[float]]:
    if not path.exists() or path.stat().st_size == 0:
        return {}
    frame = pd.read_csv(path)
    return {c: frame[c].astype(float).tolist() for c in frame.columns if c != "epoch"}


def fit(
    model,
    train_ds,
    val_ds,
    *,
    epochs: int,
    checkpoint,
    logs_dir,
    monitor: str = "val_loss",
    mode: str = "min",
    resume: bool = True,
    replace_worse: bool = False,
    early_stopping: int | None = None,
    metadata: dict | None = None,
    verbose="auto",
    extra_callbacks=(),
    save_model=None,
    hparams: dict | bool | None = None,
) -> FitResult:
    """Train `model`, logging to `logs_dir` for TensorBoard, keeping the best epoch in `checkpoint`.

    `train_ds` and `val_ds` are tf.data datasets of batches, `train_ds` shuffled already.

    When `resume`, an interrupted run of the same checkpoint name continues from its last completed
    epoch (Keras' BackupAndRestore, kept under models/.resume/); a finished run starts afresh.
    `save_model`, if given, is what the checkpoint saves instead of `model`.
    `hparams` go to TensorBoard's HParams dashboard with the run's final metrics; None derives
    them from the compiled model and `metadata`, False writes none.
    """
    checkpoint = Path(checkpoint).with_suffix(".h5")
    backup = checkpoint.parent / ".resume" / checkpoint.stem
    history_csv = checkpoint.with_suffix(".history.csv")
    resumed_from = 0
    metadata_path = backup / "training_metadata.json"
    if resume and metadata_path.exists():
        resumed_from = int(json.loads(metadata_path.read_text()).get("epoch", 0))
        log.info("resuming %s from epoch %d", checkpoint.name, resumed_from)
    else:
        shutil.rmtree(backup, ignore_errors=True)
        history_csv.unlink(missing_ok=True)
    backup.mkdir(parents=True, exist_ok=True)

    best = BestCheckpoint(
        checkpoint,
        monitor=monitor,
        mode=mode,
        replace_worse=replace_worse,
        metadata=metadata,
        save_model=save_model,
    )
    callbacks = [
        keras.callbacks.BackupAndRestore(str(backup), double_checkpoint=True),
        best,
        keras.callbacks.TensorBoard(str(logs_dir), histogram_freq=0, write_graph=False),
        keras.callbacks.CSVLogger(str(history_csv), append=True),
        keras.callbacks.TerminateOnNaN(),
        *extra_callbacks,
    ]
    if hparams is not False:
        callbacks.append(HParamsLogger(logs_dir, hparams or None, metadata, monitor, mode))
    if early_stopping:
        callbacks.append(
            keras.callbacks.EarlyStopping(
                monitor, patience=early_stopping, mode=mode, restore_best_weights=False
            )
        )
    start = time.perf_counter()
    # shuffle=False: the datasets come shuffled (`data.pipeline.make_dataset`); Keras' default
    # True only applies to arrays and, for a tf.data.Dataset, warns that it is ignored.
    model.fit(
        train_ds,
        validation_data=val_ds,
        epochs=epochs,
        callbacks=callbacks,
        verbose=verbose,
        shuffle=False,
    )
    seconds = time.perf_counter() - start
    shutil.rmtree(backup, ignore_errors=True)  # finished: the next run starts afresh
    if best.best is not None and not best.saved_epochs:
        log.warning(
            "%s kept: this run never beat its %s of %.4f", checkpoint.name, monitor, best.best
        )
    return FitResult(
        history=_history_from_csv(history_csv),
        checkpoint=checkpoint,
        run_dir=Path(logs_dir),
        resumed_from_epoch=resumed_from,
        best=best.best,
        seconds=seconds,
    )
