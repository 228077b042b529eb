"""Speed, from JPEG to trained model, measured on this machine in one run.

    .venv/bin/python benchmarks/speed.py            # everything, about 10 minutes on 2 cores
    .venv/bin/python benchmarks/speed.py --quick    # the headline numbers, about 2 minutes

What it measures, on the real CelebA sample in ../shared/data (full-size aligned JPEGs):
1. ceilings: TensorFlow's float32 (and bfloat16) matmul and 3x3 convolution GFLOP/s here;
2. the cache: decoding + resizing JPEGs once into the uint8 memory-mapped store, in threads;
3. the input pipeline alone (tf.data over the cache, with each augmentation) and the seed-style
   loader (JPEGs decoded and resized every epoch by Python code, as ImageDataGenerator did);
4. training throughput, (a) the seed's network fed by the seed-style loader, (b) the seed's
   network on our pipeline, (c) the improved network on our pipeline, and variants that try
   what matters on CPUs: bfloat16, XLA, batch size, oneDNN off, inter-op threads, input size;
5. `predict` latency per photo (decode, detect, align, score) and throughput on a folder;
6. a projection to full CelebA (202,599 images) from the measured per-image costs.

Every measurement runs in a fresh subprocess (thread counts, oneDNN and precision are fixed when
TensorFlow starts), warms up, then times several repeats of a fixed number of steps and reports
the median. os.getloadavg() is recorded with each, because other work on the machine slows it.
Results go to benchmarks/work/speed.json and a Markdown report to stdout.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# SHARED_DATA: the development machines' real sample, or --shared-data (exported to the task
# subprocesses through FACETRANSFER_SHARED_DATA).
from common import ROOT, SHARED_DATA, WORK, machine_details

FULL_CELEBA = {"images": 202_599, "train": 162_770, "validation": 19_867, "test": 19_962}

SIZES = {
    "quick": {"images": 384, "warmup": 3, "steps": 4, "repeats": 3, "photos": 12, "batches": 20},
    "full": {
        "images": 1024,
        "warmup": 3,
        "steps": 8,
        "repeats": 3,
        "photos": 40,
        "batches": 40,
        "whole_sample": True,
    },
}

# Training runs: label -> settings. (a), (b), (c) are the issue's; (b) and (c) use the settings
# the numbers below support ("auto" precision: bfloat16 compute where the CPU has bfloat16 units,
# float32 elsewhere); every other run changes one thing to show what it is worth.
TRAIN_RUNS = {
    "a: seed, seed-style loader": {"arch": "seed", "feed": "seed-loader", "precision": "float32"},
    "b: seed, our pipeline": {"arch": "seed", "predict": True},
    "c: improved, our pipeline": {"arch": "improved", "predict": True},
    "b, float32": {"arch": "seed", "precision": "float32", "predict": True},
    "c, float32": {"arch": "improved", "precision": "float32", "predict": True},
    "a, 2 loader threads": {
        "arch": "seed",
        "feed": "seed-loader",
        "precision": "float32",
        "loader_workers": 2,
    },
    "b, float32, batch 16": {"arch": "seed", "precision": "float32", "batch": 16},
    "b, float32, batch 64": {"arch": "seed", "precision": "float32", "batch": 64},
    "b, float32 + XLA": {"arch": "seed", "precision": "float32", "jit": True},
    "c, batch 64": {"arch": "improved", "batch": 64},
    "c, float32, batch 64": {"arch": "improved", "precision": "float32", "batch": 64},
    "c, float32 + XLA": {"arch": "improved", "precision": "float32", "jit": True},
    "c, float32, oneDNN off": {"arch": "improved", "precision": "float32", "onednn": False},
    "c, 1 inter-op thread": {"arch": "improved", "inter_op": 1},
    "c, 96 px": {"arch": "improved", "size": 96},
    "c, light augmentation": {"arch": "improved", "augment": "light"},
}
QUICK_RUNS = [
    "a: seed, seed-style loader",
    "b: seed, our pipeline",
    "c: improved, our pipeline",
    "b, float32",
    "c, float32",
]
ARCH_INPUT = {"seed": (192, "full"), "improved": (128, "face")}
# The runs projected onto several workers.
PROJECTED_RUNS = ("b: seed, our pipeline", "c: improved, our pipeline", "c, float32")


# ---------------------------------------------------------------------------------------------
# Small helpers shared by the tasks


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def sample_images(n: int) -> tuple[list[Path], object]:
    """The first `n` full-size (178x218) aligned JPEGs of the sample and their 40 labels."""
    import pandas as pd

    from facetransfer.data.labels import read_attributes

    manifest = pd.read_csv(SHARED_DATA / "manifest.csv")
    names = sorted(manifest.loc[manifest["kind"] == "aligned_full", "image"])[:n]
    folder = SHARED_DATA / "celeba" / "img_align_celeba"
    labels = read_attributes(SHARED_DATA / "celeba" / "list_attr_celeba.txt").loc[names]
    return [folder / name for name in names], labels.to_numpy()


def wild_photos(n: int) -> list[Path]:
    folder = SHARED_DATA / "celeba-wild" / "img_celeba"
    return sorted(folder.glob("*.jpg"))[:n]


def forward_gflop(model) -> float:
    """Multiply-adds x 2 of the convolutions and dense layers for one image. Pooling, ReLU and
    BatchNorm are memory traffic, not FLOPs worth counting; a training step is about 3x this
    (forward, then gradients for the inputs and for the weights)."""
    from keras import layers

    total = 0
    for layer in model.layers:
        if isinstance(layer, layers.Conv2D):
            _, height, width, out_channels = layer.output.shape
            kh, kw = layer.kernel_size
            in_channels = layer.input.shape[-1] // layer.groups
            total += 2 * kh * kw * in_channels * out_channels * height * width
        elif isinstance(layer, layers.Dense):
            total += 2 * layer.input.shape[-1] * layer.units
    return total / 1e9


def timed_repeats(function, repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return times


# ---------------------------------------------------------------------------------------------
# Tasks: each runs in its own process and returns a JSON-able dict


def task_ceilings(params: dict) -> dict:
    """Best GFLOP/s of a 2048^2 matmul and of 3x3 'same' convolutions shaped like the
    networks' layers, in float32 and bfloat16."""
    import tensorflow as tf

    shapes = [(32, 32, 96), (64, 64, 32), (128, 128, 16), (192, 192, 8)]  # (in, out, side)
    batch = 32
    out = {"load_before": load_average(), "matmul": {}, "conv": {}}
    for dtype in (tf.float32, tf.bfloat16):
        a = tf.random.normal((2048, 2048), dtype=dtype)
        matmul = tf.function(lambda a: tf.matmul(a, a))
        out["matmul"][dtype.name] = _gflops(matmul, [a], 2 * 2048**3, params["repeats"])
        conv = tf.function(lambda x, w: tf.nn.conv2d(x, w, 1, "SAME"))
        rows = []
        for cin, cout, side in shapes:
            x = tf.random.normal((batch, side, side, cin), dtype=dtype)
            w = tf.random.normal((3, 3, cin, cout), dtype=dtype)
            flops = 2 * 9 * cin * cout * side * side * batch
            rows.append(
                {
                    "shape": f"{cin}->{cout} @ {side}x{side}, batch {batch}",
                    "gflops": _gflops(conv, [x, w], flops, params["repeats"]),
                }
            )
        out["conv"][dtype.name] = rows
    out["load_after"] = load_average()
    return out


