"""Where dlib's face chips put a face, measured: the template our intake aligns to for the dlib
base, and how close our chips' descriptors come to dlib's own pipeline on the same photos.

For every wild photo of the CelebA sample (../shared/data/celeba-wild), dlib itself (the
`dlib-bin` wheel, a development requirement) finds the face (HOG detector), its five landmarks
(the 5-point predictor of `face_recognition_models`) and cuts the 150x150 chip with padding 0.25
(`get_face_chip`, as dlib's face-recognition example does). MTCNN, our detector, then runs on
each chip: the median of its five landmarks over all chips is the template (`--stage template`).

`--stage compare` aligns the same photos through our own intake (MTCNN on the photo, then the
template) and reports the distance between our chip's descriptor (the Keras model) and dlib's own
(dlib's detector, chip and network): mean, percentiles, and the share under dlib's 0.6.

    .venv/bin/python benchmarks/dlib_chips.py --stage template   # prints DLIB_CHIP_LANDMARKS
    .venv/bin/python benchmarks/dlib_chips.py --stage compare
    .venv/bin/python benchmarks/dlib_chips.py --stage calibrate  # the shipped distance thresholds

`--stage calibrate` finds the descriptor distance below which a given share of pairs of
different people fall, on our own intake (MTCNN, the template, the Keras network): 10 aligned
CelebA photos each of 60 people who are not evaluation people of benchmarks/recognition.py. Its
numbers ship in facetransfer/config.py (DLIB_DISTANCE_THRESHOLDS) for users with no CelebA.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from common import SHARED_DATA, WORK, dlib_chip, dlib_pipeline, evaluation_people, machine


def wild_photos(limit: int | None) -> list[Path]:
    photos = sorted((SHARED_DATA / "celeba-wild" / "img_celeba").glob("*.jpg"))
    return photos[:limit] if limit else photos


def stage_template(args) -> dict:
    from facetransfer.data.faces import detect_faces
    from facetransfer.data.images import read_rgb

    dlib, detector, predictor, _ = dlib_pipeline()
    points, no_dlib, no_mtcnn = [], 0, 0
    for path in wild_photos(args.limit):
        chip = dlib_chip(read_rgb(path), dlib, detector, predictor)
        if chip is None:
            no_dlib += 1
            continue
        faces = detect_faces(chip)
        if not faces:
            no_mtcnn += 1
            continue
        points.append(faces[0].landmarks)
    points = np.array(points)
    template = np.median(points, axis=0)
    spread = np.median(np.abs(points - template), axis=0)
    result = {
        "chips": len(points),
        "no_face_for_dlib": no_dlib,
        "no_face_for_mtcnn_in_chip": no_mtcnn,
        "template": np.round(template, 2).tolist(),
        "median_abs_deviation": np.round(spread, 2).tolist(),
        "machine": machine(),
    }
    return result


def stage_compare(args) -> dict:
    import keras

    from facetransfer.data.align import align_face
    from facetransfer.data.faces import detect_faces
    from facetransfer.data.images import read_rgb
    from facetransfer.modeling.dlib_resnet import build_dlib_resnet

    dlib, detector, predictor, net = dlib_pipeline()
    ours = build_dlib_resnet()
    distances, same_chip, skipped = [], [], 0
    for path in wild_photos(args.limit):
        image = read_rgb(path)
        theirs = dlib_chip(image, dlib, detector, predictor)
        faces = detect_faces(image)
        if theirs is None or not faces:
            skipped += 1
            continue
        mine = align_face(image, faces[0].landmarks, geometry="dlib_chip")
        reference = np.asarray(net.compute_face_descriptor(theirs))
        ours_on_mine, ours_on_theirs = keras.ops.convert_to_numpy(
            ours(np.stack([mine, theirs]).astype("float32"), training=False)
        )
        distances.append(float(np.linalg.norm(ours_on_mine - reference)))
        same_chip.append(float(np.abs(ours_on_theirs - reference).max()))
    d = np.array(distances)
    return {
        "photos": len(d),
        "skipped_no_face": skipped,
        "our_chip_vs_dlib_pipeline": {
            "mean": round(float(d.mean()), 4),
            "median": round(float(np.median(d)), 4),
            "p90": round(float(np.percentile(d, 90)), 4),
            "share_under_0.6": round(float((d < 0.6).mean()), 4),
        },
        "keras_vs_dlib_on_dlib_chip_max_abs": float(np.max(same_chip)),
        "machine": machine(),
    }


def stage_calibrate(args) -> dict:
    import keras
    import pandas as pd

    from facetransfer.data.intake import align_celeba_rows
    from facetransfer.modeling.bases import dlib_base
    from facetransfer.modeling.features import FeatureCache

    full_people, wild_people = evaluation_people(SHARED_DATA, 30, 0)
    manifest = pd.read_csv(SHARED_DATA / "manifest.csv")
    full = manifest[(manifest["kind"] == "aligned_full") & ~manifest["identity"].isin(full_people)]
    people = sorted(full["identity"].unique())[: args.people]
    rows = full[full["identity"].isin(people)].groupby("identity").head(args.per_person)
    folder = SHARED_DATA / "celeba" / "img_align_celeba"
    frame = pd.DataFrame(
        {"path": [str(folder / name) for name in rows["image"]], "source": "celeba", "label": 0}
    )
    frame["identity"] = rows["identity"].to_numpy()
    frame = align_celeba_rows(frame, WORK / "aligned" / "calibrate-dlib_chip", "dlib_chip")
    base_path = dlib_base(WORK / "models")
    base = keras.models.load_model(base_path, compile=False)
    cache = FeatureCache(base, base_path, WORK / "cache", size=150, crop="full")
    vectors = cache.features(frame["aligned"].tolist())
    cache.save()
    who = frame["identity"].to_numpy()
    d = np.linalg.norm(vectors[:, None] - vectors[None], axis=-1)
    upper = np.triu_indices(len(who), 1)
    same = who[upper[0]] == who[upper[1]]
    dist = d[upper]
    result = {"faces": len(who), "people": len(set(who)), "pairs_same": int(same.sum())}
    result["pairs_different"] = int((~same).sum())
    thresholds = {}
    for rate in (0.01, 0.001):
        t = float(np.quantile(dist[~same], rate))
        thresholds[str(rate)] = {
            "distance": round(t, 4),
            "same_person_accepted": round(float((dist[same] < t).mean()), 4),
        }
    result["thresholds"] = thresholds
    result["at_0.6"] = {
        "different_accepted": round(float((dist[~same] < 0.6).mean()), 4),
        "same_person_accepted": round(float((dist[same] < 0.6).mean()), 4),
    }
    result["machine"] = machine()
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stage", choices=("template", "compare", "calibrate"), required=True)
    parser.add_argument("--people", type=int, default=60, help="calibrate: people")
    parser.add_argument("--per-person", type=int, default=10, help="calibrate: photos each")
    parser.add_argument("--limit", type=int, default=None, help="at most this many photos")
    args = parser.parse_args(argv)
    if not (SHARED_DATA / "celeba-wild").exists():
        print(f"no CelebA sample at {SHARED_DATA}", file=sys.stderr)
        return 2
    stages = {"template": stage_template, "compare": stage_compare, "calibrate": stage_calibrate}
    result = stages[args.stage](args)
    WORK.mkdir(parents=True, exist_ok=True)
    (WORK / f"dlib_chips_{args.stage}.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
