"""A teacher's face descriptor of every CelebA image, computed once and kept beside the image cache.

Distillation (`train-attributes --teacher dlib`) trains the student's embedding towards the
descriptor dlib's ResNet gives the same face. The teacher sees its own crop: each aligned CelebA
image is warped from CelebA's landmark template to the teacher's (`data.geometry`), as our intake
does for a photo, but from CelebA's alignment rather than a detector's. The cache is one `.npy`
of (n, dim) float32 per list of files, teacher and geometry; its name hashes all three plus each
file's size and mtime, so a changed input builds a new one. It is written under a temporary name
and renamed, so an interrupted build leaves nothing that looks complete.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from facetransfer.data.align import recut_aligned
from facetransfer.data.geometry import resolve_geometry
from facetransfer.data.images import read_rgb
from facetransfer.modeling.card import read_card
from facetransfer.progress import progress_bar

log = logging.getLogger(__name__)

BATCH = 64


def teacher_chip(path, geometry: str) -> np.ndarray:
    """An aligned CelebA image (any size: the sample has half-size copies) in the teacher's crop."""
    return recut_aligned(read_rgb(path), geometry)


@dataclass
class TeacherDescriptors:
    """The teacher's descriptor of each source image (row i: paths[i]), the file it lives in, and
    how long its build took (0 when reused)."""

    values: np.ndarray  # (n, dim) float32
    path: Path
    seconds: float
    rate: float  # images per second of the build, 0 when reused


def _key(paths, teacher_path, geometry: str) -> str:
    stat = os.stat(teacher_path)
    digest = hashlib.sha1(
        f"teacher-v1|{Path(teacher_path).resolve()}:{stat.st_size}:{stat.st_mtime_ns}|{geometry}".encode()
    )
    for path in paths:
        stat = os.stat(path)
        digest.update(f"|{os.path.abspath(path)}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


def teacher_descriptors(
    paths, teacher_path, cache_dir, *, progress: bool = True, workers: int | None = None
) -> TeacherDescriptors:
    """The descriptor the teacher in `teacher_path` (a base whose sidecar names its geometry,
    e.g. models/dlib.h5) gives each image in `paths`, built once into `cache_dir`.

    Chips are decoded and warped in threads while the teacher runs on the previous batch. Every
    path must be readable (pass the ones the image cache kept)."""
    paths = [Path(p) for p in paths]
    card = read_card(teacher_path)
    geometry = resolve_geometry(card.geometry).name
    name = card.arch or Path(teacher_path).stem
    cache_dir = Path(cache_dir)
    out = cache_dir / f"teacher-{name}-{geometry}-{_key(paths, teacher_path, geometry)}.npy"
    if out.exists():
        return TeacherDescriptors(np.load(out), out, 0.0, 0.0)

    teacher = keras.models.load_model(teacher_path, compile=False)
    describe = tf.function(lambda x: teacher(x, training=False), reduce_retracing=True)
    dim = int(teacher.output_shape[-1])
    values = np.zeros((len(paths), dim), np.float32)
    start = time.perf_counter()
    workers = workers or min(8, (os.cpu_count() or 2) + 2)
    batches = [range(i, min(i + BATCH, len(paths))) for i in range(0, len(paths), BATCH)]
    # One thread prepares the next batch (through `pool`) while the teacher runs on this one.
    with ThreadPoolExecutor(workers) as pool, ThreadPoolExecutor(1) as ahead:

        def chips(rows):
            return np.stack(list(pool.map(lambda i: teacher_chip(paths[i], geometry), rows)))

        bar = progress_bar(
            total=len(paths), iterable=None, desc=f"teacher {name}", enabled=progress, unit="img"
        )
        upcoming = ahead.submit(chips, batches[0]) if batches else None
        for b, rows in enumerate(batches):
            images = upcoming.result()
            if b + 1 < len(batches):
                upcoming = ahead.submit(chips, batches[b + 1])
            values[rows.start : rows.stop] = describe(images.astype(np.float32)).numpy()
            if bar is not None:
                bar.update(len(rows))
        if bar is not None:
            bar.close()
    seconds = time.perf_counter() - start
    rate = len(paths) / seconds if seconds else 0.0
    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f"{out.stem}.{os.getpid()}-{secrets.token_hex(3)}.partial.npy")
    np.save(partial, values)
    record = {"teacher": str(teacher_path), "geometry": geometry, "n": len(paths)}
    out.with_suffix(".json").write_text(json.dumps({**record, "seconds": seconds}))
    os.replace(partial, out)
    log.info(
        "teacher %s: %d descriptors in %.1f s (%.0f images/s), cached in %s",
        name,
        len(paths),
        seconds,
        rate,
        out.name,
    )
    return TeacherDescriptors(values, out, seconds, rate)
