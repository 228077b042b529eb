"""Transfer: a frozen attribute base plus a small head that answers "is this photo the person?",
its decision threshold chosen on validation for a target false-accept rate and saved with it.
Prediction: every face in a photo detected, aligned and scored."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from facetransfer import evaluate
from facetransfer.dataset import augmentation, build_cache, crop_box, make_dataset
from facetransfer.images import ImageReadError, read_rgb, resize

log = logging.getLogger(__name__)


class ModelFileError(ValueError):
    """A model file that cannot be used: missing, corrupt, or not the kind expected."""


def load_model_file(path, expect: str = "attributes"):
    """Load an H5 or .keras file made by facetransfer, with a clear error when it is not one."""
    import keras

    path = Path(path)
    if not path.exists():
        raise ModelFileError(f"{path}: no such model file")
    try:
        model = keras.models.load_model(path, compile=False)
    except Exception as error:  # h5py, zip and Keras raise many kinds for a broken file
        raise ModelFileError(
            f"{path}: not a readable Keras model ({type(error).__name__}: {error})"
        ) from error
    shape = model.input_shape
    if len(shape) != 4 or shape[1] != shape[2] or shape[3] != 3:
        raise ModelFileError(f"{path}: expects input {shape}, not square RGB images")
    outputs = model.output_shape[-1]
    if expect == "attributes" and not any(
        n in {layer.name for layer in model.layers} for n in ("flatten", "embedding")
    ):
        raise ModelFileError(f"{path}: not an attribute base (no 'flatten' or 'embedding' layer)")
    if expect == "person" and outputs != 1:
        raise ModelFileError(
            f"{path}: has {outputs} outputs; a person model has 1 "
            "(did you pass the attribute base instead?)"
        )
    return model


def model_metadata(path) -> dict:
    """The JSON sidecar saved beside a model (image crop, threshold, person...), or {}."""
    sidecar = Path(path).with_suffix(".json")
    return json.loads(sidecar.read_text()) if sidecar.exists() else {}


@dataclass
class PersonData:
    """The split photos as arrays at the base's input size, plus what was skipped."""

    images: dict[str, np.ndarray]
    labels: dict[str, np.ndarray]
    paths: dict[str, list[str]]
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def counts(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                s: {"person": int(y.sum()), "others": int((1 - y).sum())}
                for s, y in self.labels.items()
            }
        ).T


def align_photos(frame: pd.DataFrame, aligned_dir, progress: bool = True) -> pd.DataFrame:
    """Replace each photo's path by its aligned face crop (CelebA geometry); photos with no face
    are dropped and listed. CelebA negatives go through the same intake (align_celeba_rows)."""
    from facetransfer.faces import align_folder

    frame = frame.copy()
    frame["aligned"] = frame["path"]
    user = frame["source"] == "fotos"
    dropped = []
    folders = sorted({str(Path(p).parent) for p in frame.loc[user, "path"]})
    # one out folder per photo folder: train/paco and test/paco must not share one
    base = Path(os.path.commonpath([str(Path(f).parent) for f in folders])) if folders else None
    for folder in folders:
        key = Path(folder).relative_to(base).as_posix().replace("/", "__").replace(" ", "_")
        out = Path(aligned_dir) / key
        manifest = align_folder(folder, out, progress=progress)
        lookup = {str(Path(r.source)): r for r in manifest.itertuples()}
        for i in frame.index[user & (frame["path"].map(lambda p: str(Path(p).parent)) == folder)]:
            row = lookup.get(str(Path(frame.at[i, "path"])))
            if row is None or row.status != "ok":
                reason = "no face found" if row is None or row.status == "no_face" else row.reason
                dropped.append((frame.at[i, "path"], reason))
                frame.at[i, "aligned"] = None
            else:
                frame.at[i, "aligned"] = str(row.crop)
    for path, reason in dropped:
        log.warning("skipped %s: %s", path, reason)
    frame = frame[frame["aligned"].notna()].reset_index(drop=True)
    return align_celeba_rows(frame, Path(aligned_dir) / "_celeba")


