"""What the benchmarks share, so that none imports another: where the development machines' real
CelebA sample lives, the folder results go to, the machine line each result records, the
recognition benchmark's evaluation people (which the others leave out), and dlib's own pipeline
(the reference the dlib base is measured against).

Each benchmark runs as a script (`.venv/bin/python benchmarks/<name>.py`), so this folder is on
its import path: `from common import SHARED_DATA, WORK, machine`.
"""

from __future__ import annotations

import importlib.metadata as metadata
import importlib.util
import os
import platform
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "benchmarks" / "work"  # every benchmark's models, caches and results
# The development machines' real sample: ../shared/data beside the repository, or
# $FACETRANSFER_SHARED_DATA (each benchmark also takes a flag). The package never knows it.
SHARED_DATA = Path(os.environ.get("FACETRANSFER_SHARED_DATA", ROOT.parent / "shared" / "data"))


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> str:
    """The machine line each result records: CPU model, cores and the load average when it ran
    (other work on the machine slows every timing)."""
    return f"{cpu_model()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}"


def machine_details() -> dict:
    """The machine in full, for the speed benchmark: CPU, cores, memory, the vector units that
    decide float32 against bfloat16, and the TensorFlow, Keras and Python versions."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        lines = []
    flags = next((line for line in lines if line.startswith("flags")), "")
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "avx512": " avx512f" in flags,
        "amx_bf16": " amx_bf16" in flags,
        "tensorflow": _version("tensorflow-cpu") or _version("tensorflow"),
        "keras": _version("keras"),
        "python": platform.python_version(),
    }


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def evaluation_people(shared: Path, n: int, seed: int) -> tuple[list[int], list[int]]:
    """The recognition benchmark's evaluation people: `n` of the identities with aligned
    full-size photos and `n` of the wild ones, drawn with `seed`. No base learns from them."""
    manifest = pd.read_csv(shared / "manifest.csv")
    rng = np.random.default_rng(seed)
    full = np.sort(manifest.loc[manifest["kind"] == "aligned_full", "identity"].unique())
    wild = np.sort(manifest.loc[manifest["kind"] == "wild", "identity"].unique())
    return sorted(rng.choice(full, n, replace=False).tolist()), sorted(
        rng.choice(wild, n, replace=False).tolist()
    )


# --- dlib's own pipeline (dlib-bin, a development requirement) --------------------------------


def dlib_models_dir() -> Path:
    """face_recognition_models' folder of dlib model files."""
    spec = importlib.util.find_spec("face_recognition_models")
    return Path(next(iter(spec.submodule_search_locations))) / "models"


def dlib_pipeline():
    """dlib itself: (the dlib module, its HOG face detector, its 5-point predictor, its face
    recognition network)."""
    import dlib

    detector = dlib.get_frontal_face_detector()
    predictor = dlib.shape_predictor(
        str(dlib_models_dir() / "shape_predictor_5_face_landmarks.dat")
    )
    net = dlib.face_recognition_model_v1(
        str(dlib_models_dir() / "dlib_face_recognition_resnet_model_v1.dat")
    )
    return dlib, detector, predictor, net


def dlib_chip(image: np.ndarray, dlib, detector, predictor):
    """dlib's own 150x150 chip of the largest face (padding 0.25, as its face-recognition example
    cuts it), or None."""
    found = detector(image, 1)
    if not found:
        return None
    box = max(found, key=lambda r: r.width() * r.height())
    shape = predictor(image, box)
    return np.asarray(dlib.get_face_chip(image, shape, size=150, padding=0.25))
