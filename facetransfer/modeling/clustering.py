"""Group the faces of unlabelled photos by person: agglomerative clustering (scikit-learn) of their
descriptors with average linkage, cut at the base's calibrated distance for 1% false accepts, so
two groups merge only when their faces are, on average, as close as one person's."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image
from sklearn.cluster import AgglomerativeClustering

from facetransfer.config import MIN_FACE_CONFIDENCE, TARGET_FALSE_ACCEPT
from facetransfer.data.images import ImageReadError, read_rgb
from facetransfer.modeling.describe import FaceEmbedder
from facetransfer.progress import progress_bar

log = logging.getLogger(__name__)

UNGROUPED = -1  # a face that fits no group (the only face of its cluster)


@dataclass
class FaceClusters:
    """One row per face found: path, face (0 = the photo's largest), box, cluster."""

    table: pd.DataFrame
    vectors: np.ndarray
    crops: list[np.ndarray]
    skipped: list[tuple[str, str]]


def cluster_labels(vectors: np.ndarray, distance: float, min_size: int = 2) -> np.ndarray:
    """Cluster ids 0.. by size (largest first), UNGROUPED for groups smaller than `min_size`."""
    if len(vectors) < 2:
        return np.full(len(vectors), UNGROUPED)
    raw = AgglomerativeClustering(
        n_clusters=None, distance_threshold=distance, linkage="average", metric="euclidean"
    ).fit_predict(vectors)
    ids, counts = np.unique(raw, return_counts=True)
    order = [i for i in ids[np.argsort(-counts, kind="stable")] if counts[ids == i][0] >= min_size]
    renumber = {old: new for new, old in enumerate(order)}
    return np.array([renumber.get(label, UNGROUPED) for label in raw])


def cluster_photos(
    photos,
    embedder: FaceEmbedder,
    *,
    target_false_accept: float = TARGET_FALSE_ACCEPT,
    max_distance: float | None = None,
    min_face_confidence: float = MIN_FACE_CONFIDENCE,
    progress: bool = True,
) -> FaceClusters:
    """Every face of every photo, described and clustered: two groups merge while their faces
    are on average within `max_distance` (default: the base's calibrated distance for
    `target_false_accept`)."""
    rows, vectors, crops, skipped = [], [], [], []
    for photo in progress_bar(photos, desc="describing faces", enabled=progress):
        try:
            boxes, described, face_crops = embedder.faces(photo, min_face_confidence)
        except ImageReadError as error:
            skipped.append((str(photo), error.reason))
            log.warning("skipped %s", error)
            continue
        for k, (box, vector, crop) in enumerate(zip(boxes, described, face_crops, strict=True)):
            rows.append({"path": str(photo), "face": k, "box": " ".join(map(str, box))})
            vectors.append(vector)
            crops.append(crop)
    distance = embedder.distance_for(target_false_accept) if max_distance is None else max_distance
    vectors = np.stack(vectors) if vectors else np.zeros((0, 1), np.float32)
    table = pd.DataFrame(rows, columns=["path", "face", "box"])
    table["cluster"] = cluster_labels(vectors, distance)
    return FaceClusters(table, vectors, crops, skipped)


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
