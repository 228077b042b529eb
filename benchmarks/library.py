"""The photo library index: where a photo's time goes, and what a first index, a re-run and an
addition cost, at 320, 1024 and 4032 px; identify from an index of 50,000 faces.

Photos: the sample's wild CelebA photos (shared data), re-encoded as JPEG (quality 90) with their
longer side at each size, or set in a 4032x3024 frame with faces 200-600 px across
("4032-scene"), under benchmarks/work/library/ (never committed). Run:

    .venv/bin/python benchmarks/library.py --photos 1000 [--sizes 320 1024 4032 4032-scene]

Prints per size: the per-photo time of each stage on a sample (read + hash, decode, detect, align,
describe, and detection on a photo with no face), the first index's time per photo, a re-run's
time and how many times faster it is, and 50 photos added to the indexed library against what 50
cost in the first run; then the small-face floor: the share of faces found in 4032x3024 group
photos by face width and detection size; then `identify --index` on 50,000 synthetic faces,
start-up included, as a subprocess.
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


def make_photos(size: int | str, count: int, *, offset: int = 0) -> Path:
    """`count` wild photos re-encoded with their longer side `size` (cycling over the sample,
    each copy altered by a pixel so every file is its own content). `size` "4032-scene": each wild
    photo shrunk or enlarged to 800-2000 px and set in a 4032x3024 frame, so its faces are 200-600
    px across as in a phone photo of people (most of them cut from the 1/2 decode)."""
    folder = OUT / f"photos-{size}-{offset}"
    if folder.exists() and len(list(folder.glob("*.jpg"))) == count:
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    sources = sorted(WILD.glob("*.jpg"))
    rng = np.random.default_rng(offset)
    for k in range(count):
        image = Image.open(sources[(k + offset) % len(sources)]).convert("RGB")
        if size == "4032-scene":
            side = int(rng.integers(800, 2000))
            scale = side / max(image.size)
            photo = image.resize((round(image.width * scale), round(image.height * scale)))
            frame = Image.new("RGB", (4032, 3024), tuple(int(v) for v in rng.integers(40, 200, 3)))
            frame.paste(photo, (int(rng.integers(0, 4032 - photo.width)),
                                int(rng.integers(0, 3024 - photo.height))))  # fmt: skip
            image = frame
        else:
            scale = size / max(image.size)
            image = image.resize((round(image.width * scale), round(image.height * scale)))
        image.putpixel((0, 0), (k % 256, (k // 256) % 256, offset % 256))
        image.save(folder / f"p{k + offset:05d}.jpg", quality=90)
    return folder


def stage_times(folder: Path, sample: int) -> dict:
    """Per-photo seconds of each stage, as the index runs them, one photo at a time: read and
    hash, decode, detect, align (with any finer decode a small face needs), describe; and the
    detection of the same photo blurred until no face is found (the framed second try too)."""
    from PIL import ImageFilter

    from facetransfer import api
    from facetransfer.data.faces import detect_faces
    from facetransfer.data.photo_faces import decode, photo_faces

    model = api.embedder("dlib")
    photos = sorted(folder.glob("*.jpg"))[:sample]
    names = ("read+hash", "decode", "detect", "align", "describe", "detect, no face")
    totals = dict.fromkeys(names, 0.0)
    faces = 0
    for path in photos[:3]:  # the networks' first calls trace their graphs: not counted
        found = photo_faces(decode(path), geometry=model.geometry, min_confidence=0.9, path=path)
        model.describe_each(found.crops)
        detect_faces(np.zeros((480, 640, 3), np.uint8), 0.9)
    for path in photos:
        t0 = time.perf_counter()
        data = path.read_bytes()
        hashlib.sha256(data).hexdigest()
        t1 = time.perf_counter()
        photo = decode(path, data)
        t2 = time.perf_counter()
        detect_faces(photo.pixels, 0.9)
        t3 = time.perf_counter()
        found = photo_faces(photo, geometry=model.geometry, min_confidence=0.9, path=path,
                            data=data)  # fmt: skip
        t4 = time.perf_counter()
        model.describe_each(found.crops)
        t5 = time.perf_counter()
        blurred = np.asarray(Image.fromarray(photo.pixels).filter(ImageFilter.BoxBlur(40)))
        t6 = time.perf_counter()
        detect_faces(blurred, 0.9)
        t7 = time.perf_counter()
        faces += len(found.faces)
        spent = (t1 - t0, t2 - t1, t3 - t2, (t4 - t3) - (t3 - t2), t5 - t4, t7 - t6)
        for name, dt in zip(totals, spent, strict=True):
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


def group_photo_floor(sides=(1024, 800, 640, 512)) -> list[str]:
    """The small-face floor: 4032x3024 group photos tiled with wild photos scaled so each face
    (MTCNN's box on the 320-px photo) is `width` px across at full size, decoded as the index
    decodes them (1/4), detected with the detector's bound at each of `sides`: the share of
    faces found, and the detection's time."""
    import io

    import facetransfer.data.faces as faces_module
    from facetransfer.data.faces import detect_faces
    from facetransfer.data.photo_faces import decode

    picks = []
    for source in sorted(WILD.glob("*.jpg"))[::7]:
        image = Image.open(source).convert("RGB")
        found = detect_faces(np.asarray(image), 0.9)
        if len(found) == 1 and found[0].box[2] >= 60:
            picks.append((image, found[0].box))
        if len(picks) == 80:
            break
    bound = faces_module.MAX_DETECT_SIDE
    lines = [f"face width (full px), faces, then found and detect time at a bound of {sides}"]
    for width in (50, 70, 90, 110, 130, 160, 200):
        canvas = Image.new("RGB", (4032, 3024), (90, 110, 90))
        truth, x, y, row, k = [], 0, 0, 0, 0
        while True:
            image, (bx, by, bw, bh) = picks[k % len(picks)]
            k += 1
            f = width / bw
            tile = image.resize((max(1, round(image.width * f)), max(1, round(image.height * f))))
            if x + tile.width > canvas.width:
                x, y, row = 0, y + row, 0
            if y + tile.height > canvas.height:
                break
            canvas.paste(tile, (x, y))
            truth.append((x + bx * f, y + by * f, bw * f, bh * f))
            x, row = x + tile.width, max(row, tile.height)
        buffer = io.BytesIO()
        canvas.save(buffer, "JPEG", quality=90)
        photo = decode(OUT / "group.jpg", buffer.getvalue())
        cells = [f"{width} px, {len(truth)} faces:"]
        for side in sides:
            faces_module.MAX_DETECT_SIDE = side
            t0 = time.perf_counter()
            found = detect_faces(photo.pixels, 0.9)
            spent = time.perf_counter() - t0
            centres = [((f.box[0] + f.box[2] / 2) / photo.ratio,
                        (f.box[1] + f.box[3] / 2) / photo.ratio) for f in found]  # fmt: skip
            hit = sum(
                any(tx <= cx <= tx + tw and ty <= cy <= ty + th for cx, cy in centres)
                for tx, ty, tw, th in truth
            )
            cells.append(f"{side}: {hit / len(truth):.0%} {spent * 1000:.0f} ms")
        faces_module.MAX_DETECT_SIDE = bound
        lines.append(" ".join(cells))
    return lines


def crop_shift(count: int = 60) -> list[str]:
    """How far a descriptor moves when its face is cut from fewer pixels: wild photos whose face
    (MTCNN's box) is at least 110 px wide, shrunk so it is 100, 80, 64, 50, 40 px, aligned from
    the same landmarks; the distance to the descriptor at the photo's own size."""
    from facetransfer import api
    from facetransfer.data.align import align_face
    from facetransfer.data.faces import detect_faces

    model = api.embedder("dlib")
    widths = (100, 80, 64, 50, 40)
    shifts = {w: [] for w in widths}
    for source in sorted(WILD.glob("*.jpg"))[::10]:
        image = Image.open(source).convert("RGB")
        found = detect_faces(np.asarray(image), 0.9)
        if not found or found[0].box[2] < 110:
            continue
        landmarks = np.asarray(found[0].landmarks)
        own = model.describe([align_face(np.asarray(image), landmarks, geometry=model.geometry)])
        for width in widths:
            r = width / found[0].box[2]
            small = image.resize((round(image.width * r), round(image.height * r)), Image.BILINEAR)
            crop = align_face(
                np.asarray(small), (landmarks + 0.5) * r - 0.5, geometry=model.geometry
            )
            shifts[width].append(float(np.linalg.norm(model.describe([crop])[0] - own[0])))
        if len(shifts[widths[0]]) == count:
            break
    return [
        f"face {w} px ({len(v)} faces): median shift {np.median(v):.3f}, 90th percentile "
        f"{np.percentile(v, 90):.3f}"
        for w, v in shifts.items()
    ]


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
    parser.add_argument(
        "--sizes", nargs="+", default=["320", "1024", "4032", "4032-scene"],
        help="longer sides, and 4032-scene (faces 200-600 px in a 4032x3024 frame)",
    )  # fmt: skip
    parser.add_argument("--sample", type=int, default=20, help="photos timed stage by stage")
    parser.add_argument("--skip-50k", action="store_true")
    parser.add_argument("--only-50k", action="store_true", help="only identify/find at 50,000")
    parser.add_argument(
        "--crop-shift", action="store_true", help="only how a face's size moves its descriptor"
    )
    args = parser.parse_args()
    print(f"machine: {machine()}")
    if args.crop_shift:
        print("descriptor shift by face width:", *crop_shift(), sep="\n  ")
        return
    for size in [] if args.only_50k else args.sizes:
        size = int(size) if size.isdigit() else size
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
        print("group photos 4032x3024, small-face floor:", *group_photo_floor(), sep="\n  ")
    if not args.skip_50k:
        print("50,000 faces:", {k: round(v, 2) for k, v in identify_50k().items()})


if __name__ == "__main__":
    main()