def align_celeba_rows(frame: pd.DataFrame, aligned_dir) -> pd.DataFrame:
    """Send CelebA negatives through the same detection and alignment as the user's photos.

    CelebA's crops were aligned by CelebA's own pipeline, a little differently from ours; were only
    the person's photos re-aligned, a head could learn "our crop" versus "CelebA's crop" instead of
    who is in it, and accept any stranger whose photo went through our intake. Each crop is cached
    as `aligned_dir/<name>.png`; a CelebA image with no face found is dropped.
    """
    from facetransfer.faces import align_file

    frame = frame.copy()
    if "aligned" not in frame.columns:
        frame["aligned"] = frame["path"]
    out = Path(aligned_dir)
    out.mkdir(parents=True, exist_ok=True)
    for i in frame.index[frame["source"] == "celeba"]:
        source = Path(frame.at[i, "path"])
        crop = out / f"{source.stem}.png"
        if not crop.exists():
            result = align_file(source, crop)
            if result.status != "ok":
                log.warning("skipped CelebA negative %s: %s", source, result.reason)
                frame.at[i, "aligned"] = None
                continue
        frame.at[i, "aligned"] = str(crop)
    return frame[frame["aligned"].notna()].reset_index(drop=True)


def load_person_data(
    frame: pd.DataFrame, size: int, crop: str, cache_dir, progress: bool = True
) -> PersonData:
    column = "aligned" if "aligned" in frame.columns else "path"
    data = PersonData({}, {}, {})
    for split in ("train", "validation", "test"):
        rows = frame[frame["split"] == split]
        cache = build_cache(rows[column].tolist(), size, cache_dir, crop, progress=progress)
        data.images[split] = np.asarray(cache.images)
        data.labels[split] = rows["label"].to_numpy()[cache.ok].astype(np.float32)
        data.paths[split] = rows["path"].to_numpy()[cache.ok].tolist()
        data.skipped += cache.skipped
    return data


def build_person_model(base, head: str = "auto", unfreeze_top: bool = False):
    """The seed's head on a seed base, a logistic head on an improved base's embedding.

    `unfreeze_top` lets the improved base's last conv block and embedding learn too (train it at
    a low learning rate); its BatchNorm statistics stay frozen, as few photos cannot re-estimate
    them.
    """
    from facetransfer import models

    names = {layer.name for layer in base.layers}
    if head == "auto":
        head = "embedding" if "embedding" in names else "seed"
    if head == "seed":
        model = models.seed_transfer_model(base)
    elif head == "embedding":
        model = models.embedding_transfer_model(base)
    elif head == "centroid":
        model = models.embedding_transfer_model(base, dropout=0.0)
    else:
        raise ValueError(
            f"unknown head {head!r}: expected 'auto', 'seed', 'embedding' or 'centroid'"
        )
    if unfreeze_top:
        top = models.top_block_layers(base)
        if not top:
            raise ValueError("unfreeze_top needs the improved base (it has no top block to tune)")
        base.trainable = True
        for layer in base.layers:
            layer.trainable = layer.name in top and "_bn" not in layer.name
    return model


def class_weights(labels: np.ndarray) -> dict[int, float]:
    """Few photos of the person against many of others: weigh both classes equally."""
    n = len(labels)
    positives = float(labels.sum())
    return {0: n / (2 * max(n - positives, 1)), 1: n / (2 * max(positives, 1))}


def scores(model, images: np.ndarray, batch_size: int = 64) -> np.ndarray:
    if len(images) <= batch_size:  # one photo's faces: skip predict()'s per-call setup
        return np.asarray(model(images, training=False), dtype=np.float32).reshape(-1)
    return model.predict(images, batch_size=batch_size, verbose=0).reshape(-1)


@dataclass
class PersonResult:
    threshold: float
    report: dict
    test_scores: np.ndarray
    history: dict


def save_person_model(model, path, metadata: dict) -> list[Path]:
    from facetransfer.training import _write_json_atomically, save_model_atomically

    written = save_model_atomically(model, path)
    sidecar = Path(path).with_suffix(".json")
    _write_json_atomically(sidecar, metadata)
    return [*written, sidecar]


