"""facetransfer as a user gets it: the built wheel (not an editable install) in a fresh virtual
environment, used from a folder that has nothing to do with the checkout. Its outputs land under
that folder, nothing is written inside the installed package, and a gallery moved elsewhere
still answers.

The fresh environment borrows the test environment's third-party packages through a .pth file
(TensorFlow is not downloaded again); facetransfer itself comes only from the wheel."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from matplotlib import cbook
from shared_data import REPO, SHARED_DATA

# what a wheel never holds, at the checkout's top level (facetransfer/data is a package)
TOP_LEVEL_SKIP = {".git", ".venv", "build", "benchmarks", "data", "models", "logs", "reports",
                  "fotos", "notebooks", "tests", "docs"}  # fmt: skip


def _skip_top_level(folder, names):
    return [
        n
        for n in names
        if Path(folder) == REPO and (n in TOP_LEVEL_SKIP or n.endswith(".egg-info"))
    ]


HOPPER = Path(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))


def _listing(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.rglob("*")}


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    root = tmp_path_factory.mktemp("wheel")
    # built from a copy of the sources: setuptools' build/ folder in the checkout could hold
    # modules removed since, which would ride along into the wheel
    source = root / "source"
    shutil.copytree(REPO, source, ignore=_skip_top_level)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(root / "dist"), str(source)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    wheel = next((root / "dist").glob("facetransfer-*.whl"))
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = Path(
        subprocess.run(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps",
         str(wheel)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    # the test environment's other packages, after the venv's own (not its editable facetransfer)
    (site / "zz_borrowed.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    package = site / "facetransfer"
    assert package.is_dir() and not (package / "__editable__").exists()
    return venv, package


def _run(venv: Path, cwd: Path, *argv) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("FACETRANSFER_HOME", "PYTHONPATH")}
    return subprocess.run(
        [str(venv / "bin" / "facetransfer"), *map(str, argv)],
        cwd=cwd,
        env={**env, "TF_CPP_MIN_LOG_LEVEL": "3"},
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.slow
def test_the_wheel_works_from_an_unrelated_folder(installed, tmp_path):
    venv, package = installed
    before = _listing(package)
    user = tmp_path / "someone" / "photos-project"
    (user / "family" / "grace").mkdir(parents=True)
    shutil.copy(HOPPER, user / "family" / "grace" / "1.jpg")
    shutil.copy(HOPPER, user / "new.jpg")

    done = _run(venv, user, "enrol", "family", "--gallery", "gallery")
    assert done.returncode == 0, done.stderr
    done = _run(venv, user, "identify", "new.jpg", "--gallery", "gallery", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["faces"][0]["person"] == "grace"
    # the gallery moved to another folder, used from a third one
    shutil.move(user / "gallery", tmp_path / "moved-gallery")
    (tmp_path / "elsewhere").mkdir()
    done = _run(venv, tmp_path / "elsewhere", "identify", user / "new.jpg", "--gallery",
                "../moved-gallery")  # fmt: skip
    assert done.returncode == 0 and "grace" in done.stdout, done.stderr
    done = _run(venv, user, "verify", "new.jpg", "family/grace/1.jpg")
    assert done.returncode == 0 and "same person" in done.stdout, done.stderr
    done = _run(venv, user, "identify", "missing.jpg", "--gallery", "gallery")
    assert done.returncode == 3 and done.stderr.count("\n") == 1 and "Traceback" not in done.stderr

    if (SHARED_DATA / "manifest.csv").exists():  # transfer + predict need more than one face
        import pandas as pd

        manifest = pd.read_csv(SHARED_DATA / "manifest.csv")
        wild = manifest[manifest["kind"] == "wild"]
        who = sorted(wild["identity"].unique())[0]
        (user / "fotos" / "paco").mkdir(parents=True)
        for name in wild.loc[wild["identity"] == who, "image"][:12]:
            shutil.copy(SHARED_DATA / "celeba-wild" / "img_celeba" / name, user / "fotos" / "paco")
        done = _run(venv, user, "transfer", "--base", "dlib", "--person", "paco")
        assert done.returncode == 0, done.stderr[-3000:]
        assert (user / "models" / "paco.h5").exists()
        assert not (package.parent / "models").exists() and not (package.parent / "data").exists()
        done = _run(venv, user, "predict", "--model", "models/paco.h5", "fotos/paco")
        assert done.returncode in (0, 1), done.stderr[-3000:]
        assert "summary: photos 12" in done.stderr

    assert _listing(package) == before  # nothing written inside the installed package
    assert not list(package.rglob("__pycache__/*.partial*"))
