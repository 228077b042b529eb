"""The photo library index: where a photo's time goes, and what a first index, a re-run and an
addition cost, at 320, 1024 and 4032 px; identify from an index of 50,000 faces.

Photos: the sample's wild CelebA photos (shared data), re-encoded as JPEG (quality 90) with their
longer side at each size, under benchmarks/work/library/ (never committed). Run:

    .venv/bin/python benchmarks/library.py --photos 1000 [--sizes 320 1024 4032]

Prints per size: the per-photo time of each stage on a sample (read + hash, decode, detect, align,
describe), the first index's time per photo, a re-run's time and how many times faster it is, and
50 photos added to the indexed library against what 50 cost in the first run; then the small faces
the detector finds in a 4032x3024 group photo (a 4x4 grid of wild photos) decoded at 1/8, 1/4 and
1/2; then `identify --index` on 50,000 synthetic faces, start-up included, as a subprocess.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import SHARED_DATA, WORK, machine  # noqa: E402

WILD = SHARED_DATA / "celeba-wild" / "img_celeba"
OUT = WORK / "library"


def make_photos(size: int, count: int, *, offset: int = 0) -> Path:
    """`count` wild photos re-encoded with their longer side `size` (cycling over the sample,
    each copy altered by a pixel so every file is its own content)."""
    folder = OUT / f"photos-{size}-{offset}"
    if folder.exists() and len(list(folder.glob("*.jpg"))) == count:
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    sources = sorted(WILD.glob("*.jpg"))
    for k in range(count):
        image = Image.open(sources[(k + offset) % len(sources)]).convert("RGB")
        scale = size / max(image.size)
        image = image.resize((round(image.width * scale), round(image.height * scale)))
        image.putpixel((0, 0), (k % 256, (k // 256) % 256, offset % 256))
        image.save(folder / f"p{k + offset:05d}.jpg", quality=90)
    return folder


def stage_times(folder: Path, sample: int) -> dict:
    """Per-photo seconds of each stage, as the index runs them, one photo at a time."""
    from facetransfer import api
    from facetransfer.data.align import align_face
    from facetransfer.data.faces import detect_faces
    from facetransfer.data.images import read_scaled
    from facetransfer.library.index import DECODE_LONG_SIDE

    model = api.embedder("dlib")
    photos = sorted(folder.glob("*.jpg"))[:sample]
    totals = dict.fromkeys(("read+hash", "decode", "detect", "align", "describe"), 0.0)
    faces = 0
    for path in photos:
        t0 = time.perf_counter()
        data = path.read_bytes()
        hashlib.sha256(data).hexdigest()
        t1 = time.perf_counter()
        photo = read_scaled(path, data, long_side=DECODE_LONG_SIDE)
        t2 = time.perf_counter()
        found = detect_faces(photo.pixels, 0.9)
        t3 = time.perf_counter()
        crops = [align_face(photo.pixels, f.landmarks, geometry=model.geometry) for f in found]
        t4 = time.perf_counter()
        for crop in crops:
            model.describe([crop])
        t5 = time.perf_counter()
        faces += len(found)
        for name, dt in zip(totals, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4), strict=True):
            totals[name] += dt
    per = {k: v / len(photos) for k, v in totals.items()}
    per["faces/photo"] = faces / len(photos)
    return per


def index_times(size: int, count: int) -> dict:
    from facetransfer.library.index import index_library

    folder = make_photos(size, count)
    index = OUT / f"index-{size}-{count}.sqlite"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{index}{suffix}").unlink(missing_ok=True)
    t0 = time.perf_counter()
    first = index_library([folder], index, progress=False)
    t1 = time.perf_counter()
    again = index_library([folder], index, progress=False)
    t2 = time.perf_counter()
    extra = make_photos(size, 50, offset=count)
    for path in extra.glob("*.jpg"):
        shutil.copy(path, folder / path.name)
    t3 = time.perf_counter()
    added = index_library([folder], index, progress=False)
    t4 = time.perf_counter()
    for path in extra.glob("*.jpg"):
        (folder / path.name).unlink()
    return {
        "photos": first.photos,
        "faces": first.counts["faces"],
        "first s/photo": (t1 - t0) / first.photos,
        "rerun s": t2 - t1,
        "rerun x faster": (t1 - t0) / max(t2 - t1, 1e-9),
        "add 50 s": t4 - t3,
        "50 at first-run cost s": 50 * (t1 - t0) / first.photos,
        "added": added.counts["new"],
        "unchanged on rerun": again.counts["unchanged"],
    }


def group_photo_faces() -> dict:
    """Faces found in a 4032x3024 group photo (4x4 wild photos) decoded at 1/8, 1/4, 1/2."""
    from facetransfer.data.faces import detect_faces
    from facetransfer.data.images import read_scaled

    sources = sorted(WILD.glob("*.jpg"))[:16]
    canvas = Image.new("RGB", (4032, 3024))
    for k, source in enumerate(sources):
        tile = Image.open(source).convert("RGB").resize((1008, 756))
        canvas.paste(tile, ((k % 4) * 1008, (k // 4) * 756))
    path = OUT / "group-4032.jpg"
    canvas.save(path, quality=90)
    found = {}
    for scale in (8, 4, 2):
        photo = read_scaled(path, scale=scale)
        faces = detect_faces(photo.pixels, 0.9)
        widths = sorted(f.box[2] / photo.ratio for f in faces)
        found[f"1/{scale} ({photo.pixels.shape[1]} px)"] = (len(faces), widths[:1])
    return found


def identify_50k(faces: int = 50_000) -> dict:
    """`facetransfer identify --index` on `faces` synthetic dlib-like descriptors, as a
    subprocess: start-up, gallery, query and output included."""
    from matplotlib import cbook

    from facetransfer import cli
    from facetransfer.library import store

    hopper = Path(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))
    family = OUT / "family"
    (family / "grace").mkdir(parents=True, exist_ok=True)
    shutil.copy(hopper, family / "grace" / "1.jpg")
    gallery = OUT / "gallery"
    if not (gallery / "gallery.json").exists():
        assert cli.main(["enrol", str(family), "--gallery", str(gallery)]) == 0
    base = __import__("json").loads((gallery / "gallery.json").read_text())["base"]
    index = OUT / f"synthetic-{faces}.sqlite"
    if not index.exists():
        rng = np.random.default_rng(0)
        db = store.connect(index, create=True)
        per_photo = 2
        with store.transaction(db):
            for p in range(faces // per_photo):
                digest = hashlib.sha256(str(p).encode()).hexdigest()
                db.execute(
                    "INSERT INTO photos VALUES (?,?,?,?,?,?,?,?,?)",
                    (f"/photos/{p:06d}.jpg", digest, 1, 1, None, 4032, 3024, "ok", None),
                )
                vectors = rng.normal(scale=0.045, size=(per_photo, 128))  # |v| about 0.5
                for k, vector in enumerate(vectors):
                    db.execute(
                        "INSERT INTO faces VALUES (?,?,?,?,?,?,?,?,?,?)",
                        (
                            digest,
                            base["weights_sha256"],
                            k,
                            0,
                            0,
                            100,
                            100,
                            0.99,
                            store.to_blob(np.zeros(10)),
                            store.to_blob(vector),
                        ),
                    )
                db.execute(
                    "INSERT INTO described VALUES (?,?,?)",
                    (digest, base["weights_sha256"], per_photo),
                )
        db.close()
    main = "import sys; from facetransfer.cli import main; sys.exit(main(sys.argv[1:]))"
    timings = {}
    for argv in (
        ["identify", "--index", str(index), "--gallery", str(gallery), "--json"],
        ["find", "--index", str(index), "--person", "grace", "--gallery", str(gallery)],
    ):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", main, *argv], stdout=subprocess.DEVNULL, check=False)
        timings[argv[0] + " s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import facetransfer.modeling.gallery"], check=True)
    timings["of which importing modeling.gallery (TensorFlow) s"] = time.perf_counter() - t0
    from facetransfer.library import queries
    from facetransfer.modeling.gallery_files import load_gallery

    t0 = time.perf_counter()
    loaded = queries.load_faces(index, base["weights_sha256"])
    t1 = time.perf_counter()
    queries.identify_faces(loaded, load_gallery(gallery))
    t2 = time.perf_counter()
    timings.update({"load 50k faces s": t1 - t0, "match 50k faces s": t2 - t1})
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=1000, help="photos per size")
    parser.add_argument("--sizes", type=int, nargs="+", default=[320, 1024, 4032])
    parser.add_argument("--sample", type=int, default=20, help="photos timed stage by stage")
    parser.add_argument("--skip-50k", action="store_true")
    parser.add_argument("--only-50k", action="store_true", help="only identify/find at 50,000")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    for size in [] if args.only_50k else args.sizes:
        folder = make_photos(size, args.photos)
        stages = stage_times(folder, args.sample)
        print(
            f"{size} px, per photo (sample of {args.sample}): "
            + ", ".join(
                f"{k} {v * 1000:.0f} ms" if k != "faces/photo" else f"{k} {v:.2f}"
                for k, v in stages.items()
            )
        )
        runs = index_times(size, args.photos)
        print(
            f"{size} px, index of {args.photos}: "
            + ", ".join(
                f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in runs.items()
            )
        )
    if not args.only_50k:
        print(
            "group photo 4032x3024, faces found (count, narrowest in full-size px):",
            group_photo_faces(),
        )
    if not args.skip_50k:
        print("50,000 faces:", {k: round(v, 2) for k, v in identify_50k().items()})


if __name__ == "__main__":
    main()