def _gflops(function, args, flops: float, repeats: int) -> float:
    function(*args).numpy()  # trace and warm up
    calls = max(3, int(2e10 / flops))  # about 20 GFLOP a repeat
    times = timed_repeats(lambda: [function(*args) for _ in range(calls)][-1].numpy(), repeats)
    return round(flops * calls / statistics.median(times) / 1e9, 1)


def task_cache(params: dict) -> dict:
    """Build the cache of the sample at each architecture's size, in threads (the default) and in
    one thread; then open the built one again."""
    from facetransfer.data.cache import build_cache

    paths, _ = sample_images(params["images"])
    work = Path(params["work"])
    out = {"images": len(paths), "load_before": load_average(), "builds": []}
    for size, crop in ARCH_INPUT.values():
        built = build_cache(paths, size, work / "cache", crop, progress=False)
        start = time.perf_counter()
        build_cache(paths, size, work / "cache", crop, progress=False)
        reopen = time.perf_counter() - start
        serial_n = min(len(paths), 256)
        serial = build_cache(
            paths[:serial_n], size, work / "serial", crop, workers=1, progress=False
        )
        out["builds"].append(
            {
                "size": size,
                "crop": crop,
                "seconds": round(built.seconds, 2),
                "rate": round(built.rate, 1),
                "serial_rate": round(serial.rate, 1),
                "reopen_seconds": round(reopen, 3),
                "bytes_per_image": size * size * 3,
            }
        )
    if params.get("whole_sample"):
        # Every aligned JPEG of the sample (14,155, most of them half size) at the seed's 192 px:
        # the job the issue timed at 46 s.
        folder = SHARED_DATA / "celeba" / "img_align_celeba"
        every = sorted(folder.glob("*.jpg"))
        built = build_cache(every, 192, work / "whole", "full", progress=False)
        out["whole_sample"] = {
            "images": len(every),
            "seconds": round(built.seconds, 1),
            "rate": round(built.rate, 1),
        }
        (work / "whole").rename(work / "whole-done")  # 1.6 GB: gone with the work folder
    out["load_after"] = load_average()
    return out


