"""Why a distilled student falls short: three small measurements on the teacher's cache.

    .venv/bin/python benchmarks/student_diagnostics.py --stage mirror     # mirrored views
    .venv/bin/python benchmarks/student_diagnostics.py --stage memorise   # can it fit 256 faces?
    .venv/bin/python benchmarks/student_diagnostics.py --stage batchnorm  # work/models/student.h5

- mirror: dlib's descriptor of 300 sample chips against that of their mirror images (what keeping
  the source's descriptor for a mirrored training view costs), beside the descriptors' spread.
- memorise: the improved network trained 40 epochs on 256 training faces' descriptors alone, with
  and without its dropout; the fit in training mode and at inference, before and after
  BatchNorm's statistics are re-estimated on those faces.
- batchnorm: a saved student's validation error with its statistics as saved and re-estimated on
  4,096 training images.
Needs the caches `recognition.py --stage base --teacher dlib` leaves in benchmarks/work/cache.
"""

from __future__ import annotations

import argparse
import glob
import json
import sys
from pathlib import Path

import numpy as np
from common import SHARED_DATA, WORK, machine

TRAIN_ROWS, VALIDATION_ROWS = 12322, 540  # the sample less the 60 evaluation people


def cached(pattern: str, rows: int) -> np.ndarray:
    for path in sorted(glob.glob(str(WORK / "cache" / pattern))):
        array = np.load(path, mmap_mode="r")
        if array.shape[0] == rows:
            return array
    raise FileNotFoundError(f"no {pattern} cache of {rows} rows: run recognition.py --stage base")


def spread(descriptors: np.ndarray) -> float:
    return float(((descriptors - descriptors.mean(0)) ** 2).sum(1).mean())


def stage_mirror(args) -> dict:
    from facetransfer.modeling.bases import dlib_base
    from facetransfer.modeling.checkpoints import load_model_file
    from facetransfer.modeling.teacher import teacher_chip

    folder = SHARED_DATA / "celeba" / "img_align_celeba"
    paths = sorted(folder.glob("*.jpg"))[::40][:300]
    chips = np.stack([teacher_chip(p, "dlib_chip") for p in paths]).astype("float32")
    teacher = load_model_file(dlib_base(WORK / "models"))
    plain = teacher.predict(chips, batch_size=32, verbose=0)
    mirrored = teacher.predict(chips[:, :, ::-1], batch_size=32, verbose=0)
    squared = ((plain - mirrored) ** 2).sum(1)
    return {
        "images": len(paths),
        "mirror_squared_distance_mean": round(float(squared.mean()), 4),
        "mirror_distance_mean": round(float(np.sqrt(squared).mean()), 4),
        "descriptor_spread": round(spread(plain), 4),
    }


def _reestimate_batchnorm(model, batches) -> None:
    import keras

    layers = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    for k, batch in enumerate(batches):
        for layer in layers:
            layer.momentum = k / (k + 1)  # a running mean over the batches
        model(batch, training=True)


def stage_memorise(args) -> dict:
    import keras

    from facetransfer.modeling import networks

    targets = np.asarray(cached("teacher-dlib-dlib_chip-*.npy", TRAIN_ROWS)[:256])
    images = np.asarray(cached("images-112-face-*.npy", TRAIN_ROWS)[:256])
    out = {"faces": 256, "descriptor_spread": round(spread(targets), 4)}
    for dropout in (0.2, 0.0):
        keras.utils.set_random_seed(0)
        model = networks.improved_cnn(112, widths=(32, 64, 128, 256))
        model.get_layer("dropout").rate = dropout
        trainer = networks.with_training_heads(model, teacher_dim=128, distill_weight=10.0)
        labels = {"attribute_logits": np.zeros((256, 40), "float32"), "descriptor": targets}
        history = trainer.fit(images, labels, epochs=40, batch_size=32, verbose=0).history
        embed = keras.Model(model.inputs[0], model.get_layer("embedding").output)

        def error(x):
            return round(float(((np.asarray(x) - targets) ** 2).sum(1).mean()), 4)

        inference = error(embed.predict(images, verbose=0))
        _reestimate_batchnorm(embed, [images])
        out[f"dropout_{dropout}"] = {
            "last_training_loss": round(history["descriptor_loss"][-1], 4),
            "inference_error": inference,
            "inference_error_batchnorm_reestimated": error(embed.predict(images, verbose=0)),
        }
    return out


def stage_batchnorm(args) -> dict:
    import keras

    from facetransfer.modeling.checkpoints import load_model_file

    model = load_model_file(args.model)
    embed = keras.Model(model.inputs[0], model.get_layer("embedding").output)
    size = int(model.input_shape[1])
    crop = json.loads(Path(args.model).with_suffix(".json").read_text()).get("crop", "face")
    pattern = f"images-{size}-{crop}-*.npy"
    train = cached(pattern, TRAIN_ROWS)
    validation = np.asarray(cached(pattern, VALIDATION_ROWS))
    targets = cached("teacher-dlib-dlib_chip-*.npy", VALIDATION_ROWS)

    def error():
        return round(
            float(((embed.predict(validation, verbose=0) - targets) ** 2).sum(1).mean()), 4
        )

    before = error()
    rows = np.sort(np.random.default_rng(0).permutation(len(train))[:4096])
    _reestimate_batchnorm(
        embed, [np.asarray(train[rows[i : i + 128]]) for i in range(0, 4096, 128)]
    )
    return {
        "model": str(args.model),
        "validation_error_saved": before,
        "validation_error_reestimated": error(),
        "descriptor_spread": round(spread(targets), 4),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stage", choices=("mirror", "memorise", "batchnorm"), required=True)
    parser.add_argument("--model", type=Path, default=WORK / "models" / "student.h5")
    args = parser.parse_args(argv)
    stages = {"mirror": stage_mirror, "memorise": stage_memorise, "batchnorm": stage_batchnorm}
    result = {**stages[args.stage](args), "machine": machine()}
    (WORK / f"student_diagnostics_{args.stage}.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