def set_centroid_head(model, data: PersonData, scale: float = 20.0) -> None:
    """No training: the head scores how much closer a face's normalised embedding is to the mean
    of the person's training photos than to the mean of the others' (enrolment by mean, the
    classic way face-verification embeddings are used). Its threshold is chosen like any head's."""
    import keras

    normalized = keras.Model(model.inputs[0], model.get_layer("head_normalize").output)
    z = normalized.predict(data.images["train"], verbose=0)
    y = data.labels["train"] > 0.5

    def unit(v):
        return v / (np.linalg.norm(v) + 1e-12)

    direction = unit(z[y].mean(axis=0)) - unit(z[~y].mean(axis=0))
    middle = 0.5 * (z[y] @ direction).mean() + 0.5 * (z[~y] @ direction).mean()
    layer = model.get_layer("probability")
    layer.set_weights(
        [scale * direction[:, None].astype("float32"), np.array([-scale * middle], dtype="float32")]
    )


def finish_person(
    model,
    data: PersonData,
    checkpoint,
    target_false_accept: float = 0.01,
    metadata: dict | None = None,
    history: dict | None = None,
) -> PersonResult:
    """Choose the threshold on validation, report on test, save model + threshold + report."""
    threshold = evaluate.threshold_for_false_accept(
        data.labels["validation"], scores(model, data.images["validation"]), target_false_accept
    )
    test_scores = scores(model, data.images["test"])
    report = evaluate.person_report(data.labels["test"], test_scores, threshold)
    meta = {
        **(metadata or {}),
        "threshold": float(threshold),
        "target_false_accept": target_false_accept,
        "test": {k: v for k, v in report.items() if k != "confusion_matrix"},
        "counts": data.counts().to_dict(),
    }
    save_person_model(model, Path(checkpoint).with_suffix(".h5"), meta)
    return PersonResult(float(threshold), report, test_scores, history or {})


def train_person(
    model,
    data: PersonData,
    epochs: int,
    checkpoint,
    logs_dir,
    optimizer: str = "adam",
    learning_rate: float = 1e-3,
    loss: str = "binary_crossentropy",
    batch_size: int = 16,
    target_false_accept: float = 0.01,
    augment: bool = True,
    seed: int = 0,
    metadata: dict | None = None,
    verbose="auto",
) -> PersonResult:
    """Fit the head, keep its best epoch by validation AUC, choose the threshold on validation for
    the target false-accept rate, report on test, and save model, threshold and report."""
    import keras

    from facetransfer import models

    keras.utils.set_random_seed(seed)
    models.compile_person(model, optimizer, learning_rate, loss)
    train_ds = make_dataset(
        data.images["train"],
        data.labels["train"],
        batch_size,
        shuffle=True,
        seed=seed,
        augment=augmentation(seed) if augment else None,
    )
    val_ds = make_dataset(data.images["validation"], data.labels["validation"], batch_size)
    weights = class_weights(data.labels["train"])
    checkpoint = Path(checkpoint).with_suffix(".h5")
    # The person model's best epoch is chosen afresh each run: a new person or new photos make an
    # old value meaningless. It is still written atomically.
    model_fit = _fit_weighted(
        model, train_ds, val_ds, epochs, checkpoint, logs_dir, weights, verbose
    )
    best = load_model_file(checkpoint, expect="person")
    return finish_person(best, data, checkpoint, target_false_accept, metadata, model_fit.history)


def _fit_weighted(model, train_ds, val_ds, epochs, checkpoint, logs_dir, weights, verbose):
    from facetransfer import training

    class_weighted = train_ds.map(lambda x, y: (x, y, _sample_weights(y, weights)))
    return training.fit(
        model,
        class_weighted,
        val_ds,
        epochs,
        checkpoint,
        logs_dir,
        monitor="val_auc",
        mode="max",
        replace_worse=True,
        verbose=verbose,
    )


def _sample_weights(y, weights):
    import tensorflow as tf

    y = tf.reshape(y, [-1])
    return tf.where(y > 0.5, weights[1], weights[0])


# ---------------------------------------------------------------------------------------------
# Prediction


@dataclass
class PersonModel:
    """A saved person model with what is needed to use it on any photo."""

    model: object
    person: str
    threshold: float
    crop: str
    align: bool
    path: Path

    @property
    def size(self) -> int:
        return int(self.model.input_shape[1])