def task_pipeline(params: dict) -> dict:
    """Images per second the input alone delivers: our tf.data pipeline over the cache with each
    augmentation, and the seed-style loader decoding JPEGs."""
    import keras

    from facetransfer.data.cache import build_cache
    from facetransfer.data.pipeline import augmentation, make_dataset

    paths, labels = sample_images(params["images"])
    work = Path(params["work"])
    out = {"load_before": load_average(), "rows": []}
    for arch, (size, crop) in ARCH_INPUT.items():
        cache = build_cache(paths, size, work / "cache", crop, progress=False)
        images, y = cache.images, labels[cache.ok]
        choices = {
            "none": None,
            "flip": "flip",
            "light": "light",
            "Keras RandomFlip layer": keras.layers.RandomFlip("horizontal"),
            "Keras augmentation() (6 layers)": augmentation(),
        }
        for name, augment in choices.items():
            ds = make_dataset(images, y, 32, shuffle=True, augment=augment).repeat()
            rate = _iterate_rate(iter(ds), params["batches"], 32)
            out["rows"].append({"arch": arch, "size": size, "feed": name, "img_s": rate})
        if arch == "seed":
            loader = SeedStyleLoader(paths, labels, size, 32, steps=10**6)
            rate = _iterate_rate(
                (loader[i] for i in range(10**6)), max(5, params["batches"] // 4), 32
            )
            out["rows"].append(
                {"arch": arch, "size": size, "feed": "seed-style loader (JPEG)", "img_s": rate}
            )
    out["load_after"] = load_average()
    return out


def _iterate_rate(iterator, batches: int, batch_size: int, warmup: int = 3) -> float:
    for _ in range(warmup):
        next(iterator)
    start = time.perf_counter()
    for _ in range(batches):
        next(iterator)
    return round(batches * batch_size / (time.perf_counter() - start), 1)


def _seed_style_loader_class():
    import keras
    import numpy as np
    from PIL import Image

    class SeedStyleLoader(keras.utils.PyDataset):
        """What ImageDataGenerator.flow_from_dataframe did for the seed, every epoch: open each
        JPEG with PIL, resize it (nearest, load_img's default), turn it into a float32 array,
        flip it at random in Python, and stack a batch. (Keras 3 removed ImageDataGenerator.)"""

        def __init__(self, paths, labels, size, batch_size, steps, seed=0, **kwargs):
            super().__init__(**kwargs)
            self.paths, self.labels = list(paths), np.asarray(labels, dtype=np.float32)
            self.size, self.batch_size, self.steps = size, batch_size, steps
            self.rng = np.random.default_rng(seed)
            self.order = self.rng.permutation(len(self.paths))

        def __len__(self):
            return self.steps

        def __getitem__(self, index):
            start = (index * self.batch_size) % len(self.paths)
            rows = np.take(self.order, range(start, start + self.batch_size), mode="wrap")
            batch = np.empty((len(rows), self.size, self.size, 3), dtype=np.float32)
            for i, row in enumerate(rows):
                with Image.open(self.paths[row]) as image:
                    image = image.convert("RGB")
                    if image.size != (self.size, self.size):
                        image = image.resize((self.size, self.size), Image.Resampling.NEAREST)
                    pixels = np.asarray(image, dtype=np.float32)
                if self.rng.random() < 0.5:  # horizontal_flip=True
                    pixels = pixels[:, ::-1]
                batch[i] = pixels
            return batch, self.labels[rows]

    return SeedStyleLoader


def SeedStyleLoader(*args, **kwargs):  # noqa: N802 - a class made on first use (imports Keras)
    return _seed_style_loader_class()(*args, **kwargs)


def task_train(params: dict) -> dict:
    """Training images per second of one configuration, fed from the cache or the seed-style
    loader; plus, for the plain configurations, prediction images per second."""
    import tensorflow as tf

    if params.get("inter_op"):
        tf.config.threading.set_inter_op_parallelism_threads(params["inter_op"])
    import keras
    import numpy as np

    from facetransfer.data.cache import build_cache
    from facetransfer.data.pipeline import make_dataset
    from facetransfer.modeling import networks
    from facetransfer.modeling.precision import policy_name

    policy = policy_name(params["precision"])
    keras.mixed_precision.set_global_policy(policy)
    keras.utils.set_random_seed(0)
    arch, size, batch = params["arch"], params["size"], params["batch"]
    crop = ARCH_INPUT[arch][1]
    model = networks.build_attribute_model(arch, size, "model2")
    if params["jit"]:
        model.jit_compile = True
    paths, labels = sample_images(params["images"])
    steps = params["warmup"] + params["repeats"] * params["steps"]
    if params["feed"] == "seed-loader":
        data = SeedStyleLoader(
            paths, labels, size, batch, steps, workers=params.get("loader_workers", 1)
        )
    else:
        cache = build_cache(paths, size, Path(params["work"]) / "cache", crop, progress=False)
        data = make_dataset(
            cache.images, labels[cache.ok], batch, shuffle=True, augment=params["augment"]
        ).repeat()
    timer = StepTimes()
    load_before = load_average()
    model.fit(data, epochs=1, steps_per_epoch=steps, verbose=0, callbacks=[timer], shuffle=False)
    load_after = load_average()
    rates = []
    for r in range(params["repeats"]):
        first = params["warmup"] - 1 + r * params["steps"]
        seconds = timer.times[first + params["steps"]] - timer.times[first]
        rates.append(params["steps"] * batch / seconds)
    gflop = forward_gflop(model)
    out = {
        "policy": policy,
        "img_s": round(statistics.median(rates), 1),
        "img_s_repeats": [round(r, 1) for r in rates],
        "forward_gflop": round(gflop, 4),
        "train_gflop": round(3 * gflop, 4),
        "params": int(model.count_params()),
        "load_before": load_before,
        "load_after": load_after,
    }
    if params.get("predict"):
        cache = build_cache(paths, size, Path(params["work"]) / "cache", crop, progress=False)
        images = np.asarray(cache.images[: 8 * 64])
        model.predict(images[:64], batch_size=64, verbose=0)
        seconds = timed_repeats(
            lambda: model.predict(images, batch_size=64, verbose=0), params["repeats"]
        )
        out["predict_img_s"] = round(len(images) / statistics.median(seconds), 1)
    import resource

    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return out


class StepTimes:
    """A Keras callback (made lazily) recording when each training step ends."""

    def __new__(cls):
        import keras

        class _StepTimes(keras.callbacks.Callback):
            def on_train_begin(self, logs=None):
                self.times = [time.perf_counter()]

            def on_train_batch_end(self, batch, logs=None):
                self.times.append(time.perf_counter())

        return _StepTimes()


def task_inference(params: dict) -> dict:
    """`predict` on wild photos with a person model on the improved base (random weights: the
    cost does not depend on them): per-photo latency and its stages, and folder throughput."""
    start_import = time.perf_counter()
    import keras
    import numpy as np

    from facetransfer.data.align import align_face
    from facetransfer.data.faces import detect_faces
    from facetransfer.data.images import read_rgb
    from facetransfer.modeling import networks
    from facetransfer.modeling.checkpoints import save_with_sidecar
    from facetransfer.modeling.predict import load_person_model, predict_image, prepare_face, scores

    import_seconds = time.perf_counter() - start_import
    keras.utils.set_random_seed(0)
    path = Path(params["work"]) / "person.h5"
    person = networks.embedding_transfer_model(networks.improved_cnn(128))
    save_with_sidecar(
        person, path, {"person": "bench", "threshold": 0.5, "crop": "face", "align": True}
    )
    start = time.perf_counter()
    loaded = load_person_model(path)
    load_seconds = time.perf_counter() - start
    photos = wild_photos(params["photos"])
    start = time.perf_counter()
    predict_image(loaded, photos[0])  # first photo: the detector is built, functions traced
    first_seconds = time.perf_counter() - start
    predict_image(loaded, photos[1])

    load_before = load_average()
    totals, stages, faces = [], {"decode": [], "detect": [], "align": [], "score": []}, 0
    direct = []
    for photo in photos:
        start = time.perf_counter()
        result = predict_image(loaded, photo)
        totals.append(time.perf_counter() - start)
        faces += len(result["faces"])
        # The same work again, stage by stage.
        t0 = time.perf_counter()
        image = read_rgb(photo)
        t1 = time.perf_counter()
        found = detect_faces(image)
        t2 = time.perf_counter()
        crops = [align_face(image, face.landmarks) for face in found]
        t3 = time.perf_counter()
        if crops:
            batch = np.stack([prepare_face(c, loaded.size, loaded.crop) for c in crops])
            scores(loaded.model, batch)
            t4 = time.perf_counter()
            loaded.model(batch, training=False)
            direct.append(time.perf_counter() - t4)
        else:
            t4 = t3
        for name, seconds in zip(stages, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
            stages[name].append(seconds)
    load_after = load_average()

    def summary(values):
        return {
            "median_ms": round(1000 * statistics.median(values), 1),
            "p95_ms": round(1000 * float(np.percentile(values, 95)), 1),
        }

    return {
        "photos": len(photos),
        "faces": faces,
        "total": summary(totals),
        "stages": {name: summary(values) for name, values in stages.items() if values},
        "score_direct_call": summary(direct) if direct else None,
        "folder_photos_s": round(len(totals) / sum(totals), 2),
        "import_seconds": round(import_seconds, 1),
        "model_load_seconds": round(load_seconds, 2),
        "first_photo_seconds": round(first_seconds, 2),
        "load_before": load_before,
        "load_after": load_after,
    }


def task_faces(params: dict) -> dict:
    """The student against the dlib base, each as a distance person model (what `predict` runs
    on either): per-face scoring (one face per call, as `predict` scores a photo's faces, and 64
    at a time, as a folder's or a gallery's), and `predict` per photo, decode to decision."""
    import keras
    import numpy as np

    from facetransfer.config import ARCHITECTURES
    from facetransfer.modeling import networks
    from facetransfer.modeling.bases import dlib_base
    from facetransfer.modeling.checkpoints import load_model_file, save_with_sidecar
    from facetransfer.modeling.heads import distance_person_model
    from facetransfer.modeling.predict import load_person_model, predict_image

    keras.utils.set_random_seed(0)
    arch = ARCHITECTURES["improved"]
    work = Path(params["work"])
    student = (
        load_model_file(params["student"])
        if params.get("student")
        else networks.improved_cnn(arch.image_size, widths=arch.widths)
    )
    bases = {
        "student": (student, params.get("student_geometry", arch.geometry), arch.crop),
        "dlib": (
            load_model_file(dlib_base(WORK / "models")),
            "dlib_chip",
            "full",
        ),
    }
    photos = wild_photos(params["photos"])
    rng = np.random.default_rng(0)
    out = {"photos": len(photos), "load_before": load_average()}
    for name, (base, geometry, crop) in bases.items():
        dim = base.get_layer("embedding").output.shape[-1]
        model = distance_person_model(base, np.zeros(dim, np.float32), 0.6)
        meta = {"person": name, "threshold": 0.5, "crop": crop, "align": True, "geometry": geometry}
        save_with_sidecar(model, work / f"{name}.h5", meta)
        person = load_person_model(work / f"{name}.h5")
        size = person.size
        one = rng.integers(0, 256, (1, size, size, 3)).astype(np.uint8)
        many = rng.integers(0, 256, (64, size, size, 3)).astype(np.uint8)
        for _ in range(5):  # person.score is what predict calls: the model as one graph
            person.score(one)
            person.score(many)
        single = timed_repeats(functools.partial(person.score, one), 100)
        batched = timed_repeats(functools.partial(person.score, many), 10)
        predict_image(person, photos[0])  # the detector is built, functions traced
        totals = []
        for photo in photos:
            start = time.perf_counter()
            predict_image(person, photo)
            totals.append(time.perf_counter() - start)
        out[name] = {
            "params": int(base.count_params()),
            "input": size,
            "face_ms_one_at_a_time": round(1000 * statistics.median(single), 2),
            "faces_s_64_at_a_time": round(64 / statistics.median(batched), 1),
            "predict_median_ms": round(1000 * statistics.median(totals), 1),
            "predict_p95_ms": round(1000 * float(np.percentile(totals, 95)), 1),
        }
    # MTCNN's stage networks as graphs (what get_detector makes) against called eagerly
    from facetransfer.data.faces import detect_faces, get_detector
    from facetransfer.data.images import read_rgb

    images = [read_rgb(p) for p in photos]
    stages = get_detector().stages
    for how in ("graph", "eager"):
        if how == "eager":
            for stage in stages:
                stage._model = stage._model.python_function  # the Keras model itself
        detect_faces(images[0])
        out[f"detect_{how}_mean_ms"] = round(
            1000
            * statistics.median(timed_repeats(lambda: [detect_faces(i) for i in images], 1))
            / len(images),
            1,
        )
    s, d = out["student"], out["dlib"]
    out["speedup_one_at_a_time"] = round(d["face_ms_one_at_a_time"] / s["face_ms_one_at_a_time"], 2)
    out["speedup_64_at_a_time"] = round(s["faces_s_64_at_a_time"] / d["faces_s_64_at_a_time"], 2)
    out["load_after"] = load_average()
    return out


TASKS = {
    "faces": task_faces,
    "ceilings": task_ceilings,
    "cache": task_cache,
    "pipeline": task_pipeline,
    "train": task_train,
    "inference": task_inference,
}


# ---------------------------------------------------------------------------------------------
# The orchestrator: runs each task in a fresh process and writes the report


def run_task(name: str, params: dict, env_overrides: dict | None = None, timeout=900) -> dict:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **(env_overrides or {})}
    start = time.perf_counter()
    process = subprocess.run(
        [sys.executable, __file__, "--task", name, "--params", json.dumps(params)],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )
    lines = [line for line in process.stdout.splitlines() if line.startswith("{")]
    if process.returncode != 0 or not lines:
        raise RuntimeError(f"task {name} failed:\n{process.stderr[-3000:]}")
    result = json.loads(lines[-1])
    result["wall_seconds"] = round(time.perf_counter() - start, 1)
    return result


def train_params(settings: dict, sizes: dict, work: str) -> tuple[dict, dict]:
    arch = settings["arch"]
    params = {
        "arch": arch,
        "feed": settings.get("feed", "pipeline"),
        "size": settings.get("size", ARCH_INPUT[arch][0]),
        "batch": settings.get("batch", 32),
        "precision": settings.get("precision", "auto"),
        "jit": settings.get("jit", False),
        "augment": settings.get("augment"),
        "inter_op": settings.get("inter_op"),
        "loader_workers": settings.get("loader_workers", 1),
        "predict": settings.get("predict", False),
        "work": work,
        **{k: sizes[k] for k in ("images", "warmup", "steps", "repeats")},
    }
    env = {} if settings.get("onednn", True) else {"TF_ENABLE_ONEDNN_OPTS": "0"}
    return params, env


def orchestrate(args) -> dict:
    sizes = dict(SIZES["quick" if args.quick else "full"])
    for key in ("images", "steps", "repeats", "photos"):
        if getattr(args, key) is not None:
            sizes[key] = getattr(args, key)
    runs = args.runs.split(",") if args.runs else (QUICK_RUNS if args.quick else list(TRAIN_RUNS))
    unknown = [r for r in runs if r not in TRAIN_RUNS]
    if unknown:
        raise SystemExit(f"unknown runs {unknown}; known: {list(TRAIN_RUNS)}")
    results = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": machine_details(),
        "sizes": sizes,
    }
    with tempfile.TemporaryDirectory(prefix="facetransfer-speed-") as work:
        for name in ("ceilings", "cache", "pipeline"):
            note(f"{name} ...")
            results[name] = run_task(name, {**sizes, "work": work})
        results["train"] = {}
        for label in runs:
            note(f"train: {label} ...")
            params, env = train_params(TRAIN_RUNS[label], sizes, work)
            try:
                results["train"][label] = {**run_task("train", params, env), "settings": params}
            except (RuntimeError, subprocess.TimeoutExpired) as error:
                results["train"][label] = {"error": str(error)[-500:], "settings": params}
        note("inference ...")
        results["inference"] = run_task("inference", {**sizes, "work": work})
    results["projection"] = projection(results)
    results["finished"] = time.strftime("%Y-%m-%d %H:%M:%S")
    return results


