"""Clustering at scale: facetransfer's graph clustering (Chinese whispers on a faiss
nearest-neighbour graph, facetransfer.library.clusters) on 100,000 synthetic faces shaped like
dlib's, beside the earlier all-pairs average linkage at 8,000 and 20,000; and, with
--candidates, the methods that were weighed on the sample's real wild photos.

Synthetic descriptors (128 values) are drawn from the real ones: the wild sample's faces are
described with the dlib base (once; cached in the work folder), each person's mean and each
face's offset from it measured; people are drawn from a normal law with the covariance of the
real people's means (less the offsets' share), faces from a normal law with the covariance of
the real offsets, scaled per person by a spread ratio drawn from the real people's. The printed
`shape` says how the synthetic pairs' distances compare with the real ones'. How many faces each
person has follows a photo library: P(n faces) ~ 1/n^2 from 1 to 3,000 (six in ten people seen
once, a few with thousands). Each measure runs in its own process: peak RSS is that process's
(numpy, scipy and faiss loaded: about 100 MB before any face). ARI counts each face in no group
as its own group.

    .venv/bin/python benchmarks/cluster_scale.py [--faces 100000] [--old 8000 20000]
    .venv/bin/python benchmarks/cluster_scale.py --candidates   # the methods on the real sample
    .venv/bin/python benchmarks/cluster_scale.py --kept 20000 100  # the grouping an index keeps
    .venv/bin/python benchmarks/cluster_scale.py --few   # grouping's distance, on the sample
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from common import SHARED_DATA, WORK, machine

MAX_DISTANCE = 0.6401  # the dlib base's calibrated distance for 1% false accepts (config)
WILD_CACHE = WORK / "wild-descriptors-dlib.npz"


def wild_descriptors(shared: Path) -> dict:
    """Every face of every wild photo, described with the dlib base: vectors, identity, face
    (0: the photo's largest, the labelled one), image, box. Cached in the work folder."""
    if WILD_CACHE.exists():
        return dict(np.load(WILD_CACHE))
    from facetransfer.data.images import ImageReadError
    from facetransfer.modeling.bases import resolve_base
    from facetransfer.modeling.describe import FaceEmbedder
    from facetransfer.progress import progress_bar

    manifest = pd.read_csv(shared / "manifest.csv")
    wild = manifest[manifest["kind"] == "wild"]
    folder = shared / "celeba-wild" / "img_celeba"
    embedder = FaceEmbedder.load(resolve_base("dlib", WORK / "models"))
    rows, vectors = [], []
    for row in progress_bar(list(wild.itertuples()), desc="describing the wild sample"):
        try:
            boxes, described, _ = embedder.faces(folder / row.image)
        except ImageReadError:
            continue
        for k, box in enumerate(boxes):
            rows.append((row.image, int(row.identity), k, *box))
            vectors.append(described[k])
    found = {
        "vectors": np.stack(vectors).astype(np.float32),
        "image": np.array([r[0] for r in rows]),
        "identity": np.array([r[1] for r in rows]),
        "face": np.array([r[2] for r in rows]),
        "box": np.array([r[3:] for r in rows]),
    }
    WORK.mkdir(parents=True, exist_ok=True)
    np.savez(WILD_CACHE, **found)
    return found


def spreads(wild: dict) -> dict:
    """What synthetic faces are drawn from: the real people's mean and between-people
    covariance, the offsets' covariance, and each person's spread relative to the average."""
    labelled = wild["face"] == 0
    vectors, people = wild["vectors"][labelled].astype(np.float64), wild["identity"][labelled]
    ids = np.unique(people)
    centres = np.stack([vectors[people == p].mean(0) for p in ids])
    counts = np.array([(people == p).sum() for p in ids])
    offsets = np.concatenate(
        [
            (vectors[people == p] - centres[i]) * np.sqrt(c / (c - 1))
            for i, (p, c) in enumerate(zip(ids, counts, strict=True))
        ]
    )
    within = np.cov(offsets, rowvar=False)
    between = np.cov(centres, rowvar=False) - within / counts.mean()
    values, vecs = np.linalg.eigh(between)
    between = (vecs * np.clip(values, 0, None)) @ vecs.T  # what the subtraction left negative
    person_rms = [
        np.sqrt(((vectors[people == p] - centres[i]) ** 2).sum(1).mean()) for i, p in enumerate(ids)
    ]
    return {
        "mean": centres.mean(0),
        "between": between,
        "within": within,
        "ratios": np.array(person_rms) / np.mean(person_rms),
    }


def face_counts(total: int, rng) -> np.ndarray:
    """People's face counts summing to `total`: P(n) ~ 1/n^2 for n in 1..3000."""
    n = np.arange(1, 3001)
    p = 1.0 / n**2
    sizes = rng.choice(n, size=total, p=p / p.sum())  # more than enough people
    sizes = sizes[: np.searchsorted(np.cumsum(sizes), total) + 1]
    sizes[-1] -= sizes.sum() - total
    return sizes[sizes > 0]


def synthetic(total: int, shape: dict, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """`total` faces (float32, 128 values) and their people."""
    rng = np.random.default_rng(seed)
    sizes = face_counts(total, rng)
    centres = rng.multivariate_normal(
        shape["mean"], shape["between"], size=len(sizes), method="eigh"
    )
    owners = np.repeat(np.arange(len(sizes)), sizes)
    scale = rng.choice(shape["ratios"], size=len(sizes))
    root = np.linalg.cholesky(shape["within"] + 1e-9 * np.eye(len(shape["within"])))
    vectors = np.empty((total, len(shape["mean"])), np.float32)
    for start in range(0, total, 20_000):  # in blocks: float64 work for 20,000 at a time
        who = owners[start : start + 20_000]
        noise = rng.standard_normal((len(who), len(shape["mean"]))) @ root.T
        vectors[start : start + len(who)] = centres[who] + noise * scale[who, None]
    return vectors, owners


def pair_quantiles(vectors, owners, rng, pairs=200_000) -> dict:
    a, b = rng.integers(0, len(vectors), size=(2, pairs))
    d = np.linalg.norm(vectors[a] - vectors[b], axis=1)
    same, other = d[(owners[a] == owners[b]) & (a != b)], d[owners[a] != owners[b]]
    if len(same) < 1000:  # few same pairs at random in a big set: draw them within people
        first = np.unique(owners, return_index=True)[1]
        pick = first[np.bincount(owners)[owners[first]] > 1]
        same = np.linalg.norm(vectors[pick] - vectors[pick + 1], axis=1)
    return {
        "same_median": round(float(np.median(same)), 3),
        "different_median": round(float(np.median(other)), 3),
        "different_1pct": round(float(np.quantile(other, 0.01)), 3),
        "different_within_max": round(float((other <= MAX_DISTANCE).mean()), 4),
    }


def ari(owners, labels) -> float:
    from sklearn.metrics import adjusted_rand_score

    labels = np.where(labels < 0, labels.max() + 1 + np.arange(len(labels)), labels)
    return round(float(adjusted_rand_score(owners, labels)), 4)


def measure(method: str, faces: int, shared: Path) -> dict:
    """One measure, in this process (run by `main` in a child of its own)."""
    start_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    vectors, owners = synthetic(faces, spreads(wild_descriptors(shared)))
    out = {"method": method, "faces": faces, "people": int(owners.max() + 1)}
    if method == "shape":
        rng = np.random.default_rng(1)
        wild = wild_descriptors(shared)
        labelled = wild["face"] == 0  # a photo's other faces are not its person's
        out["real"] = pair_quantiles(wild["vectors"][labelled], wild["identity"][labelled], rng)
        out["synthetic"] = pair_quantiles(vectors, owners, rng)
        return out
    from facetransfer.library.clusters import assign_new, cluster_descriptors
    from facetransfer.modeling.clustering import average_linkage_labels

    began = time.perf_counter()
    if method == "graph":
        labels = cluster_descriptors(vectors, MAX_DISTANCE)
    elif method == "average":
        labels = average_linkage_labels(vectors, MAX_DISTANCE)
    else:  # incremental: the last 1% of faces (in a random order) added to the rest
        order = np.random.default_rng(2).permutation(faces)
        old, new = order[: faces - faces // 100], order[faces - faces // 100 :]
        first = cluster_descriptors(vectors[old], MAX_DISTANCE)
        began = time.perf_counter()
        labels = assign_new(vectors[old], first, vectors[new], MAX_DISTANCE).labels
        owners = owners[np.concatenate([old, new])]
        out["added"] = len(new)
    out["seconds"] = round(time.perf_counter() - began, 1)
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    out["rss_before_mb"] = round(start_rss)
    out["groups"] = int(labels.max() + 1)
    out["ungrouped_share"] = round(float((labels < 0).mean()), 4)
    out["ari"] = ari(owners, labels)
    return out


def kept(faces: int, added: int, shared: Path) -> dict:
    """The grouping kept in an index (`cluster --index`, library.groups.group_index) on `faces`
    synthetic faces written into an index file: the first grouping, then `added` more faces
    placed into it, then a run with nothing new, then everything grouped again (--regroup)."""
    import hashlib

    from facetransfer.library import store
    from facetransfer.library.groups import group_index

    vectors, owners = synthetic(faces + added, spreads(wild_descriptors(shared)))
    order = np.random.default_rng(3).permutation(len(vectors))  # the added ones: at random
    vectors, owners = vectors[order], owners[order]
    index = WORK / f"kept-{faces}.sqlite"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{index}{suffix}").unlink(missing_ok=True)

    def write(rows: range) -> None:
        db = store.connect(index, create=True)
        with store.transaction(db):
            for k in rows:
                digest = hashlib.sha256(str(k).encode()).hexdigest()
                db.execute(
                    "INSERT INTO photos VALUES (?,?,?,?,?,?,?,?,?)",
                    (f"/photos/{k:06d}.jpg", digest, 1, 1, None, 4032, 3024, "ok", None),
                )
                db.execute(
                    "INSERT INTO faces VALUES (?,?,?,?,?,?,?,?,?,?)",
                    (
                        digest,
                        "synthetic",
                        0,
                        0,
                        0,
                        100,
                        100,
                        0.99,
                        store.to_blob(np.zeros(10)),
                        store.to_blob(vectors[k]),
                    ),
                )
                db.execute("INSERT INTO described VALUES (?,?,?)", (digest, "synthetic", 1))
        db.close()  # fmt: skip

    def timed(**options) -> tuple[float, object]:
        began = time.perf_counter()
        grouping = group_index(index, max_distance=MAX_DISTANCE, **options)
        return round(time.perf_counter() - began, 2), grouping

    write(range(faces))
    out = {"faces": faces, "added": added}
    out["first s"], first = timed()
    write(range(faces, faces + added))
    out["after adding s"], grown = timed()
    out["placed"] = grown.placed
    grouped = first.labels >= 0  # (a face in no group may join a new one)
    same = np.array_equal(grown.labels[: len(first.labels)][grouped], first.labels[grouped])
    out["grouped faces kept their groups"] = bool(same)
    out["nothing new s"], _ = timed()
    out["regroup s"], again = timed(regroup=True)
    out["ari after adding"] = ari(owners[grown.rows], grown.labels)
    out["ari regrouped"] = ari(owners[again.rows], again.labels)
    return out


def few(shared: Path, trials: int = 3) -> list[str]:
    """Grouping at the two calibrated distances (1% and 0.1% of pairs of different people) on
    the real wild sample: 68 people with 1 to 8 photos each (most with one to three, as in a
    library where most faces are strangers), all 100 people, and 5 people with all their
    photos (benchmarks/gallery.py's case). ARI of each photo's labelled face."""
    from facetransfer.config import DLIB_DISTANCE_THRESHOLDS
    from facetransfer.library.clusters import cluster_descriptors

    wild = wild_descriptors(shared)
    labelled = wild["face"] == 0
    vectors, who = wild["vectors"][labelled], wild["identity"][labelled]
    people = np.unique(who)
    distances = sorted(DLIB_DISTANCE_THRESHOLDS.items(), reverse=True)
    lines = []

    def row(title: str, idx: np.ndarray) -> None:
        cells = []
        for rate, distance in distances:
            labels = cluster_descriptors(vectors[idx], distance)
            cells.append(f"{rate:.1%} ({distance}): ARI {ari(who[idx], labels):.3f}")
        lines.append(f"{title}, {len(idx)} faces: " + "; ".join(cells))

    for trial in range(trials):
        rng = np.random.default_rng(trial)
        idx = []
        for person in rng.choice(people, 68, replace=False):
            mine = np.flatnonzero(who == person)
            k = min(len(mine), int(rng.choice([1, 1, 2, 2, 3, 4, 8])))
            idx += list(rng.choice(mine, k, replace=False))
        row(f"68 people, 1-8 photos each (draw {trial})", np.array(idx))
    row("all 100 people", np.arange(len(vectors)))
    for trial in range(trials):
        chosen = np.random.default_rng(10 + trial).choice(people, 5, replace=False)
        row(f"5 people, all their photos (draw {trial})", np.flatnonzero(np.isin(who, chosen)))
    return lines


def candidates(shared: Path) -> list[dict]:
    """The methods weighed, on the real wild sample (dlib base): ARI of the labelled faces on
    benchmarks/gallery.py's five clustered people and on all 100 people."""
    import faiss
    from scipy import sparse
    from scipy.sparse.csgraph import connected_components
    from sklearn.cluster import HDBSCAN
    from sklearn.metrics import adjusted_rand_score

    from facetransfer.modeling.clustering import (
        average_linkage_labels,
        by_size,
        chinese_whispers,
        neighbour_graph,
    )

    wild = wild_descriptors(shared)
    people = np.sort(np.unique(wild["identity"]))
    five = sorted(np.random.default_rng(0).permutation(people)[:10].tolist())[:5]  # gallery.py's
    sets = {"five_people": np.isin(wild["identity"], five)}
    sets["all_100"] = np.ones(len(wild["identity"]), bool)
    vectors, owners = synthetic(20_000, spreads(wild))  # ARI: each ungrouped face on its own

    def graph(vectors, k, mutual=True, limit=MAX_DISTANCE):
        """Each face's k nearest within `limit`, weighing 1 - d / limit: mutual pairs only
        (facetransfer's), or any pair where one is among the other's k nearest."""
        if mutual:
            return neighbour_graph(vectors, limit, neighbours=k)
        index = faiss.IndexFlatL2(vectors.shape[1])
        index.add(vectors)
        squared, found = index.search(vectors, k + 1)
        distance = np.sqrt(np.maximum(squared, 0))
        rows = np.repeat(np.arange(len(vectors)), k + 1).reshape(found.shape)
        keep = (found != rows) & (distance <= limit)
        union = sparse.csr_matrix(
            (1 - distance[keep] / limit + 1e-3, (rows[keep], found[keep])), shape=(len(rows),) * 2
        )
        return union.maximum(union.T).tocsr()

    def whispers(vectors, k, mutual=True, weighted=True):
        edges = graph(vectors, k, mutual)
        if not weighted:
            edges.data[:] = 1
        return by_size(chinese_whispers(edges, np.arange(len(vectors))))

    def density(vectors, k, core):  # DBSCAN on the graph: core faces' components, borders join
        edges = graph(vectors, k, mutual=False)
        is_core = np.diff(edges.indptr) >= core
        _, parts = connected_components(edges[is_core][:, is_core], directed=False)
        labels = np.arange(len(vectors)) + len(vectors)
        labels[is_core] = parts
        border = edges[~is_core][:, is_core].tocsr()
        for j, face in enumerate(np.flatnonzero(~is_core)):
            lo, hi = border.indptr[j], border.indptr[j + 1]
            if hi > lo:
                labels[face] = parts[border.indices[lo + np.argmax(border.data[lo:hi])]]
        return by_size(labels)

    def hdbscan(vectors, k, least):  # on the graph's distances, its parts tied far apart
        edges = graph(vectors, k, mutual=False, limit=10.0)
        edges.data = (1 + 1e-3 - edges.data) * 10.0  # back to distances
        n, parts = connected_components(edges, directed=False)
        first = np.unique(parts, return_index=True)[1]
        ties = sparse.csr_matrix((np.full(n - 1, 100.0), (first[:-1], first[1:])), edges.shape)
        edges = edges.maximum(ties).maximum(ties.T)
        found = HDBSCAN(min_cluster_size=least, min_samples=least, metric="precomputed", copy=True)
        return by_size(found.fit_predict(edges))

    methods = {
        "average linkage, all pairs (earlier)": lambda v: average_linkage_labels(v, MAX_DISTANCE),
        **{f"whispers, mutual, k={k}": (lambda v, k=k: whispers(v, k)) for k in (10, 20, 40, 60)},
        **{f"whispers, any pair, k={k}": (lambda v, k=k: whispers(v, k, False)) for k in (20, 40)},
        "whispers, mutual, unweighted, k=40": lambda v: whispers(v, 40, weighted=False),
        "whispers, any pair, unweighted, k=20": lambda v: whispers(v, 20, False, False),
        **{
            f"density components, k=20, core {c}": (lambda v, c=c: density(v, 20, c))
            for c in (2, 4)
        },
        **{
            f"HDBSCAN on the graph, k=20, min {m}": (lambda v, m=m: hdbscan(v, 20, m))
            for m in (2, 3)
        },
    }
    rows = []
    for name, method in methods.items():
        row = {"method": name}
        for which, chosen in sets.items():
            labels = method(wild["vectors"][chosen])
            labelled = wild["face"][chosen] == 0
            truth = wild["identity"][chosen][labelled]
            row[which] = round(float(adjusted_rand_score(truth, labels[labelled])), 4)
        if "earlier" not in name:  # at scale: the earlier one is in the scale run
            row["synthetic_20000"] = ari(owners, method(vectors))
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, default=SHARED_DATA)
    parser.add_argument("--faces", type=int, default=100_000)
    parser.add_argument("--old", type=int, nargs="*", default=[8_000, 20_000])
    parser.add_argument("--candidates", action="store_true")
    parser.add_argument("--few", action="store_true", help="1%% against 0.1%% on the sample")
    parser.add_argument(
        "--kept", type=int, nargs=2, metavar=("FACES", "ADDED"),
        help="the grouping kept in an index: FACES grouped, then ADDED more placed into it",
    )  # fmt: skip
    parser.add_argument("--measure", nargs=2, metavar=("METHOD", "FACES"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not (args.shared / "manifest.csv").exists() and not WILD_CACHE.exists():
        print(f"no shared data at {args.shared}", file=sys.stderr)
        return 2
    if args.measure:  # a child: one measure, as JSON on the last line
        print(json.dumps(measure(args.measure[0], int(args.measure[1]), args.shared)))
        return 0
    wild_descriptors(args.shared)  # described once, here, before the children read the cache
    if args.few:
        print(f"machine: {machine()}", *few(args.shared), sep="\n")
        return 0
    if args.kept:
        print(f"machine: {machine()}")
        print(json.dumps(kept(*args.kept, args.shared)))
        return 0
    if args.candidates:
        result = {"candidates": candidates(args.shared), "machine": machine()}
        (WORK / "cluster-candidates.json").write_text(json.dumps(result, indent=2))
        return 0
    plan = [("shape", args.faces), ("graph", args.faces), ("incremental", args.faces)]
    plan += [(m, n) for n in args.old for m in ("graph", "average")]
    results = []
    for method, faces in plan:
        done = subprocess.run(
            [
                sys.executable,
                __file__,
                "--shared",
                str(args.shared),
                "--measure",
                method,
                str(faces),
            ],
            capture_output=True,
            text=True,
        )
        if done.returncode:
            print(done.stderr[-2000:], file=sys.stderr)
            return 1
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
        print(json.dumps(results[-1]), flush=True)
    result = {"max_distance": MAX_DISTANCE, "results": results, "machine": machine()}
    (WORK / "cluster-scale.json").write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