def load_person_model(path) -> PersonModel:
    model = load_model_file(path, expect="person")
    meta = model_metadata(path)
    if "threshold" not in meta:
        raise ModelFileError(
            f"{Path(path).with_suffix('.json')}: missing or has no threshold; "
            "person models are saved with one by `facetransfer transfer`"
        )
    return PersonModel(
        model,
        meta.get("person", Path(path).stem),
        float(meta["threshold"]),
        meta.get("crop", "full"),
        bool(meta.get("align", True)),
        Path(path),
    )


def _prepare_face(face: np.ndarray, size: int, crop: str) -> np.ndarray:
    box = crop_box(face.shape[1], face.shape[0], crop)
    if box is not None:
        left, top, right, bottom = box
        face = face[top:bottom, left:right]
    return resize(face, (size, size))


def predict_photo(person: PersonModel, path) -> dict:
    """{"path", "faces": [{"box", "probability", "is_person"}], "probability", "is_person"}: the
    photo's probability is its most likely face's, null when no face was found."""
    result = {"path": str(path), "faces": [], "probability": None, "is_person": False}
    try:
        image = read_rgb(path)
    except ImageReadError as error:
        result["error"] = str(error)
        return result
    if person.align:
        from facetransfer.faces import align_face, detect_faces

        faces = detect_faces(image)
        crops = [align_face(image, face.landmarks) for face in faces]
        boxes = [list(map(int, face.box)) for face in faces]
    else:  # the photo is already an aligned crop (the drawn default data)
        crops = [image]
        boxes = [[0, 0, int(image.shape[1]), int(image.shape[0])]]
    if crops:
        batch = np.stack([_prepare_face(c, person.size, person.crop) for c in crops])
        probs = scores(person.model, batch)
        for box, p in zip(boxes, probs, strict=True):
            result["faces"].append(
                {"box": box, "probability": float(p), "is_person": bool(p >= person.threshold)}
            )
        result["probability"] = float(probs.max())
        result["is_person"] = bool(probs.max() >= person.threshold)
    return result


def transfer(
    base_path,
    frame: pd.DataFrame,
    out,
    logs_dir,
    cache_dir,
    person: str,
    head: str = "auto",
    epochs: int | None = None,
    optimizer: str = "adam",
    learning_rate: float | None = None,
    loss: str = "binary_crossentropy",
    batch_size: int = 16,
    target_false_accept: float = 0.01,
    augment: bool = True,
    unfreeze_top: bool = False,
    align: bool = False,
    seed: int = 0,
    verbose=0,
    progress: bool = True,
):
    """The whole transfer from a split of photos: load the base, read the photos at its input
    size and crop, build and train the head, choose the threshold, save `out` (.h5, .keras,
    .json with the threshold). Returns (PersonResult, PersonData, model). The notebooks, the CLI
    and the benchmark all call this."""
    base = load_model_file(base_path, expect="attributes")
    crop = model_metadata(base_path).get("crop", "full")
    size = int(base.input_shape[1])
    data = load_person_data(frame, size, crop, cache_dir, progress=progress)
    if head == "auto":
        head = "embedding" if "embedding" in {layer.name for layer in base.layers} else "seed"
    # The seed's head has 4,353 weights behind a sigmoid layer and learns slowly (the seed: 150
    # epochs); a logistic unit on a normalised embedding converges in tens at a higher rate.
    epochs = epochs or (150 if head == "seed" else 40)
    if learning_rate is None:
        learning_rate = 1e-3 if head == "seed" else (1e-4 if unfreeze_top else 1e-2)
    model = build_person_model(base, head, unfreeze_top)
    metadata = {
        "person": person,
        "base": str(base_path),
        "crop": crop,
        "align": align,
        "image_size": size,
        "head": head,
        "unfreeze_top": unfreeze_top,
    }
    if head == "centroid":
        set_centroid_head(model, data)
        result = finish_person(model, data, out, target_false_accept, metadata)
        return result, data, model
    result = train_person(
        model,
        data,
        epochs,
        out,
        logs_dir,
        optimizer,
        learning_rate,
        loss,
        batch_size,
        target_false_accept,
        augment=augment,
        seed=seed,
        verbose=verbose,
        metadata=metadata,
    )
    return result, data, model
