"""Group the faces of unlabelled photos by person: Chinese whispers (dlib's face clustering) on a
graph of mutual nearest neighbours among their descriptors, found with faiss.

Each face's `NEIGHBOURS` nearest are found (faiss's exact search, in blocks: memory grows with
faces x neighbours, never faces x faces); two faces are joined when each is among the other's
nearest and they are within the base's calibrated distance for 1% false accepts, by an edge that
weighs more the closer they are (1 - d / max). Then every face, in a random order, again and
again, takes the group that weighs most among its neighbours until none changes (Chinese
whispers as dlib's `chinese_whispers` does it, with weighted edges, faces updated a tenth at a
time so that numpy does the work).

Why mutual: at the 1% distance, in a library of 100,000 faces every face has a thousand faces of
other people within reach, and a stranger's nearest are all someone else's; an edge that must
hold both ways keeps a stranger out of the big group next to it. What was weighed
(`benchmarks/cluster_scale.py --candidates`, ARI, dlib base): see that benchmark's section in
BENCHMARKS.md; in short, on the wild sample's five people of benchmarks/gallery.py 1.000
(average linkage over all pairs, which this replaces: 0.989), on all 100 of its people 0.929
(average linkage 0.866), and on 100,000 synthetic faces 0.96 where the same whispers on
one-way neighbours fall to 0.13 and connected components with a density rule (DBSCAN, Immich's
and PhotoPrism's way) join nearly everybody even on the real sample.

`average_linkage_labels` (scikit-learn, all pairs: memory grows with faces squared) is kept to
compare with. facetransfer.library.clusters adds incremental assignment for a photo library.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
from PIL import Image

from facetransfer.config import GROUP_FALSE_ACCEPT, MIN_FACE_CONFIDENCE
from facetransfer.data.images import ImageReadError, read_rgb
from facetransfer.progress import progress_bar

if TYPE_CHECKING:
    import pandas as pd
    from scipy import sparse

    from facetransfer.modeling.describe import FaceEmbedder

log = logging.getLogger(__name__)

UNGROUPED = -1  # a face that fits no group (alone, or in a group under min_size)
NEIGHBOURS = 40  # neighbours searched per face (benchmarks/cluster_scale.py --candidates)
ITERATIONS = 100  # dlib's default; the sample settles in under 20
BATCHES = 10  # updates a tenth of the faces at a time: whispers are sequential, this nearly so
SEARCH_BLOCK = 8192  # faces searched at once: bounds the search's working memory


# -- the graph and its groups -----------------------------------------------------------------


def _faiss():
    """faiss, imported when first needed, without the two INFO lines its loader logs (they
    would open every command's output)."""
    loader = logging.getLogger("faiss.loader")
    level = loader.level
    loader.setLevel(logging.WARNING)
    try:
        import faiss  # noqa: PLC0415  (see above)
    finally:
        loader.setLevel(level)
    return faiss


def _search(index, vectors: np.ndarray, asked: np.ndarray, k: int):
    """Each asked face's `k` nearest (itself among them) and their Euclidean distances."""
    distances, found = [], []
    for start in range(0, len(asked), SEARCH_BLOCK):
        squared, near = index.search(vectors[asked[start : start + SEARCH_BLOCK]], k)
        distances.append(np.sqrt(np.maximum(squared, 0)))
        found.append(near)
    return np.concatenate(distances), np.concatenate(found)


def neighbour_graph(
    vectors: np.ndarray, max_distance: float, *, neighbours: int = NEIGHBOURS, around=None
) -> sparse.csr_matrix:
    """A symmetric sparse n x n graph of mutual neighbours: an edge between two faces when each
    is among the other's `neighbours` nearest and they are within `max_distance` (Euclidean),
    weighing 1 - distance / max_distance (and a little more, so that one at max_distance
    counts). `around`: only the edges near these faces (new ones): they and their neighbours
    are searched, the graph holds the edges among those (default: every face's)."""
    from scipy import sparse  # noqa: PLC0415  (0.2 s, for grouping only)

    if not max_distance > 0:
        raise ValueError(f"max_distance must be positive, got {max_distance}")
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    n = len(vectors)
    if n < 2 or (around is not None and not len(around)):
        return sparse.csr_matrix((n, n), dtype=np.float32)
    index = _faiss().IndexFlatL2(vectors.shape[1])
    index.add(vectors)
    k = min(neighbours + 1, n)  # +1: a face finds itself
    if around is None:
        asked = np.arange(n)
        distance, found = _search(index, vectors, asked, k)
    else:
        first = np.unique(np.asarray(around, dtype=np.int64))
        near_d, near = _search(index, vectors, first, k)
        rest = np.setdiff1d(near[near >= 0], first)
        rest_d, rest_found = _search(index, vectors, rest, k)
        asked = np.concatenate([first, rest])
        distance, found = np.concatenate([near_d, rest_d]), np.concatenate([near, rest_found])
    keep = (found >= 0) & (found != asked[:, None]) & (distance <= max_distance)
    rows = np.broadcast_to(asked[:, None], found.shape)[keep]
    weights = (1 - distance[keep] / max_distance + 1e-3).astype(np.float32)
    graph = sparse.csr_matrix((weights, (rows, found[keep])), shape=(n, n))
    return graph.minimum(graph.T).tocsr()  # mutual: an edge both ways, or none


def chinese_whispers(
    graph: sparse.csr_matrix, labels: np.ndarray, *, free=None, seed: int = 0
) -> np.ndarray:
    """Chinese whispers on `graph` from `labels` (one int per face): each face of `free`
    (default all), in a random order, takes the label of most weight among its neighbours,
    until no label changes or ITERATIONS pass. A face without edges keeps its label; faces not
    in `free` keep theirs and pass them on. Ties go to the smaller label."""
    from scipy import sparse  # noqa: PLC0415  (0.2 s, for grouping only)

    graph = sparse.csr_matrix(graph)
    labels = np.array(labels, dtype=np.int64)
    free = np.arange(len(labels)) if free is None else np.asarray(free, dtype=np.int64)
    indptr, indices, weights = graph.indptr, graph.indices, graph.data
    degree = np.diff(indptr)
    free = free[degree[free] > 0]
    rng = np.random.default_rng(seed)
    low = int(labels.min(initial=0))
    labels -= low  # keys below need labels from 0
    span = int(labels.max(initial=0)) + 1
    for _ in range(ITERATIONS):
        changed = 0
        for batch in np.array_split(rng.permutation(free), BATCHES):
            if not len(batch):
                continue
            count = degree[batch]
            ends = np.cumsum(count)
            edges = np.repeat(indptr[batch] - ends + count, count) + np.arange(ends[-1])
            owner = np.repeat(np.arange(len(batch), dtype=np.int64), count)
            keys, inverse = np.unique(owner * span + labels[indices[edges]], return_inverse=True)
            total = np.bincount(inverse, weights=weights[edges])
            who, label = keys // span, keys % span
            best = np.lexsort((label, -total, who))
            best = best[np.r_[True, who[best][1:] != who[best][:-1]]]
            winner = label[best]
            changed += int((labels[batch] != winner).sum())
            labels[batch] = winner
        if not changed:
            break
    return labels + low


def by_size(raw: np.ndarray, min_size: int = 2) -> np.ndarray:
    """Groups renumbered 0.. by size, largest first (ties: the one met first), UNGROUPED for a
    group under `min_size` faces."""
    raw = np.asarray(raw)
    if not len(raw):
        return np.zeros(0, dtype=np.int64)
    ids, inverse, counts = np.unique(raw, return_inverse=True, return_counts=True)
    first = np.full(len(ids), len(raw))
    np.minimum.at(first, inverse, np.arange(len(raw)))
    rank = np.empty(len(ids), dtype=np.int64)
    rank[np.lexsort((first, -counts))] = np.arange(len(ids))
    return np.where(counts[inverse] >= min_size, rank[inverse], UNGROUPED)


def cluster_descriptors(
    vectors: np.ndarray,
    max_distance: float,
    *,
    min_size: int = 2,
    neighbours: int = NEIGHBOURS,
    seed: int = 0,
) -> np.ndarray:
    """Group ids 0.. by size (largest first), UNGROUPED for a face in no group of `min_size`:
    Chinese whispers on the graph of each face's `neighbours` nearest within `max_distance`."""
    vectors = np.asarray(vectors)
    graph = neighbour_graph(vectors, max_distance, neighbours=neighbours)
    return by_size(chinese_whispers(graph, np.arange(len(vectors)), seed=seed), min_size)


def cluster_labels(vectors: np.ndarray, distance: float, min_size: int = 2) -> np.ndarray:
    """`cluster_descriptors` under its earlier name (the library's queries call it)."""
    return cluster_descriptors(vectors, distance, min_size=min_size)


def average_linkage_labels(vectors: np.ndarray, distance: float, min_size: int = 2) -> np.ndarray:
    """The earlier method, kept to compare with: scikit-learn's agglomerative clustering with
    average linkage over all pairs (memory grows with faces squared), cut at `distance`."""
    from sklearn.cluster import AgglomerativeClustering  # noqa: PLC0415  (only to compare)

    if len(vectors) < 2:
        return np.full(len(vectors), UNGROUPED)
    raw = AgglomerativeClustering(
        n_clusters=None, distance_threshold=distance, linkage="average", metric="euclidean"
    ).fit_predict(vectors)
    return by_size(raw, min_size)


# -- a folder of photos ---------------------------------------------------------------------


class FaceRef(NamedTuple):
    """A face by where it is: its photo and its box (x, y, w, h) there. Read when drawn
    (report.annotate.contact_sheet takes these), never held as pixels."""

    path: str
    box: tuple[int, int, int, int]


@dataclass
class FaceClusters:
    """One row per face found: path, face (0 = the photo's largest), box ("x y w h"),
    cluster. No pixels: each face is cut from its photo when drawn (`faces`)."""

    table: pd.DataFrame
    vectors: np.ndarray
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def records(self) -> list[dict]:
        """One {"path", "face", "box" [x, y, w, h], "cluster"} per face, in the table's order."""
        rows = self.table.to_dict("records")
        for row in rows:
            row["box"] = [int(v) for v in str(row["box"]).split()]
            row["cluster"] = int(row["cluster"])
        return rows

    def face(self, row: int) -> FaceRef:
        path, box = self.table["path"].iat[row], self.table["box"].iat[row]
        return FaceRef(str(path), tuple(int(v) for v in str(box).split()))

    def faces(self, cluster: int) -> list[FaceRef]:
        """The faces of `cluster`, by where they are, in the table's order."""
        rows = np.flatnonzero(self.table["cluster"].to_numpy() == cluster)
        return [self.face(int(row)) for row in rows]

    @property
    def crops(self) -> _Crops:
        """Compatibility for callers that indexed crops by table row: now `FaceRef`s, which
        contact_sheet reads from the photos when it draws them."""
        return _Crops(self)


class _Crops:
    """`FaceClusters.crops[i]`: the i-th face by where it is (no pixels held)."""

    def __init__(self, clusters: FaceClusters):
        self._clusters = clusters

    def __len__(self) -> int:
        return len(self._clusters.table)

    def __getitem__(self, row) -> FaceRef:
        return self._clusters.face(int(row))


def cluster_photos(
    photos,
    embedder: FaceEmbedder,
    *,
    target_false_accept: float = GROUP_FALSE_ACCEPT,
    max_distance: float | None = None,
    min_face_confidence: float = MIN_FACE_CONFIDENCE,
    progress: bool = True,
) -> FaceClusters:
    """Every face of every photo, described and grouped (`cluster_descriptors`) with faces
    within `max_distance` as neighbours (default: the base's calibrated distance for
    `target_false_accept`). Only boxes and descriptors are kept, not the crops."""
    rows, vectors, skipped = [], [], []
    for photo in progress_bar(photos, desc="describing faces", enabled=progress):
        try:
            boxes, described, _ = embedder.faces(photo, min_face_confidence)
        except ImageReadError as error:
            skipped.append((str(photo), error.reason))
            log.warning("skipped %s", error)
            continue
        for k, (box, vector) in enumerate(zip(boxes, described, strict=True)):
            rows.append({"path": str(photo), "face": k, "box": " ".join(map(str, box))})
            vectors.append(vector)
    distance = embedder.distance_for(target_false_accept) if max_distance is None else max_distance
    vectors = np.stack(vectors) if vectors else np.zeros((0, 1), np.float32)
    import pandas as pd  # noqa: PLC0415  (0.35 s: identify from an index groups nothing)

    table = pd.DataFrame(rows, columns=["path", "face", "box"])
    table["cluster"] = cluster_descriptors(vectors, distance)
    return FaceClusters(table, vectors, skipped)


def person_folder(clusters: FaceClusters, cluster: int, out_dir, margin: float = 0.5) -> list[Path]:
    """Each face of `cluster` cut from its photo (its box and `margin` of it around) into
    `out_dir`, a person folder `facetransfer enrol` reads. Returns the files written."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for row in clusters.table[clusters.table["cluster"] == cluster].itertuples():
        image = read_rgb(row.path)
        x, y, w, h = (int(v) for v in row.box.split())
        left, top = max(0, int(x - margin * w)), max(0, int(y - margin * h))
        right = min(image.shape[1], int(x + w + margin * w))
        bottom = min(image.shape[0], int(y + h + margin * h))
        target = out_dir / f"{Path(row.path).stem}_face{row.face}.jpg"
        Image.fromarray(image[top:bottom, left:right]).save(target, quality=95)
        written.append(target)
    return written