def note(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')} load {load_average()[0]}] {message}", file=sys.stderr)


# ---------------------------------------------------------------------------------------------
# Projection to full CelebA and the report


def conv_ceiling(results: dict, dtype: str = "float32") -> float:
    return max(row["gflops"] for row in results["ceilings"]["conv"][dtype])


def projection(results: dict, bandwidths_gbit=(1, 10), workers=(1, 2, 4, 8)) -> dict:
    """Full CelebA from the measured per-image costs: cache size and build time, epoch time per
    training configuration, memory, and epoch time per added worker (per-worker batch kept at
    the measured one, gradients all-reduced in a ring each step, no overlap assumed)."""
    n = FULL_CELEBA["images"]
    out = {"cache": [], "epochs": [], "workers": []}
    for build in results["cache"]["builds"]:
        size_gb = n * build["bytes_per_image"] / 1e9
        out["cache"].append(
            {
                "size": build["size"],
                "crop": build["crop"],
                "cache_gb": round(size_gb, 1),
                "build_minutes": round(n / build["rate"] / 60, 1),
                "build_minutes_one_thread": round(n / build["serial_rate"] / 60, 1),
            }
        )
    for label, run in results["train"].items():
        if "img_s" not in run:
            continue
        settings = run["settings"]
        predict = run.get("predict_img_s")
        train_minutes = FULL_CELEBA["train"] / run["img_s"] / 60
        val_minutes = FULL_CELEBA["validation"] / predict / 60 if predict else None
        cache_gb = n * settings["size"] ** 2 * 3 / 1e9
        out["epochs"].append(
            {
                "run": label,
                "size": settings["size"],
                "train_minutes": round(train_minutes, 1),
                "validation_minutes": round(val_minutes, 1) if val_minutes else None,
                "cache_gb": round(cache_gb, 1),
                "fits_in_ram": cache_gb < 0.8 * results["machine"]["memory_gb"],
                "process_rss_mb": run.get("peak_rss_mb"),
            }
        )
        if label in PROJECTED_RUNS:
            for bandwidth in bandwidths_gbit:
                for count in workers:
                    out["workers"].append(
                        _worker_row(label, run, settings["batch"], count, bandwidth)
                    )
    return out


def _worker_row(label: str, run: dict, batch: int, count: int, gbit: float) -> dict:
    gradient_bytes = 4 * run["params"]  # float32 gradients, whatever the compute precision
    compute = batch / run["img_s"]
    ring = 2 * (count - 1) / count * gradient_bytes / (gbit * 1e9 / 8) if count > 1 else 0.0
    latency = 2 * (count - 1) * 100e-6  # ~0.1 ms a hop on a LAN
    step = compute + ring + latency
    steps = math.ceil(FULL_CELEBA["train"] / (batch * count))
    return {
        "run": label,
        "workers": count,
        "gbit_s": gbit,
        "epoch_minutes": round(steps * step / 60, 1),
        "speedup": round(compute * count / step, 2),
        "allreduce_ms": round(1000 * (ring + latency), 2),
    }


def markdown(results: dict) -> str:
    m = results["machine"]
    lines = [
        f"Command: `{results['command']}`  ",
        f"Run {results['started']} to {results['finished']}; {m['cpu']}, {m['cores']} cores, "
        f"{m['memory_gb']} GB RAM, AVX-512 {m['avx512']}, AMX-bf16 {m['amx_bf16']}; "
        f"TensorFlow {m['tensorflow']}, Keras {m['keras']}, Python {m['python']}.  ",
        f"Sizes: {results['sizes']}",
        "",
        "### Ceilings (GFLOP/s)",
        "",
        "| op | float32 | bfloat16 |",
        "|---|---:|---:|",
    ]
    c = results["ceilings"]
    lines.append(f"| matmul 2048x2048 | {c['matmul']['float32']} | {c['matmul']['bfloat16']} |")
    for f32, bf16 in zip(c["conv"]["float32"], c["conv"]["bfloat16"], strict=True):
        lines.append(f"| conv 3x3 {f32['shape']} | {f32['gflops']} | {bf16['gflops']} |")
    lines += [f"\nload {c['load_before']} -> {c['load_after']}", "", "### Cache", ""]
    lines += [
        "| size, crop | build s | img/s (threads) | img/s (1 thread) | reopen s | bytes/img |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for b in results["cache"]["builds"]:
        lines.append(
            f"| {b['size']}, {b['crop']} | {b['seconds']} | {b['rate']} | {b['serial_rate']} "
            f"| {b['reopen_seconds']} | {b['bytes_per_image']:,} |"
        )
    cache = results["cache"]
    if "whole_sample" in cache:
        whole = cache["whole_sample"]
        lines.append(
            f"\nThe whole sample ({whole['images']:,} JPEGs) at 192 px: {whole['seconds']} s, "
            f"{whole['rate']} img/s."
        )
    lines += [
        f"\n{cache['images']} JPEGs; load {cache['load_before']} -> {cache['load_after']}",
        "",
        "### Input alone (img/s, batch 32)",
        "",
        "| network input | feed | img/s |",
        "|---|---|---:|",
    ]
    for row in results["pipeline"]["rows"]:
        lines.append(f"| {row['arch']} {row['size']} px | {row['feed']} | {row['img_s']} |")
    p = results["pipeline"]
    lines += [f"\nload {p['load_before']} -> {p['load_after']}", "", "### Training", ""]
    ceiling32 = conv_ceiling(results, "float32")
    ceiling16 = conv_ceiling(results, "bfloat16")
    lines += [
        "| run | compute | batch | train img/s (repeats) | GFLOP/img | GFLOP/s "
        "| of f32 conv ceiling | of bf16 ceiling | predict img/s | load before -> after |",
        "|---|---|---:|---|---:|---:|---:|---:|---:|---|",
    ]
    for label, run in results["train"].items():
        s = run["settings"]
        if "img_s" not in run:
            lines.append(f"| {label} | | {s['batch']} | failed: {run['error'][:80]} |")
            continue
        gflops = run["img_s"] * run["train_gflop"]
        bf16 = f"{gflops / ceiling16:.0%}" if "bfloat16" in run["policy"] else ""
        repeats = ", ".join(map(str, run["img_s_repeats"]))
        lines.append(
            f"| {label} | {run['policy']} | {s['batch']} | {run['img_s']} ({repeats})"
            f" | {run['train_gflop']} | {gflops:.0f} | {gflops / ceiling32:.0%} | {bf16} "
            f"| {run.get('predict_img_s', '')} | {run['load_before'][0]} -> "
            f"{run['load_after'][0]} |"
        )
    a = "a: seed, seed-style loader"
    for top in ("b: seed, our pipeline", "b, float32"):
        ratio = _ratio(results, top, a)
        if ratio:
            lines.append(f"\n({top}) / (a) = {ratio:.2f}x")
    inf = results["inference"]
    lines += [
        "",
        f"### Inference: `predict` on {inf['photos']} wild photos ({inf['faces']} faces)",
        "",
        "| stage | median ms | p95 ms |",
        "|---|---:|---:|",
        f"| whole photo | {inf['total']['median_ms']} | {inf['total']['p95_ms']} |",
    ]
    for name, stage in inf["stages"].items():
        lines.append(f"| {name} | {stage['median_ms']} | {stage['p95_ms']} |")
    if inf["score_direct_call"]:
        d = inf["score_direct_call"]
        lines.append(f"| score, model called directly | {d['median_ms']} | {d['p95_ms']} |")
    lines += [
        f"\nFolder: {inf['folder_photos_s']} photos/s. Start-up: import {inf['import_seconds']} s, "
        f"model load {inf['model_load_seconds']} s, first photo {inf['first_photo_seconds']} s. "
        f"Load {inf['load_before']} -> {inf['load_after']}.",
        "",
        "### Full CelebA (202,599 images), projected",
        "",
        "| size, crop | cache GB | build min (threads) | build min (1 thread) |",
        "|---|---:|---:|---:|",
    ]
    proj = results["projection"]
    for row in proj["cache"]:
        lines.append(
            f"| {row['size']}, {row['crop']} | {row['cache_gb']} | {row['build_minutes']} "
            f"| {row['build_minutes_one_thread']} |"
        )
    lines += [
        "",
        "| run | px | train epoch min | validation min | cache GB | fits in RAM | process MB |",
        "|---|---:|---:|---:|---:|---|---:|",
    ]
    for row in proj["epochs"]:
        lines.append(
            f"| {row['run']} | {row['size']} | {row['train_minutes']} | "
            f"{row['validation_minutes'] or ''} | {row['cache_gb']} | {row['fits_in_ram']} "
            f"| {row['process_rss_mb']} |"
        )
    lines += [
        "",
        "| run | Gbit/s | workers | epoch min | speed-up | all-reduce ms/step |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for row in proj["workers"]:
        lines.append(
            f"| {row['run']} | {row['gbit_s']} | {row['workers']} | {row['epoch_minutes']} "
            f"| {row['speedup']} | {row['allreduce_ms']} |"
        )
    return "\n".join(lines)


def _ratio(results: dict, top: str, bottom: str) -> float | None:
    a, b = results["train"].get(top, {}), results["train"].get(bottom, {})
    if "img_s" in a and "img_s" in b:
        return a["img_s"] / b["img_s"]
    return None


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="headline numbers, ~2 minutes")
    parser.add_argument("--images", type=int, help="JPEGs to cache and train on")
    parser.add_argument("--steps", type=int, help="training steps timed per repeat")
    parser.add_argument("--repeats", type=int, help="timed repeats (the median is reported)")
    parser.add_argument("--photos", type=int, help="wild photos for the predict latency")
    parser.add_argument("--runs", help=f"comma-separated training runs, of: {list(TRAIN_RUNS)}")
    parser.add_argument("--out", type=Path, default=WORK / "speed.json")
    parser.add_argument("--report", type=Path, help="read a saved JSON and print its report")
    parser.add_argument(
        "--shared-data", type=Path, help="the real sample (default: ../shared/data beside the repo)"
    )
    parser.add_argument(
        "--faces-only",
        action="store_true",
        help="only the student against the dlib base: per-face scoring and predict per photo",
    )
    parser.add_argument("--student", type=Path, help="--faces-only: the student's .h5")
    parser.add_argument("--student-geometry", default=None, help="--faces-only: its geometry")
    parser.add_argument("--task", help=argparse.SUPPRESS)
    parser.add_argument("--params", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.shared_data:
        global SHARED_DATA
        SHARED_DATA = args.shared_data
        os.environ["FACETRANSFER_SHARED_DATA"] = str(args.shared_data)
    if args.task:
        print(json.dumps(TASKS[args.task](json.loads(args.params))))
        return 0
    if args.report:
        print(markdown(json.loads(args.report.read_text())))
        return 0
    if not (SHARED_DATA / "manifest.csv").exists():
        print(f"the CelebA sample is not at {SHARED_DATA}: nothing to measure", file=sys.stderr)
        return 2
    if args.faces_only:
        with tempfile.TemporaryDirectory(prefix="facetransfer-speed-") as work:
            params = {"work": work, "photos": args.photos or 40}
            if args.student:
                params["student"] = str(args.student)
                geometry = json.loads(args.student.with_suffix(".json").read_text())["geometry"]
                params["student_geometry"] = args.student_geometry or geometry
            results = {"machine": machine_details(), "faces": run_task("faces", params)}
        out = args.out.with_name("speed-faces.json")
        out.write_text(json.dumps(results, indent=2))
        print(json.dumps(results, indent=2))
        return 0
    results = orchestrate(args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print(markdown(results))
    note(f"results saved to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
