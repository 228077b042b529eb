"""Gallery benchmark on the real CelebA sample's wild photos (../shared/data/celeba-wild): identify,
verify and cluster with a base whose distances are calibrated (dlib's by default).

Protocol (issue "What users of face tools expect"):
- People: the 100 wild people, split at random (seed 0) into 10 enrolled, 30 strangers and the
  rest unused. Each enrolled person's first 10 photos (by file name) are enrolled with
  `modeling.gallery.enrol`, their thresholds chosen on 1,000 CelebA strangers (aligned sample
  images of people who are in no wild photo), for 1% of strangers' faces accepted by the gallery.
- Identify: every other photo of the enrolled people, and every photo of the 30 strangers,
  through `identify_image`; a photo counts by its largest face (the labelled person; the others
  in it are unlabelled). Reported: enrolled photos named right, strangers' photos answered
  "unknown".
- Verify: all pairs of largest faces among the 40 people's photos, same person or not, decided
  at the base's calibrated distance for 1% (as `facetransfer verify` does).
- Cluster: the photos of 5 of the enrolled people, every face, through `cluster_photos`;
  adjusted Rand index of the largest faces' clusters against who they are, and the earlier
  method's (average linkage over all pairs, `average_linkage_labels`) on the same faces.

    .venv/bin/python benchmarks/gallery.py [--base dlib|PATH]  # -> work/gallery-<base>.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from common import SHARED_DATA, WORK, machine


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", default="dlib")
    parser.add_argument("--shared", type=Path, default=SHARED_DATA)
    parser.add_argument("--enrolled", type=int, default=10)
    parser.add_argument("--strangers-people", type=int, default=30)
    parser.add_argument("--enrol-photos", type=int, default=10)
    parser.add_argument("--cluster-people", type=int, default=5)
    parser.add_argument("--celeba-strangers", type=int, default=1000)
    args = parser.parse_args(argv)
    if not (args.shared / "manifest.csv").exists():
        print(f"no shared data at {args.shared}", file=sys.stderr)
        return 2

    from sklearn.metrics import adjusted_rand_score

    from facetransfer.data.celeba import load_celeba
    from facetransfer.data.intake import align_celeba_rows
    from facetransfer.data.strangers import stranger_rows
    from facetransfer.modeling.bases import resolve_base
    from facetransfer.modeling.calibrate import pair_distances
    from facetransfer.modeling.clustering import average_linkage_labels, cluster_photos
    from facetransfer.modeling.gallery import FaceEmbedder, enrol, identify_image
    from facetransfer.progress import progress_bar, setup_logging

    setup_logging()
    start = time.perf_counter()
    base_path = resolve_base(args.base, WORK / "models")

    class Remembering(FaceEmbedder):
        """Detects and describes each photo once for every stage of the benchmark."""

        seen: dict = {}

        def faces(self, photo, min_face_confidence=0.9):
            key = (str(photo), min_face_confidence)
            if key not in self.seen:
                self.seen[key] = super().faces(photo, min_face_confidence)
            return self.seen[key]

    plain = FaceEmbedder.load(base_path)
    embedder = Remembering(**{f: getattr(plain, f) for f in plain.__dataclass_fields__})

    manifest = pd.read_csv(args.shared / "manifest.csv")
    wild = manifest[manifest["kind"] == "wild"]
    folder = args.shared / "celeba-wild" / "img_celeba"
    people = np.sort(wild["identity"].unique())
    rng = np.random.default_rng(0)
    order = rng.permutation(people)
    enrolled = sorted(order[: args.enrolled].tolist())
    strangers = sorted(order[args.enrolled : args.enrolled + args.strangers_people].tolist())
    photos = {
        int(p): sorted(folder / n for n in wild.loc[wild["identity"] == p, "image"])
        for p in enrolled + strangers
    }

    celeba = load_celeba(args.shared / "celeba")
    pool = stranger_rows(celeba, args.celeba_strangers, exclude_identities=set(people.tolist()))
    pool = align_celeba_rows(
        pool, WORK / "aligned" / f"gallery-strangers-{embedder.geometry}", embedder.geometry
    )
    gallery = enrol(
        {f"p{p}": photos[p][: args.enrol_photos] for p in enrolled},
        embedder,
        strangers=pool["aligned"].tolist(),
    )

    named_right, person_photos, unknown, stranger_photos, no_face = 0, 0, 0, 0, 0
    tests = [(p, f) for p in enrolled for f in photos[p][args.enrol_photos :]]
    tests += [(p, f) for p in strangers for f in photos[p]]
    for person, photo in progress_bar(tests, desc="identify"):
        result = identify_image(gallery, embedder, photo)
        if not result["faces"]:
            no_face += 1
            continue
        said = result["faces"][0]["person"]
        if person in enrolled:
            person_photos += 1
            named_right += said == f"p{person}"
        else:
            stranger_photos += 1
            unknown += said == "unknown"

    vectors, mirrored, owners = [], [], []
    for person in enrolled + strangers:
        for photo in photos[person]:
            _, described, crops = embedder.faces(photo)
            if len(described):
                vectors.append(described[0])
                mirrored.append((described[0] + embedder.describe([crops[0][:, ::-1]])[0]) / 2)
                owners.append(person)
    distances, same = pair_distances(np.stack(vectors), np.array(owners))
    rate = 0.01
    threshold = embedder.distance_for(rate)
    # What better descriptors would buy: each pair set's own 1% threshold (an oracle), for the
    # descriptors as they are and averaged with their mirror image's.
    oracle = {}
    for name, table in (("as_is", vectors), ("mirror_averaged", mirrored)):
        d, s_ = pair_distances(np.stack(table), np.array(owners))
        t = float(np.quantile(d[~s_], 0.01))
        oracle[name] = {
            "threshold_at_1pct": round(t, 4),
            "same_accepted": round(float((d[s_] < t).mean()), 4),
            "at_calibrated": round(float((d[~s_] < threshold).mean()), 4),
        }

    chosen = enrolled[: args.cluster_people]
    cluster_files = [f for p in chosen for f in photos[p]]
    clusters = cluster_photos(cluster_files, embedder)
    largest = clusters.table[clusters.table["face"] == 0]
    truth = [next(p for p in chosen if Path(path) in photos[p]) for path in largest["path"]]
    # the earlier method on the same faces: average linkage over all pairs at the same distance
    earlier = average_linkage_labels(clusters.vectors, threshold)[largest.index]

    result = {
        "base": str(base_path),
        "identify": {
            "enrolled_people": len(enrolled),
            "enrolled_photos_each": args.enrol_photos,
            "named_right": round(named_right / person_photos, 4),
            "enrolled_test_photos": person_photos,
            "strangers_unknown": round(unknown / stranger_photos, 4),
            "stranger_photos": stranger_photos,
            "stranger_people": len(strangers),
            "photos_without_face": no_face,
            "max_distances": {n: round(r["max_distance"], 4) for n, r in gallery.people.items()},
        },
        "verify": {
            "threshold": threshold,
            "rate": rate,
            "same_accepted": round(float((distances[same] < threshold).mean()), 4),
            "different_accepted": round(float((distances[~same] < threshold).mean()), 4),
            "pairs_same": int(same.sum()),
            "pairs_different": int((~same).sum()),
            "oracle_1pct": oracle,
        },
        "cluster": {
            "people": len(chosen),
            "photos": len(cluster_files),
            "faces": len(clusters.table),
            "groups": int(clusters.table["cluster"].max() + 1),
            "ungrouped_faces": int((clusters.table["cluster"] < 0).sum()),
            "adjusted_rand_index": round(float(adjusted_rand_score(truth, largest["cluster"])), 4),
            "method": "Chinese whispers on mutual nearest neighbours (modeling.clustering)",
            "adjusted_rand_index_average_linkage": round(
                float(adjusted_rand_score(truth, earlier)), 4
            ),
        },
        "minutes": round((time.perf_counter() - start) / 60, 1),
        "machine": machine(),
    }
    WORK.mkdir(parents=True, exist_ok=True)
    name = Path(str(base_path)).stem
    (WORK / f"gallery-{name}.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
