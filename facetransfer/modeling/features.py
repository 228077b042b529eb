"""A frozen base's features of face crops, computed once per image file and kept on disk.

A head on a frozen base sees the same features for the same crop every epoch, and every person
model on that base sees the same strangers: with dlib's ResNet (about 40 times the head's cost
per face) recomputing them would dominate the transfer. The cache is one `.npz` per base file
(keyed by its path, size and modification time) in `cache_dir`, with one row per crop file
(keyed by its path, size and modification time) and its mirror image.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import keras
import numpy as np

from facetransfer.data.cache import load_square
from facetransfer.modeling import networks

BATCH = 32


def _file_key(path) -> str:
    stat = os.stat(path)
    return f"{Path(path).resolve()}|{stat.st_size}|{stat.st_mtime_ns}"


class FeatureCache:
    """`features(paths, mirrored=False)`: the base's feature vector of each crop file."""

    def __init__(self, base: keras.Model, base_path, cache_dir, *, size: int, crop: str):
        self.extractor = keras.Model(base.inputs[0], networks.base_features(base))
        digest = hashlib.sha1(f"{_file_key(base_path)}|{size}|{crop}".encode()).hexdigest()[:16]
        self.path = Path(cache_dir) / f"features-{digest}.npz"
        self.size, self.crop = size, crop
        self.rows: dict[str, np.ndarray] = {}
        if self.path.exists():
            with np.load(self.path, allow_pickle=False) as saved:
                self.rows = dict(zip(saved["keys"].tolist(), saved["values"], strict=True))
        self.changed = False

    def features(self, paths, mirrored: bool = False) -> np.ndarray:
        keys = [_file_key(p) + ("|mirror" if mirrored else "") for p in paths]
        missing = [i for i, k in enumerate(keys) if k not in self.rows]
        for start in range(0, len(missing), BATCH):
            chunk = missing[start : start + BATCH]
            images = np.stack([load_square(paths[i], self.size, self.crop) for i in chunk])
            if mirrored:
                images = images[:, :, ::-1]
            out = keras.ops.convert_to_numpy(
                self.extractor(images.astype("float32"), training=False)
            )
            for i, vector in zip(chunk, out, strict=True):
                self.rows[keys[i]] = vector.astype(np.float32)
            self.changed = True
        dim = self.extractor.output_shape[-1]
        return np.stack([self.rows[k] for k in keys]) if keys else np.zeros((0, dim), np.float32)

    def save(self) -> None:
        if not self.changed:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_name(f".{self.path.stem}.partial.npz")
        np.savez(partial, keys=np.array(list(self.rows)), values=np.stack(list(self.rows.values())))
        os.replace(partial, self.path)
        self.changed = False
